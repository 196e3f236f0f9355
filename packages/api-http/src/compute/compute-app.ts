import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createAuthHook, type TokenValidator } from '../common/auth.js'
import { createBaseApp, type LoggingOptions } from '../common/base-app.js'
import { baseUrl } from '../common/base-url.js'
import type { ResolvedError } from '../common/error-status.js'
import { HttpError } from '../common/http-error.js'
import { COMPUTE_REQUEST_ID_HEADER } from '../common/request-id.js'
import { TokenCache } from '../common/token-cache.js'
import { SchemaCompiler } from '../common/validation.js'
import { ComputeLinks } from './links.js'
import {
  API_VERSION_HEADER,
  formatMicroversion,
  LEGACY_API_VERSION_HEADER,
  MAX_MICROVERSION,
  MIN_MICROVERSION,
  negotiateMicroversion,
  requestedVersion,
  VARY_VALUE,
  type Microversion,
} from './microversion.js'
import { computeChoicesDocument, computeVersionDocument, computeVersionsDocument } from './versions.js'

/** Nova's fault names by status (`wsgi.Fault._fault_names`); any other status is `computeFault`. */
export const COMPUTE_FAULT_NAMES: Readonly<Record<number, string>> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
}

/** Nova's fault body: `{"<faultName>": {"code": N, "message": "..."}}`. */
export function computeFaultBody(error: Pick<ResolvedError, 'statusCode' | 'message' | 'headers'>): Record<string, { code: number; message: string; retryAfter?: string }> {
  const name = COMPUTE_FAULT_NAMES[error.statusCode] ?? 'computeFault'
  const retryAfter = error.headers?.['Retry-After']
  return { [name]: { code: error.statusCode, message: error.message, ...((error.statusCode === 413 || error.statusCode === 429) && retryAfter ? { retryAfter } : {}) } }
}

/** What every compute route module gets: the compilers and link builder, created once per app. */
export interface ComputeRouteDeps {
  /** Compiles request schemas once, at start-up. */
  readonly schemas: SchemaCompiler
  readonly links: ComputeLinks
  /** Nova `[api] max_limit`. */
  readonly maxLimit: number
}

/**
 * A group of compute routes (a Nova controller), registered under both `/v2.1` and `/v2.1/{project_id}`.
 * `register` is called once per prefix, so compile schemas in the factory, not in `register`.
 *
 * @example
 * ```ts
 * const pingRoutes: ComputeRoutesFactory = () => ({
 *   name: 'ping',
 *   register(app) { app.get('/os-ping', async () => ({ pong: true })) },
 * }) satisfies ComputeRoutesFactory
 * ```
 */
export interface ComputeRoutes {
  /** For logs and duplicate detection. */
  readonly name: string
  /** Adds the routes to an encapsulated fastify scope whose prefix is `/v2.1` or `/v2.1/:project_id`. */
  register(app: FastifyInstance): void
}

/** Builds a {@link ComputeRoutes} from the shared dependencies. */
export type ComputeRoutesFactory = (deps: ComputeRouteDeps) => ComputeRoutes

/** Options of {@link createComputeApp}. */
export interface ComputeAppOptions extends LoggingOptions {
  /** Resolves `X-Auth-Token`s. */
  readonly tokens: TokenValidator
  /** Shared with the identity app so a revoked token is forgotten at once. @default a new TokenCache */
  readonly tokenCache?: TokenCache
  /** The public identity URL for `WWW-Authenticate`, or a function deriving it from the request. */
  readonly identityUri: string | ((request: FastifyRequest) => string)
  /** Nova `[api] compute_link_prefix`; links use the request's Host otherwise. */
  readonly publicUrl?: string
  /** Nova `[api] max_limit`. @default 1000 */
  readonly maxLimit?: number
  /** The route modules to serve (the built-in controllers plus any extension). */
  readonly routes: readonly ComputeRoutesFactory[]
}

/** The project segment of `/v2.1/{project_id}/…`: hex and dashes only, as Nova's `ProjectMapper`. */
const PROJECT_PREFIX = '/v2.1/:project_id(^[0-9a-fA-F-]+$)'

const VERSION_STRINGS = new Map<Microversion, { compute: string; legacy: string }>()
for (let v = MIN_MICROVERSION; v <= MAX_MICROVERSION; v++) {
  const s = formatMicroversion(v)
  VERSION_STRINGS.set(v, { compute: `compute ${s}`, legacy: s })
}

