import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { candidatesCalls, createPlacementTestEnv, testUuid, type PlacementTestEnv } from '../placement-test-env.test-helper.js'

interface Answer {
  allocation_requests: { allocations: Record<string, { resources: Record<string, number> }> | { resource_provider: { uuid: string }; resources: Record<string, number> }[]; mappings?: Record<string, string[]> }[]
  provider_summaries: Record<string, { resources: Record<string, { capacity: number; used: number }>; traits?: string[]; root_provider_uuid?: string }>
}

/**
 * `GET /allocation_candidates` with `same_subtree` and resourceless groups (1.36), and with sharing providers
 * (every microversion), over a NUMA tree and a shared disk pool:
 *
 *   cn (root)                                  compute (VCPU, MEMORY_MB) ─┐
 *   ├── numa0 (PCPU 4, HW_NUMA_ROOT)                                       ├ aggregate A
 *   │   ├── pf0_0 (SRIOV_NET_VF 8, HW_NIC_OFFLOAD_GENEVE)                  │
 *   │   └── pf0_1 (SRIOV_NET_VF 8, HW_NIC_OFFLOAD_VXLAN)    pool (DISK_GB, MISC_SHARES_VIA_AGGREGATE) ─┘
 *   └── numa1 (PCPU 4, HW_NUMA_ROOT)
 *       └── pf1_0 (SRIOV_NET_VF 8, HW_NIC_OFFLOAD_GENEVE)
 */
