import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '../../testing/scheduler-fixtures.js'
import { ServerGroupSoftAntiAffinityWeigher } from './server-group-soft-anti-affinity-weigher.js'

describe(ServerGroupSoftAntiAffinityWeigher.name, () => {
  it.each([
    { policy: 'soft-anti-affinity', first: 'fresh' },
    { policy: 'soft-affinity', first: 'crowded' },
  ] as const)('policy $policy → $first first', ({ policy, first }) => {
    const hosts = [makeHostState({ host: 'crowded', instanceUuids: ['m1', 'm2'] }), makeHostState({ host: 'fresh' })]
    const request = makeRequestSpec({ instanceGroup: { policy, members: ['m1', 'm2'] } })
    expect(runWeigher(ServerGroupSoftAntiAffinityWeigher, hosts, request)[0]?.host.host).toBe(first)
  })
})
