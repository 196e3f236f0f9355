import type { Policy, PolicyTarget, RequestContext } from '@novum/core'

/**
 * A soft policy check (`context.can(rule, fatal=False)`) for rules a view consults. When the deployment's
 * {@link Policy} does not define `rule`, `fallback` decides (the rule's Nova default), so a view never turns an
 * unknown rule into a 500.
 */
export function softCheck(policy: Policy, ctx: RequestContext, rule: string, target: PolicyTarget, fallback: (ctx: RequestContext) => boolean): boolean {
  if (rule in policy.rules()) return policy.check(ctx, rule, target)
  return fallback(ctx)
}

/** Nova's `os_compute_api:os-extended-server-attributes` (default: admin). */
export function canSeeExtendedAttributes(policy: Policy, ctx: RequestContext, projectId: string | null): boolean {
  return softCheck(policy, ctx, 'os_compute_api:os-extended-server-attributes', { projectId }, (c) => c.isAdmin)
}

/**
 * Nova's `os_compute_api:servers:show:flavor-extra-specs` (default: project reader or admin, split in Zed from
 * `os_compute_api:os-flavor-extra-specs:index`, which is consulted when the new rule is absent).
 */
export function canSeeServerFlavorExtraSpecs(policy: Policy, ctx: RequestContext, projectId: string | null): boolean {
  return softCheck(policy, ctx, 'os_compute_api:servers:show:flavor-extra-specs', { projectId }, (c) =>
    softCheck(policy, c, 'os_compute_api:os-flavor-extra-specs:index', { projectId }, (cc) => cc.isAdmin || cc.projectId === projectId),
  )
}
