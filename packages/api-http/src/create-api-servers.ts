import type { FastifyInstance, FastifyRequest } from 'fastify'
import type {
  AggregateService, AvailabilityZoneService, ComputeApi, FlavorService, HypervisorService, IdentityService, ImageService, KeypairService, PlacementService, Policy,
  QuotaService, SchedulerDryRunService, ServerGroupService, ServiceService,
} from '@novum/core'
import type { LoggingOptions } from './common/base-app.js'
import { TokenCache, type TokenCacheOptions } from './common/token-cache.js'
import { createComputeApp, type ComputeRoutesFactory } from './compute/compute-app.js'
import { aggregateRoutes } from './compute/routes/aggregates.js'
import { flavorRoutes } from './compute/routes/flavors.js'
import { infrastructureRoutes } from './compute/routes/infrastructure.js'
import { keypairRoutes } from './compute/routes/keypairs.js'
import { quotaRoutes } from './compute/routes/quotas.js'
import { schedulerDryRunRoutes } from './compute/routes/scheduler-dry-run.js'
import { serverGroupRoutes } from './compute/routes/server-groups.js'
import { serverRoutes } from './compute/routes/servers.js'
import { createIdentityApp, type ServiceEndpoints } from './identity/identity-app.js'
import { createImageApp } from './image/image-app.js'
import { createPlacementApp } from './placement/placement-app.js'

/**
 * The business services the HTTP surfaces call (core's `ApiServices` from `createDeployment` fits as is).
 */
export interface ApiHttpServices {
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
  /** Placement over the database, served by the Placement API. */
  readonly placement: PlacementService
  /** Serves `/os-server-groups` (and the 2.71 `server_groups` of a server) when given. */
  readonly serverGroups?: ServerGroupService
  /** Serves the `/os-scheduler-dry-run` extension when given. */
  readonly schedulerDryRun?: SchedulerDryRunService
  /** Serves `/os-aggregates` when given. */
  readonly aggregates?: AggregateService
}

/** The default port of each surface (Nova, Keystone, Glance, Placement). */
export const DEFAULT_PORTS: Readonly<Record<keyof ServiceEndpoints, number>> = { compute: 8774, identity: 5000, image: 9292, placement: 8778 }

/** Options of {@link createApiServers}. */
export interface ApiServersOptions extends LoggingOptions {
  /**
   * The public URL of each surface: links, the token catalog and `WWW-Authenticate` use them. A trailing version
   * (`/v2.1`, `/v3`, `/v2`) is ignored. An omitted one is derived from the Host the client used, with the port
   * the surface listens on.
   */
  readonly endpoints?: Partial<ServiceEndpoints>
  /** The catalog region. @default 'RegionOne' */
  readonly region?: string
  /** Nova `[api] max_limit`. @default 1000 */
  readonly maxLimit?: number
  /** Where uploaded image data is stored (`PUT /v2/images/{id}/file`). @default a directory under the system's temp dir */
  readonly imageDataDir?: string
  /** The token validation cache shared by the compute and image apps (keystonemiddleware's token cache). */
  readonly tokenCache?: TokenCacheOptions
  /** Compute route modules served besides the built-in ones (an API extension). */
  readonly extraComputeRoutes?: readonly ComputeRoutesFactory[]
}

/**
 * Endpoint roots without a trailing slash or version segment: `http://h:8774/v2.1` → `http://h:8774`,
 * `http://h:5000/v3/` → `http://h:5000` (the catalog and links add the versions themselves).
 */
export function normaliseEndpoints(given: Partial<ServiceEndpoints> | undefined): Partial<ServiceEndpoints> {
  const out: Partial<Record<keyof ServiceEndpoints, string>> = {}
  for (const [name, url] of Object.entries(given ?? {}) as [keyof ServiceEndpoints, string | undefined][]) {
    if (url) out[name] = url.replace(/\/+$/, '').replace(/\/v\d+(?:\.\d+)?$/, '')
  }
  return out
}

/** The ports (or a host) {@link ApiServers.listen} binds. */
export interface ListenOptions {
  /** @default '127.0.0.1' */
  readonly host?: string
  /** Port per surface; 0 picks a free port. @default {@link DEFAULT_PORTS} */
  readonly ports?: Partial<Record<keyof ServiceEndpoints, number>>
}

