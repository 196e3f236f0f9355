import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { AvailabilityZoneFilter } from './availability-zone-filter.js'

const agg = (id: number, metadata: Record<string, string>) => ({ id, uuid: `agg-${id}`, name: `agg-${id}`, availabilityZone: metadata['availability_zone'] ?? null, metadata })

describe(AvailabilityZoneFilter.name, () => {
  it.each([
    { wanted: null, aggregates: [agg(1, { availability_zone: 'az1' })], options: undefined, passes: true, reason: undefined },
    { wanted: 'az1', aggregates: [agg(1, { availability_zone: 'az1' })], options: undefined, passes: true, reason: undefined },
    { wanted: 'az2', aggregates: [agg(1, { availability_zone: 'az1' })], options: undefined, passes: false, reason: 'in availability zone az1, not az2' },
    { wanted: 'nova', aggregates: [], options: undefined, passes: true, reason: undefined },
    { wanted: 'nova', aggregates: [agg(1, { ssd: 'true' })], options: undefined, passes: true, reason: undefined },
    { wanted: 'az1', aggregates: [], options: undefined, passes: false, reason: 'in availability zone nova, not az1' },
    { wanted: 'home', aggregates: [], options: { defaultAvailabilityZone: 'home' }, passes: true, reason: undefined },
    { wanted: 'az2', aggregates: [agg(1, { availability_zone: 'az1' }), agg(2, { availability_zone: 'az2' })], options: undefined, passes: true, reason: undefined },
  ])('zone $wanted on a host in $aggregates.length aggregate(s) → passes=$passes', ({ wanted, aggregates, options, passes, reason }) => {
    const result = runFilter(AvailabilityZoneFilter, makeHostState({ aggregates }), makeRequestSpec({ availabilityZone: wanted }), options ? { options } : {})
    expect(result.passed).toBe(passes)
    expect(result.passed ? undefined : result.reason).toBe(reason)
  })

  it('runs once per request', () => {
    expect(AvailabilityZoneFilter.runOncePerRequest).toBe(true)
  })
})
