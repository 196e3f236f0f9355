import { describe, expect, it } from 'vitest'
import { explainHost, summarizeRejections, type HostExplanation, type SchedulingExplanation } from './explanation.js'

describe(summarizeRejections.name, () => {
  it('groups filters by name and Placement by reason, largest group first', () => {
    const rejections = [
      ...Array.from({ length: 5 }, () => ({ by: 'Placement', summary: 'too little MEMORY_MB', reason: 'x' })),
      ...Array.from({ length: 7 }, () => ({ by: 'ComputeFilter', summary: 'ComputeFilter', reason: 'disabled' })),
    ]
    expect(summarizeRejections(12, rejections)).toBe('0 of 12 hosts: 7 rejected by ComputeFilter (disabled), 5 had too little MEMORY_MB in Placement')
  })

  it('lists up to three distinct reasons per filter', () => {
    const rejections = ['a', 'b', 'a', 'c', 'd'].map((reason) => ({ by: 'F', summary: 'F', reason }))
    expect(summarizeRejections(5, rejections)).toBe('0 of 5 hosts: 5 rejected by F (a; b; c; …)')
  })

  it('says how many instances were placed before the hosts ran out', () => {
    expect(summarizeRejections(2, [{ by: 'F', summary: 'F', reason: 'r' }], { placed: 1, requested: 3 })).toBe('placed 1 of 3 instances before running out of hosts; then 0 of 2 hosts: 1 rejected by F (r)')
    expect(summarizeRejections(0, [])).toBe('0 of 0 hosts')
  })
})

describe(explainHost.name, () => {
  const host = (name: string, extra: Partial<HostExplanation> = {}): HostExplanation => ({ host: name, nodename: name, uuid: `uuid-${name}`, ...extra })
  const explanation = (hosts: HostExplanation[], selected: string | null, alternates: string[] = []): SchedulingExplanation => ({
    placementQuery: { groups: [] },
    candidateCount: hosts.length,
    hostCount: hosts.length + 1,
    placementRejections: [{ host: 'full', nodename: 'full', uuid: 'uuid-full', summary: 'too little VCPU', reason: 'wants 4 VCPU, free 1' }],
    instances: [{ instanceUuid: 'i-1', filters: ['ComputeFilter'], hosts, selected, alternates, claimFailures: [] }],
  })
  const e = explanation(
    [host('a', { weight: 2 }), host('b', { weight: 2 }), host('c', { weight: 2 }), host('d', { weight: 1 }), host('off', { rejectedBy: { filter: 'ComputeFilter', reason: 'disabled' } })],
    'uuid-a',
    ['uuid-b'],
  )

  it.each([
    { asked: 'a', outcome: 'selected', summary: 'a was selected for instance i-1' },
    { asked: 'uuid-b', outcome: 'alternate', summary: 'uuid-b passed every filter and is an alternate: ranked 2 of 4 with weight 2 (best 2)' },
    { asked: 'c', outcome: 'passed', summary: 'c passed every filter but was not chosen: ranked 3 of 4 with weight 2 (best 2)' },
    { asked: 'd', outcome: 'passed', summary: 'd passed every filter but was not chosen: ranked 4 of 4 with weight 1 (best 2)' },
    { asked: 'off', outcome: 'rejected', summary: 'off was rejected by ComputeFilter: disabled' },
    { asked: 'full', outcome: 'rejected', summary: 'full was left out by Placement: too little VCPU: wants 4 VCPU, free 1' },
    { asked: 'ghost', outcome: 'unknown', summary: 'ghost is not a compute node the scheduler considered (Placement returned no candidate for it and gave no reason)' },
  ])('$asked → $outcome', ({ asked, outcome, summary }) => {
    expect(explainHost(e, asked)).toMatchObject({ outcome, summary })
  })
})
