import type { AllocationRequest } from '../model/selection.js'

/** A resource provider (Placement). */
export interface ResourceProvider {
  readonly uuid: string
  readonly name: string
  readonly generation: number
  readonly parentProviderUuid: string | null
  readonly rootProviderUuid: string
}

/** One resource class's inventory on a provider. */
export interface Inventory {
  readonly total: number
  readonly reserved: number
  readonly minUnit: number
  readonly maxUnit: number
  readonly stepSize: number
  readonly allocationRatio: number
}

/** A consumer's allocations, per provider, with the consumer's generation. */
export interface ConsumerAllocations {
  readonly allocations: Readonly<Record<string, { readonly generation: number; readonly resources: Readonly<Record<string, number>> }>>
  readonly consumerGeneration: number | null
  readonly projectId: string | null
  readonly userId: string | null
}

/** The body of a claim (`PUT /allocations/{consumer}`). */
export interface PutAllocationsRequest {
  readonly allocations: AllocationRequest['allocations']
  readonly projectId: string
  readonly userId: string
  /** Null for a new consumer; the current generation otherwise. A mismatch is a `CONFLICT`. */
  readonly consumerGeneration: number | null
  readonly consumerType?: string
}

/** One request group of an allocation-candidates query (the unsuffixed group, or a numbered/named one). */
export interface RequestGroup {
  /** `''` for the unsuffixed group. */
  readonly suffix: string
  readonly resources: Readonly<Record<string, number>>
  readonly requiredTraits?: readonly string[]
  /** `required=in:A,B` style alternatives: each inner list is an any-of set. */
  readonly anyTraits?: readonly (readonly string[])[]
  readonly forbiddenTraits?: readonly string[]
  /** Each inner list is an any-of set of aggregate uuids (`member_of=in:…`); all sets must match. */
  readonly memberOf?: readonly (readonly string[])[]
  readonly forbiddenAggregates?: readonly string[]
  readonly inTree?: string
}

/** A `GET /allocation_candidates` query. */
export interface AllocationCandidatesRequest {
  readonly groups: readonly RequestGroup[]
  readonly groupPolicy?: 'none' | 'isolate'
  /** Traits the root provider must have (`root_required`); `!TRAIT` forbids. */
  readonly rootRequired?: readonly string[]
  readonly sameSubtree?: readonly (readonly string[])[]
  /** Stop after this many candidates (applied while generating, not after). */
  readonly limit?: number
}

/** Capacity and usage of one resource class in a provider summary. */
export interface ProviderSummaryResource {
  readonly capacity: number
  readonly used: number
}

/** What `GET /allocation_candidates` returns. */
export interface AllocationCandidates {
  readonly allocationRequests: readonly AllocationRequest[]
  readonly providerSummaries: Readonly<
    Record<
      string,
      {
        readonly resources: Readonly<Record<string, ProviderSummaryResource>>
        readonly traits: readonly string[]
        readonly parentProviderUuid: string | null
        readonly rootProviderUuid: string
      }
    >
  >
}

/** The provider tree a compute node reports: inventories and traits of its root provider. */
export interface ProviderTreeReport {
  readonly uuid: string
  readonly name: string
  readonly inventories: Readonly<Record<string, Inventory>>
  readonly traits: readonly string[]
}

/**
 * What the scheduler and conductor need of Placement. Implemented in process over the database by
 * `PlacementService`; an HTTP client can implement it too.
 *
 * Errors: `ComputeError('CONFLICT', …, { details: { code: 'placement.concurrent_update' } })` on a stale provider
 * or consumer generation; `CONFLICT` with details code `placement.inventory.inuse` when inventory would drop
 * below usage; `NOT_FOUND` for an unknown provider; `INVALID` for a request that breaks min/max/step or capacity.
 */
export interface PlacementClient {
  getProvider(uuid: string): Promise<ResourceProvider | null>
  /**
   * Creates the provider if needed and makes its inventories and traits match `report`, retrying generation
   * conflicts (what the resource tracker does through `update_provider_tree`).
   */
  syncProviderTree(report: ProviderTreeReport): Promise<ResourceProvider>
  getAllocationCandidates(request: AllocationCandidatesRequest): Promise<AllocationCandidates>
  getAllocations(consumerUuid: string): Promise<ConsumerAllocations>
  /** Replaces the consumer's allocations atomically (a claim); capacity and generations are checked. */
  putAllocations(consumerUuid: string, request: PutAllocationsRequest): Promise<void>
  /** Removes every allocation of the consumer; a no-op if it has none. */
  deleteAllocations(consumerUuid: string): Promise<void>
}
