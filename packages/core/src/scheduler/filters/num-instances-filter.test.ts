import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { NumInstancesFilter } from './num-instances-filter.js'

describe(NumInstancesFilter.name, () => {
  it.each([
    { numInstances: 49, max: undefined, passes: true },
    { numInstances: 50, max: undefined, passes: false },
    { numInstances: 1, max: 1, passes: false },
    { numInstances: 0, max: 1, passes: true },
  ])('numInstances=$numInstances max=$max → passes=$passes', ({ numInstances, max, passes }) => {
    const result = runFilter(NumInstancesFilter, makeHostState({ numInstances }), makeRequestSpec(), max === undefined ? {} : { options: { maxInstancesPerHost: max } })
    expect(result.passed).toBe(passes)
  })
})
