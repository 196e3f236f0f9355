import { describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { defineFilter, pass } from './filter.js'
import { createInTreeRegistry } from './in-tree.js'
import { createRegistry } from './registry.js'
import { defineWeigher } from './weigher.js'

const Extra = defineFilter({ name: 'ExtraFilter', filter: () => pass() })

describe('PluginRegistry', () => {
  it('holds the in-tree plugins, with Nova names as aliases', () => {
    const registry = createInTreeRegistry()
    expect(registry.filterNames()).toEqual([
      'AggregateImagePropertiesIsolation', 'AggregateInstanceExtraSpecsFilter', 'AggregateMultiTenancyIsolation', 'AvailabilityZoneFilter',
      'ComputeCapabilitiesFilter', 'ComputeFilter', 'DifferentHostFilter', 'ImagePropertiesFilter', 'IoOpsFilter', 'IsolatedHostsFilter', 'JsonFilter',
      'MetricsFilter', 'NumInstancesFilter', 'SameHostFilter', 'ServerGroupAffinityFilter', 'ServerGroupAntiAffinityFilter',
    ])
    expect(registry.requestFilterNames()).toEqual([
      'AvailabilityZoneRequestFilter', 'ComputeStatusRequestFilter', 'ImageTypeRequestFilter', 'IsolatedAggregatesRequestFilter', 'TenantAggregateRequestFilter',
    ])
    expect(registry.requestFilter('compute_status_filter')?.name).toBe('ComputeStatusRequestFilter')
    expect(registry.weigher('RAMWeigher')?.name).toBe('RamWeigher')
    expect(registry.weigher('CPUWeigher')?.name).toBe('CpuWeigher')
    expect(registry.filter('RamWeigher')).toBeUndefined()
  })

  it.each([
    { name: 'ComputeFilter', text: 'scheduler plugin "ComputeFilter" is already registered' },
    { name: 'RAMWeigher', text: 'scheduler plugin "RAMWeigher" is already registered' },
  ])('refuses the duplicate name $name', ({ name, text }) => {
    const registry = createInTreeRegistry()
    let error: unknown
    try {
      registry.register(defineWeigher({ name, weigh: () => 0 }))
    } catch (err) {
      error = err
    }
    expect(ComputeError.is(error, 'INVALID')).toBe(true)
    expect((error as Error).message).toBe(text)
  })

  it('registers third-party plugins and chains', () => {
    const registry = createRegistry().register(Extra).alias('Legacy', 'ExtraFilter')
    expect(registry.filter('Legacy')).toBe(Extra)
    expect(() => registry.alias('X', 'Missing')).toThrow('cannot alias "X" to unknown scheduler plugin "Missing"')
    expect(() => registry.register({ name: 'Odd' } as never)).toThrow('has neither a filter(), a weigh() nor an apply() method')
  })
})
