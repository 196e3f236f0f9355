import type { HostState } from '../../model/host-state.js'
import { defineWeigher } from '../weigher.js'

/**
 * Weighs hosts by how many instances they run (Nova's post-Zed `NumInstancesWeigher`): a positive multiplier packs,
 * a negative one spreads. Raw weight `numInstances`, lower bound 0; aggregate override key
 * `num_instances_weight_multiplier`. Not enabled by default (Nova's default multiplier is 0).
 */
export const NumInstancesWeigher = defineWeigher({
  name: 'NumInstancesWeigher',
  minValue: 0,
  defaultMultiplier: 0,
  aggregateMultiplierKey: 'num_instances_weight_multiplier',
  weigh: (host) => host.numInstances,
  weighAll(hosts, _request, _ctx, out) {
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[i] as HostState
      out[i] = host.numInstances
    }
  },
})
