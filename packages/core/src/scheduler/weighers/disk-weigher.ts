import type { HostState } from '../../model/host-state.js'
import { defineWeigher } from '../weigher.js'

/**
 * Spreads instances by free disk (Nova `DiskWeigher`). Raw weight `freeDiskMb`, lower bound 0; aggregate override
 * key `disk_weight_multiplier`.
 */
export const DiskWeigher = defineWeigher({
  name: 'DiskWeigher',
  minValue: 0,
  defaultMultiplier: 1,
  aggregateMultiplierKey: 'disk_weight_multiplier',
  weigh: (host) => host.freeDiskMb,
  weighAll(hosts, _request, _ctx, out) {
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[i] as HostState
      out[i] = host.freeDiskMb
    }
  },
})