/** The four HTTP surfaces of a deployment, each a fastify instance usable with `inject()` without listening. */
export interface ApiServers {
  /** The Compute API (Nova, 8774). */
  readonly compute: FastifyInstance
  /** The Identity API (Keystone v3 subset, 5000). */
  readonly identity: FastifyInstance
  /** The Image API (Glance v2 subset, 9292). */
  readonly image: FastifyInstance
  /** The Placement API (8778). */
  readonly placement: FastifyInstance
  /** The shared token cache (revocations through the identity app evict from it). */
  readonly tokenCache: TokenCache
  /** Listens on every surface; returns each one's address (`http://127.0.0.1:8774`). */
  listen(options?: ListenOptions): Promise<Record<keyof ServiceEndpoints, string>>
  /** Closes every surface. */
  close(): Promise<void>
}

/**
 * Builds the compute, identity, image and placement apps over the business services: the whole HTTP side of
 * a deployment. Nothing listens until {@link ApiServers.listen}; tests use each app's `inject()`.
 *
 * @example
 * ```ts
 * const deployment = createDeployment({ database: { kind: 'sqlite', filename: 'novum.sqlite' } })
 * await deployment.start()
 * const servers = createApiServers(deployment.api, { logger: pino() })
 * await servers.listen({ host: '0.0.0.0' })
 * ```
 */
export function createApiServers(services: ApiHttpServices, options: ApiServersOptions = {}): ApiServers {
  const endpoints = normaliseEndpoints(options.endpoints)
  const tokenCache = new TokenCache(options.tokenCache)
  const logging: LoggingOptions = {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.requestLogging !== undefined ? { requestLogging: options.requestLogging } : {}),
  }
  // Ports actually bound by listen() (port 0 picks one), so derived URLs name the right port.
  const boundPorts: Partial<Record<keyof ServiceEndpoints, number>> = {}
  const derived = (request: FastifyRequest, name: keyof ServiceEndpoints): string =>
    endpoints[name] ??
    `${request.protocol}://${(request.hostname || 'localhost').replace(/:\d+$/, '')}:${boundPorts[name] ?? DEFAULT_PORTS[name]}`
  const identityUri = (request: FastifyRequest): string => derived(request, 'identity')
  const endpointsFor = (request: FastifyRequest): ServiceEndpoints => ({
    compute: derived(request, 'compute'),
    identity: derived(request, 'identity'),
    image: derived(request, 'image'),
    placement: derived(request, 'placement'),
  })

  const compute = createComputeApp({
    ...logging,
    tokens: services.identity,
    tokenCache,
    identityUri,
    ...(endpoints.compute ? { publicUrl: endpoints.compute } : {}),
    ...(options.maxLimit !== undefined ? { maxLimit: options.maxLimit } : {}),
    routes: [
      serverRoutes({ compute: services.computeApi, policy: services.policy, ...(services.serverGroups ? { serverGroups: services.serverGroups } : {}) }),
      flavorRoutes({ flavors: services.flavors, policy: services.policy }),
      keypairRoutes({ keypairs: services.keypairs }),
      quotaRoutes({ quotas: services.quotas }),
      infrastructureRoutes({ hypervisors: services.hypervisors, services: services.services, availabilityZones: services.availabilityZones }),
      ...(services.serverGroups ? [serverGroupRoutes({ serverGroups: services.serverGroups })] : []),
      ...(services.schedulerDryRun ? [schedulerDryRunRoutes({ schedulerDryRun: services.schedulerDryRun })] : []),
      ...(services.aggregates ? [aggregateRoutes({ aggregates: services.aggregates })] : []),
      ...(options.extraComputeRoutes ?? []),
    ],
  })
  const identity = createIdentityApp({
    ...logging,
    identity: services.identity,
    tokenCache,
    endpoints: endpointsFor,
    ...(options.region ? { region: options.region } : {}),
  })
  const image = createImageApp({
    ...logging,
    images: services.images,
    tokens: services.identity,
    tokenCache,
    identityUri,
    ...(endpoints.image ? { publicUrl: endpoints.image } : {}),
    ...(options.imageDataDir !== undefined ? { dataDir: options.imageDataDir } : {}),
  })
  const placement = createPlacementApp({ ...logging, placement: services.placement, tokens: services.identity, tokenCache, identityUri })
  const apps = { compute, identity, image, placement }

  return {
    ...apps,
    tokenCache,
    async listen(listenOptions: ListenOptions = {}) {
      const host = listenOptions.host ?? '127.0.0.1'
      const out = {} as Record<keyof ServiceEndpoints, string>
      for (const name of Object.keys(apps) as (keyof ServiceEndpoints)[]) {
        out[name] = await apps[name].listen({ host, port: listenOptions.ports?.[name] ?? DEFAULT_PORTS[name] })
        const address = apps[name].server.address()
        if (address && typeof address === 'object') boundPorts[name] = address.port
      }
      return out
    },
    async close() {
      await Promise.all(Object.values(apps).map((a) => a.close()))
    },
  }
}
