import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import type { AllocationCandidates, AllocationCandidatesRequest, RequestGroup } from './placement-client.js'
import { PlacementService } from './placement-service.js'

const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

/*
 * The shape of Placement's own NUMA/network functional fixture: a compute root with two NUMA children, each with
 * SR-IOV physical functions as grandchildren.
 *
 *   cn (DISK_GB 100)
 *   ├── numa0 (PCPU 4, MEMORY_MB 4096, HW_NUMA_ROOT)
 *   │   ├── pf0_0 (SRIOV_NET_VF 8, CUSTOM_PHYSNET_A)
 *   │   └── pf0_1 (SRIOV_NET_VF 8, CUSTOM_PHYSNET_B)
 *   └── numa1 (PCPU 4, MEMORY_MB 4096, HW_NUMA_ROOT)
 *       └── pf1_0 (SRIOV_NET_VF 8, CUSTOM_PHYSNET_A)
 */
describe.each(databaseKindsUnderTest())('same_subtree and resourceless request groups on %s', (kind) => {
  let tdb: TestDatabase
  let placement: PlacementService
  let next = 1
  const fresh = (): string => uuid(0x5500 + next++)
  const ids = { cn: '', numa0: '', numa1: '', pf0_0: '', pf0_1: '', pf1_0: '' }
  let agg = ''

  beforeAll(async () => {
    tdb = await createTestDatabase(kind)
    placement = new PlacementService(tdb.db)
    for (const k of Object.keys(ids) as (keyof typeof ids)[]) ids[k] = fresh()
    agg = fresh()
    await placement.syncProviderTree({
      uuid: ids.cn,
      name: `cn-${ids.cn}`,
      inventories: { DISK_GB: { total: 100 } },
      traits: [],
      aggregates: [agg],
      children: [
        {
          uuid: ids.numa0,
          name: `numa0-${ids.numa0}`,
          inventories: { PCPU: { total: 4 }, MEMORY_MB: { total: 4096 } },
          traits: ['HW_NUMA_ROOT'],
          children: [
            { uuid: ids.pf0_0, name: `pf0_0-${ids.pf0_0}`, inventories: { SRIOV_NET_VF: { total: 8 } }, traits: ['CUSTOM_PHYSNET_A'] },
            { uuid: ids.pf0_1, name: `pf0_1-${ids.pf0_1}`, inventories: { SRIOV_NET_VF: { total: 8 } }, traits: ['CUSTOM_PHYSNET_B'] },
          ],
        },
        {
          uuid: ids.numa1,
          name: `numa1-${ids.numa1}`,
          inventories: { PCPU: { total: 4 }, MEMORY_MB: { total: 4096 } },
          traits: ['HW_NUMA_ROOT'],
          children: [{ uuid: ids.pf1_0, name: `pf1_0-${ids.pf1_0}`, inventories: { SRIOV_NET_VF: { total: 8 } }, traits: ['CUSTOM_PHYSNET_A'] }],
        },
      ],
    })
  })
  afterAll(async () => {
    await tdb?.destroy()
  })

  const cpu: RequestGroup = { suffix: '_CPU', resources: { PCPU: 2, MEMORY_MB: 1024 } }
  const nicA: RequestGroup = { suffix: '_NIC_A', resources: { SRIOV_NET_VF: 1 }, requiredTraits: ['CUSTOM_PHYSNET_A'] }
  const nicB: RequestGroup = { suffix: '_NIC_B', resources: { SRIOV_NET_VF: 1 }, requiredTraits: ['CUSTOM_PHYSNET_B'] }
  const numa: RequestGroup = { suffix: '_NUMA', resources: {}, requiredTraits: ['HW_NUMA_ROOT'] }
  /** The unsuffixed group, limited to this file's tree by its aggregate. */
  const disk = (): RequestGroup => ({ suffix: '', resources: { DISK_GB: 10 }, memberOf: [[agg]] })

  /** Each candidate's mappings as suffix → provider key of `ids`, for readable assertions. */
  const mapped = (r: AllocationCandidates): Record<string, string>[] => {
    const name = (u: string): string => (Object.keys(ids) as (keyof typeof ids)[]).find((k) => ids[k] === u) ?? u
    return r.allocationRequests.map((a) => Object.fromEntries(Object.entries(a.mappings).map(([s, ps]) => [s, ps.map(name).join('+')])))
  }
  const ask = (groups: RequestGroup[], extra: Partial<AllocationCandidatesRequest> = {}): Promise<AllocationCandidates> =>
    placement.getAllocationCandidates({ groups: [disk(), ...groups], groupPolicy: 'none', ...extra })

  it('without same_subtree, pairs CPUs and NICs from any NUMA node', async () => {
    const r = await ask([cpu, nicA])
    expect(mapped(r)).toEqual(
      expect.arrayContaining([
        { '': 'cn', _CPU: 'numa0', _NIC_A: 'pf0_0' },
        { '': 'cn', _CPU: 'numa0', _NIC_A: 'pf1_0' },
        { '': 'cn', _CPU: 'numa1', _NIC_A: 'pf0_0' },
        { '': 'cn', _CPU: 'numa1', _NIC_A: 'pf1_0' },
      ]),
    )
    expect(r.allocationRequests).toHaveLength(4)
  })

  it('with same_subtree, keeps the NIC under the NUMA node that serves the CPUs', async () => {
    const r = await ask([cpu, nicA], { sameSubtree: [['_CPU', '_NIC_A']] })
    expect(mapped(r)).toEqual([
      { '': 'cn', _CPU: 'numa0', _NIC_A: 'pf0_0' },
      { '': 'cn', _CPU: 'numa1', _NIC_A: 'pf1_0' },
    ])
    expect(r.allocationRequests[0]?.allocations).toEqual({
      [ids.cn]: { resources: { DISK_GB: 10 } },
      [ids.numa0]: { resources: { PCPU: 2, MEMORY_MB: 1024 } },
      [ids.pf0_0]: { resources: { SRIOV_NET_VF: 1 } },
    })
  })

  it('needs one of the providers to be the ancestor of the others: two sibling NICs alone do not qualify', async () => {
    const r = await ask([nicA, nicB], { sameSubtree: [['_NIC_A', '_NIC_B']] })
    expect(r.allocationRequests).toEqual([])
  })

  it('anchors sibling NICs with a resourceless NUMA group, which is mapped but allocates nothing', async () => {
    const r = await ask([numa, nicA, nicB], { sameSubtree: [['_NUMA', '_NIC_A', '_NIC_B']] })
    expect(mapped(r)).toEqual([{ '': 'cn', _NUMA: 'numa0', _NIC_A: 'pf0_0', _NIC_B: 'pf0_1' }])
    const only = r.allocationRequests[0]
    expect(Object.keys(only?.allocations ?? {}).sort()).toEqual([ids.cn, ids.pf0_0, ids.pf0_1].sort())
    // The whole tree is summarised, including the provider the resourceless group maps to.
    expect(Object.keys(r.providerSummaries).sort()).toEqual(Object.values(ids).sort())
  })

  it('lets a resourceless group without traits map to any provider of the subtree, the root included', async () => {
    const anywhere: RequestGroup = { suffix: '_TOP', resources: {} }
    const r = await ask([anywhere, nicB], { sameSubtree: [['_TOP', '_NIC_B']] })
    // _TOP must be pf0_1 itself or one of its ancestors: pf0_1, numa0 or cn.
    expect(mapped(r).map((m) => m['_TOP']).sort()).toEqual(['cn', 'numa0', 'pf0_1'])
  })

  it('applies several same_subtree sets independently', async () => {
    const numaB: RequestGroup = { suffix: '_NUMA_B', resources: {}, requiredTraits: ['HW_NUMA_ROOT'] }
    const r = await ask([numa, nicA, numaB, { ...cpu }], { sameSubtree: [['_NUMA', '_NIC_A'], ['_NUMA_B', '_CPU']] })
    for (const m of mapped(r)) {
      expect(m['_NIC_A']?.startsWith(`pf${(m['_NUMA'] as string).slice(-1)}`)).toBe(true)
      expect(m['_NUMA_B']).toBe(m['_CPU'])
    }
    expect(r.allocationRequests).toHaveLength(4)
  })

  it('counts a resourceless group for group_policy=isolate', async () => {
    const together = await ask([numa, cpu], { sameSubtree: [['_NUMA', '_CPU']] })
    expect(mapped(together)).toEqual([
      { '': 'cn', _NUMA: 'numa0', _CPU: 'numa0' },
      { '': 'cn', _NUMA: 'numa1', _CPU: 'numa1' },
    ])
    const isolated = await ask([numa, cpu], { sameSubtree: [['_NUMA', '_CPU']], groupPolicy: 'isolate' })
    expect(isolated.allocationRequests).toEqual([])
  })

  it('explains a tree that fails only same_subtree as a combination failure', async () => {
    const reasons = await placement.explainAllocationCandidates({ groups: [disk(), nicA, nicB], groupPolicy: 'none', sameSubtree: [['_NIC_A', '_NIC_B']] })
    expect(reasons.find((r) => r.providerUuid === ids.cn)?.kind).toBe('combination')
  })

  it.each([
    { groups: [disk(), numa], sameSubtree: [], text: 'request group "_NUMA" has no resources and is not named in same_subtree' },
    { groups: [disk(), cpu], sameSubtree: [['_CPU', '_GONE']], text: 'same_subtree names request group "_GONE"' },
    { groups: [disk(), cpu], sameSubtree: [['', '_CPU']], text: 'same_subtree cannot name the unsuffixed request group' },
    { groups: [{ suffix: '', resources: {} }, cpu], sameSubtree: [['_CPU']], text: 'the unsuffixed request group has no resources' },
    { groups: [numa], sameSubtree: [['_NUMA']], text: 'at least one request group with resources' },
  ])('rejects $text', async ({ groups, sameSubtree, text }) => {
    const err = await placement.getAllocationCandidates({ groups, sameSubtree, groupPolicy: 'none' }).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'INVALID')).toBe(true)
    expect((err as ComputeError).message).toContain(text)
    expect((err as ComputeError).details?.['code']).toBe('placement.query.bad_value')
  })
})
