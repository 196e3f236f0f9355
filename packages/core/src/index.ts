/**
 * `@novum/core`: OpenStack Nova's semantics as a TypeScript framework.
 *
 * Each subsystem's barrel is re-exported here by name; the `exports` map blocks deep imports.
 * @packageDocumentation
 */
export { ComputeError, toComputeError, NoValidHostError } from './errors/index.js'
export type { ComputeErrorCode, ComputeErrorOptions, SerializedComputeError, HostRejection, NoValidHostDetails } from './errors/index.js'
export { VmState, TaskState, PowerState, POWER_STATE_NAMES, serverStatus, STATUS_TO_VM_STATES } from './model/index.js'
export type { Flavor, ImageMeta, Instance, HostState, HostService, HostAggregate, SupportedInstance, RequestSpec, RequestServerGroup, AllocationRequest, Selection, SelectionList } from './model/index.js'
export { CAPABILITY_TRAITS, setHostInventories } from './virt/index.js'
export type {
  VirtDriver, VirtCapabilities, InstanceInfo, InventoryRecord, NodeResources, ProviderTreeUpdate, VolumeAttachment, VifInfo,
  SpawnOptions, DestroyOptions, RebootType, PowerOffOptions, InstanceDiagnostics, SnapshotTarget, MigrateData, VirtEvent, VirtLifecycleTransition,
  HostCapacity, HostInventorySettings,
  ImageSource, DriverFactoryOptions, DriverFactory,
} from './virt/index.js'
export { ENVELOPE_VERSION } from './transport/index.js'
export type { Transport, Target, CallOptions, CastOptions, RpcEndpoint, RpcListener, Notification, NotificationPriority, RequestEnvelope, ReplyEnvelope } from './transport/index.js'
export { RpcClient } from './transport/rpc-client.js'
export { DeadlineTimer, callTimeoutError } from './transport/deadline-timer.js'
export { newRequestId, createAdminContext } from './context.js'
export type { RequestContext } from './context.js'
export { token, provide, provideValue, resolveProviders } from './composition/provider.js'
export type { Token, TokenType, Provider, Resolver } from './composition/provider.js'
export { DATABASE, TRANSPORT, VIRT_DRIVER, CLOCK, LOGGER } from './tokens.js'
export {
  COMPUTE_API, FLAVOR_SERVICE, KEYPAIR_SERVICE, HYPERVISOR_SERVICE, SERVICE_SERVICE, AVAILABILITY_ZONE_SERVICE, IDENTITY_SERVICE,
  IMAGE_SERVICE, QUOTA_SERVICE, POLICY, SERVER_GROUP_SERVICE, SCHEDULER_DRY_RUN_SERVICE, AGGREGATE_SERVICE,
} from './tokens.js'
export { systemClock, isoNow } from './util/clock.js'
export type { Clock } from './util/clock.js'
export { silentLogger } from './util/logger.js'
export type { Logger, LogFn } from './util/logger.js'
export { createDatabase, migrateToLatest, migrateDownToZero, migrations, migrationProvider, InstanceRepository, instanceFromRow } from './db/index.js'
export type { DatabaseConfig, NovumDb, InstanceRow, InstancePatch, NewInstance, NovumDatabase } from './db/index.js'
export {
  PlacementService, normaliseInventory, isProviderGenerationConflict, isConsumerGenerationConflict, capacityOf,
  STANDARD_RESOURCE_CLASSES, STANDARD_TRAITS, isValidResourceClass, isValidTraitName, isCustomName,
} from './placement/index.js'
export type {
  PlacementClient, ResourceProvider, Inventory, InventoryInput, ConsumerAllocations, PutAllocationsRequest, RequestGroup,
  AllocationCandidatesRequest, AllocationCandidates, CandidateAllocationRequest, ProviderSummaryResource, ProviderTreeReport, ProviderRejection,
  PlacementServiceConfig, CreateProviderRequest, UpdateProviderRequest, ListProvidersFilter, ListTraitsFilter, ProviderInventories,
  ProviderTraits, ProviderAggregates, ProviderUsages, ProviderAllocations, ConsumerRecord, ConsumerTypeUsage,
} from './placement/index.js'
export { SchedulerRpcClient, SCHEDULER_TOPIC } from './scheduler/scheduler-rpc.js'
export type { SelectDestinationsResult } from './scheduler/scheduler-rpc.js'
export {
  defineFilter, defineWeigher, pass, reject, matchExtraSpec, defineRequestFilter, rejectRequest, requireAggregates, forbidAggregates, requireRootTraits,
  forbidRootTraits,
} from './scheduler/index.js'
export type { HostFilter, HostWeigher, FilterResult, PluginContext, RequestFilter, RequestFilterContext, RequestRejection, SchedulerAggregate } from './scheduler/index.js'
export { SchedulerManager, schedulerEndpoint, ALLOCATION_REQUEST_VERSION } from './scheduler/scheduler-manager.js'
export type { SchedulerConfig, SchedulerManagerOptions, SchedulingResult, SelectDestinationsOptions } from './scheduler/scheduler-manager.js'
export { summarizeRejections, explainHost } from './scheduler/explanation.js'
export type { SchedulingExplanation, InstanceExplanation, HostExplanation, ClaimFailure, PlacementHostRejection, SummaryRejection, HostDecision } from './scheduler/explanation.js'
export { PluginRegistry, createRegistry, isSchedulerPlugin } from './scheduler/registry.js'
export type { AnyHostFilter, AnyHostWeigher, AnyRequestFilter, SchedulerPlugin } from './scheduler/registry.js'
export { createInTreeRegistry, IN_TREE_FILTERS, IN_TREE_WEIGHERS, IN_TREE_REQUEST_FILTERS, NOVA_PLUGIN_ALIASES } from './scheduler/in-tree.js'
export { createSchedulerProfile, DEFAULT_FILTERS, DEFAULT_WEIGHERS, DEFAULT_REQUEST_FILTERS } from './scheduler/profile.js'
export type { SchedulerProfileConfig, SchedulerProfile, ConfiguredFilter, ConfiguredWeigher, ConfiguredRequestFilter } from './scheduler/profile.js'
export { runFilters, prepareFilters } from './scheduler/filter-runner.js'
export type { FilterVerdict, FilterRejection, FilterRunResult, FilterRunContext, FilterRunOptions, PreparedFilter } from './scheduler/filter-runner.js'
export { runRequestFilters } from './scheduler/request-filter-runner.js'
export type { RequestFilterOutcome, RequestFilterRunResult } from './scheduler/request-filter-runner.js'
export { weighHosts, weighTable, scoresOf, topHosts, Ranking, normalize, hostMultiplier, pickFromSubset, prepareWeighers } from './scheduler/weigh.js'
export type { WeigherScore, WeighedHost, PreparedWeigher, WeighTable, WeighColumn } from './scheduler/weigh.js'
export { DatabaseHostStateSource } from './scheduler/host-state-source.js'
export type { HostStateSource, DatabaseHostStateSourceConfig } from './scheduler/host-state-source.js'
export { buildAllocationCandidatesRequest } from './scheduler/resource-request.js'
export type { ResourceRequestOptions } from './scheduler/resource-request.js'
export { ComputeFilter } from './scheduler/filters/compute-filter.js'
export { ComputeCapabilitiesFilter } from './scheduler/filters/compute-capabilities-filter.js'
export { ImagePropertiesFilter } from './scheduler/filters/image-properties-filter.js'
export type { ImagePropertiesFilterOptions } from './scheduler/filters/image-properties-filter.js'
export { ServerGroupAffinityFilter } from './scheduler/filters/server-group-affinity-filter.js'
export { ServerGroupAntiAffinityFilter } from './scheduler/filters/server-group-anti-affinity-filter.js'
export { AggregateInstanceExtraSpecsFilter } from './scheduler/filters/aggregate-instance-extra-specs-filter.js'
export { IoOpsFilter } from './scheduler/filters/io-ops-filter.js'
export type { IoOpsFilterOptions } from './scheduler/filters/io-ops-filter.js'
export { NumInstancesFilter } from './scheduler/filters/num-instances-filter.js'
export type { NumInstancesFilterOptions } from './scheduler/filters/num-instances-filter.js'
export { SameHostFilter } from './scheduler/filters/same-host-filter.js'
export { DifferentHostFilter } from './scheduler/filters/different-host-filter.js'
export { AvailabilityZoneFilter } from './scheduler/filters/availability-zone-filter.js'
export type { AvailabilityZoneFilterOptions } from './scheduler/filters/availability-zone-filter.js'
export { AggregateMultiTenancyIsolation } from './scheduler/filters/aggregate-multi-tenancy-isolation.js'
export { AggregateImagePropertiesIsolation } from './scheduler/filters/aggregate-image-properties-isolation.js'
export type { AggregateImagePropertiesIsolationOptions } from './scheduler/filters/aggregate-image-properties-isolation.js'
export { IsolatedHostsFilter } from './scheduler/filters/isolated-hosts-filter.js'
export type { IsolatedHostsFilterOptions } from './scheduler/filters/isolated-hosts-filter.js'
export { JsonFilter } from './scheduler/filters/json-filter.js'
export { MetricsFilter } from './scheduler/filters/metrics-filter.js'
export type { MetricsFilterOptions } from './scheduler/filters/metrics-filter.js'
export { MetricsWeigher, parseWeightSetting } from './scheduler/weighers/metrics-weigher.js'
export type { MetricsWeigherOptions } from './scheduler/weighers/metrics-weigher.js'
export { AvailabilityZoneRequestFilter } from './scheduler/request-filters/availability-zone-request-filter.js'
export { TenantAggregateRequestFilter } from './scheduler/request-filters/tenant-aggregate-request-filter.js'
export type { TenantAggregateRequestFilterOptions } from './scheduler/request-filters/tenant-aggregate-request-filter.js'
export { ImageTypeRequestFilter } from './scheduler/request-filters/image-type-request-filter.js'
export { ComputeStatusRequestFilter } from './scheduler/request-filters/compute-status-request-filter.js'
export { IsolatedAggregatesRequestFilter } from './scheduler/request-filters/isolated-aggregates-request-filter.js'
export { RamWeigher } from './scheduler/weighers/ram-weigher.js'
export { CpuWeigher } from './scheduler/weighers/cpu-weigher.js'
export { DiskWeigher } from './scheduler/weighers/disk-weigher.js'
export { IoOpsWeigher } from './scheduler/weighers/io-ops-weigher.js'
export { NumInstancesWeigher } from './scheduler/weighers/num-instances-weigher.js'
export { BuildFailureWeigher } from './scheduler/weighers/build-failure-weigher.js'
export { ServerGroupSoftAffinityWeigher } from './scheduler/weighers/server-group-soft-affinity-weigher.js'
export { ServerGroupSoftAntiAffinityWeigher } from './scheduler/weighers/server-group-soft-anti-affinity-weigher.js'
export { ConductorTaskRpcClient, CONDUCTOR_TOPIC } from './conductor/conductor-rpc.js'
export type { BuildParameters } from './conductor/conductor-rpc.js'
export { ComputeRpcClient, COMPUTE_TOPIC } from './compute/compute-rpc.js'
export {
  ComputeApi, serverFromRow, sanitizeHostname, generatePassword, FlavorService, DEFAULT_FLAVORS, flavorFromRow, KeypairService, keypairFingerprint,
  validateKeypairName, parseSshPublicKey, toOpenSshPublicKey, generateSshKeypair, HypervisorService, ComputeNodeService, ServiceService,
  AvailabilityZoneService, isServiceUp, DEFAULT_SERVICE_DOWN_TIME_SEC, ServerGroupService, SERVER_GROUP_POLICIES, SchedulerDryRunService,
  AggregateService,
} from './api/index.js'
export type {
  CreateServerRequest, CreateServersResult, RequestedNetwork, InjectedFile, Server, InstanceFault, ServerListFilters, ServerUpdate,
  InstanceAction, InstanceActionEvent, InstanceActionWithEvents, InstanceActionListOptions, ComputeApiConfig, MetadataUpdateOptions,
  FlavorListFilters, FlavorCreateRequest, FlavorAccess, FlavorServiceConfig, DefaultFlavor, Keypair, CreatedKeypair, KeypairType,
  KeypairCreateRequest, KeypairListOptions, KeypairServiceConfig, SshPublicKey, Hypervisor, HypervisorServiceRef, HypervisorServer,
  HypervisorListOptions, HypervisorStatistics, HypervisorServiceConfig, ComputeService, ServiceListFilters, ServiceUpdate, ServiceServiceConfig,
  AvailabilityZoneInfo, ZoneServiceState, AvailabilityZoneServiceConfig, ServiceHeartbeat, ZoneConfig, ServerGroup, ServerGroupPolicy,
  ServerGroupCreateRequest, ServerGroupListOptions, ServerGroupServiceConfig, SchedulerDryRunRequest, SchedulerDryRunResult, DryRunDestination, DryRunScheduler,
  Aggregate, AggregateCreateRequest, AggregateUpdate, AggregateId, AggregatePlacement, AggregateServiceConfig,
} from './api/index.js'
export { IdentityService, DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, DEFAULT_ROLES, UNAUTHORIZED_MESSAGE } from './identity/index.js'
export type {
  IdentityUser, IdentityProject, IdentityRole, ProjectScope, AuthenticateRequest, AuthenticateResult, ValidatedToken, IdentityServiceConfig,
  BootstrapOptions,
} from './identity/index.js'
export { ImageService, imageFromRow, DEFAULT_IMAGE_ID, DEFAULT_IMAGE_NAME } from './image/index.js'
export type { Image, ImageVisibility, ImageStatus, ImageCreateRequest, ImageUpdate, ImageListFilters } from './image/index.js'
export { QuotaService, QUOTA_RESOURCES, DEFAULT_QUOTAS, LEGACY_NETWORK_QUOTAS } from './quota/index.js'
export type {
  QuotaResource, QuotaSet, QuotaDetail, QuotaDetailItem, AbsoluteLimits, QuotaScope, QuotaEvaluation, QuotaServiceConfig, QuotaUpdateOptions,
} from './quota/index.js'
export { Policy, DEFAULT_POLICY_RULES } from './policy/index.js'
export type { PolicyCheck, PolicyTarget, PolicyConfig } from './policy/index.js'
export { InMemoryTransport, InMemoryBroker } from './transport/in-memory-transport.js'
export type { InMemoryTransportConfig } from './transport/in-memory-transport.js'
export { ConductorManager, conductorEndpoint, ConductorComputeRpcClient, COMPUTE_STATUS_DISABLED, FAULT_MESSAGE_MAX, faultCode, ServiceReporter, RetryingConductorComputeRpcClient } from './conductor/index.js'
export type {
  ServiceReporterConfig, ConductorCallRetryOptions, ConductorManagerConfig, ConductorManagerOptions, BuildFailure, BuildRetry, BuildInstancesArgs, ServiceRecord, ServiceReport, ComputeNodeReport,
  ComputeNodeRecord, InstanceFaultInput, ActionStartInput, ActionEventStartInput, ActionEventFinishInput, InstanceUpdateOptions, GroupAdmission,
} from './conductor/index.js'
export { ComputeManager, computeEndpoint, computeNodeUsage, ComputeHostReconciler } from './compute/index.js'
export type { ComputeHostReconcilerConfig, GuestReconciliation, ComputeManagerConfig, ComputeManagerOptions, BuildAndRunInstanceArgs, NodeUsage } from './compute/index.js'
export {
  Notifier, PAYLOAD_VERSIONS, versionedPayload, faultFromError, exceptionPayload, flavorPayload, instanceActionPayload, computeTaskPayload, aggregatePayload,
} from './notifications/index.js'
export type { NotifierConfig, VersionedPayload, FaultInfo, InstancePayloadOptions, AggregatePayloadSource } from './notifications/index.js'
export { createDeployment, deploymentProviders } from './composition/create-deployment.js'
export type { Deployment, DeploymentConfig, DeploymentRole, ComputeHostConfig, ApiServices } from './composition/create-deployment.js'
export {
  DEPLOYMENT_CONFIG, PLACEMENT, SCHEDULER_MANAGER, SCHEDULER_REGISTRY, HOST_STATE_SOURCE, CONDUCTOR_MANAGER, COMPUTE_MANAGERS,
} from './tokens.js'
