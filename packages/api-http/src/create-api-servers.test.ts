import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { DEFAULT_IMAGE_ID } from '@novum/core'
import { createApiTestEnv, type ApiTestEnv } from './api-test-env.test-helper.js'

/** Collects pino's JSON lines. */
class LineSink extends Writable {
  readonly lines: Record<string, unknown>[] = []
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>)
    done()
  }
}

describe('createApiServers', () => {
  let env: ApiTestEnv
  const sink = new LineSink()
  beforeAll(async () => {
    env = await createApiTestEnv({ logger: pino({ level: 'info' }, sink), endpoints: { identity: 'https://keystone.example:5000' } })
  })
  afterAll(async () => {
    await env.close()
  })

  it('serves the placement root document without a token', async () => {
    const res = await env.servers.placement.inject({ method: 'GET', url: '/' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ versions: [{ id: 'v1.0', max_version: '1.39', min_version: '1.0', status: 'CURRENT', links: [{ rel: 'self', href: '' }] }] })
    expect(res.headers['x-openstack-request-id']).toMatch(/^req-/)
    const unauthenticated = await env.servers.placement.inject({ method: 'GET', url: '/resource_providers' })
    expect(unauthenticated.statusCode).toBe(401)
    expect(unauthenticated.json().errors[0]).toMatchObject({ status: 401, title: 'Unauthorized' })
  })

  it('binds each request logger to the request id the client sees', async () => {
    const res = await env.compute({ method: 'GET', url: '/v2.1/flavors', token: env.demo.token })
    const id = res.headers['x-openstack-request-id'] as string
    const lines = sink.lines.filter((l) => l.req_id === id)
    expect(lines.map((l) => l.msg)).toEqual(['incoming request', 'request completed'])
  })

  it('logs a client error at info with its reason and the request id', async () => {
    const res = await env.compute({ method: 'GET', url: '/v2.1/servers/nope', token: env.demo.token })
    const id = res.headers['x-openstack-request-id'] as string
    const failed = sink.lines.find((l) => l.req_id === id && l.msg === 'request failed')
    expect(failed).toMatchObject({ status: 404, reason: 'Instance nope could not be found.' })
  })

  it('uses the configured identity endpoint in WWW-Authenticate', async () => {
    const res = await env.compute({ method: 'GET', url: '/v2.1/servers' })
    expect(res.headers['www-authenticate']).toBe('Keystone uri="https://keystone.example:5000"')
  })

  it('listens on real ports: an HTTP client can authenticate and boot a server', async () => {
    const addresses = await env.servers.listen({ host: '127.0.0.1', ports: { compute: 0, identity: 0, image: 0, placement: 0 } })
    const auth = await fetch(`${addresses.identity}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { name: 'Default' }, password: 'secret' } } }, scope: { project: { name: 'demo', domain: { name: 'Default' } } } },
      }),
    })
    expect(auth.status).toBe(201)
    const token = auth.headers.get('x-subject-token') as string
    const catalog = ((await auth.json()) as { token: { catalog: { type: string; endpoints: { url: string }[] }[] } }).token.catalog
    expect(catalog.find((s) => s.type === 'compute')?.endpoints[0]?.url).toBe(`${addresses.compute}/v2.1`)
    expect(catalog.find((s) => s.type === 'image')?.endpoints[0]?.url).toBe(addresses.image)
    const boot = await fetch(`${addresses.compute}/v2.1/servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token, 'openstack-api-version': 'compute 2.37' },
      body: JSON.stringify({ server: { name: 'over-http', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none' } }),
    })
    expect(boot.status).toBe(202)
    expect(boot.headers.get('location')).toMatch(new RegExp(`^${addresses.compute}/v2\\.1/servers/[0-9a-f-]{36}$`))
    const image = await fetch(`${addresses.image}/v2/images/${DEFAULT_IMAGE_ID}`, { headers: { 'x-auth-token': token } })
    expect(image.status).toBe(200)
  })
})
