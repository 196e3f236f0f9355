import { token } from './composition/provider.js'
import type { NovumDb } from './db/create-database.js'
import type { Transport } from './transport/transport.js'
import type { VirtDriver } from './virt/virt-driver.js'
import type { Clock } from './util/clock.js'
import type { Logger } from './util/logger.js'
import type { ComputeApi } from './api/compute-api.js'
import type { FlavorService } from './api/flavor-service.js'
import type { KeypairService } from './api/keypair-service.js'
import type { HypervisorService } from './api/hypervisor-service.js'
import type { ServiceService } from './api/service-service.js'
import type { AvailabilityZoneService } from './api/availability-zone-service.js'
import type { ServerGroupService } from './api/server-group-service.js'
import type { SchedulerDryRunService } from './api/scheduler-dry-run-service.js'
import type { AggregateService } from './api/aggregate-service.js'
import type { IdentityService } from './identity/identity-service.js'
import type { ImageService } from './image/image-service.js'
import type { QuotaService } from './quota/quota-service.js'
import type { Policy } from './policy/policy.js'
import type { PlacementService } from './placement/placement-service.js'
import type { SchedulerManager } from './scheduler/scheduler-manager.js'
import type { PluginRegistry } from './scheduler/registry.js'
import type { HostStateSource } from './scheduler/host-state-source.js'
import type { ConductorManager } from './conductor/conductor-manager.js'
import type { ComputeManager } from './compute/compute-manager.js'
import type { DeploymentConfig } from './composition/create-deployment.js'

/*
 * Every DI token, in one file. Services add theirs here as they are written.
 */

/** The database handle (api, conductor, scheduler and Placement only; never a compute service). */
export const DATABASE = token<NovumDb>('Database')
/** The message transport shared by every service in the process. */
export const TRANSPORT = token<Transport>('Transport')
/** The compute service's driver. */
export const VIRT_DRIVER = token<VirtDriver>('VirtDriver')
/** The source of time. */
export const CLOCK = token<Clock>('Clock')
/** The structured logger (pino-compatible). */
export const LOGGER = token<Logger>('Logger')

// --- api, identity, image, quota, policy ---
/** The Compute API business layer. */
export const COMPUTE_API = token<ComputeApi>('ComputeApi')
/** Flavors, extra specs and flavor access. */
export const FLAVOR_SERVICE = token<FlavorService>('FlavorService')
/** Keypairs. */
export const KEYPAIR_SERVICE = token<KeypairService>('KeypairService')
/** Hypervisors (compute nodes) for the admin API. */
export const HYPERVISOR_SERVICE = token<HypervisorService>('HypervisorService')
/** Services (`os-services`). */
export const SERVICE_SERVICE = token<ServiceService>('ServiceService')
/** Availability zones. */
export const AVAILABILITY_ZONE_SERVICE = token<AvailabilityZoneService>('AvailabilityZoneService')
/** The embedded Keystone. */
export const IDENTITY_SERVICE = token<IdentityService>('IdentityService')
/** The embedded Glance. */
export const IMAGE_SERVICE = token<ImageService>('ImageService')
/** Quotas and limits. */
export const QUOTA_SERVICE = token<QuotaService>('QuotaService')
/** Policy enforcement. */
export const POLICY = token<Policy>('Policy')
/** Server groups (`os-server-groups`). */
export const SERVER_GROUP_SERVICE = token<ServerGroupService>('ServerGroupService')
/** Host aggregates (`os-aggregates`), mirrored into Placement. */
export const AGGREGATE_SERVICE = token<AggregateService>('AggregateService')
/** The scheduler dry run (`os-scheduler-dry-run`, a Novum extension). */
export const SCHEDULER_DRY_RUN_SERVICE = token<SchedulerDryRunService>('SchedulerDryRunService')

// --- services and wiring ---
/** The configuration a deployment was created from. */
export const DEPLOYMENT_CONFIG = token<DeploymentConfig>('DeploymentConfig')
/** Placement, over the database. */
export const PLACEMENT = token<PlacementService>('Placement')
/** The scheduler service. */
export const SCHEDULER_MANAGER = token<SchedulerManager>('SchedulerManager')
/** The scheduler's plugins by name (`createInTreeRegistry()` plus `DeploymentConfig.schedulerPlugins`). */
export const SCHEDULER_REGISTRY = token<PluginRegistry>('SchedulerRegistry')
/** Where the scheduler reads host states (`DatabaseHostStateSource` by default). */
export const HOST_STATE_SOURCE = token<HostStateSource>('HostStateSource')
/** The conductor service. */
export const CONDUCTOR_MANAGER = token<ConductorManager>('ConductorManager')
/** The compute services of this process, one per configured host. */
export const COMPUTE_MANAGERS = token<readonly ComputeManager[]>('ComputeManagers')
