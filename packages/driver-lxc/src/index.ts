/**
 * `@novum/driver-lxc`: a Novum `VirtDriver` that runs instances as LXC system containers through LXC's own tools.
 *
 * Load it by name (`--driver lxc`, or `NOVUM_DRIVER=lxc`) through {@link createDriver}, or construct an
 * {@link LxcDriver} directly.
 * @packageDocumentation
 */
export { LxcDriver, LXC_CAPABILITIES, powerStateOf } from './lxc-driver.js'
export type { LxcDriverConfig } from './lxc-driver.js'
export { createDriver, lxcDriverConfigFromSettings, LXC_DRIVER_SETTINGS } from './create-driver.js'
export { LxcTools, isLxcState } from './lxc-tools.js'
export type { LxcToolsConfig, LxcRunOptions, LxcRunResult, LxcCreateOptions, LxcStopOptions, LxcState } from './lxc-tools.js'
export { LxcCommandError } from './lxc-command-error.js'
export type { LxcCommandFailure } from './lxc-command-error.js'
export { detectCgroupLayout, parseCgroupLayout, cgroupLimitLines } from './cgroup-layout.js'
export type { CgroupLayout, CgroupVersion, CpuLimitMode, CgroupLimitOptions } from './cgroup-layout.js'
export { buildContainerConfig, sanitiseHostname, vethHostName, vifsFromNetworkInfo } from './container-config.js'
export type { ContainerConfigInput, LxcVif } from './container-config.js'
export { ImageCache } from './image-cache.js'
export { destroyContainers } from './destroy-containers.js'
export type { DestroyContainersOptions, DestroyContainersResult } from './destroy-containers.js'
