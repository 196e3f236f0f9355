/**
 * A minimal OpenStack REST client for the reference server's own tests and benchmarks: password
 * authentication, then JSON calls with the token and a compute microversion.
 */
export interface Session {
  readonly token: string
  readonly projectId: string
  readonly computeUrl: string
  readonly imageUrl: string
}

/** A failed call: the status and Nova's error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    method: string,
    url: string,
  ) {
    super(`${method} ${url} → ${status}: ${body.slice(0, 400)}`)
  }
}

/** Authenticates with a project-scoped password token and reads the compute and image endpoints from the catalog. */
export async function login(identityUrl: string, user: string, password: string, project: string): Promise<Session> {
  const res = await fetch(`${identityUrl}/v3/auth/tokens`, {
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
  if (res.status !== 201) throw new HttpError(res.status, text, 'POST', `${identityUrl}/v3/auth/tokens`)
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

/** Calls the compute API; returns the parsed JSON body (or null for an empty one). Throws {@link HttpError} for ≥ 400. */
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
