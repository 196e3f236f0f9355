import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '../../testing/scheduler-fixtures.js'
import { ServerGroupSoftAffinityWeigher } from './server-group-soft-affinity-weigher.js'

describe(ServerGroupSoftAffinityWeigher.name, () => {
  const hosts = [makeHostState({ host: 'lonely', instanceUuids: ['x'] }), makeHostState({ host: 'together', instanceUuids: ['m1', 'm2'] })]

  it.each([
    { policy: 'soft-affinity', first: 'together', raws: [0, 2] },
    // Not its policy: the weigher does not apply (it would weigh 0 everywhere), so it is skipped and records nothing.
    { policy: 'soft-anti-affinity', first: 'lonely', raws: [undefined, undefined] },
    { policy: 'affinity', first: 'lonely', raws: [undefined, undefined] },
  ] as const)('policy $policy → $first first', ({ policy, first, raws }) => {
    const request = makeRequestSpec({ instanceGroup: { policy, members: ['m1', 'm2'] } })
    const weighed = runWeigher(ServerGroupSoftAffinityWeigher, hosts, request)
    expect(weighed[0]?.host.host).toBe(first)
    expect(hosts.map((h) => weighed.find((w) => w.host === h)?.scores[0]?.raw)).toEqual(raws)
  })
})
