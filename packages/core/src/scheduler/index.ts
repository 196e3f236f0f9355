/**
 * The scheduler's plugin API: the only module a plugin author imports.
 * @packageDocumentation
 */
export { defineFilter, pass, reject } from './filter.js'
export type { HostFilter, FilterResult, PluginContext } from './filter.js'
export { defineWeigher } from './weigher.js'
export type { HostWeigher } from './weigher.js'
export { defineRequestFilter, rejectRequest, requireAggregates, forbidAggregates, requireRootTraits, forbidRootTraits } from './request-filter.js'
export type { RequestFilter, RequestFilterContext, RequestRejection, SchedulerAggregate } from './request-filter.js'
export type { AllocationCandidatesRequest, RequestGroup } from '../placement/placement-client.js'
export { matchExtraSpec } from './extra-specs-ops.js'
export type { HostState, HostService, HostAggregate, SupportedInstance } from '../model/host-state.js'
export type { RequestSpec, RequestServerGroup } from '../model/request-spec.js'
export type { Flavor } from '../model/flavor.js'
export type { ImageMeta } from '../model/image-meta.js'
