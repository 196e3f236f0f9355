import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiTestEnv, type ApiTestEnv } from '../../api-test-env.test-helper.js'

describe('flavor routes', () => {
  let env: ApiTestEnv
  beforeAll(async () => {
    env = await createApiTestEnv()
  })
  afterAll(async () => {
    await env.close()
  })

  it('GET /flavors lists id, name, links; description from 2.55', async () => {
    const res = await env.compute({ method: 'GET', url: '/v2.1/flavors', token: env.demo.token })
    expect(res.statusCode).toBe(200)
    const flavors = res.json().flavors as Record<string, unknown>[]
    expect(flavors.map((f) => f.name)).toEqual(['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge'])
    expect(flavors[0]).toEqual({
      id: '1',
      name: 'm1.tiny',
      links: [
        { rel: 'self', href: 'http://localhost:80/v2.1/flavors/1' },
        { rel: 'bookmark', href: 'http://localhost:80/flavors/1' },
      ],
    })
    const v255 = await env.compute({ method: 'GET', url: '/v2.1/flavors', token: env.demo.token, version: '2.55' })
    expect(v255.json().flavors[0]).toHaveProperty('description', null)
  })

  it('GET /flavors/detail: swap "" before 2.75 and 0 after; extra_specs from 2.61', async () => {
    const old = await env.compute({ method: 'GET', url: '/v2.1/flavors/detail', token: env.demo.token })
    expect(old.json().flavors[0]).toMatchObject({
      id: '1', name: 'm1.tiny', ram: 512, disk: 1, vcpus: 1, swap: '', 'OS-FLV-EXT-DATA:ephemeral': 0, 'OS-FLV-DISABLED:disabled': false,
      'os-flavor-access:is_public': true, rxtx_factor: 1,
    })
    expect(old.json().flavors[0]).not.toHaveProperty('extra_specs')
    const latest = await env.compute({ method: 'GET', url: '/v2.1/flavors/detail', token: env.demo.token, version: 'latest' })
    expect(latest.json().flavors[0]).toMatchObject({ swap: 0, extra_specs: {}, description: null })
  })

  it('pages with limit/marker and validates the query', async () => {
    const page = await env.compute({ method: 'GET', url: '/v2.1/flavors?limit=2', token: env.demo.token })
    expect(page.json().flavors.map((f: { id: string }) => f.id)).toEqual(['1', '2'])
    expect(page.json().flavors_links).toEqual([{ rel: 'next', href: 'http://localhost:80/v2.1/flavors?limit=2&marker=2' }])
    const next = await env.compute({ method: 'GET', url: '/v2.1/flavors?limit=2&marker=2', token: env.demo.token })
    expect(next.json().flavors.map((f: { id: string }) => f.id)).toEqual(['3', '4'])
    const minRam = await env.compute({ method: 'GET', url: '/v2.1/flavors?minRam=4096', token: env.demo.token })
    expect(minRam.json().flavors.map((f: { id: string }) => f.id)).toEqual(['3', '4', '5'])
    const badRam = await env.compute({ method: 'GET', url: '/v2.1/flavors?minRam=lots', token: env.demo.token })
    expect(badRam.json()).toEqual({ badRequest: { code: 400, message: 'Invalid minRam filter [lots]' } })
    const badSort = await env.compute({ method: 'GET', url: '/v2.1/flavors?sort_key=color', token: env.demo.token })
    expect(badSort.statusCode).toBe(400)
    expect(badSort.json().badRequest.message).toMatch(/^Invalid input for query parameters sort_key\. Value: color\. 'color' is not one of \[/)
    const badLimit = await env.compute({ method: 'GET', url: '/v2.1/flavors?limit=-1', token: env.demo.token })
    expect(badLimit.json().badRequest.message).toBe("Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'")
  })

  it('GET /flavors/{id} shows one; a missing one is a 404', async () => {
    const res = await env.compute({ method: 'GET', url: '/v2.1/flavors/2', token: env.demo.token })
    expect(res.json().flavor).toMatchObject({ id: '2', name: 'm1.small', ram: 2048 })
    const missing = await env.compute({ method: 'GET', url: '/v2.1/flavors/nope', token: env.demo.token })
    expect(missing.statusCode).toBe(404)
    expect(Object.keys(missing.json())).toEqual(['itemNotFound'])
  })

  describe('management (admin)', () => {
    it('POST /flavors answers 200 with the flavor; non-admins get 403; duplicates 409', async () => {
      const body = { flavor: { name: 'c1.custom', ram: 1024, vcpus: 2, disk: 10, id: 'custom-1', 'os-flavor-access:is_public': false } }
      const denied = await env.compute({ method: 'POST', url: '/v2.1/flavors', token: env.demo.token, payload: body })
      expect(denied.statusCode).toBe(403)
      expect(denied.json().forbidden.message).toBe("Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.")
      const res = await env.compute({ method: 'POST', url: '/v2.1/flavors', token: env.admin.token, payload: body })
      expect(res.statusCode).toBe(200)
      expect(res.json().flavor).toMatchObject({ id: 'custom-1', name: 'c1.custom', ram: 1024, vcpus: 2, disk: 10, 'os-flavor-access:is_public': false })
      const dup = await env.compute({ method: 'POST', url: '/v2.1/flavors', token: env.admin.token, payload: body })
      expect(dup.statusCode).toBe(409)
      expect(dup.json().conflictingRequest.message).toBe('Flavor with name c1.custom already exists.')
    })

    it.each([
      [{ flavor: { name: 'x', ram: 0, vcpus: 1, disk: 1 } }, 'Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1'],
      [{ flavor: { name: 'x', ram: '512', vcpus: 1 } }, "Invalid input for field/attribute flavor. Value: {'name': 'x', 'ram': '512', 'vcpus': 1}. 'disk' is a required property"],
      [{ flavor: { name: 'x', ram: 512, vcpus: 1, disk: 1, description: 'd' } }, "Additional properties are not allowed ('description' was unexpected)"],
      [{ flavor: { name: 'x', ram: 512, vcpus: 1, disk: 1, rxtx_factor: 0 } }, 'Invalid input for field/attribute rxtx_factor. Value: 0. 0 is less than or equal to the minimum of 0'],
    ])('POST /flavors rejects %j', async (payload, message) => {
      const res = await env.compute({ method: 'POST', url: '/v2.1/flavors', token: env.admin.token, payload })
      expect(res.statusCode).toBe(400)
      expect(res.json().badRequest.message.endsWith(message)).toBe(true)
    })

    it('extra specs: create, show, update, delete; the URI key must match the body', async () => {
      const base = '/v2.1/flavors/custom-1/os-extra_specs'
      const created = await env.compute({ method: 'POST', url: base, token: env.admin.token, payload: { extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': 512 } } })
      expect(created.statusCode).toBe(200)
      expect(created.json()).toEqual({ extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': 512 } })
      const all = await env.compute({ method: 'GET', url: base, token: env.admin.token })
      expect(all.json()).toEqual({ extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': '512' } })
      const one = await env.compute({ method: 'GET', url: `${base}/hw:cpu_policy`, token: env.admin.token })
      expect(one.json()).toEqual({ 'hw:cpu_policy': 'dedicated' })
      const mismatch = await env.compute({ method: 'PUT', url: `${base}/hw:cpu_policy`, token: env.admin.token, payload: { other: 'x' } })
      expect(mismatch.json()).toEqual({ badRequest: { code: 400, message: 'Request body and URI mismatch' } })
      const updated = await env.compute({ method: 'PUT', url: `${base}/hw:cpu_policy`, token: env.admin.token, payload: { 'hw:cpu_policy': 'shared' } })
      expect(updated.json()).toEqual({ 'hw:cpu_policy': 'shared' })
      const deleted = await env.compute({ method: 'DELETE', url: `${base}/hw:cpu_policy`, token: env.admin.token })
      expect(deleted.statusCode).toBe(200)
      const gone = await env.compute({ method: 'GET', url: `${base}/hw:cpu_policy`, token: env.admin.token })
      expect(gone.json()).toEqual({ itemNotFound: { code: 404, message: 'Flavor custom-1 has no extra specs with key hw:cpu_policy.' } })
      const detail = await env.compute({ method: 'GET', url: '/v2.1/flavors/custom-1', token: env.admin.token, version: '2.61' })
      expect(detail.json().flavor.extra_specs).toEqual({ 'quota:cpu_shares': '512' })
    })

    it('flavor access: private flavors are shared per project', async () => {
      const hidden = await env.compute({ method: 'GET', url: '/v2.1/flavors/custom-1', token: env.demo.token })
      expect(hidden.statusCode).toBe(404)
      const add = await env.compute({ method: 'POST', url: '/v2.1/flavors/custom-1/action', token: env.admin.token, payload: { addTenantAccess: { tenant: env.demo.projectId } } })
      expect(add.statusCode).toBe(200)
      expect(add.json()).toEqual({ flavor_access: [{ flavor_id: 'custom-1', tenant_id: env.demo.projectId }] })
      const visible = await env.compute({ method: 'GET', url: '/v2.1/flavors/custom-1', token: env.demo.token })
      expect(visible.statusCode).toBe(200)
      const list = await env.compute({ method: 'GET', url: '/v2.1/flavors/custom-1/os-flavor-access', token: env.admin.token })
      expect(list.json().flavor_access).toHaveLength(1)
      const publicList = await env.compute({ method: 'GET', url: '/v2.1/flavors/1/os-flavor-access', token: env.admin.token })
      expect(publicList.json()).toEqual({ itemNotFound: { code: 404, message: 'Access list not available for public flavors.' } })
      const remove = await env.compute({ method: 'POST', url: '/v2.1/flavors/custom-1/action', token: env.admin.token, payload: { removeTenantAccess: { tenant: env.demo.projectId } } })
      expect(remove.json()).toEqual({ flavor_access: [] })
      const unknown = await env.compute({ method: 'POST', url: '/v2.1/flavors/custom-1/action', token: env.admin.token, payload: { shareWithEveryone: {} } })
      expect(unknown.json()).toEqual({ badRequest: { code: 400, message: 'There is no such action: shareWithEveryone' } })
    })

    it('PUT /flavors/{id} updates the description from 2.55 only', async () => {
      const old = await env.compute({ method: 'PUT', url: '/v2.1/flavors/custom-1', token: env.admin.token, payload: { flavor: { description: 'x' } } })
      expect(old.statusCode).toBe(404)
      const res = await env.compute({ method: 'PUT', url: '/v2.1/flavors/custom-1', token: env.admin.token, version: '2.55', payload: { flavor: { description: 'fast' } } })
      expect(res.statusCode).toBe(200)
      expect(res.json().flavor.description).toBe('fast')
    })

    it('DELETE /flavors/{id} answers 202', async () => {
      const res = await env.compute({ method: 'DELETE', url: '/v2.1/flavors/custom-1', token: env.admin.token })
      expect(res.statusCode).toBe(202)
      expect((await env.compute({ method: 'GET', url: '/v2.1/flavors/custom-1', token: env.admin.token })).statusCode).toBe(404)
    })
  })
})
