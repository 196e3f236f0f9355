import { TENANT_METADATA_PREFIX } from '../filters/aggregate-multi-tenancy-isolation.js'
import { defineRequestFilter, rejectRequest, requireAggregates } from '../request-filter.js'

/** Options of {@link TenantAggregateRequestFilter}. */
export interface TenantAggregateRequestFilterOptions {
  /** A project in no aggregate's `filter_tenant_id*` metadata gets no host (Nova `placement_aggregate_required_for_tenants`). @default false */
  readonly required: boolean
}

/**
 * Places a project's servers in the aggregates reserved for it (Nova `require_tenant_aggregate`,
 * `[scheduler] limit_tenants_to_placement_aggregate`): the aggregates whose metadata has a key starting with
 * `filter_tenant_id` listing the request's project (values comma-separated) become a `member_of` of the Placement
 * query. A project in none of them is unrestricted, or, with `required`, rejected. Needs the aggregates mirrored
 * into Placement, as {@link AvailabilityZoneRequestFilter}.
 */
export const TenantAggregateRequestFilter = defineRequestFilter<TenantAggregateRequestFilterOptions>({
  name: 'TenantAggregateRequestFilter',
  optionsSchema: { type: 'object', properties: { required: { type: 'boolean', default: false } }, additionalProperties: false },
  defaultOptions: { required: false },
  async apply(query, request, ctx) {
    const uuids = (await ctx.aggregates())
      .filter((a) => Object.entries(a.metadata).some(([k, v]) => k.startsWith(TENANT_METADATA_PREFIX) && v.split(',').map((s) => s.trim()).includes(request.projectId)))
      .map((a) => a.uuid)
    if (uuids.length) return requireAggregates(query, uuids)
    if (ctx.options?.required) return rejectRequest(`no aggregate is reserved for project ${request.projectId} (filter_tenant_id), and one is required`)
    return query
  },
})
