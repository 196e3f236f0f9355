import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPlacementTestEnv, testUuid, type PlacementTestEnv } from '../placement-test-env.test-helper.js'

describe('Placement resource providers', () => {
  let env: PlacementTestEnv
  beforeAll(async () => {
    env = await createPlacementTestEnv()
  })
  afterAll(async () => {
    await env.close()
  })

  describe('POST /resource_providers', () => {
    it('answers 201 without a body and with a Location before 1.20', async () => {
      const uuid = testUuid()
      const res = await env.call({ method: 'POST', url: '/resource_providers', version: '1.19', body: { name: 'rp-old', uuid } })
      expect(res.statusCode).toBe(201)
      expect(res.body).toBe('')
      expect(res.headers['location']).toBe(`/resource_providers/${uuid}`)
    })

    it('answers 200 with the provider from 1.20', async () => {
      const res = await env.call({ method: 'POST', url: '/resource_providers', version: '1.20', body: { name: 'rp-new' } })
      expect(res.statusCode).toBe(200)
      const rp = res.json()
      expect(rp).toMatchObject({ name: 'rp-new', generation: 0, parent_provider_uuid: null })
      expect(rp.root_provider_uuid).toBe(rp.uuid)
      expect(res.headers['location']).toBe(`/resource_providers/${rp.uuid}`)
      expect(rp.links.map((l: { rel: string }) => l.rel)).toEqual(['self', 'inventories', 'usages', 'aggregates', 'traits', 'allocations'])
    })

    it('normalises an undashed uuid and refuses duplicates with placement.duplicate_name', async () => {
      const res = await env.call({ method: 'POST', url: '/resource_providers', version: '1.20', body: { name: 'rp-dashless', uuid: 'AAAAAAAA0000400080000000000000AA' } })
      expect(res.json().uuid).toBe('aaaaaaaa-0000-4000-8000-0000000000aa')
      const dup = await env.call({ method: 'POST', url: '/resource_providers', version: '1.23', body: { name: 'rp-dashless' } })
      expect(dup.statusCode).toBe(409)
      expect(dup.json().errors[0]).toMatchObject({ status: 409, title: 'Conflict', code: 'placement.duplicate_name' })
    })

    it('accepts parent_provider_uuid only from 1.14', async () => {
      const parent = await env.provider('rp-parent-1')
      const old = await env.call({ method: 'POST', url: '/resource_providers', version: '1.13', body: { name: 'rp-child-old', parent_provider_uuid: parent } })
      expect(old.statusCode).toBe(400)
      expect(old.json().errors[0].detail).toContain('Additional properties are not allowed')
      const res = await env.call({ method: 'POST', url: '/resource_providers', version: '1.20', body: { name: 'rp-child-1', parent_provider_uuid: parent } })
      expect(res.json()).toMatchObject({ parent_provider_uuid: parent, root_provider_uuid: parent })
      const orphan = await env.call({ method: 'POST', url: '/resource_providers', version: '1.20', body: { name: 'rp-orphan', parent_provider_uuid: testUuid() } })
      expect(orphan.statusCode).toBe(400)
    })
  })

  describe('GET /resource_providers/{uuid}', () => {
    it('shows the tree fields from 1.14 only', async () => {
      const uuid = await env.provider('rp-show')
      const old = await env.call({ url: `/resource_providers/${uuid}`, version: '1.13' })
      expect(old.json()).toEqual({ uuid, name: 'rp-show', generation: 0, links: expect.any(Array) })
      expect(old.json().links.map((l: { rel: string }) => l.rel)).toEqual(['self', 'inventories', 'usages', 'aggregates', 'traits', 'allocations'])
      const at0 = await env.call({ url: `/resource_providers/${uuid}` })
      expect(at0.json().links.map((l: { rel: string }) => l.rel)).toEqual(['self', 'inventories', 'usages'])
      const now = await env.call({ url: `/resource_providers/${uuid}`, version: '1.14' })
      expect(now.json()).toMatchObject({ parent_provider_uuid: null, root_provider_uuid: uuid })
    })

    it('answers 404 for an unknown provider', async () => {
      const res = await env.call({ url: `/resource_providers/${testUuid()}`, version: '1.39' })
      expect(res.statusCode).toBe(404)
      expect(res.json().errors[0].code).toBe('placement.resource_provider.not_found')
    })
  })

  describe('PUT /resource_providers/{uuid}', () => {
    it('renames a provider', async () => {
      const uuid = await env.provider('rp-rename')
      const res = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}`, version: '1.39', body: { name: 'rp-renamed' } })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toMatchObject({ uuid, name: 'rp-renamed' })
    })

    it('sets a parent from 1.14, but re-parents and un-parents only from 1.37', async () => {
      const a = await env.provider('rp-tree-a')
      const b = await env.provider('rp-tree-b')
      const child = await env.provider('rp-tree-child')
      const adopt = await env.call({ method: 'PUT', url: `/resource_providers/${child}`, version: '1.14', body: { name: 'rp-tree-child', parent_provider_uuid: a } })
      expect(adopt.json()).toMatchObject({ parent_provider_uuid: a, root_provider_uuid: a })
      const move = await env.call({ method: 'PUT', url: `/resource_providers/${child}`, version: '1.36', body: { name: 'rp-tree-child', parent_provider_uuid: b } })
      expect(move.statusCode).toBe(400)
      expect(move.json().errors[0].detail).toContain('re-parenting a provider is not currently allowed')
      const moved = await env.call({ method: 'PUT', url: `/resource_providers/${child}`, version: '1.37', body: { name: 'rp-tree-child', parent_provider_uuid: b } })
      expect(moved.json()).toMatchObject({ parent_provider_uuid: b, root_provider_uuid: b })
      const loop = await env.call({ method: 'PUT', url: `/resource_providers/${b}`, version: '1.37', body: { name: 'rp-tree-b', parent_provider_uuid: child } })
      expect(loop.statusCode).toBe(400)
      const root = await env.call({ method: 'PUT', url: `/resource_providers/${child}`, version: '1.37', body: { name: 'rp-tree-child', parent_provider_uuid: null } })
      expect(root.json()).toMatchObject({ parent_provider_uuid: null, root_provider_uuid: child })
    })
  })

  describe('DELETE /resource_providers/{uuid}', () => {
    it('deletes a provider, refusing while it has children or allocations', async () => {
      const parent = await env.provider('rp-del-parent')
      const child = await env.provider('rp-del-child', { parent, inventories: { VCPU: { total: 4 } } })
      const blocked = await env.call({ method: 'DELETE', url: `/resource_providers/${parent}`, version: '1.39' })
      expect(blocked.statusCode).toBe(409)
      expect(blocked.json().errors[0].code).toBe('placement.resource_provider.cannot_delete_parent')
      const consumer = testUuid()
      await env.call({
        method: 'PUT', url: `/allocations/${consumer}`, version: '1.39',
        body: { allocations: { [child]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u', consumer_generation: null, consumer_type: 'INSTANCE' },
      })
      const inUse = await env.call({ method: 'DELETE', url: `/resource_providers/${child}`, version: '1.39' })
      expect(inUse.statusCode).toBe(409)
      expect(inUse.json().errors[0].code).toBe('placement.resource_provider.inuse')
      expect((await env.call({ method: 'DELETE', url: `/allocations/${consumer}` })).statusCode).toBe(204)
      expect((await env.call({ method: 'DELETE', url: `/resource_providers/${child}` })).statusCode).toBe(204)
      expect((await env.call({ method: 'DELETE', url: `/resource_providers/${parent}` })).statusCode).toBe(204)
      expect((await env.call({ url: `/resource_providers/${parent}` })).statusCode).toBe(404)
      const again = await env.call({ method: 'DELETE', url: `/resource_providers/${parent}` })
      expect(again.statusCode).toBe(404)
      expect(again.json().errors[0].detail).toBe(`No resource provider with uuid ${parent} found for delete`)
    })
  })

  describe('GET /resource_providers', () => {
    let agg1: string
    let agg2: string
    let big: string
    let small: string
    let sse: string
    let child: string
    beforeAll(async () => {
      agg1 = testUuid()
      agg2 = testUuid()
      big = await env.provider('list-big', { inventories: { VCPU: { total: 64 }, MEMORY_MB: { total: 65536 } }, traits: ['HW_CPU_X86_AVX2'], aggregates: [agg1] })
      small = await env.provider('list-small', { inventories: { VCPU: { total: 2 } }, aggregates: [agg2] })
      sse = await env.provider('list-sse', { traits: ['HW_CPU_X86_SSE'] })
      child = await env.provider('list-child', { parent: big })
    })
    const names = async (query: string, version = '1.39'): Promise<string[]> => {
      const res = await env.call({ url: `/resource_providers${query}`, version })
      expect(res.statusCode).toBe(200)
      return res.json().resource_providers.map((p: { name: string }) => p.name).filter((n: string) => n.startsWith('list-'))
    }

    it('filters by name and uuid', async () => {
      expect(await names('?name=list-small')).toEqual(['list-small'])
      expect(await names(`?uuid=${sse}`)).toEqual(['list-sse'])
    })

    it('filters by member_of (1.3), any-of, repeated (1.24) and forbidden (1.32)', async () => {
      expect(await names(`?member_of=${agg1}`, '1.3')).toEqual(['list-big'])
      expect(await names(`?member_of=in:${agg1},${agg2}`)).toEqual(['list-big', 'list-small'])
      expect(await names(`?member_of=in:${agg1},${agg2}&member_of=${agg2}`)).toEqual(['list-small'])
      expect(await names(`?member_of=!${agg1}`)).not.toContain('list-big')
      const old = await env.call({ url: `/resource_providers?member_of=${agg1}&member_of=${agg2}`, version: '1.23' })
      expect(old.json().errors[0].detail).toBe('Multiple member_of parameters are not supported')
      const before = await env.call({ url: `/resource_providers?member_of=${agg1}`, version: '1.2' })
      expect(before.statusCode).toBe(400)
      expect(before.json().errors[0].detail).toMatch(/^Invalid query string parameters: Additional properties are not allowed/)
    })

    it('filters by free capacity (1.4)', async () => {
      expect(await names('?resources=VCPU:32')).toEqual(['list-big'])
      const bad = await env.call({ url: '/resources_providers?resources=VCPU', version: '1.39' })
      expect(bad.statusCode).toBe(404)
      const malformed = await env.call({ url: '/resource_providers?resources=VCPU', version: '1.39' })
      expect(malformed.statusCode).toBe(400)
      expect(malformed.json().errors[0].detail).toContain('Badly formed resources parameter')
      const unknown = await env.call({ url: '/resource_providers?resources=CUSTOM_NEVER_CREATED:1', version: '1.39' })
      expect(unknown.statusCode).toBe(400)
      expect(unknown.json().errors[0].detail).toBe('Invalid resource class in resources parameter: No such resource class CUSTOM_NEVER_CREATED.')
    })

    it('filters by in_tree (1.14); an unknown tree is an empty list', async () => {
      expect(await names(`?in_tree=${child}`)).toEqual(['list-big', 'list-child'])
      expect(await names(`?in_tree=${testUuid()}`)).toEqual([])
      expect(small).toBeTruthy()
    })

    it('filters by required traits (1.18), forbidden (1.22) and any-of (1.39)', async () => {
      expect(await names('?required=HW_CPU_X86_AVX2', '1.18')).toEqual(['list-big'])
      const forbiddenEarly = await env.call({ url: '/resource_providers?required=!HW_CPU_X86_AVX2', version: '1.21' })
      expect(forbiddenEarly.statusCode).toBe(400)
      expect(await names('?required=!HW_CPU_X86_AVX2', '1.22')).not.toContain('list-big')
      expect(await names('?required=in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE')).toEqual(['list-big', 'list-sse'])
      const anyEarly = await env.call({ url: '/resource_providers?required=in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE', version: '1.38' })
      expect(anyEarly.json().errors[0].detail).toContain('only supported since microversion 1.39')
      const unknown = await env.call({ url: '/resource_providers?required=CUSTOM_NOPE', version: '1.39' })
      expect(unknown.statusCode).toBe(400)
      expect(unknown.json().errors[0].detail).toBe('Invalid trait(s) in "required" parameter: No such trait(s): CUSTOM_NOPE.')
    })
  })
})
