import { mergeConfig } from 'vitest/config'
import { novumProject } from '../vitest.shared.js'

// The multi-node tests have their own project (vitest.multi-node.config.ts): they run one file at a time.
export default mergeConfig(novumProject('e2e', { include: ['e2e/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000 }), {
  test: { exclude: ['**/node_modules/**', 'e2e/multi-node-*.test.ts'] },
})
