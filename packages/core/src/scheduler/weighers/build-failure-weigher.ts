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
})
