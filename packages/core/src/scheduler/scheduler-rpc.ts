import type { RequestContext } from '../context.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { SelectionList } from '../model/selection.js'
import { RpcClient } from '../transport/rpc-client.js'
import type { Transport } from '../transport/transport.js'

/** The scheduler's RPC topic. */
export const SCHEDULER_TOPIC = 'scheduler'

/** The reply of `select_destinations`. */
export interface SelectDestinationsResult {
  /** One list per instance uuid of the request, in order: the claimed host first, then unclaimed alternates. */
  readonly selections: readonly SelectionList[]
  /** The record of the decision (per-host filter verdicts and weights), JSON. */
  readonly explanation: unknown
}

/**
 * Typed client of the scheduler service.
 *
 * Versions: 1.0 — `select_destinations`. 1.1 — `select_destinations` takes `dryRun`.
 */
export class SchedulerRpcClient extends RpcClient {
  constructor(transport: Transport, timeoutMs = 120_000) {
    super(transport, { topic: SCHEDULER_TOPIC }, timeoutMs)
  }

  /**
   * Picks and claims a host for each instance of the request (Nova `select_destinations`).
   * Rejects with a rebuilt `NoValidHostError` when not every instance fits (all or nothing: claims already
   * made for the request are removed). With `dryRun` (since 1.1) nothing is claimed.
   */
  selectDestinations(context: RequestContext, requestSpec: RequestSpec, options: { readonly returnAlternates: boolean; readonly dryRun?: boolean }): Promise<SelectDestinationsResult> {
    return this.call('select_destinations', { requestSpec, returnAlternates: options.returnAlternates, ...(options.dryRun ? { dryRun: true } : {}) }, context)
  }
}
