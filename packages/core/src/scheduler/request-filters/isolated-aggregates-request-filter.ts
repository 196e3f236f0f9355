import { defineRequestFilter, forbidAggregates } from '../request-filter.js'

/**
 * Keeps requests out of aggregates reserved for a trait they do not ask for (Nova `isolate_aggregates`,
 * `[scheduler] enable_isolated_aggregate_filtering`): an aggregate with metadata `trait:<T>=required` takes only
 * requests that require `T` (flavor `trait:T=required` or image property); the others get it as a forbidden
 * aggregate in the Placement query.
 */
export const IsolatedAggregatesRequestFilter = defineRequestFilter({
  name: 'IsolatedAggregatesRequestFilter',
  async apply(query, _request, ctx) {
    const wanted = new Set(query.groups.flatMap((g) => g.requiredTraits ?? []))
    const isolated = (await ctx.aggregates())
      .filter((a) => Object.entries(a.metadata).some(([k, v]) => k.startsWith('trait:') && v === 'required' && !wanted.has(k.slice('trait:'.length))))
      .map((a) => a.uuid)
    return forbidAggregates(query, isolated)
  },
})
