import { describe, expect, it } from 'vitest'
import { ComputeError } from '../../errors/compute-error.js'
import { makeHostState, makeRequestSpec, runWeigher } from '../../testing/scheduler-fixtures.js'
import { MetricsWeigher, parseWeightSetting } from './metrics-weigher.js'

const hosts = [
  makeHostState({ host: 'busy', metrics: { 'cpu.frequency': 2000, 'cpu.percent': 90 } }),
  makeHostState({ host: 'idle', metrics: { 'cpu.frequency': 2000, 'cpu.percent': 10 } }),
  makeHostState({ host: 'fast', metrics: { 'cpu.frequency': 3000, 'cpu.percent': 50 } }),
]

describe(MetricsWeigher.name, () => {
  it.each([
    { setting: ['cpu.percent=-1'], order: ['idle', 'fast', 'busy'], raws: [-10, -50, -90] },
    { setting: ['cpu.frequency=1'], order: ['fast', 'busy', 'idle'], raws: [3000, 2000, 2000] },
    { setting: ['cpu.frequency=1', 'cpu.percent=-10'], order: ['fast', 'idle', 'busy'], raws: [2500, 1900, 1100] },
  ])('weight_setting $setting → $order', ({ setting, order, raws }) => {
    const weighed = runWeigher(MetricsWeigher, hosts, makeRequestSpec(), { options: { weightSetting: setting, required: true, weightOfUnavailable: -10000 } })
    expect(weighed.map((w) => w.host.host)).toEqual(order)
    expect(weighed.map((w) => w.scores[0]?.raw)).toEqual(raws)
  })

  it('weighs a host missing a metric weightOfUnavailable when not required', () => {
    const weighed = runWeigher(MetricsWeigher, [...hosts, makeHostState({ host: 'mute' })], makeRequestSpec(), {
      options: { weightSetting: ['cpu.percent=-1'], required: false, weightOfUnavailable: -10000 },
    })
    expect(weighed.at(-1)?.host.host).toBe('mute')
    expect(weighed.at(-1)?.scores[0]?.raw).toBe(-10000)
  })

  it('fails the request, as Nova does, when a required metric is missing', () => {
    const run = () => runWeigher(MetricsWeigher, [...hosts, makeHostState({ host: 'mute' })], makeRequestSpec(), { options: { weightSetting: ['cpu.percent=-1'], required: true, weightOfUnavailable: 0 } })
    expect(run).toThrow(ComputeError)
    expect(run).toThrow(/scheduler plugin "MetricsWeigher" failed on host mute: host mute does not report metric cpu.percent/)
  })

  it.each([
    { setting: ['a=1', ' b = -2.5 '], parsed: [['a', 1], ['b', -2.5]] },
    { setting: [], parsed: [] },
  ])('parses weight_setting $setting', ({ setting, parsed }) => {
    expect(parseWeightSetting(setting)).toEqual(parsed)
  })

  it.each([['=1'], ['a'], ['a=x']])('refuses the malformed entry %s', (entry) => {
    expect(() => parseWeightSetting([entry])).toThrow(/invalid metrics weight_setting entry/)
  })
})
