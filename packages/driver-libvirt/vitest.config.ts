import { mergeConfig } from 'vitest/config'
import { novumProject } from '../../vitest.shared.js'

// Real guests boot under TCG on shared cores: generous timeouts, one test file at a time (each runs at most two
// guests), and scripts/setup-libvirt.sh before anything (see vitest.global-setup.ts).
export default mergeConfig(novumProject('driver-libvirt', { testTimeout: 240_000, hookTimeout: 240_000 }), {
  test: { globalSetup: ['./vitest.global-setup.ts'], fileParallelism: false },
})
