import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPlacementTestEnv, testUuid, type PlacementTestEnv } from '../placement-test-env.test-helper.js'

describe('Placement inventories, usages, traits and aggregates', () => {
  let env: PlacementTestEnv
  beforeAll(async () => {
    env = await createPlacementTestEnv()
  })
  afterAll(async () => {
    await env.close()
  })

  const generationOf = async (uuid: string): Promise<number> => (await env.call({ url: `/resource_providers/${uuid}` })).json().generation

  describe('inventories', () => {
    it('replaces all inventories with the provider generation, filling in defaults, and bumps it', async () => {
      const uuid = await env.provider('inv-all')
      const res = await env.call({
        method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.39',
        body: { resource_provider_generation: 0, inventories: { VCPU: { total: 8, allocation_ratio: 16 }, MEMORY_MB: { total: 4096, reserved: 512 } } },
      })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({
        resource_provider_generation: 1,
        inventories: {
          MEMORY_MB: { total: 4096, reserved: 512, min_unit: 1, max_unit: 2147483647, step_size: 1, allocation_ratio: 1 },
          VCPU: { total: 8, reserved: 0, min_unit: 1, max_unit: 2147483647, step_size: 1, allocation_ratio: 16 },
        },
      })
      const listed = await env.call({ url: `/resource_providers/${uuid}/inventories` })
      expect(listed.json()).toEqual(res.json())
    })

    it('answers a stale generation with 409 placement.concurrent_update', async () => {
      const uuid = await env.provider('inv-stale', { inventories: { VCPU: { total: 2 } } })
      const res = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.39', body: { resource_provider_generation: 0, inventories: { VCPU: { total: 4 } } } })
      expect(res.statusCode).toBe(409)
      expect(res.json().errors[0]).toMatchObject({ status: 409, title: 'Conflict', code: 'placement.concurrent_update' })
      const one = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories/VCPU`, version: '1.39', body: { resource_provider_generation: 0, total: 4 } })
      expect(one.statusCode).toBe(409)
      expect(one.json().errors[0].code).toBe('placement.concurrent_update')
    })

    it('validates records: unknown fields, bad totals, unknown classes', async () => {
      const uuid = await env.provider('inv-bad')
      const extra = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.39', body: { resource_provider_generation: 0, inventories: { VCPU: { total: 1, colour: 'red' } } } })
      expect(extra.statusCode).toBe(400)
      expect(extra.json().errors[0].detail).toMatch(/^JSON does not validate: /)
      const zero = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.39', body: { resource_provider_generation: 0, inventories: { VCPU: { total: 0 } } } })
      expect(zero.json().errors[0].detail).toBe('JSON does not validate: 0 is less than the minimum of 1')
      const unknown = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.39', body: { resource_provider_generation: 0, inventories: { FOO: { total: 1 } } } })
      expect(unknown.statusCode).toBe(400)
      expect(unknown.json().errors[0].detail).toContain('No such resource class FOO')
    })

    it('accepts reserved equal to total only from 1.26', async () => {
      const uuid = await env.provider('inv-reserved')
      const body = { resource_provider_generation: 0, inventories: { VCPU: { total: 4, reserved: 4 } } }
      const old = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.25', body })
      expect(old.statusCode).toBe(400)
      const now = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.26', body })
      expect(now.statusCode).toBe(200)
    })

    it('creates one (POST 201), shows, updates and deletes one class', async () => {
      const uuid = await env.provider('inv-one')
      const created = await env.call({ method: 'POST', url: `/resource_providers/${uuid}/inventories`, version: '1.39', body: { resource_class: 'DISK_GB', total: 100 } })
      expect(created.statusCode).toBe(201)
      expect(created.headers['location']).toBe(`/resource_providers/${uuid}/inventories/DISK_GB`)
      expect(created.json()).toMatchObject({ total: 100, resource_provider_generation: 1 })
      const dup = await env.call({ method: 'POST', url: `/resource_providers/${uuid}/inventories`, version: '1.39', body: { resource_class: 'DISK_GB', total: 100 } })
      expect(dup.statusCode).toBe(409)
      const shown = await env.call({ url: `/resource_providers/${uuid}/inventories/DISK_GB` })
      expect(shown.json()).toEqual({ total: 100, reserved: 0, min_unit: 1, max_unit: 2147483647, step_size: 1, allocation_ratio: 1, resource_provider_generation: 1 })
      const updated = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories/DISK_GB`, version: '1.39', body: { resource_provider_generation: 1, total: 200, max_unit: 50 } })
      expect(updated.json()).toMatchObject({ total: 200, max_unit: 50, resource_provider_generation: 2 })
      const missing = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories/VCPU`, version: '1.39', body: { resource_provider_generation: 2, total: 1 } })
      expect(missing.statusCode).toBe(400)
      expect((await env.call({ method: 'DELETE', url: `/resource_providers/${uuid}/inventories/DISK_GB` })).statusCode).toBe(204)
      expect((await env.call({ url: `/resource_providers/${uuid}/inventories/DISK_GB` })).statusCode).toBe(404)
      expect((await env.call({ method: 'DELETE', url: `/resource_providers/${uuid}/inventories/DISK_GB` })).statusCode).toBe(404)
    })

    it('deletes all inventories from 1.5 (405 before), refusing while in use', async () => {
      const uuid = await env.provider('inv-del-all', { inventories: { VCPU: { total: 4 } } })
      expect((await env.call({ method: 'DELETE', url: `/resource_providers/${uuid}/inventories`, version: '1.4' })).statusCode).toBe(405)
      const consumer = testUuid()
      await env.call({ method: 'PUT', url: `/allocations/${consumer}`, version: '1.28', body: { allocations: { [uuid]: { resources: { VCPU: 2 } } }, project_id: 'p', user_id: 'u', consumer_generation: null } })
      const inUse = await env.call({ method: 'DELETE', url: `/resource_providers/${uuid}/inventories`, version: '1.39' })
      expect(inUse.statusCode).toBe(409)
      expect(inUse.json().errors[0].code).toBe('placement.inventory.inuse')
      const shrink = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.39', body: { resource_provider_generation: await generationOf(uuid), inventories: { VCPU: { total: 1 } } } })
      expect(shrink.json().errors[0].code).toBe('placement.inventory.inuse')
      await env.call({ method: 'DELETE', url: `/allocations/${consumer}` })
      expect((await env.call({ method: 'DELETE', url: `/resource_providers/${uuid}/inventories`, version: '1.5' })).statusCode).toBe(204)
      expect((await env.call({ url: `/resource_providers/${uuid}/inventories` })).json().inventories).toEqual({})
    })
  })

  describe('usages', () => {
    it('shows a provider’s usage per class, 0 for unused ones', async () => {
      const uuid = await env.provider('usage-rp', { inventories: { VCPU: { total: 8 }, MEMORY_MB: { total: 1024 } } })
      await env.call({ method: 'PUT', url: `/allocations/${testUuid()}`, version: '1.28', body: { allocations: { [uuid]: { resources: { VCPU: 3 } } }, project_id: 'p', user_id: 'u', consumer_generation: null } })
      const res = await env.call({ url: `/resource_providers/${uuid}/usages` })
      expect(res.json()).toEqual({ resource_provider_generation: await generationOf(uuid), usages: { VCPU: 3, MEMORY_MB: 0 } })
      expect((await env.call({ url: `/resource_providers/${testUuid()}/usages` })).statusCode).toBe(404)
    })

    it('totals a project’s usage (1.9), grouped by consumer type from 1.38', async () => {
      const uuid = await env.provider('usage-project', { inventories: { VCPU: { total: 8 }, MEMORY_MB: { total: 4096 } } })
      const claim = (consumerType: string) => ({
        allocations: { [uuid]: { resources: { VCPU: 1, MEMORY_MB: 256 } } }, project_id: 'usage-proj', user_id: 'alice', consumer_generation: null, consumer_type: consumerType,
      })
      await env.call({ method: 'PUT', url: `/allocations/${testUuid()}`, version: '1.38', body: claim('INSTANCE') })
      await env.call({ method: 'PUT', url: `/allocations/${testUuid()}`, version: '1.38', body: claim('INSTANCE') })
      await env.call({ method: 'PUT', url: `/allocations/${testUuid()}`, version: '1.38', body: claim('MIGRATION') })
      expect((await env.call({ url: '/usages?project_id=usage-proj', version: '1.8' })).statusCode).toBe(404)
      const old = await env.call({ url: '/usages?project_id=usage-proj&user_id=alice', version: '1.9' })
      expect(old.json()).toEqual({ usages: { VCPU: 3, MEMORY_MB: 768 } })
      const byType = await env.call({ url: '/usages?project_id=usage-proj', version: '1.38' })
      expect(byType.json()).toEqual({
        usages: { INSTANCE: { VCPU: 2, MEMORY_MB: 512, consumer_count: 2 }, MIGRATION: { VCPU: 1, MEMORY_MB: 256, consumer_count: 1 } },
      })
      const all = await env.call({ url: '/usages?project_id=usage-proj&consumer_type=all', version: '1.38' })
      expect(all.json()).toEqual({ usages: { all: { VCPU: 3, MEMORY_MB: 768, consumer_count: 3 } } })
      const missing = await env.call({ url: '/usages', version: '1.9' })
      expect(missing.statusCode).toBe(400)
      expect(missing.json().errors[0].detail).toBe("Invalid query string parameters: 'project_id' is a required property")
    })
  })

  describe('traits', () => {
    it('lists standard traits with name and associated filters (1.6; 404 before)', async () => {
      expect((await env.call({ url: '/traits', version: '1.5' })).statusCode).toBe(404)
      const all = await env.call({ url: '/traits', version: '1.6' })
      expect(all.json().traits).toContain('HW_CPU_X86_AVX2')
      const some = await env.call({ url: '/traits?name=in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE,CUSTOM_NOT_THERE', version: '1.6' })
      expect(some.json()).toEqual({ traits: ['HW_CPU_X86_AVX2', 'HW_CPU_X86_SSE'] })
      const prefixed = await env.call({ url: '/traits?name=startswith:COMPUTE_STATUS', version: '1.6' })
      expect(prefixed.json().traits).toEqual(['COMPUTE_STATUS_DISABLED'])
      const bad = await env.call({ url: '/traits?name=HW', version: '1.6' })
      expect(bad.statusCode).toBe(400)
      const badAssoc = await env.call({ url: '/traits?associated=maybe', version: '1.6' })
      expect(badAssoc.json().errors[0].detail).toBe('The query parameter "associated" only accepts "true" or "false"')
    })

    it('creates (201 then 204), shows and deletes a custom trait; refuses standard and in-use ones', async () => {
      expect((await env.call({ method: 'PUT', url: '/traits/CUSTOM_GOLD', version: '1.6' })).statusCode).toBe(201)
      const again = await env.call({ method: 'PUT', url: '/traits/CUSTOM_GOLD', version: '1.6' })
      expect(again.statusCode).toBe(204)
      expect(again.headers['location']).toBe('/traits/CUSTOM_GOLD')
      expect((await env.call({ url: '/traits/CUSTOM_GOLD', version: '1.6' })).statusCode).toBe(204)
      expect((await env.call({ method: 'PUT', url: '/traits/GOLD', version: '1.6' })).statusCode).toBe(400)
      expect((await env.call({ method: 'DELETE', url: '/traits/HW_CPU_X86_AVX2', version: '1.6' })).statusCode).toBe(400)
      const uuid = await env.provider('trait-holder', { traits: ['CUSTOM_GOLD'] })
      const inUse = await env.call({ method: 'DELETE', url: '/traits/CUSTOM_GOLD', version: '1.6' })
      expect(inUse.statusCode).toBe(409)
      expect((await env.call({ url: '/traits?associated=true&name=startswith:CUSTOM_', version: '1.6' })).json().traits).toEqual(['CUSTOM_GOLD'])
      expect((await env.call({ method: 'DELETE', url: `/resource_providers/${uuid}/traits`, version: '1.6' })).statusCode).toBe(204)
      expect((await env.call({ method: 'DELETE', url: '/traits/CUSTOM_GOLD', version: '1.6' })).statusCode).toBe(204)
      expect((await env.call({ url: '/traits/CUSTOM_GOLD', version: '1.6' })).statusCode).toBe(404)
    })

    it('sets a provider’s traits with a generation check and refuses unknown ones', async () => {
      const uuid = await env.provider('trait-rp')
      const set = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/traits`, version: '1.6', body: { resource_provider_generation: 0, traits: ['HW_CPU_X86_SSE', 'HW_CPU_X86_AVX2'] } })
      expect(set.json()).toEqual({ traits: ['HW_CPU_X86_AVX2', 'HW_CPU_X86_SSE'], resource_provider_generation: 1 })
      const stale = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/traits`, version: '1.23', body: { resource_provider_generation: 0, traits: [] } })
      expect(stale.statusCode).toBe(409)
      expect(stale.json().errors[0].code).toBe('placement.concurrent_update')
      const unknown = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/traits`, version: '1.6', body: { resource_provider_generation: 1, traits: ['CUSTOM_NEVER_MADE'] } })
      expect(unknown.statusCode).toBe(400)
      expect(unknown.json().errors[0].detail).toBe('No such trait CUSTOM_NEVER_MADE')
      expect((await env.call({ url: `/resource_providers/${uuid}/traits`, version: '1.6' })).json()).toEqual(set.json())
    })
  })

  describe('aggregates', () => {
    it('uses a bare list before 1.19 and a generation-checked object from 1.19', async () => {
      const uuid = await env.provider('agg-rp')
      const [a, b] = [testUuid(), testUuid()]
      expect((await env.call({ url: `/resource_providers/${uuid}/aggregates` })).statusCode).toBe(404)
      const old = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/aggregates`, version: '1.1', body: [a] })
      expect(old.json()).toEqual({ aggregates: [a] })
      const gen = await generationOf(uuid)
      const now = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/aggregates`, version: '1.19', body: { aggregates: [b, a], resource_provider_generation: gen } })
      expect(now.json()).toEqual({ aggregates: [a, b].sort(), resource_provider_generation: gen + 1 })
      const stale = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/aggregates`, version: '1.23', body: { aggregates: [], resource_provider_generation: gen } })
      expect(stale.statusCode).toBe(409)
      expect(stale.json().errors[0].code).toBe('placement.concurrent_update')
      const listed = await env.call({ url: `/resource_providers/${uuid}/aggregates`, version: '1.19' })
      expect(listed.json()).toEqual(now.json())
      const notUuid = await env.call({ method: 'PUT', url: `/resource_providers/${uuid}/aggregates`, version: '1.19', body: { aggregates: ['nope'], resource_provider_generation: gen + 1 } })
      expect(notUuid.statusCode).toBe(400)
    })
  })
})
