import type { AllocationRequest } from '../model/selection.js'

/** A resource provider (Placement). */
export interface ResourceProvider {
  readonly uuid: string
  readonly name: string
  readonly generation: number
  readonly parentProviderUuid: string | null
  readonly rootProviderUuid: string
}

/** One resource class's inventory on a provider. Capacity is `floor((total − reserved) × allocationRatio)`. */
export interface Inventory {
  readonly total: number
  readonly reserved: number
  readonly minUnit: number
  readonly maxUnit: number
  readonly stepSize: number
  readonly allocationRatio: number
}

/** An inventory as a writer gives it: only `total` is required; the rest take Placement's defaults. */
export interface InventoryInput {
  readonly total: number
  /** @default 0 */
  readonly reserved?: number
  /** @default 1 */
  readonly minUnit?: number
  /** @default 2147483647 */
  readonly maxUnit?: number
  /** @default 1 */
  readonly stepSize?: number
  /** @default 1.0 */
  readonly allocationRatio?: number
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
  /**
   * Amounts per resource class. Empty only for a resourceless suffixed group (1.36: traits, aggregates or
   * `inTree` alone), which a `sameSubtree` set must name; its provider appears in `mappings`, not in `allocations`.
   */
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
  /**
   * `same_subtree` (1.36): each inner list names suffixed groups whose providers must all be descendants of (or
   * equal to) one of those providers.
   */
  readonly sameSubtree?: readonly (readonly string[])[]
  /** Stop after this many candidates (applied while generating, not after). */
  readonly limit?: number
}

/** Capacity and usage of one resource class in a provider summary. */
export interface ProviderSummaryResource {
  readonly capacity: number
  readonly used: number
}

/** One allocation request of a candidates answer, with which providers serve which request group (1.34 `mappings`). */
export interface CandidateAllocationRequest extends AllocationRequest {
  /** Request-group suffix (`''` for the unsuffixed group) → uuids of the providers that satisfy it. */
  readonly mappings: Readonly<Record<string, readonly string[]>>
}

/** What `GET /allocation_candidates` returns. */
export interface AllocationCandidates {
  /**
   * In database order of the anchor root providers (Placement's `randomize_allocation_candidates=False`). The
   * anchor tree's providers come first in each `allocations`; a sharing provider (`MISC_SHARES_VIA_AGGREGATE`) of
   * another tree may follow.
   */
  readonly allocationRequests: readonly CandidateAllocationRequest[]
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

/**
 * The provider tree a compute node reports: inventories and traits of its root provider, and optionally of child
 * providers (NUMA cells, GPUs, …), which are created under the root.
 */
export interface ProviderTreeReport {
  readonly uuid: string
  readonly name: string
  readonly inventories: Readonly<Record<string, InventoryInput>>
  readonly traits: readonly string[]
  /** The aggregate uuids of the provider; left as they are when absent. */
  readonly aggregates?: readonly string[]
  /** Child providers, synced after their parent. */
  readonly children?: readonly ProviderTreeReport[]
}

/** Why one root provider (a compute node) produced no allocation candidate. */
export interface ProviderRejection {
  /** The root provider's uuid (the compute node uuid). */
  readonly providerUuid: string
  readonly providerName: string
  /** The first requirement the tree failed, in this order: root traits, aggregates, inventory, capacity, unit sizes, traits, combination. */
  readonly kind: 'root_trait' | 'forbidden_root_trait' | 'aggregate' | 'no_inventory' | 'capacity' | 'unit' | 'trait' | 'forbidden_trait' | 'combination'
  readonly resourceClass?: string
  readonly trait?: string
  /** A short phrase that reads after "had", the same for every provider failing the same way, e.g. `too little MEMORY_MB`. */
  readonly summary: string
  /** The specifics, e.g. `wants 4096 MEMORY_MB, free 2048 (capacity 8192, used 6144)`. */
  readonly message: string
}

/**
 * What the scheduler and conductor need of Placement. Implemented in process over the database by
 * `PlacementService`; an HTTP client can implement it too.
 *
 * Errors (the `details.code` is Placement's error code):
 * - `CONFLICT` + `placement.concurrent_update` on a stale provider or consumer generation
 *   (`details.conflict` is `'provider'` or `'consumer'`);
 * - `CONFLICT` + `placement.inventory.inuse` when inventory would drop below usage or a used class is removed;
 * - `CONFLICT` + `placement.undefined_code` when an allocation does not fit (capacity, min/max/step, or no
 *   inventory of the class; Placement's 409 "Unable to allocate inventory");
 * - `NOT_FOUND` for an unknown provider; `INVALID` for a malformed request (bad names, amounts, unknown provider
 *   in an allocation).
 */
export interface PlacementClient {
  /** The provider with this uuid, or null. */
  getProvider(uuid: string): Promise<ResourceProvider | null>
  /**
   * Creates the provider if needed and makes its inventories and traits match `report`, retrying generation
   * conflicts (what the resource tracker does through `update_provider_tree`).
   */
  syncProviderTree(report: ProviderTreeReport): Promise<ResourceProvider>
  /** `GET /allocation_candidates`: allocation requests in root-provider order (at most `limit`) and provider summaries. */
  getAllocationCandidates(request: AllocationCandidatesRequest): Promise<AllocationCandidates>
  /**
   * Optional: for every root provider that yields no candidate for `request` (limit ignored), the first
   * requirement it fails. The scheduler uses it to say why hosts were missing from Placement's answer.
   */
  explainAllocationCandidates?(request: AllocationCandidatesRequest): Promise<readonly ProviderRejection[]>
  /** The consumer's allocations and generation (`{ allocations: {}, consumerGeneration: null }` when it has none). */
  getAllocations(consumerUuid: string): Promise<ConsumerAllocations>
  /** Replaces the consumer's allocations atomically (a claim); capacity and generations are checked. */
  putAllocations(consumerUuid: string, request: PutAllocationsRequest): Promise<void>
  /** Removes every allocation of the consumer; a no-op if it has none. */
  deleteAllocations(consumerUuid: string): Promise<void>
}
