import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { MetricsFilter } from './metrics-filter.js'

describe(MetricsFilter.name, () => {
  it.each([
    { setting: [], metrics: {}, passes: true, reason: undefined },
    { setting: ['cpu.frequency=1'], metrics: { 'cpu.frequency': 2400 }, passes: true, reason: undefined },
    { setting: ['cpu.frequency=1', 'cpu.percent=-1.0'], metrics: { 'cpu.frequency': 2400 }, passes: false, reason: 'host does not report metric(s) cpu.percent' },
    { setting: ['cpu.percent=-1'], metrics: {}, passes: false, reason: 'host does not report metric(s) cpu.percent' },
  ])('setting $setting, metrics $metrics → passes=$passes', ({ setting, metrics, passes, reason }) => {
    const result = runFilter(MetricsFilter, makeHostState({ metrics }), makeRequestSpec(), { options: { weightSetting: setting } })
    expect(result.passed).toBe(passes)
    expect(result.passed ? undefined : result.reason).toBe(reason)
  })
})
