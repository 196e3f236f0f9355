import { ComputeError } from '../errors/compute-error.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { AllocationCandidatesRequest } from '../placement/placement-client.js'
import type { ConfiguredRequestFilter } from './profile.js'
import { isRequestRejection, type SchedulerAggregate } from './request-filter.js'

/** What one request filter did, as the explanation records it. */
export interface RequestFilterOutcome {
  readonly requestFilter: string
  /** True when it narrowed the Placement query. */
  readonly changed: boolean
  /** Why it rejected the request (the request then fails). */
  readonly rejected?: string
}

/** What {@link runRequestFilters} returns: the narrowed query, or the rejection, and each filter's outcome. */
export interface RequestFilterRunResult {
  readonly query: AllocationCandidatesRequest
  readonly outcomes: readonly RequestFilterOutcome[]
  /** Set when a request filter rejected the request; later ones did not run. */
  readonly rejection?: { readonly by: string; readonly reason: string }
}

/**
 * Runs the configured request filters in order over the Placement query (Nova `request_filter.process_reqspec`).
 * `loadAggregates` is called at most once, on the first `ctx.aggregates()`. A throw, or a result that is neither a
 * query nor a rejection, fails the request with `ComputeError('PLUGIN', …, { cause })`.
 */
export async function runRequestFilters(
  filters: readonly ConfiguredRequestFilter[],
  query: AllocationCandidatesRequest,
  request: RequestSpec,
  loadAggregates: () => Promise<readonly SchedulerAggregate[]>,
): Promise<RequestFilterRunResult> {
  let aggregates: Promise<readonly SchedulerAggregate[]> | null = null
  const ctxAggregates = (): Promise<readonly SchedulerAggregate[]> => (aggregates ??= loadAggregates())
  const outcomes: RequestFilterOutcome[] = []
  let current = query
  for (const { plugin, options } of filters) {
    let result: unknown
    try {
      result = await plugin.apply(current, request, { options, aggregates: ctxAggregates })
    } catch (err) {
      throw new ComputeError('PLUGIN', `scheduler plugin "${plugin.name}" failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { plugin: plugin.name } })
    }
    if (isRequestRejection(result)) {
      outcomes.push({ requestFilter: plugin.name, changed: false, rejected: result.reason })
      return { query: current, outcomes, rejection: { by: plugin.name, reason: result.reason } }
    }
    if (typeof result !== 'object' || result === null || !Array.isArray((result as AllocationCandidatesRequest).groups)) {
      throw new ComputeError('PLUGIN', `scheduler plugin "${plugin.name}" returned ${JSON.stringify(result)?.slice(0, 200)} instead of a Placement query or rejectRequest()`, { details: { plugin: plugin.name } })
    }
    const next = result as AllocationCandidatesRequest
    outcomes.push({ requestFilter: plugin.name, changed: next !== current && JSON.stringify(next) !== JSON.stringify(current) })
    current = next
  }
  return { query: current, outcomes }
}
