import { describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { makeRequestSpec } from '../testing/scheduler-fixtures.js'
import { buildAllocationCandidatesRequest } from './resource-request.js'

describe(buildAllocationCandidatesRequest.name, () => {
  it('asks for VCPU, MEMORY_MB and DISK_GB (root + ephemeral + swap rounded up to GiB)', () => {
    const spec = makeRequestSpec({ flavor: { vcpus: 2, memoryMb: 4096, rootGb: 20, ephemeralGb: 5, swapMb: 1500 } })
    expect(buildAllocationCandidatesRequest(spec)).toEqual({
      groups: [{ suffix: '', resources: { VCPU: 2, MEMORY_MB: 4096, DISK_GB: 27 } }],
      limit: 1000,
    })
  })

  it.each([
    { flavor: { rootGb: 0, ephemeralGb: 0, swapMb: 0 }, resources: { VCPU: 1, MEMORY_MB: 2048 } },
    { flavor: { extraSpecs: { 'resources:VCPU': '0' } }, resources: { MEMORY_MB: 2048, DISK_GB: 20 } },
    { flavor: { extraSpecs: { 'resources:MEMORY_MB': '1024', 'resources:CUSTOM_FPGA': '1' } }, resources: { VCPU: 1, MEMORY_MB: 1024, DISK_GB: 20, CUSTOM_FPGA: 1 } },
    { flavor: { vcpus: 4, extraSpecs: { 'hw:cpu_policy': 'dedicated' } }, resources: { PCPU: 4, MEMORY_MB: 2048, DISK_GB: 20 } },
    { flavor: { vcpus: 4, extraSpecs: { 'resources:PCPU': '4' } }, resources: { PCPU: 4, MEMORY_MB: 2048, DISK_GB: 20 } },
  ])('flavor $flavor → $resources', ({ flavor, resources }) => {
    expect(buildAllocationCandidatesRequest(makeRequestSpec({ flavor })).groups[0]?.resources).toEqual(resources)
  })

  it('turns trait extra specs, image trait properties and the thread policy into required and forbidden traits', () => {
    const spec = makeRequestSpec({
      flavor: { extraSpecs: { 'trait:HW_CPU_X86_AVX2': 'required', 'trait:CUSTOM_SLOW': 'forbidden', 'hw:cpu_policy': 'dedicated', 'hw:cpu_thread_policy': 'isolate' } },
      image: { properties: { 'trait:COMPUTE_IMAGE_TYPE_QCOW2': 'required' } },
    })
    expect(buildAllocationCandidatesRequest(spec).groups[0]).toMatchObject({
      requiredTraits: ['COMPUTE_IMAGE_TYPE_QCOW2', 'HW_CPU_X86_AVX2'],
      forbiddenTraits: ['CUSTOM_SLOW', 'HW_CPU_HYPERTHREADING'],
    })
  })

  it('builds suffixed groups with the group policy', () => {
    const spec = makeRequestSpec({
      flavor: { extraSpecs: { 'resources1:VGPU': '1', 'trait1:CUSTOM_NVIDIA': 'required', 'resources2:VGPU': '1', group_policy: 'isolate' } },
    })
    const request = buildAllocationCandidatesRequest(spec, { limit: 50 })
    expect(request.groupPolicy).toBe('isolate')
    expect(request.limit).toBe(50)
    expect(request.groups.slice(1)).toEqual([{ suffix: '1', resources: { VGPU: 1 }, requiredTraits: ['CUSTOM_NVIDIA'] }, { suffix: '2', resources: { VGPU: 1 } }])
  })

  it.each([
    { extraSpecs: { 'resources:VCPU': 'two' }, text: 'resources:VCPU=two' },
    { extraSpecs: { 'trait:HW_CPU_X86_AVX2': 'preferred' }, text: 'trait:HW_CPU_X86_AVX2=preferred' },
    { extraSpecs: { group_policy: 'sometimes' }, text: 'group_policy=sometimes' },
    { extraSpecs: { 'resources1:VGPU': '1', 'resources2:VGPU': '1' }, text: 'no group_policy' },
  ])('rejects $extraSpecs', ({ extraSpecs, text }) => {
    let error: unknown
    try {
      buildAllocationCandidatesRequest(makeRequestSpec({ flavor: { extraSpecs } }))
    } catch (err) {
      error = err
    }
    expect(ComputeError.is(error, 'INVALID')).toBe(true)
    expect((error as Error).message).toContain(text)
  })
})
