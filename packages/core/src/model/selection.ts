/** One Placement allocation request: resources per provider, as `PUT /allocations/{consumer}` takes them. */
export interface AllocationRequest {
  readonly allocations: Readonly<Record<string, { readonly resources: Readonly<Record<string, number>> }>>
}

/** A chosen (or alternate) destination for one instance (Nova `Selection`). */
export interface Selection {
  readonly serviceHost: string
  readonly nodename: string
  readonly computeNodeUuid: string
  readonly allocationRequest: AllocationRequest
  /** Placement microversion of the allocation request. */
  readonly allocationRequestVersion: string
  readonly availabilityZone: string | null
}

/** The scheduler's answer for one instance: the claimed host first, then unclaimed alternates. */
export type SelectionList = readonly Selection[]
