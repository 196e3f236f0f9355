import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ComputeError, type RequestContext } from '@novum/core'
import type { AuthenticateRequest, IdentityProject, IdentityRole, IdentityService, ProjectScope } from '@novum/core'
import { AUTH_REQUIRED_MESSAGE } from '../common/auth.js'
import { createBaseApp, type LoggingOptions } from '../common/base-app.js'
import { baseUrl } from '../common/base-url.js'
import { HttpError } from '../common/http-error.js'
import type { TokenCache } from '../common/token-cache.js'
import { keystoneErrorBody } from './identity-errors.js'

/** The one domain of the embedded Keystone, as tokens show it. */
const DEFAULT_DOMAIN = { id: 'default', name: 'Default' } as const

/** Keystone Zed's v3 version entry (`v3.14`). */
const V3 = {
  id: 'v3.14',
  status: 'stable',
  updated: '2020-04-07T00:00:00Z',
  'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
} as const

/** The public URL of each service, as the token's catalog lists it. */
export interface ServiceEndpoints {
  /** Compute root, e.g. `http://cloud:8774` (the catalog adds `/v2.1`). */
  readonly compute: string
  /** Identity root, e.g. `http://cloud:5000` (the catalog adds `/v3/`). */
  readonly identity: string
  /** Image root, e.g. `http://cloud:9292`. */
  readonly image: string
  /** Placement root, e.g. `http://cloud:8778`. */
  readonly placement: string
}

/** Options of {@link createIdentityApp}. */
export interface IdentityAppOptions extends LoggingOptions {
  readonly identity: IdentityService
  /**
   * The endpoints the catalog advertises, or a function deriving them from the request. Omitted ones are derived
   * from the Host the client used for the identity endpoint, with the default ports (8774, 5000, 9292, 8778) —
   * right for an all-in-one host.
   */
  readonly endpoints?: Partial<ServiceEndpoints> | ((request: FastifyRequest) => Partial<ServiceEndpoints>)
  /** @default 'RegionOne' */
  readonly region?: string
  /** The token cache of the compute and image apps, so a revoked token stops working there at once. */
  readonly tokenCache?: TokenCache
}

/** Keystone's timestamp format: microseconds and `Z` (`2026-11-22T19:33:52.123000Z`). */
function keystoneTime(iso: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso)
  if (!m) return iso
  return `${m[1]}.${(m[2] ?? '').padEnd(6, '0').slice(0, 6)}Z`
}

/** A stable, opaque id (32 hex) derived from a label, for catalog entries. */
function stableId(label: string): string {
  return createHash('sha256').update(label).digest('hex').slice(0, 32)
}

/** Keystone's audit id: 16 bytes, base64url (22 chars), here derived from the token so it is stable. */
function auditId(token: string): string {
  return createHash('sha256').update(`audit:${token}`).digest().subarray(0, 16).toString('base64url')
}

const SERVICES = [
  { type: 'compute', name: 'nova', path: '/v2.1' },
  { type: 'image', name: 'glance', path: '' },
  { type: 'placement', name: 'placement', path: '' },
  { type: 'identity', name: 'keystone', path: '/v3/' },
] as const

/** The token's service catalog: every service with a public, internal and admin endpoint in one region. */
export function serviceCatalog(endpoints: ServiceEndpoints, region: string): unknown[] {
  return SERVICES.map((s) => {
    const url = `${endpoints[s.type].replace(/\/+$/, '')}${s.path}`
    return {
      endpoints: (['public', 'internal', 'admin'] as const).map((iface) => ({
        id: stableId(`${s.type}:${iface}:${url}`),
        interface: iface,
        region_id: region,
        url,
        region,
      })),
      id: stableId(`service:${s.type}`),
      type: s.type,
      name: s.name,
    }
  })
}

