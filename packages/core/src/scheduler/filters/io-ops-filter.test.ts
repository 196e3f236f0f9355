import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { IoOpsFilter } from './io-ops-filter.js'

describe(IoOpsFilter.name, () => {
  it.each([
    { numIoOps: 0, max: undefined, passes: true },
    { numIoOps: 7, max: undefined, passes: true },
    { numIoOps: 8, max: undefined, passes: false },
    { numIoOps: 2, max: 2, passes: false },
    { numIoOps: 2, max: 3, passes: true },
  ])('numIoOps=$numIoOps max=$max → passes=$passes', ({ numIoOps, max, passes }) => {
    const result = runFilter(IoOpsFilter, makeHostState({ numIoOps }), makeRequestSpec(), max === undefined ? {} : { options: { maxIoOpsPerHost: max } })
    expect(result.passed).toBe(passes)
  })
})
