import type { AllocationCandidatesRequest } from '../../placement/placement-client.js'
import type { RequestSpec } from '../../model/request-spec.js'
import type { RequestFilter, RequestRejection, SchedulerAggregate } from '../request-filter.js'

/* @internal Runs one request filter the way the scheduler would, over a fixed list of aggregates. */

/** The base query the request filter tests start from. */
export const BASE_QUERY: AllocationCandidatesRequest = { groups: [{ suffix: '', resources: { VCPU: 1, MEMORY_MB: 512 } }], limit: 1000 }

/** An aggregate with this metadata. */
export function aggregate(id: number, metadata: Record<string, string>, hosts: string[] = []): SchedulerAggregate {
  return { id, uuid: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`, name: `agg-${id}`, availabilityZone: metadata['availability_zone'] ?? null, metadata, hosts }
}

/** Applies `filter` to {@link BASE_QUERY}. */
export async function applyRequestFilter<O>(
  filter: RequestFilter<O>,
  request: RequestSpec,
  aggregates: readonly SchedulerAggregate[] = [],
  options?: O,
): Promise<AllocationCandidatesRequest | RequestRejection> {
  return filter.apply(BASE_QUERY, request, { options: (options ?? filter.defaultOptions) as O, aggregates: async () => aggregates })
}
