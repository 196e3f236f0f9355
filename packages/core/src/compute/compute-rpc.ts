import type { RequestContext } from '../context.js'
import type { ImageMeta } from '../model/image-meta.js'
import type { Instance } from '../model/instance.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { SelectionList } from '../model/selection.js'
import type { BuildRetry } from '../conductor/conductor-rpc.js'
import { RpcClient } from '../transport/rpc-client.js'
import type { Transport } from '../transport/transport.js'
import type { RebootType } from '../virt/virt-driver.js'

/** The compute services' RPC topic; each service listens as server = its host name. */
export const COMPUTE_TOPIC = 'compute'

/** The arguments of `build_and_run_instance`. */
export interface BuildAndRunInstanceArgs {
  readonly instance: Instance
  readonly image: ImageMeta
  readonly requestSpec: RequestSpec
  /** The claimed selection first, then the unclaimed alternates. */
  readonly hostList: SelectionList
  readonly adminPassword: string | null
  /** Attempts so far; absent on the first attempt. */
  readonly retry?: BuildRetry
}

/**
 * Typed client of the compute services (Nova `ComputeAPI` in `compute/rpcapi.py`). Every method targets the
 * instance's host (`topic.server`).
 *
 * Versions: 1.0 — `build_and_run_instance`, `terminate_instance`, `stop_instance`, `start_instance`,
 * `reboot_instance`. 1.1 — `build_and_run_instance` takes an optional `retry`. 1.2 — casts `pause_instance`,
 * `unpause_instance`, `suspend_instance`, `resume_instance`; call `get_console_output`.
 */
export class ComputeRpcClient extends RpcClient {
  constructor(transport: Transport, timeoutMs = 60_000) {
    super(transport, { topic: COMPUTE_TOPIC }, timeoutMs)
  }

  /** Builds and starts the instance on `host`; `hostList` holds the claimed selection first, then alternates. */
  buildAndRunInstance(context: RequestContext, host: string, args: BuildAndRunInstanceArgs): Promise<void> {
    return this.cast('build_and_run_instance', { ...args }, context, host)
  }

  /** Destroys the guest, frees its allocations and marks the instance deleted. */
  terminateInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.cast('terminate_instance', { instance }, context, hostOf(instance))
  }

  /** Powers the guest off; the instance ends `stopped`. */
  stopInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.cast('stop_instance', { instance }, context, hostOf(instance))
  }

  /** Powers the guest on; the instance ends `active`. */
  startInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.cast('start_instance', { instance }, context, hostOf(instance))
  }

  /** Reboots the guest (SOFT or HARD); the instance ends `active`. */
  rebootInstance(context: RequestContext, instance: Instance, rebootType: RebootType): Promise<void> {
    return this.cast('reboot_instance', { instance, rebootType }, context, hostOf(instance))
  }

  /** Freezes the guest in memory; the instance ends `paused`/PAUSED (since 1.2). */
  pauseInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.cast('pause_instance', { instance }, context, hostOf(instance))
  }

  /** Thaws a paused guest; the instance ends `active`/RUNNING (since 1.2). */
  unpauseInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.cast('unpause_instance', { instance }, context, hostOf(instance))
  }

  /** Saves the guest to disk; the instance ends `suspended` (since 1.2). */
  suspendInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.cast('suspend_instance', { instance }, context, hostOf(instance))
  }

  /** Restores a suspended guest; the instance ends `active`/RUNNING (since 1.2). */
  resumeInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.cast('resume_instance', { instance }, context, hostOf(instance))
  }

  /**
   * The guest's console log, its tail of `tailLength` newline-separated pieces when given (Nova `_tail_log`); a call
   * (since 1.2). Rejects with `NOT_IMPLEMENTED` when the host's driver has no console output and `NOT_FOUND`
   * when the guest is not on the host.
   */
  getConsoleOutput(context: RequestContext, instance: Instance, tailLength: number | null = null): Promise<string> {
    return this.call<string>('get_console_output', { instance, tailLength }, context, undefined, hostOf(instance))
  }
}

function hostOf(instance: Instance): string {
  if (!instance.host) throw new Error(`instance ${instance.uuid} has no host`)
  return instance.host
}
