import { describe, expect, it } from 'vitest'
import { makeRequestSpec } from '../../testing/scheduler-fixtures.js'
import { requireRootTraits } from '../request-filter.js'
import { ComputeStatusRequestFilter } from './compute-status-request-filter.js'
import { applyRequestFilter, BASE_QUERY } from './request-filters.test-helper.js'

describe(ComputeStatusRequestFilter.name, () => {
  it.each([
    { start: BASE_QUERY, rootRequired: ['!COMPUTE_STATUS_DISABLED'] },
    { start: requireRootTraits(BASE_QUERY, ['COMPUTE_IMAGE_TYPE_RAW']), rootRequired: ['COMPUTE_IMAGE_TYPE_RAW', '!COMPUTE_STATUS_DISABLED'] },
  ])('forbids COMPUTE_STATUS_DISABLED on the root provider (from $start.rootRequired)', async ({ start, rootRequired }) => {
    const out = await ComputeStatusRequestFilter.apply(start, makeRequestSpec(), { options: undefined, aggregates: async () => [] })
    expect(out).toEqual({ ...start, rootRequired })
  })

  it('is idempotent', async () => {
    const once = await applyRequestFilter(ComputeStatusRequestFilter, makeRequestSpec())
    expect(await ComputeStatusRequestFilter.apply(once as typeof BASE_QUERY, makeRequestSpec(), { options: undefined, aggregates: async () => [] })).toBe(once)
  })
})
