import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { candidatesCalls, createPlacementTestEnv, testUuid, type PlacementTestEnv } from '../placement-test-env.test-helper.js'

interface Answer {
  allocation_requests: { allocations: Record<string, { resources: Record<string, number> }>; mappings?: Record<string, string[]> }[]
  provider_summaries: Record<string, { resources: Record<string, { capacity: number; used: number }>; traits?: string[]; parent_provider_uuid?: string | null; root_provider_uuid?: string }>
}

describe('GET /allocation_candidates', () => {
  let env: PlacementTestEnv
  let big: string
  let small: string
  let gpuRoot: string
  let gpu: string
  let aggA: string
  let aggB: string
  beforeAll(async () => {
    env = await createPlacementTestEnv()
    aggA = testUuid()
    aggB = testUuid()
    big = await env.provider('ac-big', { inventories: { VCPU: { total: 8 }, MEMORY_MB: { total: 4096 }, DISK_GB: { total: 100 } }, traits: ['HW_CPU_X86_AVX2'], aggregates: [aggA] })
    small = await env.provider('ac-small', { inventories: { VCPU: { total: 2 }, MEMORY_MB: { total: 1024 }, DISK_GB: { total: 100 } }, aggregates: [aggB] })
    gpuRoot = await env.provider('ac-gpu-root', { inventories: { VCPU: { total: 4 }, MEMORY_MB: { total: 2048 }, DISK_GB: { total: 50 } }, traits: ['COMPUTE_STATUS_DISABLED'] })
    gpu = await env.provider('ac-gpu', { parent: gpuRoot, inventories: { VGPU: { total: 2 } }, traits: ['HW_GPU_API_VULKAN'] })
  })
  afterAll(async () => {
    await env.close()
  })

  const { get, error } = candidatesCalls<Answer>(() => env)
  const providers = (a: Answer): string[] => a.allocation_requests.map((r) => Object.keys(r.allocations).sort().join('+'))

  it('does not exist before 1.10', async () => {
    expect((await env.call({ url: '/allocation_candidates?resources=VCPU:1', version: '1.9' })).statusCode).toBe(404)
  })

  it('answers in the list form with only the requested classes at 1.10', async () => {
    const a = await get('resources=VCPU:1,MEMORY_MB:512', '1.10')
    expect(a.allocation_requests).toContainEqual({ allocations: [{ resource_provider: { uuid: big }, resources: { VCPU: 1, MEMORY_MB: 512 } }] })
    expect(a.provider_summaries[big]).toEqual({ resources: { VCPU: { capacity: 8, used: 0 }, MEMORY_MB: { capacity: 4096, used: 0 } } })
  })

  it('changes shape by microversion: dict form 1.12, traits 1.17, all classes 1.27, tree 1.29, mappings 1.34', async () => {
    const at12 = await get('resources=VCPU:1', '1.12')
    expect(at12.allocation_requests).toContainEqual({ allocations: { [big]: { resources: { VCPU: 1 } } } })
    expect(at12.provider_summaries[big]?.traits).toBeUndefined()
    const at17 = await get('resources=VCPU:1', '1.17')
    expect(at17.provider_summaries[big]?.traits).toEqual(['HW_CPU_X86_AVX2'])
    expect(Object.keys(at17.provider_summaries[big]?.resources ?? {})).toEqual(['VCPU'])
    const at27 = await get('resources=VCPU:1', '1.27')
    expect(Object.keys(at27.provider_summaries[big]?.resources ?? {}).sort()).toEqual(['DISK_GB', 'MEMORY_MB', 'VCPU'])
    expect(at27.provider_summaries[big]?.root_provider_uuid).toBeUndefined()
    const at29 = await get('resources=VCPU:1', '1.29')
    expect(at29.provider_summaries[gpu]).toMatchObject({ parent_provider_uuid: gpuRoot, root_provider_uuid: gpuRoot })
    expect(at29.allocation_requests[0]?.mappings).toBeUndefined()
    const at34 = await get('resources=VCPU:1', '1.34')
    expect(at34.allocation_requests).toContainEqual({ allocations: { [big]: { resources: { VCPU: 1 } } }, mappings: { '': [big] } })
  })

  it('uses nested providers from 1.29 only', async () => {
    expect(providers(await get('resources=VCPU:1,VGPU:1', '1.29'))).toEqual([[gpuRoot, gpu].sort().join('+')])
    const old = await get('resources=VCPU:1,VGPU:1', '1.28')
    expect(old.allocation_requests).toEqual([])
    expect(old.provider_summaries).toEqual({})
  })

  it('applies limit (1.16) and keeps only the summaries of the trees it returns', async () => {
    const a = await get('resources=VCPU:1&limit=1', '1.16')
    expect(a.allocation_requests).toHaveLength(1)
    expect(Object.keys(a.provider_summaries)).toEqual(Object.keys(a.allocation_requests[0]?.allocations ?? {}))
    expect((await error('resources=VCPU:1&limit=0', '1.16')).status).toBe(400)
    expect((await error('resources=VCPU:1&limit=1', '1.15')).detail).toMatch(/Additional properties are not allowed/)
  })

  it('filters by required (1.17), forbidden (1.22) and any-of (1.39) traits', async () => {
    expect(providers(await get('resources=VCPU:1&required=HW_CPU_X86_AVX2', '1.17'))).toEqual([big])
    expect(providers(await get('resources=VCPU:1&required=!HW_CPU_X86_AVX2', '1.22'))).not.toContain(big)
    expect((await error('resources=VCPU:1&required=!HW_CPU_X86_AVX2', '1.21')).status).toBe(400)
    const anyOf = providers(await get('resources=VCPU:1&required=in:HW_CPU_X86_AVX2,COMPUTE_STATUS_DISABLED'))
    expect(anyOf.sort()).toEqual([big, gpuRoot].sort())
    expect(providers(await get('resources=VCPU:1&required=in:HW_CPU_X86_AVX2,COMPUTE_STATUS_DISABLED&required=!COMPUTE_STATUS_DISABLED'))).toEqual([big])
    const conflict = await error('resources=VCPU:1&required=HW_CPU_X86_AVX2,!HW_CPU_X86_AVX2')
    expect(conflict.detail).toBe('Conflicting required and forbidden traits found in the following traits keys: required: (HW_CPU_X86_AVX2)')
    expect((await error('resources=VCPU:1&required=CUSTOM_MISSING')).detail).toBe('No such trait(s): CUSTOM_MISSING.')
  })

  it('filters by member_of (1.21), forbidden aggregates (1.32), in_tree (1.31) and root_required (1.35)', async () => {
    expect(providers(await get(`resources=VCPU:1&member_of=${aggA}`, '1.21'))).toEqual([big])
    expect(providers(await get(`resources=VCPU:1&member_of=in:${aggA},${aggB}`, '1.21')).sort()).toEqual([big, small].sort())
    expect(providers(await get(`resources=VCPU:1&member_of=!${aggA}`, '1.32'))).not.toContain(big)
    expect((await error(`resources=VCPU:1&member_of=!${aggA}`, '1.31')).detail).toBe('Forbidden member_of parameters are not supported in the specified microversion')
    expect(providers(await get(`resources=VCPU:1&in_tree=${gpu}`, '1.31'))).toEqual([gpuRoot])
    expect(await get(`resources=VCPU:1&in_tree=${testUuid()}`, '1.31')).toEqual({ allocation_requests: [], provider_summaries: {} })
    expect(providers(await get('resources=VCPU:1&root_required=!COMPUTE_STATUS_DISABLED', '1.35'))).not.toContain(gpuRoot)
    expect((await error('resources=VCPU:1&root_required=A&root_required=B', '1.35')).code).toBe('placement.query.duplicate_key')
  })

  it('takes granular groups (1.25) and requires group_policy with several', async () => {
    const a = await get('resources1=VCPU:1&resources2=VGPU:1&group_policy=isolate', '1.34')
    expect(a.allocation_requests).toEqual([{ allocations: { [gpuRoot]: { resources: { VCPU: 1 } }, [gpu]: { resources: { VGPU: 1 } } }, mappings: { '1': [gpuRoot], '2': [gpu] } }])
    const missing = await error('resources1=VCPU:1&resources2=VGPU:1', '1.34')
    expect(missing.detail).toBe('The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.')
    expect((await error('resources_COMPUTE=VCPU:1', '1.32')).status).toBe(400)
    expect(providers(await get('resources_COMPUTE=VCPU:1&required_COMPUTE=HW_CPU_X86_AVX2', '1.33'))).toEqual([big])
    expect((await error('resources=VCPU:1&required1=HW_CPU_X86_AVX2', '1.25')).detail).toContain('orphaned traits keys: required1')
  })

  it('validates the query: resources syntax and classes', async () => {
    expect((await error('resources=VCPU')).detail).toContain('Badly formed resources parameter')
    expect((await error('resources=VCPU:0')).detail).toBe('Requested resource VCPU requires amount >= 1. Got: 0.')
    expect((await error('resources=vcpu:1')).detail).toBe('Invalid resource class in resources parameter: No such resource class vcpu.')
    expect((await error('resources=CUSTOM_NEVER_CREATED:1')).detail).toBe('Invalid resource class in resources parameter: No such resource class CUSTOM_NEVER_CREATED.')
    expect((await error('', '1.10')).detail).toBe("Invalid query string parameters: 'resources' is a required property")
    expect((await error('resources=VCPU:1&colour=red', '1.10')).detail).toMatch(/Additional properties are not allowed/)
  })

  it('reports usage in the summaries', async () => {
    const consumer = testUuid()
    await env.call({ method: 'PUT', url: `/allocations/${consumer}`, version: '1.28', body: { allocations: { [small]: { resources: { VCPU: 2 } } }, project_id: 'p', user_id: 'u', consumer_generation: null } })
    const a = await get('resources=MEMORY_MB:256')
    expect(a.provider_summaries[small]?.resources['VCPU']).toEqual({ capacity: 2, used: 2 })
    expect(providers(await get('resources=VCPU:1'))).not.toContain(small)
  })
})