/**
 * Negotiates the microversion (`onRequest`): sets `request.microversion` and echoes both version headers and
 * `Vary` on the response, faults included. A bad header is a 400/406 without version headers, as in Nova.
 */
export function microversionHook(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
  let version: Microversion
  try {
    version = negotiateMicroversion(requestedVersion(request.headers))
  } catch (err) {
    done(err as Error)
    return
  }
  request.microversion = version
  const s = VERSION_STRINGS.get(version) as { compute: string; legacy: string }
  reply.header(API_VERSION_HEADER, s.compute)
  reply.header(LEGACY_API_VERSION_HEADER, s.legacy)
  reply.header('Vary', VARY_VALUE)
  done()
}

/**
 * Rejects `/v2.1/{project_id}/…` when the URL's project is not the token's (Nova `Resource._process_stack`).
 */
export function projectInUrlHook(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  const projectId = (request.params as { project_id?: string } | undefined)?.project_id
  const ctx = request.authContext
  if (projectId !== undefined && ctx && projectId !== ctx.projectId) {
    done(new HttpError(400, `Malformed request URL: URL's project_id '${projectId}' doesn't match Context's project_id '${ctx.projectId ?? 'None'}'`))
    return
  }
  done()
}

/** Throws Nova's 404 for a method that does not exist at the negotiated microversion (`VersionNotFoundForAPIMethod`). */
export function requireMicroversion(request: FastifyRequest, min: Microversion, max: Microversion = MAX_MICROVERSION): void {
  if (request.microversion < min || request.microversion > max) throw new HttpError(404, 'The resource could not be found.')
}

/**
 * The compute API (Nova's `osapi_compute` on port 8774) as a fastify instance: unauthenticated version documents at
 * `/`, `/v2` and `/v2.1`; everything else under `/v2.1` and `/v2.1/{project_id}` behind `X-Auth-Token`, with
 * microversion negotiation and Nova fault bodies.
 */
export function createComputeApp(options: ComputeAppOptions): FastifyInstance {
  const cache = options.tokenCache ?? new TokenCache()
  const authHook = createAuthHook({ validator: options.tokens, cache, identityUri: options.identityUri })
  const app = createBaseApp({
    ...options,
    extraJsonTypes: ['application/vnd.openstack.compute+json'],
    extraRequestIdHeaders: [COMPUTE_REQUEST_ID_HEADER],
    errorBody: computeFaultBody,
    // Like keystonemiddleware in front of Nova's router: an unknown path under a version still needs a token.
    notFound: async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/'
      if (path.startsWith('/v2.1/') || path.startsWith('/v2/')) {
        await authHook(request, reply)
        throw new HttpError(404, 'The resource could not be found.')
      }
      return reply.code(300).type('application/json; charset=UTF-8').send(computeChoicesDocument(baseUrl(request, options.publicUrl), path))
    },
  })
  const deps: ComputeRouteDeps = { schemas: new SchemaCompiler(), links: new ComputeLinks(options.publicUrl), maxLimit: options.maxLimit ?? 1000 }
  const modules = options.routes.map((factory) => factory(deps))
  const names = new Set<string>()
  for (const m of modules) {
    if (names.has(m.name)) throw new Error(`duplicate compute route module "${m.name}"`)
    names.add(m.name)
  }
  const root = (request: FastifyRequest): string => baseUrl(request, options.publicUrl)

  void app.register(async (versions) => {
    versions.get('/', async (request) => computeVersionsDocument(root(request)))
    versions.get('/v2.1', async (request) => computeVersionDocument(root(request), 'v2.1'))
    versions.get('/v2.1/', async (request) => computeVersionDocument(root(request), 'v2.1'))
    versions.get('/v2', async (request) => computeVersionDocument(root(request), 'v2.0'))
    versions.get('/v2/', async (request) => computeVersionDocument(root(request), 'v2.0'))
  })

  // Plugins load when the app is readied (listen/inject/ready), so building the app stays synchronous.
  void app.register(async (scope) => {
    scope.addHook('onRequest', authHook)
    scope.addHook('onRequest', microversionHook)
    scope.addHook('preHandler', projectInUrlHook)
    scope.get(PROJECT_PREFIX, async (request) => computeVersionDocument(root(request), 'v2.1'))
    scope.get(`${PROJECT_PREFIX}/`, async (request) => computeVersionDocument(root(request), 'v2.1'))
    for (const prefix of ['/v2.1', PROJECT_PREFIX]) {
      await scope.register(async (routes) => {
        for (const m of modules) m.register(routes)
      }, { prefix })
    }
  })

  return app
}
