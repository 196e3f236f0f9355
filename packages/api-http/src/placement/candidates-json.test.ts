import { describe, expect, it } from 'vitest'
import type { AllocationCandidates } from '@novum/core'
import { CandidatesSerializer } from './candidates-json.js'

const A = 'aaaaaaaa-0000-4000-8000-000000000001'
const B = 'bbbbbbbb-0000-4000-8000-000000000002'
const shared = Object.freeze({ VCPU: 1, MEMORY_MB: 256 })
const summaryA = Object.freeze({
  resources: Object.freeze({ VCPU: { capacity: 8, used: 1 }, MEMORY_MB: { capacity: 4096, used: 0 }, DISK_GB: { capacity: 100, used: 0 } }),
  traits: Object.freeze(['HW_CPU_X86_AVX2']),
  parentProviderUuid: null,
  rootProviderUuid: A,
})
const summaryB = Object.freeze({ resources: Object.freeze({ VGPU: { capacity: 2, used: 0 } }), traits: Object.freeze([]), parentProviderUuid: A, rootProviderUuid: A })
const result: AllocationCandidates = {
  allocationRequests: [
    { allocations: { [A]: { resources: shared } }, mappings: { '': [A] } },
    { allocations: { [A]: { resources: { VCPU: 1 } }, [B]: { resources: { VGPU: 1 } } }, mappings: { _CPU: [A], _GPU: [B] } },
  ],
  providerSummaries: { [A]: summaryA, [B]: summaryB },
}

describe(CandidatesSerializer.name, () => {
  const serializer = new CandidatesSerializer()
  const parse = (minor: number, requested: string[] = ['VCPU', 'MEMORY_MB']) => JSON.parse(serializer.serialize(result, minor, new Set(requested)).toString('utf8'))

  it('writes the list form and only the requested classes before 1.12', () => {
    expect(parse(10)).toEqual({
      allocation_requests: [
        { allocations: [{ resource_provider: { uuid: A }, resources: { VCPU: 1, MEMORY_MB: 256 } }] },
        { allocations: [{ resource_provider: { uuid: A }, resources: { VCPU: 1 } }, { resource_provider: { uuid: B }, resources: { VGPU: 1 } }] },
      ],
      provider_summaries: { [A]: { resources: { VCPU: { capacity: 8, used: 1 }, MEMORY_MB: { capacity: 4096, used: 0 } } }, [B]: { resources: {} } },
    })
  })

  it.each([
    [12, { traits: false, all: false, tree: false, mappings: false }],
    [17, { traits: true, all: false, tree: false, mappings: false }],
    [27, { traits: true, all: true, tree: false, mappings: false }],
    [29, { traits: true, all: true, tree: true, mappings: false }],
    [34, { traits: true, all: true, tree: true, mappings: true }],
  ])('at 1.%i adds the fields of its microversion %j', (minor, want) => {
    const out = parse(minor)
    expect(out.allocation_requests[0]).toEqual({ allocations: { [A]: { resources: { VCPU: 1, MEMORY_MB: 256 } } }, ...(want.mappings ? { mappings: { '': [A] } } : {}) })
    expect(out.allocation_requests[1].mappings).toEqual(want.mappings ? { _CPU: [A], _GPU: [B] } : undefined)
    const a = out.provider_summaries[A]
    expect(Object.keys(a.resources).sort()).toEqual(want.all ? ['DISK_GB', 'MEMORY_MB', 'VCPU'] : ['MEMORY_MB', 'VCPU'])
    expect(a.traits).toEqual(want.traits ? ['HW_CPU_X86_AVX2'] : undefined)
    expect(out.provider_summaries[B].parent_provider_uuid).toEqual(want.tree ? A : undefined)
    expect(a.root_provider_uuid).toEqual(want.tree ? A : undefined)
  })

  it('gives the same bytes from its summary cache, and a new summary object is written afresh', () => {
    const first = serializer.serialize(result, 39, new Set())
    expect(serializer.serialize(result, 39, new Set()).equals(first)).toBe(true)
    const changed = { ...result, providerSummaries: { ...result.providerSummaries, [A]: { ...summaryA, traits: ['COMPUTE_STATUS_DISABLED'] } } }
    expect(JSON.parse(serializer.serialize(changed, 39, new Set()).toString()).provider_summaries[A].traits).toEqual(['COMPUTE_STATUS_DISABLED'])
  })
})
