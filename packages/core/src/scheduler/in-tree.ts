import { AggregateInstanceExtraSpecsFilter } from './filters/aggregate-instance-extra-specs-filter.js'
import { ComputeCapabilitiesFilter } from './filters/compute-capabilities-filter.js'
import { ComputeFilter } from './filters/compute-filter.js'
import { DifferentHostFilter } from './filters/different-host-filter.js'
import { ImagePropertiesFilter } from './filters/image-properties-filter.js'
import { IoOpsFilter } from './filters/io-ops-filter.js'
import { NumInstancesFilter } from './filters/num-instances-filter.js'
import { SameHostFilter } from './filters/same-host-filter.js'
import { ServerGroupAffinityFilter } from './filters/server-group-affinity-filter.js'
import { ServerGroupAntiAffinityFilter } from './filters/server-group-anti-affinity-filter.js'
import { PluginRegistry } from './registry.js'
import { BuildFailureWeigher } from './weighers/build-failure-weigher.js'
import { CpuWeigher } from './weighers/cpu-weigher.js'
import { DiskWeigher } from './weighers/disk-weigher.js'
import { IoOpsWeigher } from './weighers/io-ops-weigher.js'
import { NumInstancesWeigher } from './weighers/num-instances-weigher.js'
import { RamWeigher } from './weighers/ram-weigher.js'
import { ServerGroupSoftAffinityWeigher } from './weighers/server-group-soft-affinity-weigher.js'
import { ServerGroupSoftAntiAffinityWeigher } from './weighers/server-group-soft-anti-affinity-weigher.js'

/** The filters Novum ships, registered by {@link createInTreeRegistry}. */
export const IN_TREE_FILTERS = Object.freeze([
  ComputeFilter,
  ComputeCapabilitiesFilter,
  ImagePropertiesFilter,
  ServerGroupAntiAffinityFilter,
  ServerGroupAffinityFilter,
  AggregateInstanceExtraSpecsFilter,
  IoOpsFilter,
  NumInstancesFilter,
  SameHostFilter,
  DifferentHostFilter,
])

/** The weighers Novum ships, registered by {@link createInTreeRegistry}. */
export const IN_TREE_WEIGHERS = Object.freeze([
  RamWeigher,
  CpuWeigher,
  DiskWeigher,
  IoOpsWeigher,
  NumInstancesWeigher,
  BuildFailureWeigher,
  ServerGroupSoftAffinityWeigher,
  ServerGroupSoftAntiAffinityWeigher,
])

/**
 * Nova's class names where Novum's export names differ (the style guide's `RamWeigher` for Nova's `RAMWeigher`):
 * configuration may use either.
 */
export const NOVA_PLUGIN_ALIASES: Readonly<Record<string, string>> = Object.freeze({ RAMWeigher: 'RamWeigher', CPUWeigher: 'CpuWeigher' })

/**
 * A registry holding every in-tree filter and weigher (k8s `NewInTreeRegistry`), with Nova's names as aliases;
 * add third-party plugins with `.register()` (a duplicate name throws).
 *
 * @example
 * ```ts
 * const registry = createInTreeRegistry().register(AcmeGpuFilter)
 * ```
 */
export function createInTreeRegistry(): PluginRegistry {
  const registry = new PluginRegistry().register(...IN_TREE_FILTERS, ...IN_TREE_WEIGHERS)
  for (const [alias, name] of Object.entries(NOVA_PLUGIN_ALIASES)) registry.alias(alias, name)
  return registry
}
