import { AggregateService } from '../api/aggregate-service.js'
import { AvailabilityZoneService } from '../api/availability-zone-service.js'
import { ComputeApi, type ComputeApiConfig } from '../api/compute-api.js'
import { FlavorService } from '../api/flavor-service.js'
import { HypervisorService } from '../api/hypervisor-service.js'
import { KeypairService } from '../api/keypair-service.js'
import { SchedulerDryRunService } from '../api/scheduler-dry-run-service.js'
import { ServerGroupService } from '../api/server-group-service.js'
import { ServiceService } from '../api/service-service.js'
import { ComputeManager, type ComputeManagerOptions } from '../compute/compute-manager.js'
import { ComputeHostReconciler } from '../compute/host-reconciler.js'
import { ComputeRpcClient } from '../compute/compute-rpc.js'
import { ConductorComputeRpcClient } from '../conductor/conductor-compute-rpc.js'
import { RetryingConductorComputeRpcClient } from '../conductor/retrying-conductor-compute-rpc.js'
import { ConductorManager, type ConductorManagerOptions } from '../conductor/conductor-manager.js'
import { CONDUCTOR_TOPIC, ConductorTaskRpcClient } from '../conductor/conductor-rpc.js'
import { ServiceReporter } from '../conductor/service-reporter.js'
import { createDatabase, type DatabaseConfig, type NovumDb } from '../db/create-database.js'
import { migrateToLatest } from '../db/migrate.js'
import { IdentityService, type IdentityServiceConfig } from '../identity/identity-service.js'
import { ImageService } from '../image/image-service.js'
import { Notifier } from '../notifications/notifier.js'
import { PlacementService } from '../placement/placement-service.js'
import { Policy } from '../policy/policy.js'
import { QuotaService } from '../quota/quota-service.js'
import { createInTreeRegistry } from '../scheduler/in-tree.js'
import type { SchedulerPlugin } from '../scheduler/registry.js'
import { SchedulerManager, type SchedulerConfig } from '../scheduler/scheduler-manager.js'
import { SchedulerRpcClient, SCHEDULER_TOPIC } from '../scheduler/scheduler-rpc.js'
import {
  AGGREGATE_SERVICE, AVAILABILITY_ZONE_SERVICE, CLOCK, COMPUTE_API, COMPUTE_MANAGERS, CONDUCTOR_MANAGER, DATABASE, DEPLOYMENT_CONFIG, FLAVOR_SERVICE,
  HYPERVISOR_SERVICE, IDENTITY_SERVICE, IMAGE_SERVICE, KEYPAIR_SERVICE, LOGGER, PLACEMENT, POLICY, QUOTA_SERVICE, SCHEDULER_DRY_RUN_SERVICE, SCHEDULER_MANAGER,
  SCHEDULER_REGISTRY, SERVER_GROUP_SERVICE, SERVICE_SERVICE, TRANSPORT,
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
  /**
   * Third-party scheduler plugins (filters, weighers, request filters from `defineFilter`, `defineWeigher`,
   * `defineRequestFilter`), registered next to the in-tree ones; `scheduler.filters`, `scheduler.weighers` and
   * `scheduler.requestFilters` then enable them by name. A name already taken throws at start-up.
   */
  readonly schedulerPlugins?: readonly SchedulerPlugin[]
  readonly compute?: ComputeManagerOptions
  readonly conductor?: ConductorManagerOptions
  readonly api?: ComputeApiConfig
  readonly identity?: IdentityServiceConfig
  /** Apply pending migrations in {@link Deployment.start}. @default true */
  readonly migrate?: boolean
  /**
   * Nova `service_down_time` in whole seconds: a service whose last heartbeat is older than this is down. Applies to
   * the API's services, hypervisors and zones, its local-delete decision, and the scheduler's host states;
   * `api.serviceDownTimeSec` and `scheduler.serviceDownTimeSec` win where set. Keep it well above the heartbeat
   * period (`compute.reportIntervalMs`, `serviceReport.intervalMs`). @default 60
   */
  readonly serviceDownTimeSec?: number
  /**
   * Nova `rpc_response_timeout`: the timeout of the RPC calls this deployment's clients make (api → compute, e.g.
   * console output; compute → conductor, every database access). A call nobody answers in time fails with
   * `ComputeError('TIMEOUT')`. @default 60000
   */
  readonly rpcTimeoutMs?: number
  /**
   * Liveness of the conductor and scheduler of this process: each registers its `services` row (`nova-conductor`,
   * `nova-scheduler` on `host`) and heartbeats it every `intervalMs` straight in the database (Nova's DB
   * servicegroup driver), so `os-services` lists them up or down like compute services. Compute services always
   * report, through the conductor, every `compute.reportIntervalMs`. @default off
   */
  readonly serviceReport?: { readonly host: string; readonly intervalMs: number }
  /**
   * Reconcile each compute host of this process when it starts ({@link ComputeHostReconciler}): builds a previous
   * run left unfinished get a fault and go to ERROR before the service starts, and guests of deleted instances are
   * destroyed once it has. @default false
   */
  readonly reconcileComputeHosts?: boolean
  /**
   * Compute services of this process resend a database-proxy call to the conductor that failed with `TRANSPORT`
   * (the broker connection dropped while it waited) up to this many times ({@link RetryingConductorComputeRpcClient}).
   * Set it with a transport that reconnects (AMQP); 0 sends each call once. @default 0
   */
  readonly computeRpcRetries?: number
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
  readonly serverGroups: ServerGroupService
  readonly schedulerDryRun: SchedulerDryRunService
  readonly aggregates: AggregateService
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
  const downTime = config.serviceDownTimeSec
  const downTimeConfig = downTime !== undefined ? { serviceDownTimeSec: downTime } : {}
  const rpcTimeoutMs = config.rpcTimeoutMs ?? 60_000
  const computeConductorClient = (transport: Transport, logger: Logger): ConductorComputeRpcClient =>
    config.computeRpcRetries
      ? new RetryingConductorComputeRpcClient(transport, rpcTimeoutMs, { retries: config.computeRpcRetries, logger: logger.child({ service: 'nova-compute' }) })
      : new ConductorComputeRpcClient(transport, rpcTimeoutMs)
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
    provide(SCHEDULER_REGISTRY, [], () => createInTreeRegistry().register(...(config.schedulerPlugins ?? []))),
    provide(SCHEDULER_MANAGER, [DATABASE, PLACEMENT, TRANSPORT, CLOCK, LOGGER, SCHEDULER_REGISTRY], (d, placement, transport, clock, logger, registry) => {
      const schedulerConfig = downTime !== undefined ? { serviceDownTimeSec: downTime, ...config.scheduler } : config.scheduler
      return new SchedulerManager({ db: d, placement, transport, clock, logger, registry, ...(schedulerConfig ? { config: schedulerConfig } : {}) })
    }),
    provide(CONDUCTOR_MANAGER, [DATABASE, TRANSPORT, PLACEMENT, CLOCK, LOGGER], (d, transport, placement, clock, logger) =>
      new ConductorManager({ db: d, transport, placement, clock, logger, ...(config.conductor ? { options: config.conductor } : {}) })),
    provide(COMPUTE_MANAGERS, [TRANSPORT, CLOCK, LOGGER], (transport, clock, logger) =>
      (config.computeHosts ?? []).map(
        (h) => new ComputeManager({ host: h.host, driver: h.driver, conductor: computeConductorClient(transport, logger), transport, clock, logger, ...(config.compute ? { options: config.compute } : {}) }),
      )),
    provide(QUOTA_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new QuotaService(d, policy, clock, logger)),
    provide(FLAVOR_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new FlavorService(d, policy, clock, logger)),
    provide(IMAGE_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new ImageService(d, policy, clock, logger)),
    provide(KEYPAIR_SERVICE, [DATABASE, QUOTA_SERVICE, POLICY, CLOCK, LOGGER], (d, quotas, policy, clock, logger) => new KeypairService(d, quotas, policy, clock, logger)),
    provide(IDENTITY_SERVICE, [DATABASE, CLOCK, LOGGER], (d, clock, logger) => new IdentityService(d, clock, logger, config.identity ?? {})),
    provide(HYPERVISOR_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new HypervisorService(d, policy, clock, logger, downTimeConfig)),
    provide(SERVICE_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER, PLACEMENT], (d, policy, clock, logger, placement) => new ServiceService(d, policy, clock, logger, { ...downTimeConfig, placement })),
    provide(AVAILABILITY_ZONE_SERVICE, [DATABASE, POLICY, CLOCK, LOGGER], (d, policy, clock, logger) => new AvailabilityZoneService(d, policy, clock, logger, downTimeConfig)),
    provide(SERVER_GROUP_SERVICE, [DATABASE, QUOTA_SERVICE, POLICY, CLOCK, LOGGER], (d, quotas, policy, clock, logger) =>
      new ServerGroupService(d, quotas, policy, clock, logger.child({ service: 'nova-api' }), config.api?.maxLimit !== undefined ? { maxLimit: config.api.maxLimit } : {})),
    provide(AGGREGATE_SERVICE, [DATABASE, PLACEMENT, TRANSPORT, POLICY, CLOCK, LOGGER], (d, placement, transport, policy, clock, logger) => {
      const apiLogger = logger.child({ service: 'nova-api' })
      const notifier = new Notifier({ transport, service: 'nova-api', host: config.serviceReport?.host ?? 'api', clock, logger: apiLogger })
      const internalAvailabilityZone = config.api?.internalAvailabilityZone
      return new AggregateService(d, placement, policy, clock, apiLogger, { notifier, ...(internalAvailabilityZone !== undefined ? { internalAvailabilityZone } : {}) })
    }),
    provide(SCHEDULER_DRY_RUN_SERVICE, [TRANSPORT, FLAVOR_SERVICE, IMAGE_SERVICE, SERVER_GROUP_SERVICE, POLICY], (transport, flavors, images, groups, policy) =>
      new SchedulerDryRunService(new SchedulerRpcClient(transport, rpcTimeoutMs), flavors, images, groups, policy)),
    provide(
      COMPUTE_API,
      [DATABASE, TRANSPORT, FLAVOR_SERVICE, IMAGE_SERVICE, KEYPAIR_SERVICE, QUOTA_SERVICE, POLICY, CLOCK, LOGGER, PLACEMENT],
      (d, transport, flavors, images, keypairs, quotas, policy, clock, logger, placement) =>
        new ComputeApi(d, new ConductorTaskRpcClient(transport, rpcTimeoutMs), new ComputeRpcClient(transport, rpcTimeoutMs), flavors, images, keypairs, quotas, policy, clock, logger.child({ service: 'nova-api' }), { ...downTimeConfig, ...config.api }, placement),
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
  const heartbeat = async (binary: string, topic: string): Promise<void> => {
    if (!config.serviceReport) return
    const h = new ServiceReporter({ db: resolver.get(DATABASE), host: config.serviceReport.host, binary, topic, intervalMs: config.serviceReport.intervalMs, clock: resolver.get(CLOCK), logger: resolver.get(LOGGER) })
    await h.start()
    started.push(h)
  }

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
        serverGroups: resolver.get(SERVER_GROUP_SERVICE),
        schedulerDryRun: resolver.get(SCHEDULER_DRY_RUN_SERVICE),
        aggregates: resolver.get(AGGREGATE_SERVICE),
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
          await heartbeat('nova-scheduler', SCHEDULER_TOPIC)
        }
        if (roles.has('conductor')) {
          const c = resolver.get(CONDUCTOR_MANAGER)
          await c.start()
          started.push(c)
          await heartbeat('nova-conductor', CONDUCTOR_TOPIC)
        }
        if (roles.has('compute')) {
          const managers = resolver.get(COMPUTE_MANAGERS)
          for (const [index, m] of managers.entries()) {
            const host = config.computeHosts?.[index]
            const reconciler = config.reconcileComputeHosts && host
              ? new ComputeHostReconciler({ host: host.host, driver: host.driver, conductor: new ConductorComputeRpcClient(resolver.get(TRANSPORT), config.rpcTimeoutMs ?? 60_000), logger: resolver.get(LOGGER) })
              : null
            await reconciler?.failInterruptedBuilds()
            await m.start()
            started.push(m)
            await reconciler?.reapDeletedGuests()
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
