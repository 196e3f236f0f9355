import { describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { makeHostState, makeRequestSpec } from '../testing/scheduler-fixtures.js'
import { hostMultiplier, normalize, pickFromSubset, Ranking, scoresOf, topHosts, weighHosts, weighTable } from './weigh.js'
import { defineWeigher } from './weigher.js'

describe(normalize.name, () => {
  it.each([
    { values: [], min: undefined, max: undefined, out: [] },
    { values: [2, 4, 6], min: undefined, max: undefined, out: [0, 0.5, 1] },
    { values: [2, 4, 6], min: 0, max: undefined, out: [1 / 3, 2 / 3, 1] },
    { values: [5, 5], min: undefined, max: undefined, out: [0, 0] },
    { values: [1, 3], min: 0, max: 4, out: [0.25, 0.75] },
  ])('$values within [$min, $max] → $out', ({ values, min, max, out }) => {
    expect(normalize(values, min, max)).toEqual(out)
  })
})

describe(weighHosts.name, () => {
  const Free = defineWeigher({ name: 'Free', weigh: (h) => h.freeRamMb })
  const Busy = defineWeigher({ name: 'Busy', minValue: 0, maxValue: 10, weigh: (h) => h.numIoOps })
  const w = (plugin: typeof Free, multiplier: number) => ({ plugin, options: undefined, state: undefined, multiplier })
  const ctx = { instanceUuid: null, instanceIndex: 0 }

  it('sums normalised weights times multipliers and sorts heaviest first, ties in input order', () => {
    const hosts = [makeHostState({ host: 'a', freeRamMb: 100, numIoOps: 10 }), makeHostState({ host: 'b', freeRamMb: 300, numIoOps: 0 }), makeHostState({ host: 'c', freeRamMb: 300, numIoOps: 0 })]
    const weighed = weighHosts([w(Free, 2), w(Busy, -1)], hosts, makeRequestSpec(), ctx)
    expect(weighed.map((x) => [x.host.host, x.weight])).toEqual([['b', 2], ['c', 2], ['a', -1]])
    expect(weighed[2]?.scores).toEqual([
      { weigher: 'Free', raw: 100, normalized: 0, multiplier: 2, weighted: 0 },
      { weigher: 'Busy', raw: 10, normalized: 1, multiplier: -1, weighted: -1 },
    ])
  })

  it('clamps raw values to [minValue, maxValue]', () => {
    const hosts = [makeHostState({ host: 'a', numIoOps: 50 }), makeHostState({ host: 'b', numIoOps: 5 })]
    expect(weighHosts([w(Busy, 1)], hosts, makeRequestSpec(), ctx).map((x) => x.scores[0]?.normalized)).toEqual([1, 0.5])
  })

  it('does not weigh a single host', () => {
    expect(weighHosts([w(Free, 1)], [makeHostState()], makeRequestSpec(), ctx)).toEqual([{ host: makeHostState(), weight: 0, scores: [] }])
  })

  it('skips a weigher whose appliesTo answers false and lists it as not applicable', () => {
    let calls = 0
    const Never = defineWeigher({ name: 'Never', appliesTo: () => false, weigh: () => (calls++, 1) })
    const hosts = [makeHostState({ host: 'a', freeRamMb: 100 }), makeHostState({ host: 'b', freeRamMb: 300 })]
    const table = weighTable([w(Never, 5), w(Free, 1)], hosts, makeRequestSpec(), ctx)
    expect(calls).toBe(0)
    expect(table.notApplicable).toEqual(['Never'])
    expect(table.columns.map((c) => c.weigher)).toEqual(['Free'])
    expect([...table.totals]).toEqual([0, 1])
    expect(scoresOf(table, 1)).toEqual([{ weigher: 'Free', raw: 300, normalized: 1, multiplier: 1, weighted: 1 }])
  })

  it('takes per-host multipliers from aggregate metadata and reports them in the scores', () => {
    const agg = { id: 1, uuid: 'a', name: 'slow', availabilityZone: null, metadata: { ram_weight_multiplier: '3' } }
    const Ram = defineWeigher({ name: 'Ram', aggregateMultiplierKey: 'ram_weight_multiplier', weigh: (h) => h.freeRamMb })
    const hosts = [makeHostState({ host: 'a', freeRamMb: 100 }), makeHostState({ host: 'b', freeRamMb: 300, aggregates: [agg] })]
    const table = weighTable([w(Ram, 1)], hosts, makeRequestSpec(), ctx)
    expect([...table.totals]).toEqual([0, 3])
    expect(scoresOf(table, 1)).toEqual([{ weigher: 'Ram', raw: 300, normalized: 1, multiplier: 3, weighted: 3 }])
    expect(scoresOf(table, 0)[0]?.multiplier).toBe(1)
  })

  it('uses weighAll when a weigher has it, and names the failing host when it throws', () => {
    const hosts = [makeHostState({ host: 'a', freeRamMb: 100 }), makeHostState({ host: 'b', freeRamMb: 300 })]
    const Batched = defineWeigher({ name: 'Batched', weigh: (h) => h.freeRamMb, weighAll: (hs, _r, _c, out) => hs.forEach((h, i) => (out[i] = h.freeRamMb * 2)) })
    expect(weighTable([w(Batched as typeof Free, 1)], hosts, makeRequestSpec(), ctx).columns[0]?.raw).toEqual(Float64Array.from([200, 600]))
    const Broken = defineWeigher({
      name: 'Broken',
      weigh: (h) => {
        if (h.host === 'b') throw new Error('no data for b')
        return 1
      },
      weighAll: () => {
        throw new Error('batch failed')
      },
    })
    expect(() => weighTable([w(Broken as typeof Free, 1)], hosts, makeRequestSpec(), ctx)).toThrow(
      expect.objectContaining({ code: 'PLUGIN', message: 'scheduler plugin "Broken" failed on host b: no data for b' }) as ComputeError,
    )
  })

  it('fails with PLUGIN on a non-finite weight', () => {
    const Nan = defineWeigher({ name: 'Nan', weigh: () => Number.NaN })
    expect(() => weighHosts([w(Nan, 1)], [makeHostState({ host: 'a' }), makeHostState({ host: 'b' })], makeRequestSpec(), ctx)).toThrow(
      expect.objectContaining({ code: 'PLUGIN', message: 'scheduler plugin "Nan" returned NaN for host a instead of a finite number' }) as ComputeError,
    )
  })
})

describe(hostMultiplier.name, () => {
  const agg = (metadata: Record<string, string>) => ({ id: 1, uuid: 'u', name: 'n', availabilityZone: null, metadata })
  it.each([
    { aggregates: [], out: 1.5 },
    { aggregates: [agg({ k: '3' }), agg({ k: '-2' })], out: -2 },
    { aggregates: [agg({ k: 'x' }), agg({ other: '9' })], out: 1.5 },
  ])('aggregates $aggregates → $out', ({ aggregates, out }) => {
    expect(hostMultiplier(makeHostState({ aggregates }), 'k', 1.5)).toBe(out)
  })
})

describe(pickFromSubset.name, () => {
  it.each([
    { size: 1, random: 0.9, out: ['a', 'b', 'c', 'd'] },
    { size: 3, random: 0, out: ['a', 'b', 'c', 'd'] },
    { size: 3, random: 0.5, out: ['b', 'a', 'c', 'd'] },
    { size: 3, random: 0.99, out: ['c', 'a', 'b', 'd'] },
    { size: 10, random: 0.99, out: ['d', 'a', 'b', 'c'] },
  ])('subset $size, random $random → $out', ({ size, random, out }) => {
    expect(pickFromSubset(['a', 'b', 'c', 'd'], size, () => random)).toEqual(out)
  })
})

describe(topHosts.name, () => {
  const totals = Float64Array.from([3, 9, 1, 9, 5, 0, 7, 2, 8, 6, 4, 9, 3, 1, 0, 2, 5, 7, 6, 8])
  const sorted = Array.from({ length: totals.length }, (_, i) => i).sort((a, b) => (totals[b] as number) - (totals[a] as number) || a - b)

  it.each([0, 1, 2, 3, 4, 5, 10, 20, 25])('gives the %i heaviest, ties in input order, as a full sort would', (k) => {
    expect(topHosts(totals, k)).toEqual(sorted.slice(0, k))
  })

  it('ranks lazily: at() and first() agree with a full sort', () => {
    const ranking = new Ranking(totals)
    expect(ranking.at(0)).toBe(1)
    expect(ranking.first(3)).toEqual([1, 3, 11])
    expect(Array.from({ length: totals.length }, (_, r) => ranking.at(r))).toEqual(sorted)
    expect(ranking.at(totals.length)).toBeUndefined()
    expect(ranking.size).toBe(20)
  })

  it('normalises 100,000 values without spreading them into Math.min', () => {
    const values = Array.from({ length: 100_000 }, (_, i) => i)
    const out = normalize(values)
    expect([out[0], out[50_000], out[99_999]]).toEqual([0, 50_000 / 99_999, 1])
  })
})
