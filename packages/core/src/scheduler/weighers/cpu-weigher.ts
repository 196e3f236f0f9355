import type { HostState } from '../../model/host-state.js'
import { defineWeigher } from '../weigher.js'

/**
 * Spreads instances by free vCPUs (Nova `CPUWeigher`; registered under that name too). Raw weight
 * `vcpusTotal × cpuAllocationRatio − vcpusUsed`, lower bound 0; aggregate override key `cpu_weight_multiplier`.
 */
export const CpuWeigher = defineWeigher({
  name: 'CpuWeigher',
  minValue: 0,
  defaultMultiplier: 1,
  aggregateMultiplierKey: 'cpu_weight_multiplier',
  weigh: (host) => host.vcpusTotal * host.cpuAllocationRatio - host.vcpusUsed,
  weighAll(hosts, _request, _ctx, out) {
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[i] as HostState
      out[i] = host.vcpusTotal * host.cpuAllocationRatio - host.vcpusUsed
    }
  },
})
