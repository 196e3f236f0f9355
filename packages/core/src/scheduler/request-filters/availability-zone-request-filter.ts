import { defineRequestFilter, requireAggregates } from '../request-filter.js'

/**
 * Restricts a request for an availability zone to the aggregates that carry it (Nova
 * `map_az_to_placement_aggregate`, `[scheduler] query_placement_for_availability_zone`): the uuids of the host
 * aggregates whose `availability_zone` metadata is the requested zone become a `member_of` of the Placement query.
 * It needs those aggregates mirrored into Placement (the providers of their hosts members of the aggregates of the
 * same uuid, Nova's `nova-manage placement sync_aggregates`). A zone no aggregate carries (the default zone) adds
 * nothing.
 */
export const AvailabilityZoneRequestFilter = defineRequestFilter({
  name: 'AvailabilityZoneRequestFilter',
  async apply(query, request, ctx) {
    const zone = request.availabilityZone
    if (!zone) return query
    const uuids = (await ctx.aggregates()).filter((a) => (a.metadata['availability_zone'] ?? a.availabilityZone) === zone).map((a) => a.uuid)
    return requireAggregates(query, uuids)
  },
})
