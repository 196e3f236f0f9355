import type { HostState } from '../../model/host-state.js'
import { defineWeigher } from '../weigher.js'

/**
 * Prefers idle hosts (Nova `IoOpsWeigher`): raw weight `numIoOps` (instances building, resizing, snapshotting…),
 * lower bound 0, default multiplier −1; aggregate override key `io_ops_weight_multiplier`.
 */
export const IoOpsWeigher = defineWeigher({
  name: 'IoOpsWeigher',
  minValue: 0,
  defaultMultiplier: -1,
  aggregateMultiplierKey: 'io_ops_weight_multiplier',
  weigh: (host) => host.numIoOps,
  weighAll(hosts, _request, _ctx, out) {
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[i] as HostState
      out[i] = host.numIoOps
    }
  },
})
