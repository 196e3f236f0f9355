import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import type { AllocationCandidatesRequest, InventoryInput } from './placement-client.js'
import { PlacementService } from './placement-service.js'

const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

describe.each(databaseKindsUnderTest())('allocation candidates on %s', (kind) => {
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

  /** Each test works in its own aggregate, so providers of other tests never show up in its answers. */
  async function cloud(nodes: readonly { inventories: Record<string, InventoryInput>; traits?: string[]; extraAggregates?: string[] }[]) {
    const agg = fresh()
    const ids: string[] = []
    for (const n of nodes) {
      const id = fresh()
      await placement.syncProviderTree({ uuid: id, name: `cand-${id}`, inventories: n.inventories, traits: n.traits ?? [], aggregates: [agg, ...(n.extraAggregates ?? [])] })
      ids.push(id)
    }
    return { agg, ids }
  }

  function query(agg: string, group: Partial<AllocationCandidatesRequest['groups'][number]>, extra: Partial<AllocationCandidatesRequest> = {}): AllocationCandidatesRequest {
    return { groups: [{ suffix: '', resources: {}, ...group, memberOf: [[agg], ...(group.memberOf ?? [])] }], ...extra }
  }

  const roots = (r: { allocationRequests: readonly { allocations: Readonly<Record<string, unknown>> }[] }): string[] => r.allocationRequests.flatMap((a) => Object.keys(a.allocations))

  it('returns hosts with room for every class, capacity being (total − reserved) × ratio', async () => {
    const { agg, ids } = await cloud([
      { inventories: { VCPU: { total: 4, allocationRatio: 2 }, MEMORY_MB: { total: 4096, reserved: 512 } } },
      { inventories: { VCPU: { total: 4 }, MEMORY_MB: { total: 4096 } } },
      { inventories: { VCPU: { total: 16 } } },
    ])
    const result = await placement.getAllocationCandidates(query(agg, { resources: { VCPU: 8, MEMORY_MB: 2048 } }))
    expect(result.allocationRequests).toEqual([{ allocations: { [ids[0] as string]: { resources: { VCPU: 8, MEMORY_MB: 2048 } } }, mappings: { '': [ids[0]] } }])
    expect(result.providerSummaries[ids[0] as string]).toEqual({
      resources: { VCPU: { capacity: 8, used: 0 }, MEMORY_MB: { capacity: 3584, used: 0 } },
      traits: [],
      parentProviderUuid: null,
      rootProviderUuid: ids[0],
    })
  })

  it('sees usage from claims made since the last query', async () => {
    const { agg, ids } = await cloud([{ inventories: { VCPU: { total: 4 } } }, { inventories: { VCPU: { total: 4 } } }])
    const request = query(agg, { resources: { VCPU: 3 } })
    expect(roots(await placement.getAllocationCandidates(request))).toEqual(ids)
    await placement.putAllocations(fresh(), { allocations: { [ids[0] as string]: { resources: { VCPU: 2 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
    const after = await placement.getAllocationCandidates(request)
    expect(roots(after)).toEqual([ids[1]])
  })

  it('sees claims made through another PlacementService instance (another process)', async () => {
    const other = new PlacementService(tdb.db)
    const { agg, ids } = await cloud([{ inventories: { VCPU: { total: 2 } } }])
    const request = query(agg, { resources: { VCPU: 2 } })
    expect(roots(await placement.getAllocationCandidates(request))).toEqual(ids)
    await other.putAllocations(fresh(), { allocations: { [ids[0] as string]: { resources: { VCPU: 1 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
    expect(roots(await placement.getAllocationCandidates(request))).toEqual([])
  })

  it('follows providers that are deleted, changed or moved into another tree between queries', async () => {
    const { agg, ids } = await cloud([{ inventories: { VCPU: { total: 4 } } }, { inventories: { VCPU: { total: 4 } } }, { inventories: { VCPU: { total: 4 } } }])
    const [a, b, c] = ids as [string, string, string]
    const request = query(agg, { resources: { VCPU: 2 } })
    expect(roots(await placement.getAllocationCandidates(request))).toEqual([a, b, c])
    await placement.deleteProvider(a)
    await placement.setInventories(b, (await placement.getInventories(b)).resourceProviderGeneration, { VCPU: { total: 1 } })
    expect(roots(await placement.getAllocationCandidates(request))).toEqual([c])
    // c becomes a child of b: its VCPU now serves b's tree, and the candidate names both providers' tree root.
    await placement.updateProvider(c, { name: `cand-${c}`, parentProviderUuid: b })
    const moved = await placement.getAllocationCandidates(request)
    expect(roots(moved)).toEqual([c])
    expect(moved.providerSummaries[c]).toMatchObject({ rootProviderUuid: b, parentProviderUuid: b })
  })

  it('honours min_unit, max_unit and step_size', async () => {
    const { agg, ids } = await cloud([
      { inventories: { MEMORY_MB: { total: 8192, minUnit: 1024, stepSize: 512 } } },
      { inventories: { MEMORY_MB: { total: 8192, maxUnit: 1024 } } },
      { inventories: { MEMORY_MB: { total: 8192 } } },
    ])
    expect(roots(await placement.getAllocationCandidates(query(agg, { resources: { MEMORY_MB: 1536 } })))).toEqual([ids[0], ids[2]])
    expect(roots(await placement.getAllocationCandidates(query(agg, { resources: { MEMORY_MB: 1000 } })))).toEqual([ids[1], ids[2]])
  })

  it.each([
    { required: ['HW_CPU_X86_AVX2'], forbidden: [], expected: [0, 1] },
    { required: ['HW_CPU_X86_AVX2', 'HW_CPU_X86_SSE42'], forbidden: [], expected: [1] },
    { required: [], forbidden: ['HW_CPU_X86_SSE42'], expected: [0, 2] },
    { required: ['HW_CPU_X86_AVX2'], forbidden: ['HW_CPU_X86_SSE42'], expected: [0] },
  ])('filters by required $required and forbidden $forbidden traits', async ({ required, forbidden, expected }) => {
    const { agg, ids } = await cloud([
      { inventories: { VCPU: { total: 4 } }, traits: ['HW_CPU_X86_AVX2'] },
      { inventories: { VCPU: { total: 4 } }, traits: ['HW_CPU_X86_AVX2', 'HW_CPU_X86_SSE42'] },
      { inventories: { VCPU: { total: 4 } } },
    ])
    const result = await placement.getAllocationCandidates(query(agg, { resources: { VCPU: 1 }, requiredTraits: required, forbiddenTraits: forbidden }))
    expect(roots(result)).toEqual(expected.map((i) => ids[i]))
  })

  it('applies root_required, e.g. !COMPUTE_STATUS_DISABLED', async () => {
    const { agg, ids } = await cloud([{ inventories: { VCPU: { total: 4 } }, traits: ['COMPUTE_STATUS_DISABLED'] }, { inventories: { VCPU: { total: 4 } } }])
    const result = await placement.getAllocationCandidates(query(agg, { resources: { VCPU: 1 } }, { rootRequired: ['!COMPUTE_STATUS_DISABLED'] }))
    expect(roots(result)).toEqual([ids[1]])
  })

  it('ANDs member_of sets, ORs within one, and excludes forbidden aggregates', async () => {
    const gold = fresh()
    const silver = fresh()
    const { agg, ids } = await cloud([
      { inventories: { VCPU: { total: 4 } }, extraAggregates: [gold] },
      { inventories: { VCPU: { total: 4 } }, extraAggregates: [silver] },
      { inventories: { VCPU: { total: 4 } } },
    ])
    expect(roots(await placement.getAllocationCandidates(query(agg, { resources: { VCPU: 1 }, memberOf: [[gold, silver]] })))).toEqual([ids[0], ids[1]])
    expect(roots(await placement.getAllocationCandidates(query(agg, { resources: { VCPU: 1 }, memberOf: [[gold]] })))).toEqual([ids[0]])
    expect(roots(await placement.getAllocationCandidates(query(agg, { resources: { VCPU: 1 }, forbiddenAggregates: [gold] })))).toEqual([ids[1], ids[2]])
  })

  it('stops at limit, in provider creation order, with summaries only for the returned trees', async () => {
    const { agg, ids } = await cloud(Array.from({ length: 6 }, () => ({ inventories: { VCPU: { total: 4 } } })))
    const result = await placement.getAllocationCandidates(query(agg, { resources: { VCPU: 1 } }, { limit: 2 }))
    expect(roots(result)).toEqual(ids.slice(0, 2))
    expect(Object.keys(result.providerSummaries).sort()).toEqual(ids.slice(0, 2).sort())
  })

  it('spreads the unsuffixed group over a tree and honours suffixed groups with group_policy=isolate', async () => {
    const root = fresh()
    const numa0 = fresh()
    const numa1 = fresh()
    const agg = fresh()
    await placement.syncProviderTree({
      uuid: root,
      name: `tree-${root}`,
      inventories: { DISK_GB: { total: 100 } },
      traits: [],
      aggregates: [agg],
      children: [
        { uuid: numa0, name: `numa0-${numa0}`, inventories: { PCPU: { total: 4 }, MEMORY_MB: { total: 4096 } }, traits: ['HW_CPU_X86_AVX2'] },
        { uuid: numa1, name: `numa1-${numa1}`, inventories: { PCPU: { total: 4 }, MEMORY_MB: { total: 4096 } }, traits: [] },
      ],
    })
    const unsuffixed = await placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { DISK_GB: 10, PCPU: 2 }, memberOf: [[agg]] }] })
    expect(unsuffixed.allocationRequests.map((a) => a.allocations)).toEqual([
      { [root]: { resources: { DISK_GB: 10 } }, [numa0]: { resources: { PCPU: 2 } } },
      { [root]: { resources: { DISK_GB: 10 } }, [numa1]: { resources: { PCPU: 2 } } },
    ])
    expect(unsuffixed.providerSummaries[numa1]).toMatchObject({ parentProviderUuid: root, rootProviderUuid: root })
    const withTrait = await placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { PCPU: 2 }, requiredTraits: ['HW_CPU_X86_AVX2'], memberOf: [[agg]] }] })
    expect(withTrait.allocationRequests.map((a) => Object.keys(a.allocations))).toEqual([[numa0]])
    const isolated = await placement.getAllocationCandidates({
      groups: [
        { suffix: '', resources: { DISK_GB: 10 }, memberOf: [[agg]] },
        { suffix: '1', resources: { PCPU: 3, MEMORY_MB: 1024 } },
        { suffix: '2', resources: { PCPU: 3, MEMORY_MB: 1024 } },
      ],
      groupPolicy: 'isolate',
    })
    expect(isolated.allocationRequests).toHaveLength(2)
    for (const a of isolated.allocationRequests) {
      expect(a.mappings['1']).toHaveLength(1)
      expect(a.mappings['1']).not.toEqual(a.mappings['2'])
    }
    const noIsolation = await placement.getAllocationCandidates({
      groups: [
        { suffix: '', resources: { DISK_GB: 10 }, memberOf: [[agg]] },
        { suffix: '1', resources: { PCPU: 3 } },
        { suffix: '2', resources: { PCPU: 1 } },
      ],
      groupPolicy: 'none',
    })
    // 3 + 1 fit one NUMA node (4 PCPU), so "none" also allows both groups on one provider.
    expect(noIsolation.allocationRequests.some((a) => Object.keys(a.allocations).length === 2)).toBe(true)
  })

  it.each([
    { request: { groups: [{ suffix: '', resources: { VCPU: 0 } }] }, text: 'invalid amount 0' },
    { request: { groups: [{ suffix: '', resources: { GPU: 1 } }] }, text: '"GPU"' },
    { request: { groups: [{ suffix: '', resources: { VCPU: 1 }, requiredTraits: ['avx'] }] }, text: '"avx"' },
    { request: { groups: [{ suffix: '1', resources: { VCPU: 1 } }, { suffix: '2', resources: { VCPU: 1 } }] }, text: 'group_policy is required' },
    { request: { groups: [] }, text: 'at least one request group' },
  ])('rejects a malformed request: $text', async ({ request, text }) => {
    const err = await placement.getAllocationCandidates(request as AllocationCandidatesRequest).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'INVALID')).toBe(true)
    expect((err as Error).message).toContain(text)
  })

  it('explains why each host got no candidate', async () => {
    const { agg, ids } = await cloud([
      { inventories: { VCPU: { total: 4 }, MEMORY_MB: { total: 1024 } } },
      { inventories: { VCPU: { total: 4 }, MEMORY_MB: { total: 8192 } }, traits: ['COMPUTE_STATUS_DISABLED'] },
      { inventories: { VCPU: { total: 4 } } },
      { inventories: { VCPU: { total: 4 }, MEMORY_MB: { total: 8192 } } },
      { inventories: { VCPU: { total: 4 }, MEMORY_MB: { total: 8192, maxUnit: 1024 } } },
    ])
    const request = query(agg, { resources: { VCPU: 1, MEMORY_MB: 2048 }, requiredTraits: ['HW_CPU_X86_AVX2'] }, { rootRequired: ['!COMPUTE_STATUS_DISABLED'] })
    const reasons = (await placement.explainAllocationCandidates(request)).filter((r) => ids.includes(r.providerUuid))
    expect(reasons.map((r) => [ids.indexOf(r.providerUuid), r.kind, r.summary])).toEqual([
      [0, 'capacity', 'too little MEMORY_MB'],
      [1, 'forbidden_root_trait', 'forbidden trait COMPUTE_STATUS_DISABLED'],
      [2, 'no_inventory', 'no MEMORY_MB inventory'],
      [3, 'trait', 'no trait HW_CPU_X86_AVX2'],
      [4, 'unit', 'no MEMORY_MB unit size fitting 2048'],
    ])
    expect(reasons[0]?.message).toBe('wants 2048 MEMORY_MB, free 1024 (capacity 1024, used 0)')
  })
})
