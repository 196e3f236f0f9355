/**
 * A minimal OpenStack REST client for the examples' benchmarks and end-to-end tests: password authentication, then
 * JSON calls to the Compute API with the token and a microversion.
 */

/** A project-scoped token and the endpoints the catalog gave for it. */
export interface Session {
  readonly token: string
  readonly projectId: string
  readonly computeUrl: string
  readonly imageUrl: string
}

/** A call that answered ≥ 400: the status and the body (Nova's error body). */
export class HttpError extends Error {
  override readonly name = 'HttpError'

  constructor(
    readonly status: number,
    readonly body: string,
    method: string,
    url: string,
  ) {
    super(`${method} ${url} → ${status}: ${body.slice(0, 400)}`)
  }
}

/** Authenticates with a password, scoped to `project`, and reads the compute and image endpoints from the catalog. */
export async function login(identityUrl: string, user: string, password: string, project: string): Promise<Session> {
  const url = `${identityUrl.replace(/\/v3\/?$/, '')}/v3/auth/tokens`
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    }),
  })
  const text = await res.text()
  if (res.status !== 201) throw new HttpError(res.status, text, 'POST', url)
  const token = res.headers.get('x-subject-token')
  if (!token) throw new Error('no X-Subject-Token in the identity response')
  const body = JSON.parse(text) as { token: { project: { id: string }; catalog: { type: string; endpoints: { interface: string; url: string }[] }[] } }
  const endpoint = (type: string): string => {
    const e = body.token.catalog.find((c) => c.type === type)?.endpoints.find((x) => x.interface === 'public')
    if (!e) throw new Error(`no public ${type} endpoint in the catalog`)
    return e.url.replace(/\/$/, '')
  }
  return { token, projectId: body.token.project.id, computeUrl: endpoint('compute'), imageUrl: endpoint('image') }
}

/** Calls the Compute API and returns the parsed body (null when empty); throws {@link HttpError} for ≥ 400. */
export async function compute<T = unknown>(s: Session, method: string, path: string, body?: unknown, microversion = '2.93'): Promise<{ status: number; body: T }> {
  const url = `${s.computeUrl}${path}`
  const res = await fetch(url, {
    method,
    headers: {
      'x-auth-token': s.token,
      'openstack-api-version': `compute ${microversion}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  if (res.status >= 400) throw new HttpError(res.status, text, method, url)
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T }
}

/** A server as `GET /servers/detail` shows it (the fields the tests and the benchmark read). */
export interface ServerDetail {
  readonly id: string
  readonly name: string
  readonly status: string
  readonly 'OS-EXT-SRV-ATTR:host'?: string | null
  readonly 'OS-EXT-STS:task_state'?: string | null
  readonly 'OS-EXT-STS:vm_state'?: string
  readonly fault?: { readonly code: number; readonly message: string }
}

/** Every server of the project (`GET /servers/detail`, admin fields included). */
export async function listServers(s: Session): Promise<ServerDetail[]> {
  return (await compute<{ servers: ServerDetail[] }>(s, 'GET', '/servers/detail')).body.servers
}

/** Lifts the project's instance, core and RAM quotas (`PUT /os-quota-sets/{project}`), so big batches fit. */
export async function liftQuotas(s: Session): Promise<void> {
  await compute(s, 'PUT', `/os-quota-sets/${s.projectId}`, { quota_set: { instances: -1, cores: -1, ram: -1 } })
}

/** Polls `GET /servers/{id}` every `pollMs` until it is ACTIVE, or a 404 when `gone`; ERROR or the timeout throw. */
export async function waitServer(s: Session, id: string, want: 'ACTIVE' | 'gone', timeoutMs = 30_000, pollMs = 1): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    try {
      const { body } = await compute<{ server: { status: string; fault?: { message: string } } }>(s, 'GET', `/servers/${id}`)
      if (want === 'ACTIVE' && body.server.status === 'ACTIVE') return
      if (body.server.status === 'ERROR') throw new Error(`server ${id} went to ERROR: ${body.server.fault?.message ?? ''}`)
    } catch (err) {
      if (want === 'gone' && err instanceof HttpError && err.status === 404) return
      throw err
    }
    if (performance.now() > deadline) throw new Error(`server ${id} not ${want} within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

/** One client polls the detail list until every id is in `want` (ACTIVE) or absent (gone), as a sane client does. */
export async function waitAll(s: Session, ids: readonly string[], want: 'ACTIVE' | 'gone', timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  const wanted = new Set(ids)
  for (;;) {
    const { body } = await compute<{ servers: { id: string; status: string; fault?: { message: string } }[] }>(s, 'GET', '/servers/detail')
    const byId = new Map(body.servers.filter((x) => wanted.has(x.id)).map((x) => [x.id, x]))
    const failed = [...byId.values()].find((x) => x.status === 'ERROR')
    if (failed) throw new Error(`server ${failed.id} went to ERROR: ${failed.fault?.message ?? ''}`)
    const done = want === 'gone' ? byId.size === 0 : byId.size === wanted.size && [...byId.values()].every((x) => x.status === 'ACTIVE')
    if (done) return
    if (performance.now() > deadline) throw new Error(`servers not ${want} within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 2))
  }
}
