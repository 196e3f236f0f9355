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
})
