import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '../../testing/scheduler-fixtures.js'
import { BuildFailureWeigher } from './build-failure-weigher.js'

describe(BuildFailureWeigher.name, () => {
  it.each([
    { failures: [0, 3], first: 'h0' },
    { failures: [5, 1], first: 'h1' },
    { failures: [2, 2], first: 'h0' },
  ])('failed builds $failures → $first first', ({ failures, first }) => {
    const hosts = failures.map((failedBuilds, i) => makeHostState({ host: `h${i}`, failedBuilds }))
    expect(runWeigher(BuildFailureWeigher, hosts, makeRequestSpec())[0]?.host.host).toBe(first)
  })

  it('outweighs a whole range of any default weigher', () => {
    const [best, worst] = runWeigher(BuildFailureWeigher, [makeHostState({ host: 'bad', failedBuilds: 1 }), makeHostState({ host: 'good' })], makeRequestSpec())
    expect((best?.weight ?? 0) - (worst?.weight ?? 0)).toBe(1_000_000)
  })
})
