/**
 * The compute service: runs instances on one host through a VirtDriver, with no database handle.
 * @packageDocumentation
 */
export { ComputeManager } from './compute-manager.js'
export type { ComputeManagerConfig, ComputeManagerOptions } from './compute-manager.js'
export { computeEndpoint } from './compute-endpoint.js'
export { ComputeHostReconciler } from './host-reconciler.js'
export type { ComputeHostReconcilerConfig, GuestReconciliation } from './host-reconciler.js'
export { ComputeRpcClient, COMPUTE_TOPIC } from './compute-rpc.js'
export type { BuildAndRunInstanceArgs } from './compute-rpc.js'
export { CAPABILITY_STATS, capabilityStats, driverSupports, statsSupport } from './capability-stats.js'
export type { PublishedCapability } from './capability-stats.js'
export { tailConsoleLog } from './console-log.js'
export { computeNodeUsage } from './resource-tracker.js'
export type { NodeUsage } from './resource-tracker.js'
export { KeyedLock } from './keyed-lock.js'
export { Semaphore } from './semaphore.js'