describe('GET /allocation_candidates: same_subtree and sharing providers', () => {
  let env: PlacementTestEnv
  const p = { cn: '', numa0: '', numa1: '', pf0_0: '', pf0_1: '', pf1_0: '', compute: '', pool: '' }
  let aggA = ''

  beforeAll(async () => {
    env = await createPlacementTestEnv()
    aggA = testUuid()
    p.cn = await env.provider('st-cn')
    p.numa0 = await env.provider('st-numa0', { parent: p.cn, inventories: { PCPU: { total: 4 } }, traits: ['HW_NUMA_ROOT'] })
    p.numa1 = await env.provider('st-numa1', { parent: p.cn, inventories: { PCPU: { total: 4 } }, traits: ['HW_NUMA_ROOT'] })
    p.pf0_0 = await env.provider('st-pf0_0', { parent: p.numa0, inventories: { SRIOV_NET_VF: { total: 8 } }, traits: ['HW_NIC_OFFLOAD_GENEVE'] })
    p.pf0_1 = await env.provider('st-pf0_1', { parent: p.numa0, inventories: { SRIOV_NET_VF: { total: 8 } }, traits: ['HW_NIC_OFFLOAD_VXLAN'] })
    p.pf1_0 = await env.provider('st-pf1_0', { parent: p.numa1, inventories: { SRIOV_NET_VF: { total: 8 } }, traits: ['HW_NIC_OFFLOAD_GENEVE'] })
    p.compute = await env.provider('sh-compute', { inventories: { VCPU: { total: 8 }, MEMORY_MB: { total: 4096 } }, aggregates: [aggA] })
    p.pool = await env.provider('sh-pool', { inventories: { DISK_GB: { total: 1000 } }, traits: ['MISC_SHARES_VIA_AGGREGATE', 'STORAGE_DISK_SSD'], aggregates: [aggA] })
  })
  afterAll(async () => {
    await env.close()
  })

  const { get, error } = candidatesCalls<Answer>(() => env, 400)
  const name = (uuid: string): string => (Object.keys(p) as (keyof typeof p)[]).find((k) => p[k] === uuid) ?? uuid
  const mappings = (a: Answer): Record<string, string>[] =>
    a.allocation_requests.map((r) => Object.fromEntries(Object.entries(r.mappings ?? {}).map(([s, rps]) => [s, rps.map(name).join('+')])))

  describe('same_subtree (1.36)', () => {
    const groups = 'resources_CPU=PCPU:1&resources_NIC=SRIOV_NET_VF:1&required_NIC=HW_NIC_OFFLOAD_GENEVE&group_policy=none'

    it('keeps the listed groups under one provider of them', async () => {
      expect(mappings(await get(groups))).toHaveLength(4)
      expect(mappings(await get(`${groups}&same_subtree=_CPU,_NIC`, '1.36'))).toEqual([
        { _CPU: 'numa0', _NIC: 'pf0_0' },
        { _CPU: 'numa1', _NIC: 'pf1_0' },
      ])
    })

    it('maps a resourceless group without allocating from its provider', async () => {
      const query = 'required_NUMA=HW_NUMA_ROOT&resources_G=SRIOV_NET_VF:1&required_G=HW_NIC_OFFLOAD_GENEVE&resources_V=SRIOV_NET_VF:1&required_V=HW_NIC_OFFLOAD_VXLAN&same_subtree=_NUMA,_G,_V&group_policy=none'
      const a = await get(query)
      expect(mappings(a)).toEqual([{ _NUMA: 'numa0', _G: 'pf0_0', _V: 'pf0_1' }])
      expect(Object.keys(a.allocation_requests[0]?.allocations ?? {}).map(name).sort()).toEqual(['pf0_0', 'pf0_1'])
      expect(a.provider_summaries[p.numa0]?.root_provider_uuid).toBe(p.cn)
      // Without the NUMA anchor the two sibling PFs have no common provider among them.
      expect((await get('resources_G=SRIOV_NET_VF:1&required_G=HW_NIC_OFFLOAD_GENEVE&resources_V=SRIOV_NET_VF:1&required_V=HW_NIC_OFFLOAD_VXLAN&same_subtree=_G,_V&group_policy=none')).allocation_requests).toEqual([])
    })

    it('does not know same_subtree before 1.36, nor resourceless groups', async () => {
      expect((await error(`${groups}&same_subtree=_CPU,_NIC`, '1.35')).detail).toBe(
        "Invalid query string parameters: 'same_subtree' does not match any of the regexes: '^in_tree([a-zA-Z0-9_-]{1,64})?$', '^member_of([a-zA-Z0-9_-]{1,64})?$', '^required([a-zA-Z0-9_-]{1,64})?$', '^resources([a-zA-Z0-9_-]{1,64})?$'",
      )
      expect((await error('resources_A=PCPU:1&required_B=HW_NUMA_ROOT&group_policy=none', '1.35')).detail).toBe(
        'All traits parameters must be associated with resources.  Found the following orphaned traits keys: required_B',
      )
    })

    it.each([
      {
        query: 'resources_A=PCPU:1&required_B=HW_NUMA_ROOT&group_policy=none',
        detail: "Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - ['_B'].",
        code: 'placement.query.bad_value',
      },
      {
        query: 'required=HW_NUMA_ROOT&resources_A=PCPU:1',
        detail: "Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - [''].",
        code: 'placement.query.bad_value',
      },
      {
        query: 'resources_A=PCPU:1&resources_B=PCPU:1&group_policy=none&same_subtree=_A,_C',
        detail: "Real suffixes should be specified in `same_subtree`: ['_C'] not found in ['_A', '_B'].",
        code: 'placement.query.bad_value',
      },
      {
        query: "resources_A=PCPU:1&same_subtree=_A,_C'1",
        detail: 'Real suffixes should be specified in `same_subtree`: ["_C\'1"] not found in [\'_A\'].',
        code: 'placement.query.bad_value',
      },
      { query: 'resources_A=PCPU:1&same_subtree=_A,', detail: 'Empty string (unsuffixed group) can not be specified in `same_subtree` ', code: 'placement.query.bad_value' },
      { query: 'required_A=HW_NUMA_ROOT&same_subtree=_A', detail: 'There must be at least one resources or resources[$S] parameter.', code: 'placement.query.missing_value' },
      {
        query: 'resources_A=PCPU:1&required_B=HW_NUMA_ROOT&same_subtree=_A,_B',
        detail: 'The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.',
        code: 'placement.undefined_code',
      },
    ])('answers 400 to $query', async ({ query, detail, code }) => {
      expect(await error(query.replace("'", '%27'), '1.36')).toMatchObject({ status: 400, detail, code })
    })
  })

  describe('sharing providers', () => {
    it('takes DISK_GB from the pool in the compute node\'s aggregate and summarises the pool', async () => {
      const a = await get('resources=VCPU:1,MEMORY_MB:256,DISK_GB:10')
      expect(a.allocation_requests).toEqual([
        { allocations: { [p.compute]: { resources: { VCPU: 1, MEMORY_MB: 256 } }, [p.pool]: { resources: { DISK_GB: 10 } } }, mappings: { '': [p.compute, p.pool] } },
      ])
      expect(a.provider_summaries[p.pool]).toEqual({
        resources: { DISK_GB: { capacity: 1000, used: 0 } },
        traits: ['MISC_SHARES_VIA_AGGREGATE', 'STORAGE_DISK_SSD'],
        parent_provider_uuid: null,
        root_provider_uuid: p.pool,
      })
    })

    it('shares at old microversions too, in the list form of 1.10', async () => {
      const a = await get('resources=VCPU:1,DISK_GB:10', '1.10')
      expect(a.allocation_requests).toEqual([
        {
          allocations: [
            { resource_provider: { uuid: p.compute }, resources: { VCPU: 1 } },
            { resource_provider: { uuid: p.pool }, resources: { DISK_GB: 10 } },
          ],
        },
      ])
      expect(Object.keys(a.provider_summaries).sort()).toEqual([p.compute, p.pool].sort())
    })

    it('applies member_of (1.21) and required (1.17) to the pool as Placement does', async () => {
      expect((await get(`resources=VCPU:1,DISK_GB:10&member_of=${aggA}`, '1.21')).allocation_requests).toHaveLength(1)
      expect((await get(`resources=VCPU:1,DISK_GB:10&member_of=${testUuid()}`, '1.21')).allocation_requests).toEqual([])
      expect((await get('resources=VCPU:1,DISK_GB:10&required=STORAGE_DISK_SSD', '1.17')).allocation_requests).toHaveLength(1)
      expect((await get('resources=VCPU:1,DISK_GB:10&required=!STORAGE_DISK_SSD', '1.22')).allocation_requests).toEqual([])
    })

    it('serves a granular disk group from the pool (1.25)', async () => {
      const a = await get('resources=VCPU:1&resources1=DISK_GB:10', '1.34')
      expect(a.allocation_requests).toEqual([
        { allocations: { [p.compute]: { resources: { VCPU: 1 } }, [p.pool]: { resources: { DISK_GB: 10 } } }, mappings: { '': [p.compute], '1': [p.pool] } },
      ])
    })
  })
})
