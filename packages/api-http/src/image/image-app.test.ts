import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdminContext, DEFAULT_IMAGE_ID } from '@novum/core'
import { createApiTestEnv, type ApiTestEnv } from '../api-test-env.test-helper.js'

describe('image app (Glance v2 subset)', () => {
  let env: ApiTestEnv
  let privateId: string
  beforeAll(async () => {
    env = await createApiTestEnv()
    const ctx = { ...createAdminContext(), userId: env.demo.userId, projectId: env.demo.projectId, isAdmin: false, roles: ['member'] }
    for (const name of ['img-a', 'img-b', 'img-c']) {
      await env.services.images.create(ctx, { name, diskFormat: 'raw', containerFormat: 'bare', visibility: 'private', location: `/images/${name}`, size: 1024, properties: { os_distro: 'debian', hw_architecture: 'x86_64' } })
    }
    privateId = (await env.services.images.list(ctx, { name: 'img-a' }))[0]?.id as string
  })
  afterAll(async () => {
    await env.close()
  })

  const get = (url: string, token?: string) =>
    env.servers.image.inject({ method: 'GET', url, headers: { host: 'glance:9292', ...(token ? { 'x-auth-token': token } : {}) } })

  it('GET / is a 300 with the v2 versions, newest CURRENT; /versions is 200', async () => {
    const res = await get('/')
    expect(res.statusCode).toBe(300)
    const versions = res.json().versions as { id: string; status: string; links: { href: string }[] }[]
    expect(versions[0]).toEqual({ id: 'v2.16', status: 'CURRENT', links: [{ rel: 'self', href: 'http://glance:9292/v2/' }] })
    expect(versions.at(-1)?.id).toBe('v2.0')
    expect((await get('/versions')).statusCode).toBe(200)
  })

  it('needs a token for /v2 (keystonemiddleware 401 body)', async () => {
    const res = await get('/v2/images')
    expect(res.statusCode).toBe(401)
    expect(res.json()).toEqual({ error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } })
  })

  it("GET /v2/images/{id}: Glance's flat JSON with properties flattened", async () => {
    const res = await get(`/v2/images/${DEFAULT_IMAGE_ID}`, env.demo.token)
    expect(res.statusCode).toBe(200)
    const img = res.json()
    expect(img).toMatchObject({
      id: DEFAULT_IMAGE_ID, name: 'cirros-0.6.2-x86_64-disk', status: 'active', disk_format: 'qcow2', container_format: 'bare',
      min_ram: 0, min_disk: 0, size: 21430272, visibility: 'public', protected: false, owner: null, tags: [], os_distro: 'cirros',
      self: `/v2/images/${DEFAULT_IMAGE_ID}`, file: `/v2/images/${DEFAULT_IMAGE_ID}/file`, schema: '/v2/schemas/image',
    })
    expect(img.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })

  it('hides private images of other projects (404) and shows them to their owner', async () => {
    expect((await get(`/v2/images/${privateId}`, env.demo.token)).json()).toMatchObject({ name: 'img-a', hw_architecture: 'x86_64' })
    const hidden = await get(`/v2/images/${privateId}`, env.other.token)
    expect(hidden.statusCode).toBe(404)
    expect(hidden.json()).toEqual({ message: `No image found with ID ${privateId}`, code: '404 Not Found', title: 'Not Found' })
  })

  it('GET /v2/images lists with first/schema, pages with limit/marker and next, filters by name', async () => {
    const all = await get('/v2/images', env.demo.token)
    expect(all.json()).toMatchObject({ first: '/v2/images', schema: '/v2/schemas/images' })
    expect(all.json().images).toHaveLength(4)
    expect(all.json()).not.toHaveProperty('next')
    const page = await get('/v2/images?limit=2', env.demo.token)
    const first = page.json()
    expect(first.images).toHaveLength(2)
    expect(first.first).toBe('/v2/images?limit=2')
    expect(first.next).toBe(`/v2/images?limit=2&marker=${first.images[1].id}`)
    const second = await get(first.next, env.demo.token)
    expect(second.json().images).toHaveLength(2)
    const byName = await get('/v2/images?name=cirros-0.6.2-x86_64-disk', env.other.token)
    expect(byName.json().images.map((i: { id: string }) => i.id)).toEqual([DEFAULT_IMAGE_ID])
    const otherView = await get('/v2/images', env.other.token)
    expect(otherView.json().images).toHaveLength(1)
    const badLimit = await get('/v2/images?limit=x', env.demo.token)
    expect(badLimit.statusCode).toBe(400)
    expect(badLimit.json().code).toBe('400 Bad Request')
  })
})
