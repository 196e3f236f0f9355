import { describe, expect, it } from 'vitest'
import { makeRequestSpec } from '../../testing/scheduler-fixtures.js'
import { AvailabilityZoneRequestFilter } from './availability-zone-request-filter.js'
import { aggregate, applyRequestFilter, BASE_QUERY } from './request-filters.test-helper.js'

const aggs = [aggregate(1, { availability_zone: 'az1' }), aggregate(2, { availability_zone: 'az1' }), aggregate(3, { availability_zone: 'az2' }), aggregate(4, { ssd: 'true' })]

describe(AvailabilityZoneRequestFilter.name, () => {
  it.each([
    { zone: 'az1', memberOf: [[aggs[0]!.uuid, aggs[1]!.uuid]] },
    { zone: 'az2', memberOf: [[aggs[2]!.uuid]] },
    { zone: 'nova', memberOf: undefined },
    { zone: null, memberOf: undefined },
  ])('zone $zone → member_of $memberOf', async ({ zone, memberOf }) => {
    const out = await applyRequestFilter(AvailabilityZoneRequestFilter, makeRequestSpec({ availabilityZone: zone }), aggs)
    if (memberOf === undefined) expect(out).toBe(BASE_QUERY)
    else expect(out).toEqual({ ...BASE_QUERY, groups: [{ ...BASE_QUERY.groups[0], memberOf }] })
  })
})
