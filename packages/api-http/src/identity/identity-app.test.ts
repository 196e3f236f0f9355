import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiTestEnv, type ApiTestEnv } from '../api-test-env.test-helper.js'

const PASSWORD_AUTH = (scope: Record<string, unknown> | undefined, user: Record<string, unknown> = { name: 'admin', domain: { name: 'Default' }, password: 'secret' }) => ({
  auth: { identity: { methods: ['password'], password: { user } }, ...(scope ? { scope } : {}) },
})

describe('identity app (Keystone v3 subset)', () => {
  let env: ApiTestEnv
  beforeAll(async () => {
    env = await createApiTestEnv()
  })
  afterAll(async () => {
    await env.close()
  })

  const post = (payload: unknown, url = '/v3/auth/tokens') =>
    env.servers.identity.inject({ method: 'POST', url, headers: { host: 'cloud:5000' }, payload: payload as Record<string, unknown> })

  it('serves version discovery at / (300) and /v3 (200)', async () => {
    const root = await env.servers.identity.inject({ method: 'GET', url: '/', headers: { host: 'cloud:5000' } })
    expect(root.statusCode).toBe(300)
    expect(root.json().versions.values[0]).toMatchObject({ id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: 'http://cloud:5000/v3/' }] })
    const v3 = await env.servers.identity.inject({ method: 'GET', url: '/v3', headers: { host: 'cloud:5000' } })
    expect(v3.json().version).toMatchObject({ id: 'v3.14', 'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }] })
  })

  it('issues a project-scoped token: 201, X-Subject-Token, user, project, roles and the catalog', async () => {
    const res = await post(PASSWORD_AUTH({ project: { name: 'admin', domain: { name: 'Default' } } }))
    expect(res.statusCode).toBe(201)
    const subject = res.headers['x-subject-token'] as string
    expect(subject.length).toBeGreaterThan(20)
    const t = res.json().token
    expect(t.methods).toEqual(['password'])
    expect(t.user).toMatchObject({ name: 'admin', domain: { id: 'default', name: 'Default' } })
    expect(t.project).toMatchObject({ id: env.admin.projectId, name: 'admin', domain: { id: 'default', name: 'Default' } })
    expect(t.roles.map((r: { name: string }) => r.name).sort()).toEqual(['admin', 'member', 'reader'])
    expect(t.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    expect(t.issued_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    expect(t.audit_ids[0]).toMatch(/^[A-Za-z0-9_-]{22}$/)
    const byType = Object.fromEntries((t.catalog as { type: string; endpoints: { interface: string; url: string; region: string }[] }[]).map((s) => [s.type, s]))
    expect(Object.keys(byType).sort()).toEqual(['compute', 'identity', 'image', 'placement'])
    expect(byType.compute?.endpoints.map((e) => e.interface)).toEqual(['public', 'internal', 'admin'])
    expect(byType.compute?.endpoints[0]).toMatchObject({ url: 'http://cloud:8774/v2.1', region: 'RegionOne', region_id: 'RegionOne' })
    expect(byType.image?.endpoints[0]?.url).toBe('http://cloud:9292')
    expect(byType.identity?.endpoints[0]?.url).toBe('http://cloud:5000/v3/')

    // The token works on the compute API.
    const flavors = await env.compute({ method: 'GET', url: '/v2.1/flavors', token: subject })
    expect(flavors.statusCode).toBe(200)
  })

  it('scopes by project id, user id; ?nocatalog omits the catalog; unscoped has no project', async () => {
    const byIds = await post(PASSWORD_AUTH({ project: { id: env.demo.projectId } }, { id: env.demo.userId, password: 'secret' }), '/v3/auth/tokens?nocatalog')
    expect(byIds.statusCode).toBe(201)
    expect(byIds.json().token.project.name).toBe('demo')
    expect(byIds.json().token).not.toHaveProperty('catalog')
    const unscoped = await post(PASSWORD_AUTH(undefined))
    expect(unscoped.statusCode).toBe(201)
    expect(unscoped.json().token).not.toHaveProperty('project')
    expect(unscoped.json().token).not.toHaveProperty('catalog')
  })

  it.each([
    [PASSWORD_AUTH({ project: { name: 'admin' } }, { name: 'admin', domain: { name: 'Default' }, password: 'wrong' }), 401],
    [PASSWORD_AUTH({ project: { name: 'other' } }, { name: 'demo', domain: { id: 'default' }, password: 'secret' }), 401],
    [{ auth: { identity: { methods: ['totp'], totp: {} } } }, 401],
    [{ nothing: true }, 400],
  ])('refuses %j with %i in Keystone\'s error body', async (payload, status) => {
    const res = await post(payload)
    expect(res.statusCode).toBe(status)
    const body = res.json()
    expect(body.error.code).toBe(status)
    expect(body.error.title).toBe(status === 401 ? 'Unauthorized' : 'Bad Request')
    if (status === 401) expect(res.headers['www-authenticate']).toBe('Keystone uri="http://cloud:5000"')
  })

  it('validates (GET/HEAD) and revokes (DELETE) a token; a revoked token stops working on compute at once', async () => {
    const issued = await post(PASSWORD_AUTH({ project: { name: 'demo' } }, { name: 'demo', domain: { name: 'Default' }, password: 'secret' }))
    const subject = issued.headers['x-subject-token'] as string
    expect((await env.compute({ method: 'GET', url: '/v2.1/flavors', token: subject })).statusCode).toBe(200)

    const headers = { host: 'cloud:5000', 'x-auth-token': env.admin.token, 'x-subject-token': subject }
    const got = await env.servers.identity.inject({ method: 'GET', url: '/v3/auth/tokens', headers })
    expect(got.statusCode).toBe(200)
    expect(got.headers['x-subject-token']).toBe(subject)
    expect(got.json().token).toMatchObject({ user: { id: env.demo.userId, name: 'demo' }, project: { id: env.demo.projectId, name: 'demo' } })
    expect(got.json().token.audit_ids).toEqual(issued.json().token.audit_ids)
    const head = await env.servers.identity.inject({ method: 'HEAD', url: '/v3/auth/tokens', headers })
    expect(head.statusCode).toBe(200)
    expect(head.body).toBe('')
    const noCaller = await env.servers.identity.inject({ method: 'GET', url: '/v3/auth/tokens', headers: { 'x-subject-token': subject } })
    expect(noCaller.statusCode).toBe(401)
    const foreign = await env.servers.identity.inject({ method: 'GET', url: '/v3/auth/tokens', headers: { 'x-auth-token': env.other.token, 'x-subject-token': subject } })
    expect(foreign.statusCode).toBe(403)

    const revoked = await env.servers.identity.inject({ method: 'DELETE', url: '/v3/auth/tokens', headers })
    expect(revoked.statusCode).toBe(204)
    const after = await env.servers.identity.inject({ method: 'GET', url: '/v3/auth/tokens', headers })
    expect(after.statusCode).toBe(404)
    expect((await env.compute({ method: 'GET', url: '/v2.1/flavors', token: subject })).statusCode).toBe(401)
  })

  it('GET /v3/auth/projects lists the caller\'s projects; /v3/auth/catalog the catalog', async () => {
    const projects = await env.servers.identity.inject({ method: 'GET', url: '/v3/auth/projects', headers: { 'x-auth-token': env.demo.token } })
    expect(projects.json().projects.map((p: { name: string }) => p.name)).toEqual(['demo'])
    const catalog = await env.servers.identity.inject({ method: 'GET', url: '/v3/auth/catalog', headers: { 'x-auth-token': env.demo.token } })
    expect(catalog.json().catalog).toHaveLength(4)
  })

  it('answers with request ids like every OpenStack service', async () => {
    const res = await env.servers.identity.inject({ method: 'GET', url: '/v3' })
    expect(res.headers['x-openstack-request-id']).toMatch(/^req-[0-9a-f-]{36}$/)
  })
})
