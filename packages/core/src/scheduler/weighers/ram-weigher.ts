import type { HostState } from '../../model/host-state.js'
import { defineWeigher } from '../weigher.js'

/**
 * Spreads (or, with a negative multiplier, stacks) instances by free RAM (Nova `RAMWeigher`; registered under that
 * name too). Raw weight `freeRamMb`, lower bound 0; aggregate override key `ram_weight_multiplier`.
 */
export const RamWeigher = defineWeigher({
  name: 'RamWeigher',
  minValue: 0,
  defaultMultiplier: 1,
  aggregateMultiplierKey: 'ram_weight_multiplier',
  weigh: (host) => host.freeRamMb,
  weighAll(hosts, _request, _ctx, out) {
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[i] as HostState
      out[i] = host.freeRamMb
    }
  },
})
