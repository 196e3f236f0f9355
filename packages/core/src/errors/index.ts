export { ComputeError, toComputeError } from './compute-error.js'
export type { ComputeErrorCode, ComputeErrorOptions, SerializedComputeError } from './compute-error.js'
export { NoValidHostError } from './no-valid-host-error.js'
export type { HostRejection, NoValidHostDetails } from './no-valid-host-error.js'
