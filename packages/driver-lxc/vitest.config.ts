import { defineProject, mergeConfig } from 'vitest/config'
import { novumProject } from '../../vitest.shared.js'

// NOTE: real containers: a hook may build the busybox tarball or wait on 20 containers; globalSetup installs LXC
// on a fresh machine (scripts/setup-lxc.sh) before any test file loads.
export default mergeConfig(
  novumProject('driver-lxc', { testTimeout: 120_000, hookTimeout: 300_000 }),
  defineProject({ test: { globalSetup: ['./vitest.global-setup.ts'] } }),
)
