import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '../../testing/scheduler-fixtures.js'
import { IoOpsWeigher } from './io-ops-weigher.js'

describe(IoOpsWeigher.name, () => {
  const hosts = [makeHostState({ host: 'busy', numIoOps: 6 }), makeHostState({ host: 'idle', numIoOps: 0 }), makeHostState({ host: 'some', numIoOps: 3 })]

  it('prefers idle hosts with its default multiplier of −1', () => {
    expect(IoOpsWeigher.defaultMultiplier).toBe(-1)
    expect(runWeigher(IoOpsWeigher, hosts, makeRequestSpec()).map((w) => [w.host.host, w.weight])).toEqual([['idle', 0], ['some', -0.5], ['busy', -1]])
  })

  it.each([{ multiplier: 1, first: 'busy' }, { multiplier: -1, first: 'idle' }])('multiplier $multiplier → $first first', ({ multiplier, first }) => {
    expect(runWeigher(IoOpsWeigher, hosts, makeRequestSpec(), { multiplier })[0]?.host.host).toBe(first)
  })
})
