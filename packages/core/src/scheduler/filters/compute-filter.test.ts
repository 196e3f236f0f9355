import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { ComputeFilter } from './compute-filter.js'

describe(ComputeFilter.name, () => {
  it.each([
    { service: {}, passes: true, reason: undefined },
    { service: { disabled: true }, passes: false, reason: 'disabled' },
    { service: { disabled: true, disabledReason: 'maintenance' }, passes: false, reason: 'disabled (maintenance)' },
    { service: { up: false }, passes: false, reason: 'down (no recent heartbeat)' },
    { service: { up: false, forcedDown: true }, passes: false, reason: 'forced down' },
  ])('service $service → passes=$passes', ({ service, passes, reason }) => {
    const result = runFilter(ComputeFilter, makeHostState({ service }), makeRequestSpec())
    expect(result.passed).toBe(passes)
    expect(result.passed ? undefined : result.reason).toBe(reason)
  })

  it('runs once per request and not on rebuild', () => {
    expect(ComputeFilter.runOncePerRequest).toBe(true)
    expect(ComputeFilter.runOnRebuild).toBeUndefined()
  })
})
