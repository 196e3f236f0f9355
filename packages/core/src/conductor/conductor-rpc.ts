import type { RequestContext } from '../context.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { SelectionList } from '../model/selection.js'
import { RpcClient } from '../transport/rpc-client.js'
import type { Transport } from '../transport/transport.js'

/** The conductor's RPC topic. */
export const CONDUCTOR_TOPIC = 'conductor'

/** The parameters the API hands to the conductor for one build (Nova's build request + request spec). */
export interface BuildParameters {
  readonly requestSpec: RequestSpec
  readonly adminPassword: string | null
}

/** One failed build attempt: the host and why it failed. */
export interface BuildFailure {
  readonly host: string
  readonly reason: string
}

/**
 * The retry record of a build (Nova's `filter_properties['retry']`): the attempts made so far and why each
 * host failed. It travels with `build_and_run_instance` and `build_instances`, so the final fault can name
 * every failure.
 */
export interface BuildRetry {
  /** Attempts made, including the one in progress (1 for the first host). */
  readonly numAttempts: number
  readonly failures: readonly BuildFailure[]
}

/** The arguments of `build_instances`: reschedule one instance onto the next of `hostList`. */
export interface BuildInstancesArgs {
  readonly instanceUuid: string
  readonly requestSpec: RequestSpec
  /** The alternates left, in order; none claimed yet. */
  readonly hostList: SelectionList
  readonly adminPassword: string | null
  readonly retry?: BuildRetry
}

/**
 * Typed client of the conductor's task API, as the API service uses it (Nova `ComputeTaskAPI`).
 * The compute-facing half (the database proxy a compute service uses) lives with the conductor manager.
 *
 * Versions: 1.0 — `schedule_and_build_instances`, `build_instances`.
 * 1.1 — `build_instances` takes an optional `retry` ({@link BuildRetry}).
 */
export class ConductorTaskRpcClient extends RpcClient {
  constructor(transport: Transport, timeoutMs = 60_000) {
    super(transport, { topic: CONDUCTOR_TOPIC }, timeoutMs)
  }

  /**
   * Schedules the instances of `params.requestSpec.instanceUuids` (already recorded by the API as building,
   * task `scheduling`, with a build request each) and casts each build to its compute host. A failure to
   * schedule puts each instance in ERROR with a fault.
   */
  scheduleAndBuildInstances(context: RequestContext, params: BuildParameters): Promise<void> {
    return this.cast('schedule_and_build_instances', { ...params }, context)
  }

  /**
   * Reschedules one failed build onto the next alternate host (cast from a compute service): the conductor claims
   * the alternate's allocation request itself and casts the build there; with no alternate left the instance
   * goes to ERROR with a fault naming every failure.
   */
  buildInstances(context: RequestContext, args: BuildInstancesArgs): Promise<void> {
    return this.cast('build_instances', { ...args }, context)
  }
}
