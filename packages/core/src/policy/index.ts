/**
 * Nova's policy defaults and their enforcement.
 * @packageDocumentation
 */
export { Policy, DEFAULT_POLICY_RULES } from './policy.js'
export type { PolicyCheck, PolicyTarget, PolicyConfig } from './policy.js'
