import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSshKeypair } from '@novum/core'
import { createApiTestEnv, type ApiTestEnv } from '../../api-test-env.test-helper.js'

describe('keypair routes', () => {
  let env: ApiTestEnv
  let publicKey: string
  beforeAll(async () => {
    env = await createApiTestEnv()
    publicKey = (await generateSshKeypair(1024)).publicKey
  })
  afterAll(async () => {
    await env.close()
  })

  it('generates a key at 2.1: 200, private_key returned, no type', async () => {
    const res = await env.compute({ method: 'POST', url: '/v2.1/os-keypairs', token: env.demo.token, payload: { keypair: { name: 'gen-21' } } })
    expect(res.statusCode).toBe(200)
    const k = res.json().keypair
    expect(Object.keys(k).sort()).toEqual(['fingerprint', 'name', 'private_key', 'public_key', 'user_id'])
    expect(k.private_key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/)
    expect(k.public_key).toMatch(/^ssh-rsa \S+ Generated-by-Nova$/)
    expect(k.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/)
    expect(k.user_id).toBe(env.demo.userId)
  })

  it('imports a key from 2.2: 201 with type, no private_key', async () => {
    const res = await env.compute({ method: 'POST', url: '/v2.1/os-keypairs', token: env.demo.token, version: '2.2', payload: { keypair: { name: 'imported', public_key: publicKey } } })
    expect(res.statusCode).toBe(201)
    expect(res.json().keypair).toMatchObject({ name: 'imported', type: 'ssh', public_key: publicKey })
    expect(res.json().keypair).not.toHaveProperty('private_key')
  })

  it.each([
    ['2.1', { keypair: { name: 'bad/name' } }, 400, "An invalid 'name' value was provided. The name must be: Only expected characters: [_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]"],
    ['2.1', { keypair: { name: 'x', type: 'ssh' } }, 400, "Invalid input for field/attribute keypair. Value: {'name': 'x', 'type': 'ssh'}. Additional properties are not allowed ('type' was unexpected)"],
    ['2.92', { keypair: { name: 'needs-key' } }, 400, "Invalid input for field/attribute keypair. Value: {'name': 'needs-key'}. 'public_key' is a required property"],
    ['2.2', { keypair: { name: 'garbage', public_key: 'ssh-rsa AAAA' } }, 400, 'Keypair data is invalid: failed to generate fingerprint'],
    ['2.2', { keypair: { name: 'imported', public_key: 'VALID' } }, 409, "Key pair 'imported' already exists."],
  ])('at %s %j → %i', async (version, payload, status, message) => {
    const body = JSON.parse(JSON.stringify(payload).replace('"VALID"', JSON.stringify(publicKey))) as Record<string, unknown>
    const res = await env.compute({ method: 'POST', url: '/v2.1/os-keypairs', token: env.demo.token, version, payload: body })
    expect(res.statusCode).toBe(status)
    const fault = Object.values(res.json())[0] as { message: string }
    expect(fault.message).toBe(message)
  })

  it('2.92 accepts @ and . in imported key names', async () => {
    const res = await env.compute({ method: 'POST', url: '/v2.1/os-keypairs', token: env.demo.token, version: '2.92', payload: { keypair: { name: 'me@host.lan', public_key: publicKey } } })
    expect(res.statusCode).toBe(201)
  })

  it('lists (type from 2.2, paging from 2.35) and shows', async () => {
    const old = await env.compute({ method: 'GET', url: '/v2.1/os-keypairs', token: env.demo.token })
    const entries = old.json().keypairs as { keypair: Record<string, unknown> }[]
    expect(entries.map((e) => e.keypair.name)).toEqual(['gen-21', 'imported', 'me@host.lan'])
    expect(Object.keys(entries[0]?.keypair ?? {}).sort()).toEqual(['fingerprint', 'name', 'public_key'])
    const paged = await env.compute({ method: 'GET', url: '/v2.1/os-keypairs?limit=1', token: env.demo.token, version: '2.35' })
    expect(paged.json().keypairs).toHaveLength(1)
    expect(paged.json().keypairs[0].keypair.type).toBe('ssh')
    expect(paged.json().keypairs_links).toEqual([{ rel: 'next', href: 'http://localhost:80/v2.1/os-keypairs?limit=1&marker=gen-21' }])
    const show = await env.compute({ method: 'GET', url: '/v2.1/os-keypairs/imported', token: env.demo.token, version: '2.2' })
    expect(show.json().keypair).toMatchObject({ name: 'imported', user_id: env.demo.userId, deleted: false, deleted_at: null, updated_at: null, type: 'ssh' })
    expect(typeof show.json().keypair.id).toBe('number')
    const missing = await env.compute({ method: 'GET', url: '/v2.1/os-keypairs/nothing', token: env.demo.token })
    expect(missing.json()).toEqual({ itemNotFound: { code: 404, message: `Keypair nothing not found for user ${env.demo.userId}` } })
  })

  it("keypairs are per user: another user cannot see them; an admin can with user_id from 2.10", async () => {
    const other = await env.compute({ method: 'GET', url: '/v2.1/os-keypairs/imported', token: env.other.token })
    expect(other.statusCode).toBe(404)
    const admin = await env.compute({ method: 'GET', url: `/v2.1/os-keypairs/imported?user_id=${env.demo.userId}`, token: env.admin.token, version: '2.10' })
    expect(admin.statusCode).toBe(200)
    const denied = await env.compute({ method: 'GET', url: `/v2.1/os-keypairs?user_id=${env.demo.userId}`, token: env.other.token, version: '2.10' })
    expect(denied.statusCode).toBe(403)
  })

  it('deletes: 202 at 2.1, 204 from 2.2', async () => {
    const old = await env.compute({ method: 'DELETE', url: '/v2.1/os-keypairs/gen-21', token: env.demo.token })
    expect(old.statusCode).toBe(202)
    const res = await env.compute({ method: 'DELETE', url: '/v2.1/os-keypairs/imported', token: env.demo.token, version: '2.2' })
    expect(res.statusCode).toBe(204)
    const again = await env.compute({ method: 'DELETE', url: '/v2.1/os-keypairs/imported', token: env.demo.token, version: '2.2' })
    expect(again.statusCode).toBe(404)
  })

  it('a server can boot with a key name', async () => {
    await env.compute({ method: 'POST', url: '/v2.1/os-keypairs', token: env.demo.token, version: '2.2', payload: { keypair: { name: 'boot-key', public_key: publicKey } } })
    const res = await env.compute({
      method: 'POST', url: '/v2.1/servers', token: env.demo.token,
      payload: { server: { name: 'keyed', imageRef: '6b4a9c2e-7f0d-4c1a-9e55-0c1a2b3c4d5e', flavorRef: '1', key_name: 'boot-key' } },
    })
    expect(res.statusCode).toBe(202)
    const show = await env.compute({ method: 'GET', url: `/v2.1/servers/${res.json().server.id}`, token: env.demo.token })
    expect(show.json().server.key_name).toBe('boot-key')
  })
})
