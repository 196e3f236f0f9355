import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '../../testing/scheduler-fixtures.js'
import { CpuWeigher } from './cpu-weigher.js'

describe(CpuWeigher.name, () => {
  it.each([
    { a: { vcpusTotal: 8, cpuAllocationRatio: 1, vcpusUsed: 2 }, b: { vcpusTotal: 8, cpuAllocationRatio: 2, vcpusUsed: 2 }, best: 'b', rawA: 6, rawB: 14 },
    { a: { vcpusTotal: 16, cpuAllocationRatio: 1, vcpusUsed: 0 }, b: { vcpusTotal: 8, cpuAllocationRatio: 1, vcpusUsed: 4 }, best: 'a', rawA: 16, rawB: 4 },
  ])('free vCPUs $rawA vs $rawB → $best first', ({ a, b, best, rawA, rawB }) => {
    const weighed = runWeigher(CpuWeigher, [makeHostState({ host: 'a', ...a }), makeHostState({ host: 'b', ...b })], makeRequestSpec())
    expect(weighed[0]?.host.host).toBe(best)
    expect(Object.fromEntries(weighed.map((w) => [w.host.host, w.scores[0]?.raw]))).toEqual({ a: rawA, b: rawB })
  })
})
