/**
 * The business layer behind the Compute API: what `@novum/api-http` calls. No HTTP here.
 * @packageDocumentation
 */
export { ComputeApi, serverFromRow, sanitizeHostname, generatePassword } from './compute-api.js'
export type {
  CreateServerRequest, CreateServersResult, RequestedNetwork, InjectedFile, Server, InstanceFault, ServerListFilters, ServerUpdate,
  InstanceAction, InstanceActionEvent, InstanceActionWithEvents, InstanceActionListOptions, ComputeApiConfig, MetadataUpdateOptions,
} from './compute-api.js'
export { FlavorService, DEFAULT_FLAVORS, flavorFromRow } from './flavor-service.js'
export type { FlavorListFilters, FlavorCreateRequest, FlavorAccess, FlavorServiceConfig, DefaultFlavor } from './flavor-service.js'
export { KeypairService, keypairFingerprint, validateKeypairName, parseSshPublicKey, toOpenSshPublicKey, generateSshKeypair } from './keypair-service.js'
export type { Keypair, CreatedKeypair, KeypairType, KeypairCreateRequest, KeypairListOptions, KeypairServiceConfig, SshPublicKey } from './keypair-service.js'
export { HypervisorService, ComputeNodeService } from './hypervisor-service.js'
export type { Hypervisor, HypervisorServiceRef, HypervisorServer, HypervisorListOptions, HypervisorStatistics, HypervisorServiceConfig } from './hypervisor-service.js'
export { ServiceService } from './service-service.js'
export type { ComputeService, ServiceListFilters, ServiceUpdate, ServiceServiceConfig } from './service-service.js'
export { AvailabilityZoneService } from './availability-zone-service.js'
export type { AvailabilityZoneInfo, ZoneServiceState, AvailabilityZoneServiceConfig } from './availability-zone-service.js'
export { isServiceUp, DEFAULT_SERVICE_DOWN_TIME_SEC } from './service-liveness.js'
export type { ServiceHeartbeat, ZoneConfig } from './service-liveness.js'
export { ServerGroupService, SERVER_GROUP_POLICIES } from './server-group-service.js'
export type { ServerGroup, ServerGroupPolicy, ServerGroupCreateRequest, ServerGroupListOptions, ServerGroupServiceConfig } from './server-group-service.js'
export { SchedulerDryRunService } from './scheduler-dry-run-service.js'
export type { SchedulerDryRunRequest, SchedulerDryRunResult, DryRunDestination, DryRunScheduler } from './scheduler-dry-run-service.js'
export { AggregateService } from './aggregate-service.js'
export type { Aggregate, AggregateCreateRequest, AggregateUpdate, AggregateId, AggregatePlacement, AggregateServiceConfig } from './aggregate-service.js'
