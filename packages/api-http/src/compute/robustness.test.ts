import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_IMAGE_ID } from '@novum/core'
import { createApiTestEnv, type ApiTestEnv } from '../api-test-env.test-helper.js'

/** Values shaped like what a confused client sends: right keys, wrong everything else. */
const fieldValue = fc.oneof(fc.jsonValue(), fc.constantFrom('', ' ', 'none', 'auto', DEFAULT_IMAGE_ID, '1', '-1', 'http://', 'x'.repeat(300)))
const serverBody = fc.dictionary(
  fc.constantFrom('name', 'imageRef', 'flavorRef', 'networks', 'min_count', 'max_count', 'metadata', 'key_name', 'availability_zone', 'user_data',
    'description', 'config_drive', 'block_device_mapping_v2', 'personality', 'security_groups', 'return_reservation_id', 'hostname', 'adminPass'),
  fieldValue,
)

describe('robustness: bad input is never a 500', () => {
  let env: ApiTestEnv
  beforeAll(async () => {
    env = await createApiTestEnv()
  })
  afterAll(async () => {
    await env.close()
  })

  it('POST /servers with arbitrary bodies answers 202, 400, 403 or 409', async () => {
    await fc.assert(
      fc.asyncProperty(serverBody, fc.constantFrom('2.1', '2.19', '2.37', '2.57', '2.74', '2.93'), fc.boolean(), async (server, version, hints) => {
        const res = await env.compute({
          method: 'POST', url: '/v2.1/servers', token: env.demo.token, version,
          payload: { server, ...(hints ? { 'os:scheduler_hints': { group: server.name ?? 'x', same_host: server.imageRef ?? [] } } : {}) },
        })
        expect([202, 400, 403, 409]).toContain(res.statusCode)
        const body = res.json() as Record<string, { code?: number }>
        if (res.statusCode !== 202) expect(Object.values(body)[0]?.code).toBe(res.statusCode)
      }),
      { numRuns: 150 },
    )
  })

  it('arbitrary JSON on actions, flavors, keypairs and quota sets answers a 4xx fault', async () => {
    const id = (await env.compute({ method: 'POST', url: '/v2.1/servers', token: env.demo.token, payload: { server: { name: 'r', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1' } } })).json().server.id as string
    const targets = [
      { method: 'POST' as const, url: `/v2.1/servers/${id}/action` },
      { method: 'PUT' as const, url: `/v2.1/servers/${id}` },
      { method: 'POST' as const, url: '/v2.1/flavors' },
      { method: 'POST' as const, url: '/v2.1/os-keypairs' },
      { method: 'PUT' as const, url: `/v2.1/os-quota-sets/${env.demo.projectId}` },
    ]
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), fc.jsonValue(), fc.constantFrom(env.demo.token, env.admin.token), async (target, payload, token) => {
        const res = await env.compute({ ...target, token, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } })
        expect(res.statusCode).toBeLessThan(500)
      }),
      { numRuns: 150 },
    )
  })

  it('arbitrary query strings on list routes answer 200 or a 4xx', async () => {
    const key = fc.constantFrom('limit', 'marker', 'name', 'status', 'changes-since', 'changes-before', 'sort_key', 'sort_dir', 'all_tenants', 'flavor',
      'image', 'minRam', 'is_public', 'deleted', 'locked', 'user_id', 'with_servers', 'tenant_id', 'foo')
    const routes = ['/v2.1/servers', '/v2.1/servers/detail', '/v2.1/flavors/detail', '/v2.1/os-keypairs', '/v2.1/limits', '/v2.1/os-hypervisors', '/v2.1/os-services']
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.dictionary(key, fc.string()), fc.constantFrom('2.1', '2.35', '2.53', '2.66', '2.75', '2.93'), async (route, query, version) => {
        const res = await env.compute({ method: 'GET', url: route, query, token: env.admin.token, version })
        expect(res.statusCode).toBeLessThan(500)
      }),
      { numRuns: 200 },
    )
  })

  it('malformed bodies are a 400 on every surface', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }).filter((s) => { try { JSON.parse(s); return false } catch { return true } }), async (text) => {
        const compute = await env.compute({ method: 'POST', url: '/v2.1/servers', token: env.demo.token, payload: text, headers: { 'content-type': 'application/json' } })
        expect(compute.statusCode).toBe(400)
        expect(compute.json().badRequest.message).toMatch(/^Malformed request body: /)
        const identity = await env.servers.identity.inject({ method: 'POST', url: '/v3/auth/tokens', payload: text, headers: { 'content-type': 'application/json' } })
        expect(identity.statusCode).toBe(400)
        expect(identity.json().error.code).toBe(400)
      }),
      { numRuns: 50 },
    )
  })
})
