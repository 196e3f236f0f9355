import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { AggregateInstanceExtraSpecsFilter } from './aggregate-instance-extra-specs-filter.js'

const agg = (metadata: Record<string, string>) => ({ id: 1, uuid: 'u', name: 'n', availabilityZone: null, metadata })

describe(AggregateInstanceExtraSpecsFilter.name, () => {
  const host = makeHostState({ aggregates: [agg({ ssd: 'true', tier: '2' }), agg({ ssd: 'false' })] })

  it.each([
    { specs: {}, passes: true },
    { specs: { ssd: 'true' }, passes: true },
    { specs: { 'aggregate_instance_extra_specs:ssd': 'true' }, passes: true },
    { specs: { 'aggregate_instance_extra_specs:tier': '>= 3' }, passes: false },
    { specs: { 'aggregate_instance_extra_specs:tier': '<or> 1 <or> 2' }, passes: true },
    { specs: { gpu: 'true' }, passes: false },
    { specs: { 'hw:cpu_policy': 'dedicated', 'capabilities:hypervisor_type': 'QEMU' }, passes: true },
  ])('extra specs $specs → passes=$passes', ({ specs, passes }) => {
    expect(runFilter(AggregateInstanceExtraSpecsFilter, host, makeRequestSpec({ flavor: { extraSpecs: specs } })).passed).toBe(passes)
  })

  it('fails a host with no aggregates when a spec applies', () => {
    const result = runFilter(AggregateInstanceExtraSpecsFilter, makeHostState(), makeRequestSpec({ flavor: { extraSpecs: { ssd: 'true' } } }))
    expect(result.passed ? '' : result.reason).toBe('no aggregate of the host has ssd (extra spec ssd=true)')
  })
})
