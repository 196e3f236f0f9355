import type { HostState } from '../../model/host-state.js'
import { defineWeigher } from '../weigher.js'

/**
 * Keeps builds away from hosts whose recent builds failed (Nova `BuildFailureWeigher`). Raw weight
 * `−failedBuilds`, so the multiplier is positive as in Nova's config (default 1,000,000, which dwarfs every other
 * weigher); aggregate override key `build_failure_weight_multiplier`.
 */
export const BuildFailureWeigher = defineWeigher({
  name: 'BuildFailureWeigher',
  defaultMultiplier: 1_000_000,
  aggregateMultiplierKey: 'build_failure_weight_multiplier',
  weigh: (host) => -host.failedBuilds,
  weighAll(hosts, _request, _ctx, out) {
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[i] as HostState
      out[i] = -host.failedBuilds
    }
  },
})
