import type { HostState } from '../../model/host-state.js'
import type { RequestSpec } from '../../model/request-spec.js'
import { memberSet } from '../group-members.js'
import { defineWeigher } from '../weigher.js'

/** How many of the request's server-group members run on the host, when the group has `policy`. */
export function groupMembersOnHost(host: HostState, request: RequestSpec, policy: string): number {
  const group = request.instanceGroup
  if (!group || group.policy !== policy) return 0
  const members = memberSet(group)
  let count = 0
  for (const u of host.instanceUuids) if (members.has(u)) count++
  return count
}

/**
 * Packs a `soft-affinity` server group (Nova `ServerGroupSoftAffinityWeigher`): raw weight = the group's members on
 * the host; aggregate override key `soft_affinity_weight_multiplier`.
 */
export const ServerGroupSoftAffinityWeigher = defineWeigher({
  name: 'ServerGroupSoftAffinityWeigher',
  defaultMultiplier: 1,
  aggregateMultiplierKey: 'soft_affinity_weight_multiplier',
  appliesTo: (request) => request.instanceGroup?.policy === 'soft-affinity',
  weigh: (host, request) => groupMembersOnHost(host, request, 'soft-affinity'),
})
