import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { ComputeCapabilitiesFilter } from './compute-capabilities-filter.js'

describe(ComputeCapabilitiesFilter.name, () => {
  const host = makeHostState({ freeRamMb: 4096, hypervisorType: 'QEMU', stats: { num_vm_active: '3' }, cpuInfo: { arch: 'x86_64', features: ['sse4.2', 'avx2'] } })

  it.each([
    { specs: {}, passes: true },
    { specs: { 'capabilities:hypervisor_type': 'QEMU' }, passes: true },
    { specs: { 'capabilities:hypervisor_type': 'Xen' }, passes: false },
    { specs: { free_ram_mb: '>= 2048' }, passes: true },
    { specs: { free_ram_mb: '>= 8192' }, passes: false },
    { specs: { 'capabilities:cpu_info:arch': 'x86_64' }, passes: true },
    { specs: { 'capabilities:cpu_info:features': '<in> avx2' }, passes: true },
    { specs: { 'capabilities:cpu_info:features': '<all-in> avx2 avx512f' }, passes: false },
    { specs: { 'capabilities:num_vm_active': '<= 5' }, passes: true },
    { specs: { 'capabilities:no_such_thing': '1' }, passes: false },
    { specs: { unknown_unscoped_key: 'x' }, passes: true },
    { specs: { 'hw:cpu_policy': 'dedicated', 'aggregate_instance_extra_specs:ssd': 'true' }, passes: true },
    { specs: { 'capabilities:hypervisor_type': '<or> Xen <or> QEMU' }, passes: true },
  ])('extra specs $specs → passes=$passes', ({ specs, passes }) => {
    expect(runFilter(ComputeCapabilitiesFilter, host, makeRequestSpec({ flavor: { extraSpecs: specs } })).passed).toBe(passes)
  })

  it('names the capability, its value and the requirement when it rejects', () => {
    const result = runFilter(ComputeCapabilitiesFilter, host, makeRequestSpec({ flavor: { extraSpecs: { free_ram_mb: '>= 8192' } } }))
    expect(result.passed ? '' : result.reason).toBe('capability free_ram_mb is 4096, extra spec free_ram_mb wants >= 8192')
  })
})
