import { AggregateImagePropertiesIsolation } from './filters/aggregate-image-properties-isolation.js'
import { AggregateInstanceExtraSpecsFilter } from './filters/aggregate-instance-extra-specs-filter.js'
import { AggregateMultiTenancyIsolation } from './filters/aggregate-multi-tenancy-isolation.js'
import { AvailabilityZoneFilter } from './filters/availability-zone-filter.js'
import { ComputeCapabilitiesFilter } from './filters/compute-capabilities-filter.js'
import { ComputeFilter } from './filters/compute-filter.js'
import { DifferentHostFilter } from './filters/different-host-filter.js'
import { ImagePropertiesFilter } from './filters/image-properties-filter.js'
import { IoOpsFilter } from './filters/io-ops-filter.js'
import { IsolatedHostsFilter } from './filters/isolated-hosts-filter.js'
import { JsonFilter } from './filters/json-filter.js'
import { MetricsFilter } from './filters/metrics-filter.js'
import { NumInstancesFilter } from './filters/num-instances-filter.js'
import { SameHostFilter } from './filters/same-host-filter.js'
import { ServerGroupAffinityFilter } from './filters/server-group-affinity-filter.js'
import { ServerGroupAntiAffinityFilter } from './filters/server-group-anti-affinity-filter.js'
import { PluginRegistry } from './registry.js'
import { AvailabilityZoneRequestFilter } from './request-filters/availability-zone-request-filter.js'
import { ComputeStatusRequestFilter } from './request-filters/compute-status-request-filter.js'
import { ImageTypeRequestFilter } from './request-filters/image-type-request-filter.js'
import { IsolatedAggregatesRequestFilter } from './request-filters/isolated-aggregates-request-filter.js'
import { TenantAggregateRequestFilter } from './request-filters/tenant-aggregate-request-filter.js'
import { BuildFailureWeigher } from './weighers/build-failure-weigher.js'
import { CpuWeigher } from './weighers/cpu-weigher.js'
import { DiskWeigher } from './weighers/disk-weigher.js'
import { IoOpsWeigher } from './weighers/io-ops-weigher.js'
import { MetricsWeigher } from './weighers/metrics-weigher.js'
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
  AvailabilityZoneFilter,
  AggregateMultiTenancyIsolation,
  AggregateImagePropertiesIsolation,
  IsolatedHostsFilter,
  JsonFilter,
  MetricsFilter,
])

/** The weighers Novum ships, registered by {@link createInTreeRegistry}. */
export const IN_TREE_WEIGHERS = Object.freeze([
  RamWeigher,
  CpuWeigher,
  DiskWeigher,
  IoOpsWeigher,
  NumInstancesWeigher,
  BuildFailureWeigher,
  MetricsWeigher,
  ServerGroupSoftAffinityWeigher,
  ServerGroupSoftAntiAffinityWeigher,
])

/** The request filters (Nova's prefilters) Novum ships, registered by {@link createInTreeRegistry}, in Nova's order. */
export const IN_TREE_REQUEST_FILTERS = Object.freeze([
  TenantAggregateRequestFilter,
  AvailabilityZoneRequestFilter,
  ImageTypeRequestFilter,
  ComputeStatusRequestFilter,
  IsolatedAggregatesRequestFilter,
])

/**
 * Nova's names where Novum's export names differ (the style guide's `RamWeigher` for Nova's `RAMWeigher`, and the
 * function names of Nova's prefilters): configuration may use either.
 */
export const NOVA_PLUGIN_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  RAMWeigher: 'RamWeigher',
  CPUWeigher: 'CpuWeigher',
  require_tenant_aggregate: 'TenantAggregateRequestFilter',
  map_az_to_placement_aggregate: 'AvailabilityZoneRequestFilter',
  require_image_type_support: 'ImageTypeRequestFilter',
  compute_status_filter: 'ComputeStatusRequestFilter',
  isolate_aggregates: 'IsolatedAggregatesRequestFilter',
})

/**
 * A registry holding every in-tree filter, weigher and request filter (k8s `NewInTreeRegistry`), with Nova's names as aliases;
 * add third-party plugins with `.register()` (a duplicate name throws).
 *
 * @example
 * ```ts
 * const registry = createInTreeRegistry().register(AcmeGpuFilter)
 * ```
 */
export function createInTreeRegistry(): PluginRegistry {
  const registry = new PluginRegistry().register(...IN_TREE_FILTERS, ...IN_TREE_WEIGHERS, ...IN_TREE_REQUEST_FILTERS)
  for (const [alias, name] of Object.entries(NOVA_PLUGIN_ALIASES)) registry.alias(alias, name)
  return registry
}
