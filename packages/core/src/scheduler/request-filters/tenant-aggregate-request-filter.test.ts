import { describe, expect, it } from 'vitest'
import { makeRequestSpec } from '../../testing/scheduler-fixtures.js'
import { TenantAggregateRequestFilter } from './tenant-aggregate-request-filter.js'
import { aggregate, applyRequestFilter, BASE_QUERY } from './request-filters.test-helper.js'

const aggs = [aggregate(1, { filter_tenant_id: 'p1' }), aggregate(2, { filter_tenant_id2: 'p3, p1' }), aggregate(3, { filter_tenant_id: 'p2' }), aggregate(4, { other: 'p4' })]

describe(TenantAggregateRequestFilter.name, () => {
  it.each<{ project: string; required: boolean; out: 'unchanged' | { memberOf: string[][] } | { rejected: true; reason: string } }>([
    { project: 'p1', required: false, out: { memberOf: [[aggs[0]!.uuid, aggs[1]!.uuid]] } },
    { project: 'p2', required: true, out: { memberOf: [[aggs[2]!.uuid]] } },
    { project: 'p4', required: false, out: 'unchanged' },
    { project: 'p4', required: true, out: { rejected: true, reason: 'no aggregate is reserved for project p4 (filter_tenant_id), and one is required' } },
  ])('project $project, required=$required → $out', async ({ project, required, out }) => {
    const result = await applyRequestFilter(TenantAggregateRequestFilter, makeRequestSpec({ projectId: project }), aggs, { required })
    if (out === 'unchanged') expect(result).toBe(BASE_QUERY)
    else if ('rejected' in out) expect(result).toEqual(out)
    else if ('memberOf' in out) expect(result).toEqual({ ...BASE_QUERY, groups: [{ ...BASE_QUERY.groups[0], memberOf: out.memberOf }] })
  })
})
