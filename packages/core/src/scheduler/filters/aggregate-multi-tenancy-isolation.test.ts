import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { AggregateMultiTenancyIsolation } from './aggregate-multi-tenancy-isolation.js'

const agg = (id: number, metadata: Record<string, string>) => ({ id, uuid: `agg-${id}`, name: `agg-${id}`, availabilityZone: null, metadata })

describe(AggregateMultiTenancyIsolation.name, () => {
  it.each([
    { case: 'no aggregate', aggregates: [], project: 'p1', passes: true },
    { case: 'aggregate without tenant keys', aggregates: [agg(1, { ssd: 'true' })], project: 'p1', passes: true },
    { case: 'listed project', aggregates: [agg(1, { filter_tenant_id: 'p1' })], project: 'p1', passes: true },
    { case: 'other project', aggregates: [agg(1, { filter_tenant_id: 'p1' })], project: 'p2', passes: false },
    { case: 'comma-separated list', aggregates: [agg(1, { filter_tenant_id: 'p1, p2' })], project: 'p2', passes: true },
    { case: 'suffixed keys', aggregates: [agg(1, { filter_tenant_id: 'p1', filter_tenant_id2: 'p3' })], project: 'p3', passes: true },
    { case: 'keys across aggregates', aggregates: [agg(1, { filter_tenant_id: 'p1' }), agg(2, { filter_tenant_id: 'p4' })], project: 'p4', passes: true },
  ])('$case, project $project → passes=$passes', ({ aggregates, project, passes }) => {
    const result = runFilter(AggregateMultiTenancyIsolation, makeHostState({ aggregates }), makeRequestSpec({ projectId: project }))
    expect(result.passed).toBe(passes)
  })

  it('names the projects the host is reserved for', () => {
    const result = runFilter(AggregateMultiTenancyIsolation, makeHostState({ aggregates: [agg(1, { filter_tenant_id: 'b,a' })] }), makeRequestSpec({ projectId: 'c' }))
    expect(result).toEqual({ passed: false, reason: 'host is reserved for project(s) a, b, not c', unresolvable: false })
  })
})
