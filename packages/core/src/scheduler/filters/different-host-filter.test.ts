import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { DifferentHostFilter } from './different-host-filter.js'

describe(DifferentHostFilter.name, () => {
  it.each([
    { hint: undefined, onHost: ['a'], passes: true },
    { hint: ['a'], onHost: ['b'], passes: true },
    { hint: ['a', 'b'], onHost: ['b'], passes: false },
  ])('different_host=$hint, host runs $onHost → passes=$passes', ({ hint, onHost, passes }) => {
    const request = makeRequestSpec({ schedulerHints: hint ? { different_host: hint } : {} })
    expect(runFilter(DifferentHostFilter, makeHostState({ instanceUuids: onHost }), request).passed).toBe(passes)
  })
})
