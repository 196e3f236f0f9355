/**
 * The conductor service: the task API (build scheduling and rescheduling) and the database proxy compute
 * services use.
 * @packageDocumentation
 */
export { ConductorManager, COMPUTE_STATUS_DISABLED, FAULT_MESSAGE_MAX } from './conductor-manager.js'
export type { ConductorManagerConfig, ConductorManagerOptions } from './conductor-manager.js'
export { conductorEndpoint } from './conductor-endpoint.js'
export { ConductorTaskRpcClient, CONDUCTOR_TOPIC } from './conductor-rpc.js'
export type { BuildParameters, BuildFailure, BuildRetry, BuildInstancesArgs } from './conductor-rpc.js'
export { ConductorComputeRpcClient } from './conductor-compute-rpc.js'
export type {
  ServiceRecord,
  ServiceReport,
  ComputeNodeReport,
  ComputeNodeRecord,
  InstanceFaultInput,
  ActionStartInput,
  ActionEventStartInput,
  ActionEventFinishInput,
  InstanceUpdateOptions,
  GroupAdmission,
} from './conductor-compute-rpc.js'
export { InstanceActionLog } from './instance-action-log.js'
export type { RecordedEvent } from './instance-action-log.js'
export { HostRecords, NOVUM_SERVICE_VERSION, serviceFromRow } from './host-records.js'
export { faultCode } from './fault-code.js'
export { ServiceReporter } from './service-reporter.js'
export { RetryingConductorComputeRpcClient } from './retrying-conductor-compute-rpc.js'
export type { ConductorCallRetryOptions } from './retrying-conductor-compute-rpc.js'
export type { ServiceReporterConfig } from './service-reporter.js'
