import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { ServerGroupAffinityFilter } from './server-group-affinity-filter.js'

describe(ServerGroupAffinityFilter.name, () => {
  it.each([
    { policy: null, groupHosts: [], host: 'h1', passes: true },
    { policy: 'affinity', groupHosts: [], host: 'h1', passes: true },
    { policy: 'affinity', groupHosts: ['h1'], host: 'h1', passes: true },
    { policy: 'affinity', groupHosts: ['h1'], host: 'h2', passes: false },
    { policy: 'anti-affinity', groupHosts: ['h1'], host: 'h2', passes: true },
    { policy: 'soft-affinity', groupHosts: ['h1'], host: 'h2', passes: true },
  ] as const)('policy=$policy group on $groupHosts, host $host → passes=$passes', ({ policy, groupHosts, host, passes }) => {
    const request = makeRequestSpec({ instanceGroup: policy ? { policy, hosts: [...groupHosts] } : null })
    expect(runFilter(ServerGroupAffinityFilter, makeHostState({ host }), request).passed).toBe(passes)
  })

  it('names the group’s hosts when it rejects', () => {
    const request = makeRequestSpec({ instanceGroup: { uuid: 'g-1', policy: 'affinity', hosts: ['h1', 'h1', 'h3'] } })
    const result = runFilter(ServerGroupAffinityFilter, makeHostState({ host: 'h2' }), request)
    expect(result).toEqual({ passed: false, reason: 'server group g-1 (affinity) runs on h1, h3, not on h2', unresolvable: false })
  })
})
