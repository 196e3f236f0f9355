import { AvailabilityZoneService } from '../api/availability-zone-service.js'
import { ComputeApi, type ComputeApiConfig } from '../api/compute-api.js'
import { FlavorService } from '../api/flavor-service.js'
import { HypervisorService } from '../api/hypervisor-service.js'
import { KeypairService } from '../api/keypair-service.js'
import { ServiceService } from '../api/service-service.js'
import { ComputeManager, type ComputeManagerOptions } from '../compute/compute-manager.js'
import { ComputeRpcClient } from '../compute/compute-rpc.js'
import { ConductorComputeRpcClient } from '../conductor/conductor-compute-rpc.js'
import { ConductorManager, type ConductorManagerOptions } from '../conductor/conductor-manager.js'
import { ConductorTaskRpcClient } from '../conductor/conductor-rpc.js'
import { createDatabase, type DatabaseConfig, type NovumDb } from '../db/create-database.js'
import { migrateToLatest } from '../db/migrate.js'
import { IdentityService, type IdentityServiceConfig } from '../identity/identity-service.js'
import { ImageService } from '../image/image-service.js'
import { PlacementService } from '../placement/placement-service.js'
import { Policy } from '../policy/policy.js'
import { QuotaService } from '../quota/quota-service.js'
import { SchedulerManager, type SchedulerConfig } from '../scheduler/scheduler-manager.js'
import {
  AVAILABILITY_ZONE_SERVICE, CLOCK, COMPUTE_API, COMPUTE_MANAGERS, CONDUCTOR_MANAGER, DATABASE, DEPLOYMENT_CONFIG, FLAVOR_SERVICE,
  HYPERVISOR_SERVICE, IDENTITY_SERVICE, IMAGE_SERVICE, KEYPAIR_SERVICE, LOGGER, PLACEMENT, POLICY, QUOTA_SERVICE, SCHEDULER_MANAGER,
  SERVICE_SERVICE, TRANSPORT,
} from '../tokens.js'
import { InMemoryTransport } from '../transport/in-memory-transport.js'
import type { Transport } from '../transport/transport.js'
import { systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import type { VirtDriver } from '../virt/virt-driver.js'
import { provide, provideValue, resolveProviders, type Provider, type Resolver } from './provider.js'

/** The services a process can run. An all-in-one process runs them all. */
export type DeploymentRole = 'api' | 'conductor' | 'scheduler' | 'compute'

/** One compute service of the deployment: its host name and its driver. */
export interface ComputeHostConfig {
  readonly host: string
  readonly driver: VirtDriver
}

/**
 * Everything a deployment is made of. Only `database` is required for the control services; a compute-only
 * process needs no database at all (it talks to the conductor over the transport).
 */
export interface DeploymentConfig {
  /** The database (api, conductor, scheduler and Placement use it). */
  readonly database?: DatabaseConfig | { readonly kind: 'handle'; readonly db: NovumDb }
  /** The transport every service of this process shares. @default a new `InMemoryTransport` */
  readonly transport?: Transport
  /** Which services run in this process. @default all four */
  readonly roles?: readonly DeploymentRole[]
  /** The compute services of this process (role `compute`). */
  readonly computeHosts?: readonly ComputeHostConfig[]
  readonly scheduler?: SchedulerConfig
  readonly compute?: ComputeManagerOptions
  readonly conductor?: ConductorManagerOptions
  readonly api?: ComputeApiConfig
  readonly identity?: IdentityServiceConfig
  /** Apply pending migrations in {@link Deployment.start}. @default true */
  readonly migrate?: boolean
  readonly clock?: Clock
  readonly logger?: Logger
}

/** What the HTTP layer needs of a deployment: the business services, by name. */
export interface ApiServices {
  readonly computeApi: ComputeApi
  readonly flavors: FlavorService
  readonly keypairs: KeypairService
  readonly quotas: QuotaService
  readonly identity: IdentityService
  readonly images: ImageService
  readonly hypervisors: HypervisorService
  readonly services: ServiceService
  readonly availabilityZones: AvailabilityZoneService
  readonly policy: Policy
  readonly placement: PlacementService
}

/** A wired deployment: start it, serve it, stop it. */
export interface Deployment {
  /** Resolves any token of the deployment. */
  readonly resolver: Resolver
  readonly transport: Transport
  /** The business services (only in a process with the `api` role). */
  readonly api: ApiServices
  /** Migrates (unless disabled), then starts the scheduler, conductor and compute services of this process. */
  start(): Promise<void>
  /** Stops every service, then closes the transport and the database. */
  stop(): Promise<void>
}

const ALL_ROLES: readonly DeploymentRole[] = ['api', 'conductor', 'scheduler', 'compute']

/**
 * The providers of a deployment, as plain data: what {@link createDeployment} resolves without a container, and
 * what the inversify and tsyringe adapters bind. A later provider for the same token replaces an earlier one.
 */
export function deploymentProviders(config: DeploymentConfig): Provider[] {
  const db = config.database
  return [
    provideValue(DEPLOYMENT_CONFIG, config),
    provide(CLOCK, [], () => config.clock ?? systemClock),
    provide(LOGGER, [], () => config.logger ?? silentLogger),
    provide(TRANSPORT, [LOGGER], (logger) => config.transport ?? new InMemoryTransport({ logger })),
    provide(DATABASE, [], () => {
      if (!db) throw new Error('this deployment has no database configured (config.database)')
      return db.kind === 'handle' ? db.db : createDatabase(db)
    }),
    provide(POLICY, [], () => new Policy()),
    provide(PLACEMENT, [DATABASE, CLOCK, LOGGER], (d, clock, logger) => new PlacementService(d, { clock, logger: logger.child({ service: 'placement' }) })),
    provide(SCHEDULER_MANAGER, [DATABASE, PLACEMENT, TRANSPORT, CLOCK, LOGGER], (d, placement, transport, clock, logger) =>
      new SchedulerManager({ db: d, placement, transport, clock, logger, ...(config.scheduler ? { config: config.scheduler } : {}) })),
    provide(CONDUCTOR_MANAGER, [DATABASE, TRANSPORT, PLACEMENT, CLOCK, LOGGER], (d, transport, placement, clock, logger) =>
      new ConductorManager({ db: d, transport, placement, clock, logger, ...(config.conductor ? { options: config.conductor } : {}) })),
    provide(COMPUTE_MANAGERS, [TRANSPORT, CLOCK, LOGGER], (transport, clock, logger) =>
      (config.computeHosts ?? []).map(
        (h) => new ComputeManager({ host: h.host, driver: h.driver, conductor: new ConductorComputeRpcClient(transport), transport, clock, logger, ...(config.compute ? { options: config.compute } : {}) }),
      )),
    provide(QUOTA_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new QuotaService(d, policy, clock, logger)),
    provide(FLAVOR_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new FlavorService(d, policy, clock, logger)),
    provide(IMAGE_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new ImageService(d, policy, clock, logger)),
    provide(KEYPAIR_SERVICE, [DATABASE, QUOTA_SERVICE, POLICY, CLOCK, LOGGER], (d, quotas, policy, clock, logger) => new KeypairService(d, quotas, policy, clock, logger)),
    provide(IDENTITY_SERVICE, [DATABASE, CLOCK, LOGGER], (d, clock, logger) => new IdentityService(d, clock, logger, config.identity ?? {})),
    provide(HYPERVISOR_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new HypervisorService(d, policy, clock, logger)),
    provide(SERVICE_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new ServiceService(d, policy, clock, logger)),
    provide(AVAILABILITY_ZONE_SERVICE, [DATABASE, POLICY, CLOCK], (d, policy, clock) => new AvailabilityZoneService(d, policy, clock)),
    provide(
      COMPUTE_API,
      [DATABASE, TRANSPORT, FLAVOR_SERVICE, IMAGE_SERVICE, KEYPAIR_SERVICE, QUOTA_SERVICE, POLICY, CLOCK, LOGGER, PLACEMENT],
      (d, transport, flavors, images, keypairs, quotas, policy, clock, logger, placement) =>
        new ComputeApi(d, new ConductorTaskRpcClient(transport), new ComputeRpcClient(transport), flavors, images, keypairs, quotas, policy, clock, logger.child({ service: 'nova-api' }), config.api ?? {}, placement),
    ),
  ]
}

/**
 * Wires a deployment. With no `options.resolver`, providers are resolved without a container; pass
 * `createInversifyResolver` (from `@novum/di-inversify`) or `createTsyringeResolver` (`@novum/di-tsyringe`) to
 * wire the same providers through a container.
 *
 * @example
 * ```ts
 * const deployment = createDeployment({
 *   database: { kind: 'sqlite', filename: 'novum.sqlite' },
 *   computeHosts: [{ host: 'compute-1', driver: new FakeVirtDriver({ hostname: 'compute-1' }) }],
 * })
 * await deployment.start()
 * ```
 */
export function createDeployment(
  config: DeploymentConfig,
  options: { readonly resolver?: (providers: readonly Provider[]) => Resolver; readonly extraProviders?: readonly Provider[] } = {},
): Deployment {
  const providers = [...deploymentProviders(config), ...(options.extraProviders ?? [])]
  const resolver = (options.resolver ?? resolveProviders)(providers)
  const roles = new Set(config.roles ?? ALL_ROLES)
  const needsDb = roles.has('api') || roles.has('conductor') || roles.has('scheduler')
  let started: { stop(): Promise<void> }[] = []
  let api: ApiServices | undefined

  return {
    resolver,
    get transport() {
      return resolver.get(TRANSPORT)
    },
    get api(): ApiServices {
      if (!roles.has('api')) throw new Error('this deployment does not run the api role')
      api ??= {
        computeApi: resolver.get(COMPUTE_API),
        flavors: resolver.get(FLAVOR_SERVICE),
        keypairs: resolver.get(KEYPAIR_SERVICE),
        quotas: resolver.get(QUOTA_SERVICE),
        identity: resolver.get(IDENTITY_SERVICE),
        images: resolver.get(IMAGE_SERVICE),
        hypervisors: resolver.get(HYPERVISOR_SERVICE),
        services: resolver.get(SERVICE_SERVICE),
        availabilityZones: resolver.get(AVAILABILITY_ZONE_SERVICE),
        policy: resolver.get(POLICY),
        placement: resolver.get(PLACEMENT),
      }
      return api
    },
    async start() {
      if (needsDb && config.migrate !== false) await migrateToLatest(resolver.get(DATABASE))
      try {
        if (roles.has('scheduler')) {
          const s = resolver.get(SCHEDULER_MANAGER)
          await s.start()
          started.push(s)
        }
        if (roles.has('conductor')) {
          const c = resolver.get(CONDUCTOR_MANAGER)
          await c.start()
          started.push(c)
        }
        if (roles.has('compute')) {
          for (const m of resolver.get(COMPUTE_MANAGERS)) {
            await m.start()
            started.push(m)
          }
        }
      } catch (err) {
        await this.stop()
        throw err
      }
    },
    async stop() {
      const toStop = started.reverse()
      started = []
      for (const s of toStop) await s.stop()
      await resolver.get(TRANSPORT).close()
      if (needsDb) await resolver.get(DATABASE).destroy()
    },
  }
}
