import { describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { defineFilter, pass } from './filter.js'
import { createInTreeRegistry } from './in-tree.js'
import { createSchedulerProfile, DEFAULT_FILTERS, type SchedulerProfileConfig } from './profile.js'

const MaxIoOpsFilter = defineFilter<{ maxIoOps: number; strict?: boolean }>({
  name: 'MaxIoOpsFilter',
  optionsSchema: {
    type: 'object',
    properties: { maxIoOps: { type: 'integer', minimum: 1 }, strict: { type: 'boolean', default: true } },
    required: ['maxIoOps'],
    additionalProperties: false,
  },
  filter: () => pass(),
})

function invalid(config: SchedulerProfileConfig): string {
  try {
    createSchedulerProfile(createInTreeRegistry().register(MaxIoOpsFilter), config)
  } catch (err) {
    if (ComputeError.is(err, 'INVALID')) return err.message
    throw err
  }
  throw new Error('expected INVALID')
}

describe(createSchedulerProfile.name, () => {
  it('defaults to Nova Zed’s filters and the in-tree weighers with Nova’s multipliers', () => {
    const profile = createSchedulerProfile(createInTreeRegistry())
    expect(profile.filters.map((f) => f.plugin.name)).toEqual([...DEFAULT_FILTERS])
    expect(Object.fromEntries(profile.weighers.map((w) => [w.plugin.name, w.multiplier]))).toMatchObject({ RamWeigher: 1, IoOpsWeigher: -1, BuildFailureWeigher: 1_000_000 })
    expect(profile).toMatchObject({ hostSubsetSize: 1, maxAttempts: 3 })
    expect(profile.requestFilters.map((f) => f.plugin.name)).toEqual(['ComputeStatusRequestFilter'])
  })

  it('runs the request filters listed, in order, with validated options (Nova names accepted)', () => {
    const profile = createSchedulerProfile(createInTreeRegistry(), {
      requestFilters: ['require_tenant_aggregate', 'AvailabilityZoneRequestFilter', 'compute_status_filter'],
      pluginOptions: { TenantAggregateRequestFilter: { required: true } },
    })
    expect(profile.requestFilters.map((f) => [f.plugin.name, f.options])).toEqual([
      ['TenantAggregateRequestFilter', { required: true }],
      ['AvailabilityZoneRequestFilter', undefined],
      ['ComputeStatusRequestFilter', undefined],
    ])
  })

  it('resolves aliases and validates options once, applying schema defaults', () => {
    const profile = createSchedulerProfile(createInTreeRegistry().register(MaxIoOpsFilter), {
      filters: ['ComputeFilter', 'MaxIoOpsFilter'],
      weighers: { RAMWeigher: -1 },
      pluginOptions: { MaxIoOpsFilter: { maxIoOps: 8 } },
      hostSubsetSize: 2,
    })
    expect(profile.filters[1]?.options).toEqual({ maxIoOps: 8, strict: true })
    expect(profile.weighers).toHaveLength(1)
    expect(profile.weighers[0]).toMatchObject({ multiplier: -1 })
    expect(profile.weighers[0]?.plugin.name).toBe('RamWeigher')
  })

  it.each([
    { config: { filters: ['NopeFilter'] }, text: 'unknown filter "NopeFilter" (available: AggregateImagePropertiesIsolation, AggregateInstanceExtraSpecsFilter, AggregateMultiTenancyIsolation, AvailabilityZoneFilter, ComputeCapabilitiesFilter' },
    { config: { weighers: { FooWeigher: 1 } }, text: 'unknown weigher "FooWeigher"' },
    { config: { filters: ['ComputeFilter', 'ComputeFilter'] }, text: 'filter "ComputeFilter" is listed more than once' },
    { config: { filters: ['MaxIoOpsFilter'] }, text: "invalid options for scheduler plugin \"MaxIoOpsFilter\": options must have required property 'maxIoOps'" },
    { config: { filters: ['MaxIoOpsFilter'], pluginOptions: { MaxIoOpsFilter: { maxIoOps: 0 } } }, text: 'options/maxIoOps must be >= 1' },
    { config: { pluginOptions: { ComputeFilter: { x: 1 } } }, text: 'scheduler plugin "ComputeFilter" takes no options' },
    { config: { filters: ['IoOpsFilter'], pluginOptions: { IoOpsFilter: { maxIoOpsPerHost: -1 } } }, text: 'invalid options for scheduler plugin "IoOpsFilter": options/maxIoOpsPerHost must be >= 0' },
    { config: { pluginOptions: { Ghost: {} } }, text: 'options given for unknown scheduler plugin "Ghost"' },
    { config: { weighers: { RamWeigher: Number.NaN } }, text: 'invalid multiplier null for weigher "RamWeigher"' },
    { config: { hostSubsetSize: 0 }, text: 'invalid scheduler hostSubsetSize 0' },
    { config: { maxAttempts: 1.5 }, text: 'invalid scheduler maxAttempts 1.5' },
    { config: { requestFilters: ['NoSuchRequestFilter'] }, text: 'unknown request filter "NoSuchRequestFilter" (available: AvailabilityZoneRequestFilter, ComputeStatusRequestFilter' },
    { config: { requestFilters: ['compute_status_filter', 'ComputeStatusRequestFilter'] }, text: 'request filter "ComputeStatusRequestFilter" is listed more than once' },
    { config: { requestFilters: ['TenantAggregateRequestFilter'], pluginOptions: { TenantAggregateRequestFilter: { required: 'yes' } } }, text: 'options/required must be boolean' },
    { config: { filters: ['IsolatedHostsFilter'], pluginOptions: { IsolatedHostsFilter: { isolatedHosts: 'h1' } } }, text: 'options/isolatedHosts must be array' },
    { config: { filters: ['MetricsFilter'], pluginOptions: { MetricsFilter: { weightSetting: ['cpu'] } } }, text: 'options/weightSetting/0 must match pattern' },
  ])('rejects $config', ({ config, text }) => {
    expect(invalid(config as SchedulerProfileConfig)).toContain(text)
  })
})
