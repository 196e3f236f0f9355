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

/**
 * Typed client of the conductor's task API, as the API service uses it (Nova `ComputeTaskAPI`).
 * The compute-facing half (the database proxy a compute service uses) lives with the conductor manager.
 *
 * Versions: 1.0 — `schedule_and_build_instances`, `build_instances`.
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

  /** Reschedules one failed build onto the next alternate host (cast from a compute service). */
  buildInstances(context: RequestContext, args: { readonly instanceUuid: string; readonly requestSpec: RequestSpec; readonly hostList: SelectionList; readonly adminPassword: string | null }): Promise<void> {
    return this.cast('build_instances', { ...args }, context)
  }
}
