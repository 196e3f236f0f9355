import type { HostAggregate } from '../model/host-state.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { AllocationCandidatesRequest, RequestGroup } from '../placement/placement-client.js'

/** A host aggregate as a request filter sees it: its metadata and the compute hosts in it. */
export interface SchedulerAggregate extends HostAggregate {
  /** Compute host names in the aggregate. */
  readonly hosts: readonly string[]
}

/** What a request filter receives besides the request and the Placement query. */
export interface RequestFilterContext<Options> {
  /** The plugin's options from configuration, validated at start-up. */
  readonly options: Options
  /** Every host aggregate, with metadata and hosts; loaded on first use, once per request. */
  aggregates(): Promise<readonly SchedulerAggregate[]>
}

/** A request filter's refusal: the request cannot be placed anywhere (Nova `RequestFilterFailed`). */
export interface RequestRejection {
  readonly rejected: true
  readonly reason: string
}

/**
 * A request filter (Nova's prefilters, `nova/scheduler/request_filter.py`): it runs once per request, before
 * Placement is asked, and narrows the Placement query: aggregates the hosts must (not) be in, traits their root
 * provider must (not) have. Request filters run in the configured order, each getting the previous one's query.
 *
 * Contract:
 * - `apply` returns the query, changed (a new object: use {@link requireAggregates}, {@link forbidAggregates},
 *   {@link requireRootTraits}, {@link forbidRootTraits}) or the same object when it has nothing to add; or
 *   {@link rejectRequest} when no host can take the request (the request fails with `NoValidHostError`).
 * - It may be async; aggregates come through `ctx.aggregates()`. A throw is a bug in the plugin: the request
 *   fails with `ComputeError('PLUGIN')`.
 *
 * @example
 * ```ts
 * const SsdOnlyRequestFilter = defineRequestFilter({
 *   name: 'SsdOnlyRequestFilter',
 *   apply: (query, request) => (request.flavor.extraSpecs['acme:ssd'] === 'true' ? requireRootTraits(query, ['STORAGE_DISK_SSD']) : query),
 * }) satisfies RequestFilter
 * ```
 */
export interface RequestFilter<Options = undefined> {
  /** The unique name the deployer lists in configuration (`requestFilters`); the same as the export's name. */
  readonly name: string
  /** JSON Schema for `options`; options are validated once, at start-up. */
  readonly optionsSchema?: Readonly<Record<string, unknown>>
  /** Default options when configuration gives none. */
  readonly defaultOptions?: Options
  /** Narrows the Placement query for the request, or rejects it. */
  apply(
    query: AllocationCandidatesRequest,
    request: RequestSpec,
    ctx: RequestFilterContext<Options>,
  ): AllocationCandidatesRequest | RequestRejection | Promise<AllocationCandidatesRequest | RequestRejection>
}

/** Defines a request filter; the identity function, for type inference. */
export function defineRequestFilter<Options = undefined>(definition: RequestFilter<Options>): RequestFilter<Options> {
  return Object.freeze({ ...definition })
}

/** The request cannot be placed anywhere; `reason` is lower-case and names the values involved. */
export function rejectRequest(reason: string): RequestRejection {
  return { rejected: true, reason }
}

/** True when a request filter's result is a {@link RequestRejection}. */
export function isRequestRejection(value: unknown): value is RequestRejection {
  return typeof value === 'object' && value !== null && (value as RequestRejection).rejected === true && typeof (value as RequestRejection).reason === 'string'
}

/** The query with the unsuffixed request group (else the first one) replaced by `update(group)`. */
function withMainGroup(query: AllocationCandidatesRequest, update: (g: RequestGroup) => RequestGroup): AllocationCandidatesRequest {
  const at = Math.max(0, query.groups.findIndex((g) => g.suffix === ''))
  const group = query.groups[at]
  if (!group) return query
  const groups = [...query.groups]
  groups[at] = update(group)
  return { ...query, groups }
}

/**
 * The query, with hosts restricted to members of at least one of `aggregateUuids` (one more `member_of=in:…` on the
 * unsuffixed group, Nova `requested_destination.require_aggregates`). An empty list leaves the query as it is.
 */
export function requireAggregates(query: AllocationCandidatesRequest, aggregateUuids: readonly string[]): AllocationCandidatesRequest {
  if (aggregateUuids.length === 0) return query
  const set = [...new Set(aggregateUuids)].sort()
  return withMainGroup(query, (g) => ({ ...g, memberOf: [...(g.memberOf ?? []), set] }))
}

/** The query, with hosts in any of `aggregateUuids` left out (`member_of=!in:…`, Nova `forbidden_aggregates`). */
export function forbidAggregates(query: AllocationCandidatesRequest, aggregateUuids: readonly string[]): AllocationCandidatesRequest {
  if (aggregateUuids.length === 0) return query
  return withMainGroup(query, (g) => ({ ...g, forbiddenAggregates: [...new Set([...(g.forbiddenAggregates ?? []), ...aggregateUuids])].sort() }))
}

/** The query, with `traits` required on the root provider (`root_required`, Nova `root_required.add`). */
export function requireRootTraits(query: AllocationCandidatesRequest, traits: readonly string[]): AllocationCandidatesRequest {
  const missing = traits.filter((t) => !(query.rootRequired ?? []).includes(t))
  if (missing.length === 0) return query
  return { ...query, rootRequired: [...(query.rootRequired ?? []), ...missing] }
}

/** The query, with `traits` forbidden on the root provider (`root_required=!T`, Nova `root_forbidden.add`). */
export function forbidRootTraits(query: AllocationCandidatesRequest, traits: readonly string[]): AllocationCandidatesRequest {
  return requireRootTraits(query, traits.map((t) => `!${t}`))
}
