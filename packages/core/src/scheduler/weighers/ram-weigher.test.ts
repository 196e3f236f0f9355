import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '../../testing/scheduler-fixtures.js'
import { RamWeigher } from './ram-weigher.js'

describe(RamWeigher.name, () => {
  const hosts = [makeHostState({ host: 'small', freeRamMb: 1024 }), makeHostState({ host: 'big', freeRamMb: 4096 }), makeHostState({ host: 'mid', freeRamMb: 2048 })]

  it.each([
    { multiplier: 1, order: ['big', 'mid', 'small'] },
    { multiplier: -1, order: ['small', 'mid', 'big'] },
  ])('multiplier $multiplier → $order', ({ multiplier, order }) => {
    expect(runWeigher(RamWeigher, hosts, makeRequestSpec(), { multiplier }).map((w) => w.host.host)).toEqual(order)
  })

  it('normalises against 0 (its minValue), not the smallest host', () => {
    const scores = runWeigher(RamWeigher, hosts, makeRequestSpec()).map((w) => [w.host.host, w.scores[0]?.normalized])
    expect(scores).toEqual([['big', 1], ['mid', 0.5], ['small', 0.25]])
  })

  it('clamps overcommitted (negative) free RAM to 0', () => {
    const weighed = runWeigher(RamWeigher, [makeHostState({ host: 'over', freeRamMb: -512 }), makeHostState({ host: 'ok', freeRamMb: 512 })], makeRequestSpec())
    expect(weighed.map((w) => [w.host.host, w.scores[0]?.raw, w.scores[0]?.normalized])).toEqual([['ok', 512, 1], ['over', -512, 0]])
  })

  it('takes the lowest ram_weight_multiplier among the host’s aggregates', () => {
    const agg = (value: string) => ({ id: 1, uuid: 'a', name: 'a', availabilityZone: null, metadata: { ram_weight_multiplier: value } })
    const stacked = makeHostState({ host: 'stacked', freeRamMb: 4096, aggregates: [agg('-2'), agg('5'), agg('oops')] })
    const weighed = runWeigher(RamWeigher, [stacked, makeHostState({ host: 'plain', freeRamMb: 1024 })], makeRequestSpec())
    expect(weighed.map((w) => [w.host.host, w.scores[0]?.multiplier])).toEqual([['plain', 1], ['stacked', -2]])
  })
})
