import { describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import type { AllocationCandidatesRequest } from '../placement/placement-client.js'
import { makeRequestSpec } from '../testing/scheduler-fixtures.js'
import { forbidAggregates, forbidRootTraits, defineRequestFilter, rejectRequest, requireAggregates, requireRootTraits } from './request-filter.js'
import { runRequestFilters } from './request-filter-runner.js'

const base: AllocationCandidatesRequest = { groups: [{ suffix: '1', resources: { VGPU: 1 } }, { suffix: '', resources: { VCPU: 1 } }], limit: 10 }

describe('request filter helpers', () => {
  it.each([
    { name: 'requireAggregates', out: requireAggregates(base, ['b', 'a', 'b']), group: { suffix: '', resources: { VCPU: 1 }, memberOf: [['a', 'b']] } },
    { name: 'requireAggregates twice', out: requireAggregates(requireAggregates(base, ['a']), ['c']), group: { suffix: '', resources: { VCPU: 1 }, memberOf: [['a'], ['c']] } },
    { name: 'forbidAggregates', out: forbidAggregates(forbidAggregates(base, ['z']), ['y', 'z']), group: { suffix: '', resources: { VCPU: 1 }, forbiddenAggregates: ['y', 'z'] } },
  ])('$name narrows the unsuffixed group only', ({ out, group }) => {
    expect(out.groups[1]).toEqual(group)
    expect(out.groups[0]).toBe(base.groups[0])
  })

  it('adds root traits once and leaves the query alone when there is nothing to add', () => {
    const q = forbidRootTraits(requireRootTraits(base, ['COMPUTE_IMAGE_TYPE_RAW']), ['COMPUTE_STATUS_DISABLED'])
    expect(q.rootRequired).toEqual(['COMPUTE_IMAGE_TYPE_RAW', '!COMPUTE_STATUS_DISABLED'])
    expect(requireRootTraits(q, ['COMPUTE_IMAGE_TYPE_RAW'])).toBe(q)
    expect(requireAggregates(base, [])).toBe(base)
    expect(forbidAggregates(base, [])).toBe(base)
  })
})

describe(runRequestFilters.name, () => {
  const Tag = (name: string) => defineRequestFilter({ name, apply: (q) => requireRootTraits(q, [`CUSTOM_${name.toUpperCase()}`]) })
  const Same = defineRequestFilter({ name: 'Same', apply: (q) => q })
  const No = defineRequestFilter({ name: 'No', apply: () => rejectRequest('nothing for you') })
  const configured = (...plugins: ReturnType<typeof Tag>[]) => plugins.map((plugin) => ({ plugin, options: undefined }))

  it('runs filters in order, each on the previous query, and records what changed', async () => {
    let loads = 0
    const Agg = defineRequestFilter({ name: 'Agg', apply: async (q, _r, ctx) => requireAggregates(q, (await ctx.aggregates()).map((a) => a.uuid)) })
    const result = await runRequestFilters(configured(Tag('a'), Same, Agg, Agg), base, makeRequestSpec(), async () => {
      loads++
      return [{ id: 1, uuid: 'agg-1', name: 'one', availabilityZone: null, metadata: {}, hosts: ['h1'] }]
    })
    expect(result.query.rootRequired).toEqual(['CUSTOM_A'])
    expect(result.query.groups[1]?.memberOf).toEqual([['agg-1'], ['agg-1']])
    expect(result.outcomes).toEqual([
      { requestFilter: 'a', changed: true },
      { requestFilter: 'Same', changed: false },
      { requestFilter: 'Agg', changed: true },
      { requestFilter: 'Agg', changed: true },
    ])
    expect(loads).toBe(1)
  })

  it('stops at a rejection', async () => {
    const result = await runRequestFilters(configured(No, Tag('b')), base, makeRequestSpec(), async () => [])
    expect(result.rejection).toEqual({ by: 'No', reason: 'nothing for you' })
    expect(result.outcomes).toEqual([{ requestFilter: 'No', changed: false, rejected: 'nothing for you' }])
  })

  it.each([
    { plugin: defineRequestFilter({ name: 'Boom', apply: () => { throw new Error('kaput') } }), message: 'scheduler plugin "Boom" failed: kaput' },
    { plugin: defineRequestFilter({ name: 'Odd', apply: () => 42 as never }), message: 'scheduler plugin "Odd" returned 42 instead of a Placement query or rejectRequest()' },
  ])('fails with PLUGIN when $plugin.name misbehaves', async ({ plugin, message }) => {
    const error = await runRequestFilters(configured(plugin), base, makeRequestSpec(), async () => []).catch((e: unknown) => e)
    expect(ComputeError.is(error, 'PLUGIN')).toBe(true)
    expect((error as Error).message).toBe(message)
  })
})
