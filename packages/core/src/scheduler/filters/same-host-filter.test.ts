import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { SameHostFilter } from './same-host-filter.js'

describe(SameHostFilter.name, () => {
  it.each([
    { hint: undefined, onHost: [], passes: true },
    { hint: ['a'], onHost: ['a', 'b'], passes: true },
    { hint: ['a', 'z'], onHost: ['z'], passes: true },
    { hint: ['a'], onHost: ['b'], passes: false },
  ])('same_host=$hint, host runs $onHost → passes=$passes', ({ hint, onHost, passes }) => {
    const request = makeRequestSpec({ schedulerHints: hint ? { same_host: hint } : {} })
    expect(runFilter(SameHostFilter, makeHostState({ instanceUuids: onHost }), request).passed).toBe(passes)
  })
})
