import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import type { PlacementService } from '@novum/core'
import { createAuthHook, type TokenValidator } from '../common/auth.js'
import { createBaseApp, type LoggingOptions } from '../common/base-app.js'
import { TokenCache } from '../common/token-cache.js'
import { PlacementError, sendPlacementError } from './errors.js'
import { PLACEMENT_MAX_VERSION, PLACEMENT_MIN_VERSION, placementVersionHook } from './microversion.js'
import type { PlacementRouteDeps, PlacementRoutes } from './route-support.js'
import { aggregateRoutes } from './routes/aggregates.js'
import { allocationCandidateRoutes } from './routes/allocation-candidates.js'
import { allocationRoutes } from './routes/allocations.js'
import { inventoryRoutes } from './routes/inventories.js'
import { resourceClassRoutes } from './routes/resource-classes.js'
import { resourceProviderRoutes } from './routes/resource-providers.js'
import { traitRoutes } from './routes/traits.js'
import { usageRoutes } from './routes/usages.js'
import { PlacementSchemas } from './validation.js'

export { PLACEMENT_MAX_VERSION, PLACEMENT_MIN_VERSION } from './microversion.js'

/** Options of {@link createPlacementApp}. */
export interface PlacementAppOptions extends LoggingOptions {
  /** Placement over the database (core's `PlacementService`). */
  readonly placement: PlacementService
  /** Resolves `X-Auth-Token`s. */
  readonly tokens: TokenValidator
  /** Shared with the other surfaces so a revoked token is forgotten at once. @default a new TokenCache */
  readonly tokenCache?: TokenCache
  /** The public identity URL for `WWW-Authenticate`, or a function deriving it from the request. */
  readonly identityUri: string | ((request: FastifyRequest) => string)
}

/** Every path of the API with the methods Placement serves on it (`handler.ROUTE_DECLARATIONS`); others are a 405. */
const ROUTE_METHODS: readonly (readonly [string, readonly HTTPMethods[]])[] = [
  ['/resource_classes', ['GET', 'POST']],
  ['/resource_classes/:name', ['GET', 'PUT', 'DELETE']],
  ['/resource_providers', ['GET', 'POST']],
  ['/resource_providers/:uuid', ['GET', 'DELETE', 'PUT']],
  ['/resource_providers/:uuid/inventories', ['GET', 'POST', 'PUT', 'DELETE']],
  ['/resource_providers/:uuid/inventories/:resource_class', ['GET', 'PUT', 'DELETE']],
  ['/resource_providers/:uuid/usages', ['GET']],
  ['/resource_providers/:uuid/aggregates', ['GET', 'PUT']],
  ['/resource_providers/:uuid/allocations', ['GET']],
  ['/allocations', ['POST']],
  ['/allocations/:consumer_uuid', ['GET', 'PUT', 'DELETE']],
  ['/allocation_candidates', ['GET']],
  ['/traits', ['GET']],
  ['/traits/:name', ['GET', 'PUT', 'DELETE']],
  ['/resource_providers/:uuid/traits', ['GET', 'PUT', 'DELETE']],
  ['/usages', ['GET']],
  ['/reshaper', ['POST']],
]

const ALL_METHODS: readonly HTTPMethods[] = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH']

const ROUTE_FAMILIES: readonly PlacementRoutes[] = [
  resourceProviderRoutes,
  inventoryRoutes,
  aggregateRoutes,
  traitRoutes,
  usageRoutes,
  allocationRoutes,
  allocationCandidateRoutes,
  resourceClassRoutes,
]

const VERSION_RANGE = { min: PLACEMENT_MIN_VERSION, max: PLACEMENT_MAX_VERSION }

/** The root version document (`handlers/root.py`). */
function rootDocument(): unknown {
  return { versions: [{ id: `v${PLACEMENT_MIN_VERSION}`, max_version: PLACEMENT_MAX_VERSION, min_version: PLACEMENT_MIN_VERSION, status: 'CURRENT', links: [{ rel: 'self', href: '' }] }] }
}

/** `Last-Modified` in HTTP-date form. */
function httpDate(): string {
  return new Date().toUTCString()
}

/**
 * The Placement API (Placement Zed, port 8778) as a fastify instance: the version document at `/` without a
 * token; everything else behind `X-Auth-Token` (admin only, Placement's default policy) with
 * `OpenStack-API-Version: placement 1.x` negotiation (1.0–1.39), request and query validation per
 * microversion, and Placement's error body `{"errors": [{status, title, detail, code, request_id}]}` for every
 * failure, including 401s, 404s for unknown paths and 405s for unknown methods.
 *
 * Middleware order follows Placement's: request id → auth (401) → microversion (400/406) → handler.
 */
export function createPlacementApp(options: PlacementAppOptions): FastifyInstance {
  const cache = options.tokenCache ?? new TokenCache()
  const authHook = createAuthHook({ validator: options.tokens, cache, identityUri: options.identityUri })
  const app = createBaseApp({
    ...options,
    errorBody: () => ({}),
    // Like keystonemiddleware in front of Placement's router: only `/` is public, so an unknown path needs a token.
    notFound: async (request, reply) => {
      try {
        await authHook(request, reply)
        await new Promise<void>((resolve, reject) => placementVersionHook(request, reply, (err) => (err ? reject(err) : resolve())))
        throw new PlacementError(404, 'The resource could not be found.')
      } catch (err) {
        return sendPlacementError(request, reply, err, VERSION_RANGE)
      }
    },
  })
  app.decorateRequest('placementVersion', -1)
  const errorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => sendPlacementError(request, reply, err, VERSION_RANGE)

  const deps: PlacementRouteDeps = { placement: options.placement, schemas: new PlacementSchemas() }

  void app.register(async (root) => {
    root.setErrorHandler(errorHandler)
    root.addHook('onRequest', placementVersionHook)
    root.get('/', async (request, reply) => {
      if (request.placementVersion >= 15) reply.header('Cache-Control', 'no-cache').header('Last-Modified', httpDate())
      return rootDocument()
    })
  })

  void app.register(async (scope) => {
    scope.setErrorHandler(errorHandler)
    scope.addHook('onRequest', authHook)
    scope.addHook('onRequest', placementVersionHook)
    // From 1.15 every successful GET (and the writes that return a body) carries Last-Modified and Cache-Control.
    scope.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload, done) => {
      if (request.placementVersion >= 15 && reply.statusCode === 200 && !reply.hasHeader('Last-Modified')) {
        reply.header('Cache-Control', 'no-cache').header('Last-Modified', httpDate())
      }
      done(null, payload)
    })
    for (const family of ROUTE_FAMILIES) family(scope, deps)
    for (const [url, methods] of ROUTE_METHODS) {
      const others = ALL_METHODS.filter((m) => !methods.includes(m))
      const allow = methods.join(', ')
      scope.route({
        method: [...others],
        url,
        handler: async () => {
          throw new PlacementError(405, 'The method specified is not allowed for this resource.', { headers: { Allow: allow } })
        },
      })
    }
  })
  return app
}
