import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import type { AllocationCandidates, AllocationCandidatesRequest, RequestGroup } from './placement-client.js'
import { PlacementService } from './placement-service.js'

const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

/*
 * A shared DISK_GB pool in an aggregate with two compute nodes, and a second pool with a third node:
 *
 *   aggregate A: cn1 (VCPU, MEMORY_MB, no disk), cn2 (VCPU, MEMORY_MB, DISK_GB 50, HW_CPU_X86_AVX2; also in
 *                aggregate X), ss1 (DISK_GB 1000, MISC_SHARES_VIA_AGGREGATE, STORAGE_DISK_SSD)
 *   aggregate B: cn3 (VCPU, MEMORY_MB, no disk), ss2 (DISK_GB 500, MISC_SHARES_VIA_AGGREGATE)
 *   aggregate C: ss3 (DISK_GB 500, not sharing until a test gives it the trait), cn3
 *
 * The database holds only this fixture, so queries without member_of see exactly these providers.
 */
describe.each(databaseKindsUnderTest())('sharing providers on %s', (kind) => {
  let tdb: TestDatabase
  let placement: PlacementService
  let next = 1
  const fresh = (): string => uuid(0x5400 + next++)
  const ids = { cn1: '', cn2: '', cn3: '', ss1: '', ss2: '', ss3: '' }
  const aggs = { A: '', B: '', C: '', X: '' }
  const compute = { VCPU: { total: 8 }, MEMORY_MB: { total: 8192 } }

  beforeAll(async () => {
    tdb = await createTestDatabase(kind)
    placement = new PlacementService(tdb.db)
    for (const k of Object.keys(ids) as (keyof typeof ids)[]) ids[k] = fresh()
    for (const k of Object.keys(aggs) as (keyof typeof aggs)[]) aggs[k] = fresh()
    const node = (name: keyof typeof ids, inventories: Record<string, { total: number }>, traits: string[], aggregates: string[]) =>
      placement.syncProviderTree({ uuid: ids[name], name: `${name}-${ids[name]}`, inventories, traits, aggregates })
    await node('cn1', compute, [], [aggs.A])
    await node('cn2', { ...compute, DISK_GB: { total: 50 } }, ['HW_CPU_X86_AVX2'], [aggs.A, aggs.X])
    await node('cn3', compute, [], [aggs.B, aggs.C])
    await node('ss1', { DISK_GB: { total: 1000 } }, ['MISC_SHARES_VIA_AGGREGATE', 'STORAGE_DISK_SSD'], [aggs.A])
    await node('ss2', { DISK_GB: { total: 500 } }, ['MISC_SHARES_VIA_AGGREGATE'], [aggs.B])
    await node('ss3', { DISK_GB: { total: 500 } }, [], [aggs.C])
  })
  afterAll(async () => {
    await tdb?.destroy()
  })

  const name = (u: string): string => (Object.keys(ids) as (keyof typeof ids)[]).find((k) => ids[k] === u) ?? u
  /** Each allocation request as `provider:CLASS=n,…` entries joined by `+`, in the order the answer lists providers. */
  const shapes = (r: AllocationCandidates): string[] =>
    r.allocationRequests.map((a) =>
      Object.entries(a.allocations)
        .map(([rp, { resources }]) => `${name(rp)}:${Object.keys(resources).sort().join(',')}`)
        .join('+'),
    )
  const boot = (group: Partial<RequestGroup> = {}, extra: Partial<AllocationCandidatesRequest> = {}): Promise<AllocationCandidates> =>
    placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 10 }, ...group }], ...extra })

  it('serves DISK_GB from the shared pool to every compute node in its aggregate, local disk too', async () => {
    const r = await boot()
    expect(shapes(r).sort()).toEqual(['cn1:MEMORY_MB,VCPU+ss1:DISK_GB', 'cn2:DISK_GB,MEMORY_MB,VCPU', 'cn2:MEMORY_MB,VCPU+ss1:DISK_GB', 'cn3:MEMORY_MB,VCPU+ss2:DISK_GB'])
    // The compute node comes first in each allocation request; the sharing provider's tree is summarised.
    for (const a of r.allocationRequests) expect(name(Object.keys(a.allocations)[0] as string)).toMatch(/^cn/)
    expect(Object.keys(r.providerSummaries).map(name).sort()).toEqual(['cn1', 'cn2', 'cn3', 'ss1', 'ss2'])
    expect(r.providerSummaries[ids.ss1]?.traits).toEqual(['MISC_SHARES_VIA_AGGREGATE', 'STORAGE_DISK_SSD'])
    const viaShare = r.allocationRequests.find((a) => a.allocations[ids.cn1] !== undefined)
    expect(viaShare?.mappings).toEqual({ '': [ids.cn1, ids.ss1] })
  })

  it('with member_of, needs the sharing provider itself in the aggregate', async () => {
    expect(shapes(await boot({ memberOf: [[aggs.A]] })).sort()).toEqual(['cn1:MEMORY_MB,VCPU+ss1:DISK_GB', 'cn2:DISK_GB,MEMORY_MB,VCPU', 'cn2:MEMORY_MB,VCPU+ss1:DISK_GB'])
    expect(shapes(await boot({ memberOf: [[aggs.B]] }))).toEqual(['cn3:MEMORY_MB,VCPU+ss2:DISK_GB'])
    // cn2 is in X, ss1 is not: only cn2's own disk is left.
    expect(shapes(await boot({ memberOf: [[aggs.X]] }))).toEqual(['cn2:DISK_GB,MEMORY_MB,VCPU'])
    expect(shapes(await boot({ forbiddenAggregates: [aggs.X] })).sort()).toEqual(['cn1:MEMORY_MB,VCPU+ss1:DISK_GB', 'cn3:MEMORY_MB,VCPU+ss2:DISK_GB'])
  })

  it('counts the sharing provider\'s traits for the unsuffixed group, and its forbidden traits against it', async () => {
    expect(shapes(await boot({ requiredTraits: ['STORAGE_DISK_SSD'] })).sort()).toEqual(['cn1:MEMORY_MB,VCPU+ss1:DISK_GB', 'cn2:MEMORY_MB,VCPU+ss1:DISK_GB'])
    expect(shapes(await boot({ forbiddenTraits: ['STORAGE_DISK_SSD'] })).sort()).toEqual(['cn2:DISK_GB,MEMORY_MB,VCPU', 'cn3:MEMORY_MB,VCPU+ss2:DISK_GB'])
    expect(shapes(await boot({ requiredTraits: ['HW_CPU_X86_AVX2', 'STORAGE_DISK_SSD'] }))).toEqual(['cn2:MEMORY_MB,VCPU+ss1:DISK_GB'])
    expect(shapes(await boot({ anyTraits: [['HW_CPU_X86_AVX2', 'STORAGE_DISK_SSD']] })).sort()).toEqual([
      'cn1:MEMORY_MB,VCPU+ss1:DISK_GB',
      'cn2:DISK_GB,MEMORY_MB,VCPU',
      'cn2:MEMORY_MB,VCPU+ss1:DISK_GB',
    ])
  })

  it('applies root_required to the compute node (the anchor), not to the sharing provider', async () => {
    expect(shapes(await boot({}, { rootRequired: ['HW_CPU_X86_AVX2'] })).sort()).toEqual(['cn2:DISK_GB,MEMORY_MB,VCPU', 'cn2:MEMORY_MB,VCPU+ss1:DISK_GB'])
    expect(shapes(await boot({}, { rootRequired: ['!MISC_SHARES_VIA_AGGREGATE'] })).sort()).toHaveLength(4)
  })

  it('returns an allocation request served by a sharing provider alone once, whatever anchors reach it', async () => {
    const r = await placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { DISK_GB: 100 } }] })
    expect(shapes(r).sort()).toEqual(['ss1:DISK_GB', 'ss2:DISK_GB', 'ss3:DISK_GB'])
    expect(Object.keys(r.providerSummaries).map(name).sort()).toEqual(['ss1', 'ss2', 'ss3'])
  })

  it('lets a suffixed group take a sharing provider anchored to the compute node, member_of on the provider itself', async () => {
    const groups: RequestGroup[] = [
      { suffix: '', resources: { VCPU: 1 } },
      { suffix: '_DISK', resources: { DISK_GB: 10 } },
    ]
    const r = await placement.getAllocationCandidates({ groups })
    expect(shapes(r).sort()).toEqual(['cn1:VCPU+ss1:DISK_GB', 'cn2:DISK_GB,VCPU', 'cn2:VCPU+ss1:DISK_GB', 'cn3:VCPU+ss2:DISK_GB'])
    expect(r.allocationRequests.find((a) => a.allocations[ids.cn1])?.mappings).toEqual({ '': [ids.cn1], _DISK: [ids.ss1] })
    // member_of_DISK=X: cn2 is in X itself, ss1 is not.
    const inX = await placement.getAllocationCandidates({ groups: [groups[0] as RequestGroup, { ...(groups[1] as RequestGroup), memberOf: [[aggs.X]] }] })
    expect(shapes(inX)).toEqual(['cn2:DISK_GB,VCPU'])
    // in_tree on the suffixed group names the sharing provider's tree; the anchors stay the compute nodes.
    const fromSs1 = await placement.getAllocationCandidates({ groups: [groups[0] as RequestGroup, { ...(groups[1] as RequestGroup), inTree: ids.ss1 }] })
    expect(shapes(fromSs1).sort()).toEqual(['cn1:VCPU+ss1:DISK_GB', 'cn2:VCPU+ss1:DISK_GB'])
    // in_tree on the unsuffixed group keeps it in that tree: no sharing, and cn1 has no disk of its own.
    const inCn1 = await placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { VCPU: 1, DISK_GB: 10 }, inTree: ids.cn1 }] })
    expect(inCn1.allocationRequests).toEqual([])
  })

  it('keeps a shared provider and a local one apart under group_policy=isolate', async () => {
    const r = await placement.getAllocationCandidates({
      groups: [
        { suffix: '1', resources: { DISK_GB: 10 }, requiredTraits: ['STORAGE_DISK_SSD'] },
        { suffix: '2', resources: { DISK_GB: 10, VCPU: 1 } },
      ],
      groupPolicy: 'isolate',
    })
    expect(shapes(r)).toEqual(['cn2:DISK_GB,VCPU+ss1:DISK_GB'])
  })

  it('sees the usage of a claim through the sharing provider', async () => {
    const before = await boot({ memberOf: [[aggs.A]] })
    const viaShare = before.allocationRequests.find((a) => a.allocations[ids.cn1] !== undefined)
    if (!viaShare) throw new Error('no candidate of cn1 through ss1')
    await placement.putAllocations(fresh(), { allocations: viaShare.allocations, projectId: 'p', userId: 'u', consumerGeneration: null })
    const after = await boot({ memberOf: [[aggs.A]] })
    expect(after.providerSummaries[ids.ss1]?.resources['DISK_GB']).toEqual({ capacity: 1000, used: 10 })
    expect(after.providerSummaries[ids.cn1]?.resources['VCPU']).toEqual({ capacity: 8, used: 1 })
  })

  it('follows a provider that starts or stops sharing, through the provider cache', async () => {
    const cn3Shapes = async (): Promise<string[]> => shapes(await boot({ memberOf: [[aggs.C]] }))
    expect(await cn3Shapes()).toEqual([])
    const g = (await placement.getTraits(ids.ss3)).resourceProviderGeneration
    await placement.setTraits(ids.ss3, g, ['MISC_SHARES_VIA_AGGREGATE'])
    expect(await cn3Shapes()).toEqual(['cn3:MEMORY_MB,VCPU+ss3:DISK_GB'])
    await placement.setTraits(ids.ss3, g + 1, [])
    expect(await cn3Shapes()).toEqual([])
  })

  it('explains a host without disk of its own as a capacity or inventory problem only when no pool can help', async () => {
    const reasons = await placement.explainAllocationCandidates({ groups: [{ suffix: '', resources: { VCPU: 1, DISK_GB: 2000 } }] })
    const cn1 = reasons.find((r) => r.providerUuid === ids.cn1)
    expect(cn1).toMatchObject({ kind: 'capacity', resourceClass: 'DISK_GB' })
    const fits = await placement.explainAllocationCandidates({ groups: [{ suffix: '', resources: { VCPU: 1, DISK_GB: 10 } }] })
    expect(fits.map((r) => r.providerUuid)).not.toContain(ids.cn1)
  })
})