interface TokenView {
  readonly token: string
  readonly methods: readonly string[]
  readonly userId: string
  readonly userName: string
  readonly project: { readonly id: string; readonly name: string } | null
  readonly roles: readonly IdentityRole[]
  readonly issuedAt: string
  readonly expiresAt: string
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function invalid(field: string, message: string): HttpError {
  return new HttpError(400, `Invalid input for field '${field}': ${message}`)
}

/** Parses Keystone's `POST /v3/auth/tokens` body (password method, project or no scope). */
function parseAuthBody(body: unknown, unauthorized: (message?: string) => HttpError): AuthenticateRequest {
  const auth = (body as { auth?: unknown } | undefined)?.auth
  if (!auth || typeof auth !== 'object') throw invalid('auth', "'auth' is a required property")
  const identity = (auth as { identity?: unknown }).identity as { methods?: unknown; password?: unknown } | undefined
  if (!identity || typeof identity !== 'object') throw invalid('auth', "'identity' is a required property")
  if (!Array.isArray(identity.methods) || identity.methods.length === 0) throw invalid('identity', "'methods' is a required property")
  if (!identity.methods.includes('password')) {
    throw unauthorized(`Attempted to authenticate with an unsupported method: ${String(identity.methods[0])}`)
  }
  const user = (identity.password as { user?: unknown } | undefined)?.user as Record<string, unknown> | undefined
  if (!user || typeof user !== 'object') throw invalid('identity/password', "'user' is a required property")
  const password = str(user.password)
  if (password === undefined) throw invalid('identity/password/user', "'password' is a required property")
  const domain = user.domain as Record<string, unknown> | undefined
  const userId = str(user.id)
  const userName = str(user.name)
  if (userId === undefined && userName === undefined) throw invalid('identity/password/user', "'id' or 'name' is required")
  let project: ProjectScope | undefined
  const scope = (auth as { scope?: unknown }).scope
  if (scope !== undefined && scope !== 'unscoped') {
    const p = (scope as { project?: Record<string, unknown> } | null)?.project
    if (!p || typeof p !== 'object') throw unauthorized()
    const pd = p.domain as Record<string, unknown> | undefined
    const id = str(p.id)
    const name = str(p.name)
    if (id === undefined && name === undefined) throw invalid('scope/project', "'id' or 'name' is required")
    const pDomain = str(pd?.id) ?? str(pd?.name)
    project = { ...(id !== undefined ? { id } : {}), ...(name !== undefined ? { name } : {}), ...(pDomain !== undefined ? { domain: pDomain } : {}) }
  }
  const userDomain = str(domain?.id) ?? str(domain?.name)
  return {
    password,
    ...(userId !== undefined ? { userId } : { userName: userName as string }),
    ...(userDomain !== undefined ? { domain: userDomain } : {}),
    ...(project ? { project } : {}),
  }
}

/**
 * The Identity API (Keystone v3 subset, port 5000): version documents, password authentication with project
 * scope (`POST /v3/auth/tokens` → 201 + `X-Subject-Token`), token validation (`GET`/`HEAD`), revocation
 * (`DELETE`), `GET /v3/auth/projects` and `GET /v3/auth/catalog`. Errors use Keystone's `{"error": {…}}` body.
 */
export function createIdentityApp(options: IdentityAppOptions): FastifyInstance {
  const app = createBaseApp({ ...options, errorBody: keystoneErrorBody })
  const identity = options.identity
  const region = options.region ?? 'RegionOne'

  const configured = (request: FastifyRequest): Partial<ServiceEndpoints> =>
    typeof options.endpoints === 'function' ? options.endpoints(request) : (options.endpoints ?? {})
  const root = (request: FastifyRequest): string => configured(request).identity?.replace(/\/+$/, '') ?? baseUrl(request, undefined)
  const endpointsFor = (request: FastifyRequest): ServiceEndpoints => {
    const given = configured(request)
    const host = (request.hostname || 'localhost').replace(/:\d+$/, '')
    const proto = request.protocol
    const derive = (port: number): string => `${proto}://${host}:${port}`
    return {
      compute: given.compute ?? derive(8774),
      identity: given.identity ?? root(request),
      image: given.image ?? derive(9292),
      placement: given.placement ?? derive(8778),
    }
  }
  const challenge = (request: FastifyRequest) => ({ 'WWW-Authenticate': `Keystone uri="${root(request)}"` })
  const unauthorized = (request: FastifyRequest, message = AUTH_REQUIRED_MESSAGE) => new HttpError(401, message, challenge(request))

  const v3Document = (request: FastifyRequest) => ({ ...V3, links: [{ rel: 'self', href: `${root(request)}/v3/` }] })
  app.get('/', async (request, reply) => reply.code(300).send({ versions: { values: [v3Document(request)] } }))
  app.get('/v3', async (request) => ({ version: v3Document(request) }))
  app.get('/v3/', async (request) => ({ version: v3Document(request) }))

  const tokenBody = (request: FastifyRequest, t: TokenView, withCatalog: boolean) => ({
    token: {
      methods: t.methods,
      user: { domain: DEFAULT_DOMAIN, id: t.userId, name: t.userName, password_expires_at: null },
      audit_ids: [auditId(t.token)],
      expires_at: keystoneTime(t.expiresAt),
      issued_at: keystoneTime(t.issuedAt),
      ...(t.project
        ? {
            project: { domain: DEFAULT_DOMAIN, id: t.project.id, name: t.project.name },
            is_domain: false,
            roles: t.roles.map((r) => ({ id: r.id, name: r.name })),
            ...(withCatalog ? { catalog: serviceCatalog(endpointsFor(request), region) } : {}),
          }
        : {}),
    },
  })

  /** The caller's context from `X-Auth-Token`, or a 401. */
  const caller = async (request: FastifyRequest): Promise<RequestContext> => {
    const header = request.headers['x-auth-token']
    const token = Array.isArray(header) ? header[0] : header
    if (!token) throw unauthorized(request)
    try {
      return (await identity.validateToken(token, request.id)).context
    } catch (err) {
      if (ComputeError.is(err, 'UNAUTHORIZED')) throw unauthorized(request)
      throw err
    }
  }

  const subjectOf = (request: FastifyRequest): string => {
    const header = request.headers['x-subject-token']
    const token = Array.isArray(header) ? header[0] : header
    if (!token) throw new HttpError(404, 'Could not find token.')
    return token
  }

  /** Validates the subject token for GET/HEAD: a 404 when it is unknown, as Keystone. */
  const validateSubject = async (request: FastifyRequest): Promise<TokenView> => {
    const ctx = await caller(request)
    const subject = subjectOf(request)
    let validated
    try {
      validated = await identity.validateToken(subject, request.id)
    } catch (err) {
      if (ComputeError.is(err, 'UNAUTHORIZED')) throw new HttpError(404, `Failed to validate token`)
      throw err
    }
    const s = validated.context
    if (!ctx.isAdmin && ctx.userId !== s.userId) throw new HttpError(403, 'You are not authorized to perform the requested action: identity:validate_token.')
    let roles: IdentityRole[] = []
    let project: { id: string; name: string } | null = null
    if (s.projectId && s.userId) {
      const current = await identity.rolesOn(s.userId, s.projectId)
      const names = new Set(s.roles)
      roles = current.filter((r) => names.has(r.name))
      project = { id: s.projectId, name: s.projectName ?? (await identity.getProject(s.projectId)).name }
    }
    return {
      token: subject,
      methods: ['password'],
      userId: s.userId ?? '',
      userName: s.userName ?? '',
      project,
      roles,
      issuedAt: validated.issuedAt,
      expiresAt: validated.expiresAt,
    }
  }

  const wantsCatalog = (request: FastifyRequest): boolean => !Object.prototype.hasOwnProperty.call(request.query ?? {}, 'nocatalog')

  app.post('/v3/auth/tokens', async (request, reply) => {
    const req = parseAuthBody(request.body, (message) => unauthorized(request, message))
    let result
    try {
      result = await identity.authenticate(req)
    } catch (err) {
      if (ComputeError.is(err, 'UNAUTHORIZED')) throw unauthorized(request, err.message)
      throw err
    }
    const project: IdentityProject | null = result.project
    reply.header('X-Subject-Token', result.token)
    return reply.code(201).send(
      tokenBody(
        request,
        {
          token: result.token,
          methods: ['password'],
          userId: result.user.id,
          userName: result.user.name,
          project: project ? { id: project.id, name: project.name } : null,
          roles: result.roles,
          issuedAt: result.issuedAt,
          expiresAt: result.expiresAt,
        },
        wantsCatalog(request),
      ),
    )
  })

  // fastify would answer HEAD from the GET route with its body length; Keystone answers 200 without a body.
  app.head('/v3/auth/tokens', async (request: FastifyRequest, reply: FastifyReply) => {
    const t = await validateSubject(request)
    return reply.code(200).header('X-Subject-Token', t.token).send()
  })

  app.get('/v3/auth/tokens', async (request, reply) => {
    const t = await validateSubject(request)
    reply.header('X-Subject-Token', t.token)
    return tokenBody(request, t, wantsCatalog(request))
  })

  app.delete('/v3/auth/tokens', async (request, reply) => {
    const ctx = await caller(request)
    const subject = subjectOf(request)
    let subjectCtx: RequestContext
    try {
      subjectCtx = (await identity.validateToken(subject, request.id)).context
    } catch (err) {
      if (ComputeError.is(err, 'UNAUTHORIZED')) throw new HttpError(404, 'Could not find token.')
      throw err
    }
    if (!ctx.isAdmin && ctx.userId !== subjectCtx.userId) throw new HttpError(403, 'You are not authorized to perform the requested action: identity:revoke_token.')
    await identity.revokeToken(subject)
    options.tokenCache?.delete(subject)
    return reply.code(204).send()
  })

  app.get('/v3/auth/projects', async (request) => {
    const ctx = await caller(request)
    const projects = ctx.userId ? await identity.listUserProjects(ctx.userId) : []
    const self = `${root(request)}/v3/auth/projects`
    return {
      links: { self, previous: null, next: null },
      projects: projects.map((p) => ({
        id: p.id,
        name: p.name,
        domain_id: p.domainId,
        description: p.description ?? '',
        enabled: p.enabled,
        is_domain: false,
        parent_id: p.domainId,
        tags: [],
        options: {},
        links: { self: `${root(request)}/v3/projects/${p.id}` },
      })),
    }
  })

  app.get('/v3/auth/catalog', async (request) => {
    const ctx = await caller(request)
    if (!ctx.projectId) throw new HttpError(403, 'A project-scoped token is required to produce a service catalog.')
    return { catalog: serviceCatalog(endpointsFor(request), region), links: { self: `${root(request)}/v3/auth/catalog`, previous: null, next: null } }
  })

  return app
}
