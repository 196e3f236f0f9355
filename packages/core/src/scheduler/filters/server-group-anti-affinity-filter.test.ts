import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { ServerGroupAntiAffinityFilter } from './server-group-anti-affinity-filter.js'

const ME = '00000000-0000-4000-8000-000000000001'

describe(ServerGroupAntiAffinityFilter.name, () => {
  it.each([
    { policy: null, onHost: ['m1'], rules: {}, passes: true },
    { policy: 'anti-affinity', onHost: [], rules: {}, passes: true },
    { policy: 'anti-affinity', onHost: ['m1'], rules: {}, passes: false },
    { policy: 'anti-affinity', onHost: ['other'], rules: {}, passes: true },
    { policy: 'anti-affinity', onHost: ['m1'], rules: { max_server_per_host: 2 }, passes: true },
    { policy: 'anti-affinity', onHost: ['m1', 'm2'], rules: { max_server_per_host: 2 }, passes: false },
    { policy: 'anti-affinity', onHost: ['m1', ME], rules: {}, passes: true },
    { policy: 'affinity', onHost: ['m1'], rules: {}, passes: true },
  ] as const)('policy=$policy, members on host $onHost, rules $rules → passes=$passes', ({ policy, onHost, rules, passes }) => {
    const request = makeRequestSpec({ instanceUuids: [ME], instanceGroup: policy ? { policy, rules: { ...rules }, members: ['m1', 'm2', ME] } : null })
    expect(runFilter(ServerGroupAntiAffinityFilter, makeHostState({ instanceUuids: [...onHost] }), request).passed).toBe(passes)
  })

  it('says how many members are on the host and the limit', () => {
    const request = makeRequestSpec({ instanceGroup: { uuid: 'g-2', policy: 'anti-affinity', members: ['m1'] } })
    const result = runFilter(ServerGroupAntiAffinityFilter, makeHostState({ instanceUuids: ['m1'] }), request)
    expect(result.passed ? '' : result.reason).toBe('server group g-2 (anti-affinity) already has 1 member(s) on the host, max_server_per_host is 1')
  })
})
