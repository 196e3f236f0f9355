import { defineWeigher } from '../weigher.js'
import { groupMembersOnHost } from './server-group-soft-affinity-weigher.js'

/**
 * Spreads a `soft-anti-affinity` server group (Nova `ServerGroupSoftAntiAffinityWeigher`): raw weight = minus the
 * group's members on the host; aggregate override key `soft_anti_affinity_weight_multiplier`.
 */
export const ServerGroupSoftAntiAffinityWeigher = defineWeigher({
  name: 'ServerGroupSoftAntiAffinityWeigher',
  defaultMultiplier: 1,
  aggregateMultiplierKey: 'soft_anti_affinity_weight_multiplier',
  appliesTo: (request) => request.instanceGroup?.policy === 'soft-anti-affinity',
  weigh: (host, request) => -groupMembersOnHost(host, request, 'soft-anti-affinity'),
})
