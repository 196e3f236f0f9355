import { describe, expect, it } from 'vitest'
import { makeRequestSpec } from '../../testing/scheduler-fixtures.js'
import { IsolatedAggregatesRequestFilter } from './isolated-aggregates-request-filter.js'
import { aggregate, BASE_QUERY } from './request-filters.test-helper.js'

const aggs = [aggregate(1, { 'trait:CUSTOM_GPU': 'required' }), aggregate(2, { 'trait:HW_CPU_X86_AVX2': 'required' }), aggregate(3, { 'trait:CUSTOM_GPU': 'optional' })]

describe(IsolatedAggregatesRequestFilter.name, () => {
  it.each([
    { required: [], forbidden: [aggs[0]!.uuid, aggs[1]!.uuid] },
    { required: ['CUSTOM_GPU'], forbidden: [aggs[1]!.uuid] },
    { required: ['CUSTOM_GPU', 'HW_CPU_X86_AVX2'], forbidden: undefined },
  ])('a request requiring $required is kept out of $forbidden', async ({ required, forbidden }) => {
    const query = { ...BASE_QUERY, groups: [{ ...BASE_QUERY.groups[0]!, ...(required.length ? { requiredTraits: required } : {}) }] }
    const out = await IsolatedAggregatesRequestFilter.apply(query, makeRequestSpec(), { options: undefined, aggregates: async () => aggs })
    if (forbidden === undefined) expect(out).toBe(query)
    else expect(out).toEqual({ ...query, groups: [{ ...query.groups[0], forbiddenAggregates: [...forbidden].sort() }] })
  })
})
