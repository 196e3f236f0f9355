import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { PlacementService } from './placement-service.js'

/** A deterministic uuid from a number, so failures name recognisable ids. */
const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

function errorOf(promise: Promise<unknown>): Promise<ComputeError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (err: unknown) => {
      if (!ComputeError.is(err)) throw err
      return err
    },
  )
}

describe.each(databaseKindsUnderTest())('PlacementService on %s', (kind) => {
  let tdb: TestDatabase
  let placement: PlacementService
  let next = 1
  const fresh = (): string => uuid(next++)

  beforeAll(async () => {
    tdb = await createTestDatabase(kind)
    placement = new PlacementService(tdb.db)
  })
  afterAll(async () => {
    await tdb?.destroy()
  })

  async function provider(inventories: Record<string, { total: number; reserved?: number; allocationRatio?: number; minUnit?: number; maxUnit?: number; stepSize?: number }>, traits: string[] = []) {
    const id = fresh()
    await placement.syncProviderTree({ uuid: id, name: `node-${id}`, inventories, traits })
    return id
  }

  describe('providers', () => {
    it('creates a root provider whose root is itself, at generation 0', async () => {
      const id = fresh()
      const rp = await placement.createProvider({ uuid: id, name: `rp-${id}` })
      expect(rp).toEqual({ uuid: id, name: `rp-${id}`, generation: 0, parentProviderUuid: null, rootProviderUuid: id })
      expect(await placement.getProvider(id)).toEqual(rp)
    })

    it('creates a child under a parent, sharing the parent root', async () => {
      const root = await placement.createProvider({ uuid: fresh(), name: `root-${next}` })
      const child = await placement.createProvider({ uuid: fresh(), name: `child-${next}`, parentProviderUuid: root.uuid })
      const grandchild = await placement.createProvider({ uuid: fresh(), name: `gc-${next}`, parentProviderUuid: child.uuid })
      expect(child.parentProviderUuid).toBe(root.uuid)
      expect(grandchild.rootProviderUuid).toBe(root.uuid)
      expect((await placement.listProviders({ inTree: grandchild.uuid })).map((p) => p.uuid)).toEqual([root.uuid, child.uuid, grandchild.uuid])
    })

    it('rejects a duplicate name with placement.duplicate_name', async () => {
      const a = await placement.createProvider({ uuid: fresh(), name: `dup-${next}` })
      const err = await errorOf(placement.createProvider({ uuid: fresh(), name: a.name }))
      expect(err.code).toBe('CONFLICT')
      expect(err.details?.['code']).toBe('placement.duplicate_name')
      expect(err.message).toContain(a.name)
    })

    it('refuses to delete a provider that has children or allocations', async () => {
      const root = await placement.createProvider({ uuid: fresh(), name: `del-root-${next}` })
      await placement.createProvider({ uuid: fresh(), name: `del-child-${next}`, parentProviderUuid: root.uuid })
      const err = await errorOf(placement.deleteProvider(root.uuid))
      expect(err.details?.['code']).toBe('placement.resource_provider.cannot_delete_parent')
      const leaf = await provider({ VCPU: { total: 4 } })
      await placement.putAllocations(fresh(), { allocations: { [leaf]: { resources: { VCPU: 1 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
      const inUse = await errorOf(placement.deleteProvider(leaf))
      expect(inUse.code).toBe('CONFLICT')
      expect(inUse.details?.['code']).toBe('placement.resource_provider.inuse')
    })

    it('deletes a provider with its inventories and traits', async () => {
      const id = await provider({ VCPU: { total: 4 } }, ['HW_CPU_X86_AVX2'])
      await placement.deleteProvider(id)
      expect(await placement.getProvider(id)).toBeNull()
      expect((await errorOf(placement.getInventories(id))).code).toBe('NOT_FOUND')
    })

    it('renames and re-parents a provider, moving its subtree to the new root', async () => {
      const a = await placement.createProvider({ uuid: fresh(), name: `tree-a-${next}` })
      const b = await placement.createProvider({ uuid: fresh(), name: `tree-b-${next}` })
      const child = await placement.createProvider({ uuid: fresh(), name: `tree-c-${next}`, parentProviderUuid: b.uuid })
      const moved = await placement.updateProvider(b.uuid, { name: `${b.name}-renamed`, parentProviderUuid: a.uuid })
      expect(moved).toMatchObject({ name: `${b.name}-renamed`, parentProviderUuid: a.uuid, rootProviderUuid: a.uuid })
      expect((await placement.getProvider(child.uuid))?.rootProviderUuid).toBe(a.uuid)
      const cycle = await errorOf(placement.updateProvider(a.uuid, { name: a.name, parentProviderUuid: child.uuid }))
      expect(cycle.code).toBe('INVALID')
    })

    it('lists providers by trait, aggregate and free capacity', async () => {
      const agg = fresh()
      const big = await provider({ VCPU: { total: 64 } }, ['HW_CPU_X86_AVX2'])
      const small = await provider({ VCPU: { total: 2 } })
      const gen = (await placement.getAggregates(big)).resourceProviderGeneration
      await placement.setAggregates(big, gen, [agg])
      const byTrait = await placement.listProviders({ requiredTraits: ['HW_CPU_X86_AVX2'] })
      expect(byTrait.map((p) => p.uuid)).toContain(big)
      expect(byTrait.map((p) => p.uuid)).not.toContain(small)
      expect((await placement.listProviders({ memberOf: [[agg]] })).map((p) => p.uuid)).toEqual([big])
      const roomy = (await placement.listProviders({ resources: { VCPU: 32 } })).map((p) => p.uuid)
      expect(roomy).toContain(big)
      expect(roomy).not.toContain(small)
    })

    it('lists providers with any of a set of traits (1.39 in:)', async () => {
      const avx = await provider({}, ['HW_CPU_X86_AVX'])
      const sse = await provider({}, ['HW_CPU_X86_SSE'])
      const none = await provider({})
      const anyOf = (await placement.listProviders({ anyTraits: [['HW_CPU_X86_AVX', 'HW_CPU_X86_SSE']] })).map((p) => p.uuid)
      expect(anyOf).toEqual(expect.arrayContaining([avx, sse]))
      expect(anyOf).not.toContain(none)
      const both = (await placement.listProviders({ anyTraits: [['HW_CPU_X86_AVX', 'HW_CPU_X86_SSE']], forbiddenTraits: ['HW_CPU_X86_SSE'] })).map((p) => p.uuid)
      expect(both).toContain(avx)
      expect(both).not.toContain(sse)
    })
  })

  describe('inventories', () => {
    it('replaces inventories with the current generation and bumps it', async () => {
      const id = await provider({ VCPU: { total: 4 } })
      const before = await placement.getInventories(id)
      const after = await placement.setInventories(id, before.resourceProviderGeneration, { VCPU: { total: 8, allocationRatio: 4 }, MEMORY_MB: { total: 2048, reserved: 512 } })
      expect(after.resourceProviderGeneration).toBe(before.resourceProviderGeneration + 1)
      expect(await placement.getInventories(id)).toEqual({
        resourceProviderGeneration: before.resourceProviderGeneration + 1,
        inventories: {
          MEMORY_MB: { total: 2048, reserved: 512, minUnit: 1, maxUnit: 2147483647, stepSize: 1, allocationRatio: 1 },
          VCPU: { total: 8, reserved: 0, minUnit: 1, maxUnit: 2147483647, stepSize: 1, allocationRatio: 4 },
        },
      })
    })

    it('fails a stale provider generation with placement.concurrent_update', async () => {
      const id = await provider({ VCPU: { total: 4 } })
      const { resourceProviderGeneration: g } = await placement.getInventories(id)
      await placement.setInventories(id, g, { VCPU: { total: 6 } })
      const err = await errorOf(placement.setInventories(id, g, { VCPU: { total: 7 } }))
      expect(err.code).toBe('CONFLICT')
      expect(err.details).toMatchObject({ code: 'placement.concurrent_update', conflict: 'provider' })
      expect(err.message).toContain(`expected ${g}`)
      expect((await placement.getInventories(id)).inventories['VCPU']?.total).toBe(6)
    })

    it.each([
      { inventory: { total: 0 }, field: 'total' },
      { inventory: { total: 4, reserved: 5 }, field: 'reserved' },
      { inventory: { total: 4, minUnit: 3, maxUnit: 2 }, field: 'min_unit' },
      { inventory: { total: 4, allocationRatio: 0 }, field: 'allocation_ratio' },
      { inventory: { total: 4, stepSize: 0 }, field: 'step_size' },
    ])('rejects an invalid inventory ($field)', async ({ inventory, field }) => {
      const id = await provider({})
      const err = await errorOf(placement.setInventories(id, (await placement.getInventories(id)).resourceProviderGeneration, { VCPU: inventory }))
      expect(err.code).toBe('INVALID')
      expect(err.message).toContain(field)
    })

    it('rejects an unknown resource class name', async () => {
      const id = await provider({})
      const err = await errorOf(placement.setInventory(id, 1, 'GPU', { total: 1 }))
      expect(err.message).toContain('"GPU"')
    })

    it('refuses to remove a class with allocations or shrink it below usage (placement.inventory.inuse)', async () => {
      const id = await provider({ VCPU: { total: 8 }, DISK_GB: { total: 100 } })
      await placement.putAllocations(fresh(), { allocations: { [id]: { resources: { VCPU: 6 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
      const g = (await placement.getInventories(id)).resourceProviderGeneration
      const removed = await errorOf(placement.setInventories(id, g, { DISK_GB: { total: 100 } }))
      expect(removed.details?.['code']).toBe('placement.inventory.inuse')
      const shrunk = await errorOf(placement.setInventory(id, g, 'VCPU', { total: 4 }))
      expect(shrunk.details?.['code']).toBe('placement.inventory.inuse')
      expect(shrunk.message).toContain('6 allocated')
      const deleted = await placement.deleteInventory(id, g, 'DISK_GB')
      expect(Object.keys(deleted.inventories)).toEqual(['VCPU'])
    })

    it('accepts shrinking below usage when allowInventoryBelowUsage is on', async () => {
      const lenient = new PlacementService(tdb.db, { allowInventoryBelowUsage: true })
      const id = await provider({ VCPU: { total: 8 } })
      await placement.putAllocations(fresh(), { allocations: { [id]: { resources: { VCPU: 6 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
      const g = (await lenient.getInventories(id)).resourceProviderGeneration
      expect((await lenient.setInventory(id, g, 'VCPU', { total: 4 })).inventories['VCPU']?.total).toBe(4)
    })
  })

  describe('traits and aggregates', () => {
    it('accepts standard traits and requires custom ones to exist first', async () => {
      const id = await provider({})
      const g = (await placement.getTraits(id)).resourceProviderGeneration
      const missing = await errorOf(placement.setTraits(id, g, ['CUSTOM_GOLD', 'HW_CPU_X86_AVX2']))
      expect(missing.message).toContain('CUSTOM_GOLD')
      expect(await placement.createTrait('CUSTOM_GOLD')).toBe('created')
      expect(await placement.createTrait('CUSTOM_GOLD')).toBe('exists')
      const set = await placement.setTraits(id, g, ['HW_CPU_X86_AVX2', 'CUSTOM_GOLD'])
      expect(set).toEqual({ resourceProviderGeneration: g + 1, traits: ['CUSTOM_GOLD', 'HW_CPU_X86_AVX2'] })
      expect(await placement.getTraits(id)).toEqual(set)
      expect(await placement.listTraits({ startsWith: 'CUSTOM_', associated: true })).toContain('CUSTOM_GOLD')
    })

    it.each(['custom_lower', 'NOT_A_TRAIT', 'CUSTOM_'])('rejects the invalid trait name %s', async (name) => {
      const id = await provider({})
      const err = await errorOf(placement.setTraits(id, (await placement.getTraits(id)).resourceProviderGeneration, [name]))
      expect(err.code).toBe('INVALID')
      expect(err.message).toContain(name)
    })

    it('refuses to delete a custom trait in use or a standard one', async () => {
      await placement.createTrait('CUSTOM_INUSE')
      const id = await provider({}, [])
      await placement.setTraits(id, (await placement.getTraits(id)).resourceProviderGeneration, ['CUSTOM_INUSE'])
      expect((await errorOf(placement.deleteTrait('CUSTOM_INUSE'))).code).toBe('CONFLICT')
      expect((await errorOf(placement.deleteTrait('HW_CPU_X86_AVX2'))).code).toBe('INVALID')
    })

    it('sets aggregates with a generation check', async () => {
      const id = await provider({})
      const g = (await placement.getAggregates(id)).resourceProviderGeneration
      const aggs = [fresh(), fresh()]
      expect(await placement.setAggregates(id, g, aggs)).toEqual({ resourceProviderGeneration: g + 1, aggregates: [...aggs].sort() })
      expect((await errorOf(placement.setAggregates(id, g, []))).details?.['code']).toBe('placement.concurrent_update')
    })
  })

  describe('allocations', () => {
    it('claims for a new consumer with generation null and reads it back', async () => {
      const id = await provider({ VCPU: { total: 8 }, MEMORY_MB: { total: 4096 } })
      const gen = (await placement.getProvider(id))?.generation as number
      const consumer = fresh()
      await placement.putAllocations(consumer, { allocations: { [id]: { resources: { VCPU: 2, MEMORY_MB: 1024 } } }, projectId: 'proj', userId: 'user', consumerGeneration: null })
      expect(await placement.getAllocations(consumer)).toEqual({
        allocations: { [id]: { generation: gen + 1, resources: { VCPU: 2, MEMORY_MB: 1024 } } },
        consumerGeneration: 1,
        projectId: 'proj',
        userId: 'user',
      })
      expect((await placement.getProviderUsages(id)).usages).toEqual({ VCPU: 2, MEMORY_MB: 1024 })
      expect((await placement.getProviderAllocations(id)).allocations).toEqual({ [consumer]: { resources: { VCPU: 2, MEMORY_MB: 1024 } } })
    })

    it('fails a consumer-generation mismatch with placement.concurrent_update', async () => {
      const id = await provider({ VCPU: { total: 8 } })
      const consumer = fresh()
      const claim = { allocations: { [id]: { resources: { VCPU: 1 } } }, projectId: 'p', userId: 'u' }
      await placement.putAllocations(consumer, { ...claim, consumerGeneration: null })
      const asNew = await errorOf(placement.putAllocations(consumer, { ...claim, consumerGeneration: null }))
      expect(asNew.details).toMatchObject({ code: 'placement.concurrent_update', conflict: 'consumer' })
      expect(asNew.message).toBe(`consumer ${consumer} generation conflict: expected null but got 1`)
      const stale = await errorOf(placement.putAllocations(consumer, { ...claim, consumerGeneration: 7 }))
      expect(stale.code).toBe('CONFLICT')
      await placement.putAllocations(consumer, { ...claim, allocations: { [id]: { resources: { VCPU: 3 } } }, consumerGeneration: 1 })
      expect(await placement.getAllocations(consumer)).toMatchObject({ consumerGeneration: 2, allocations: { [id]: { resources: { VCPU: 3 } } } })
    })

    it.each([
      { resources: { VCPU: 9 }, reason: 'exceeds capacity 8' },
      { resources: { DISK_GB: 1 }, reason: 'has no DISK_GB inventory' },
      { resources: { MEMORY_MB: 100 }, reason: 'breaks min_unit 256, max_unit 2048, step_size 256' },
      { resources: { MEMORY_MB: 4096 }, reason: 'breaks min_unit 256' },
    ] as { resources: Record<string, number>; reason: string }[])('refuses $resources: $reason', async ({ resources, reason }) => {
      const id = await provider({ VCPU: { total: 4, allocationRatio: 2 }, MEMORY_MB: { total: 8192, minUnit: 256, maxUnit: 2048, stepSize: 256 } })
      const err = await errorOf(placement.putAllocations(fresh(), { allocations: { [id]: { resources } }, projectId: 'p', userId: 'u', consumerGeneration: null }))
      expect(err.code).toBe('CONFLICT')
      expect(err.details?.['code']).toBe('placement.undefined_code')
      expect(err.message).toContain(reason)
    })

    it('counts (total − reserved) × allocation_ratio as capacity', async () => {
      const id = await provider({ VCPU: { total: 10, reserved: 2, allocationRatio: 1.5 } })
      await placement.putAllocations(fresh(), { allocations: { [id]: { resources: { VCPU: 12 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
      const err = await errorOf(placement.putAllocations(fresh(), { allocations: { [id]: { resources: { VCPU: 1 } } }, projectId: 'p', userId: 'u', consumerGeneration: null }))
      expect(err.message).toContain('exceeds capacity 12 with 12 used')
    })

    it('rejects an unknown provider in an allocation as INVALID', async () => {
      const err = await errorOf(placement.putAllocations(fresh(), { allocations: { [fresh()]: { resources: { VCPU: 1 } } }, projectId: 'p', userId: 'u', consumerGeneration: null }))
      expect(err.code).toBe('INVALID')
    })

    it('deletes a consumer’s allocations, bumping the provider generation, and is a no-op afterwards', async () => {
      const id = await provider({ VCPU: { total: 4 } })
      const consumer = fresh()
      await placement.putAllocations(consumer, { allocations: { [id]: { resources: { VCPU: 4 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
      const gen = (await placement.getProvider(id))?.generation as number
      expect(await placement.removeAllocations(consumer)).toBe(true)
      expect((await placement.getProvider(id))?.generation).toBe(gen + 1)
      expect(await placement.removeAllocations(consumer)).toBe(false)
      await placement.deleteAllocations(consumer)
      expect(await placement.getAllocations(consumer)).toEqual({ allocations: {}, consumerGeneration: null, projectId: null, userId: null })
    })

    it('moves allocations between consumers atomically with postAllocations', async () => {
      const id = await provider({ VCPU: { total: 4 } })
      const instance = fresh()
      const migration = fresh()
      await placement.putAllocations(instance, { allocations: { [id]: { resources: { VCPU: 4 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
      await placement.postAllocations({
        [migration]: { allocations: { [id]: { resources: { VCPU: 4 } } }, projectId: 'p', userId: 'u', consumerGeneration: null },
        [instance]: { allocations: {}, projectId: 'p', userId: 'u', consumerGeneration: 1 },
      })
      expect((await placement.getAllocations(migration)).allocations[id]?.resources).toEqual({ VCPU: 4 })
      expect((await placement.getAllocations(instance)).allocations).toEqual({})
    })

    it('reports usage per project and user', async () => {
      const id = await provider({ VCPU: { total: 16 } })
      const project = `proj-${next}`
      await placement.putAllocations(fresh(), { allocations: { [id]: { resources: { VCPU: 2 } } }, projectId: project, userId: 'alice', consumerGeneration: null })
      await placement.putAllocations(fresh(), { allocations: { [id]: { resources: { VCPU: 3 } } }, projectId: project, userId: 'bob', consumerGeneration: null })
      expect(await placement.getUsages({ projectId: project })).toEqual({ VCPU: 5 })
      expect(await placement.getUsages({ projectId: project, userId: 'bob' })).toEqual({ VCPU: 3 })
    })

    it('reports usage per consumer type with consumer counts (1.38)', async () => {
      const id = await provider({ VCPU: { total: 16 }, MEMORY_MB: { total: 4096 } })
      const project = `proj-ct-${next}`
      const claim = (consumerType?: string) => ({
        allocations: { [id]: { resources: { VCPU: 1, MEMORY_MB: 256 } } }, projectId: project, userId: 'u', consumerGeneration: null, ...(consumerType ? { consumerType } : {}),
      })
      await placement.putAllocations(fresh(), claim('INSTANCE'))
      await placement.putAllocations(fresh(), claim('INSTANCE'))
      await placement.putAllocations(fresh(), claim('MIGRATION'))
      await placement.putAllocations(fresh(), claim())
      expect(await placement.getUsagesByConsumerType({ projectId: project })).toEqual({
        INSTANCE: { consumerCount: 2, usages: { VCPU: 2, MEMORY_MB: 512 } },
        MIGRATION: { consumerCount: 1, usages: { VCPU: 1, MEMORY_MB: 256 } },
        unknown: { consumerCount: 1, usages: { VCPU: 1, MEMORY_MB: 256 } },
      })
      expect(await placement.getUsagesByConsumerType({ projectId: project, consumerType: 'all' })).toEqual({ all: { consumerCount: 4, usages: { VCPU: 4, MEMORY_MB: 1024 } } })
      expect(await placement.getUsagesByConsumerType({ projectId: project, consumerType: 'unknown' })).toEqual({ unknown: { consumerCount: 1, usages: { VCPU: 1, MEMORY_MB: 256 } } })
      expect(await placement.getUsagesByConsumerType({ projectId: project, consumerType: 'MIGRATION' })).toEqual({ MIGRATION: { consumerCount: 1, usages: { VCPU: 1, MEMORY_MB: 256 } } })
    })

    it('returns consumer records with generation and type', async () => {
      const id = await provider({ VCPU: { total: 4 } })
      const consumer = fresh()
      await placement.putAllocations(consumer, { allocations: { [id]: { resources: { VCPU: 1 } } }, projectId: 'p', userId: 'u', consumerGeneration: null, consumerType: 'INSTANCE' })
      const records = await placement.getConsumers([consumer, fresh()])
      expect([...records.values()]).toEqual([{ uuid: consumer, generation: 1, projectId: 'p', userId: 'u', consumerType: 'INSTANCE' }])
    })

    it('lists the custom resource classes in use', async () => {
      await provider({ CUSTOM_MAGIC_BEANS: { total: 4 }, VCPU: { total: 1 } })
      expect(await placement.listCustomResourceClasses()).toContain('CUSTOM_MAGIC_BEANS')
      expect(await placement.listCustomResourceClasses()).not.toContain('VCPU')
    })

    it('never exceeds capacity under 20 concurrent claims at capacity 5', async () => {
      const id = await provider({ VCPU: { total: 5 } })
      const gen = (await placement.getProvider(id))?.generation as number
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => placement.putAllocations(fresh(), { allocations: { [id]: { resources: { VCPU: 1 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })),
      )
      const ok = results.filter((r) => r.status === 'fulfilled').length
      expect(ok).toBe(5)
      for (const r of results) if (r.status === 'rejected') expect(ComputeError.is(r.reason, 'CONFLICT')).toBe(true)
      expect((await placement.getProviderUsages(id)).usages).toEqual({ VCPU: 5 })
      expect((await placement.getProvider(id))?.generation).toBe(gen + 5)
    })

    it('never exceeds capacity when concurrent claims span two providers', async () => {
      const a = await provider({ VCPU: { total: 3 } })
      const b = await provider({ MEMORY_MB: { total: 3 } })
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          placement.putAllocations(fresh(), {
            allocations: i % 2 ? { [a]: { resources: { VCPU: 1 } }, [b]: { resources: { MEMORY_MB: 1 } } } : { [b]: { resources: { MEMORY_MB: 1 } }, [a]: { resources: { VCPU: 1 } } },
            projectId: 'p',
            userId: 'u',
            consumerGeneration: null,
          }),
        ),
      )
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3)
      expect((await placement.getProviderUsages(a)).usages).toEqual({ VCPU: 3 })
      expect((await placement.getProviderUsages(b)).usages).toEqual({ MEMORY_MB: 3 })
    })
  })

  describe('.syncProviderTree', () => {
    it('creates the provider, then only changes what differs', async () => {
      const id = fresh()
      const report = { uuid: id, name: `sync-${id}`, inventories: { VCPU: { total: 4 } }, traits: ['COMPUTE_STATUS_DISABLED', 'CUSTOM_SYNCED'] }
      const first = await placement.syncProviderTree(report)
      const again = await placement.syncProviderTree(report)
      expect(again.generation).toBe(first.generation)
      const updated = await placement.syncProviderTree({ ...report, inventories: { VCPU: { total: 8 } }, traits: [] })
      expect(updated.generation).toBe(first.generation + 2)
      expect((await placement.getInventories(id)).inventories['VCPU']?.total).toBe(8)
      expect((await placement.getTraits(id)).traits).toEqual([])
    })

    it('syncs child providers under the root', async () => {
      const root = fresh()
      const child = fresh()
      await placement.syncProviderTree({ uuid: root, name: `tree-${root}`, inventories: { VCPU: { total: 4 } }, traits: [], children: [{ uuid: child, name: `tree-${child}`, inventories: { VGPU: { total: 2 } }, traits: [] }] })
      expect(await placement.getProvider(child)).toMatchObject({ parentProviderUuid: root, rootProviderUuid: root })
      expect((await placement.getInventories(child)).inventories['VGPU']?.total).toBe(2)
    })

    it('converges when many syncs of one provider race', async () => {
      const id = await provider({ VCPU: { total: 1 } })
      await Promise.all(Array.from({ length: 6 }, (_, i) => placement.syncProviderTree({ uuid: id, name: `node-${id}`, inventories: { VCPU: { total: 10 + i } }, traits: [] })))
      const total = (await placement.getInventories(id)).inventories['VCPU']?.total as number
      expect(total).toBeGreaterThanOrEqual(10)
      expect(total).toBeLessThanOrEqual(15)
    })
  })
})
