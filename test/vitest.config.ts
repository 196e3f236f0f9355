import { novumProject } from '../vitest.shared.js'

export default novumProject('e2e', { include: ['e2e/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000 })
