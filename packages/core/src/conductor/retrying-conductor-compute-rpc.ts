import { isDeepStrictEqual } from 'node:util'
import type { RequestContext } from '../context.js'
import type { InstancePatch } from '../db/repositories/instance-repository.js'
import { ComputeError } from '../errors/compute-error.js'
import type { Instance } from '../model/instance.js'
import type { Transport } from '../transport/transport.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { ConductorComputeRpcClient, type InstanceUpdateOptions } from './conductor-compute-rpc.js'

/** How {@link RetryingConductorComputeRpcClient} retries. */
export interface ConductorCallRetryOptions {
  /** Attempts after the first for a call that failed with `TRANSPORT`. @default 3 */
  readonly retries?: number
  /** Pause before each retry, in ms. @default 250 */
  readonly delayMs?: number
  /** @default silentLogger */
  readonly logger?: Logger
}

/**
 * The conductor's database proxy for compute services that survives a lost broker connection: a call that fails
 * with `ComputeError('TRANSPORT')` (the connection dropped while it waited for its reply, e.g. a RabbitMQ restart)
 * is sent again, up to `retries` times; a transport that is reconnecting holds the new attempt until it is back.
 * `TIMEOUT` and every error of the conductor itself are not retried.
 *
 * A call that failed with `TRANSPORT` may still have run on the conductor. Every proxy call is safe to repeat
 * (reads, upserts, deletes that accept "already gone", an extra fault or action event at worst) except a
 * compare-and-swap `instance_update`: once applied, its repetition finds the new task state and fails with
 * `CONFLICT`. So when an `instance_update` that was retried ends in `CONFLICT`, the instance is read back, and if
 * it already carries every field of the patch, the update counts as done and the instance is returned.
 *
 * Without it, a compute service whose final `instance_update` of a build is lost this way leaves the instance in
 * `spawning` until the service restarts.
 *
 * @example
 * ```ts
 * const conductor = new RetryingConductorComputeRpcClient(transport, 60_000, { retries: 3 })
 * const compute = new ComputeManager({ host: 'compute-1', driver, conductor, transport })
 * ```
 */
export class RetryingConductorComputeRpcClient extends ConductorComputeRpcClient {
  private readonly retries: number
  private readonly delayMs: number
  private readonly log: Logger

  constructor(transport: Transport, timeoutMs = 60_000, options: ConductorCallRetryOptions = {}) {
    super(transport, timeoutMs)
    this.retries = options.retries ?? 3
    this.delayMs = options.delayMs ?? 250
    this.log = options.logger ?? silentLogger
  }

  protected override call<R>(method: string, args: Record<string, unknown>, context?: RequestContext, timeoutMs?: number, server?: string): Promise<R> {
    return this.withRetries(method, () => super.call<R>(method, args, context, timeoutMs, server))
  }

  /** `instance_update`, retried on `TRANSPORT`; a retried compare-and-swap that finds its own result counts as done. */
  override async instanceUpdate(context: RequestContext, uuid: string, patch: InstancePatch, options: InstanceUpdateOptions = {}): Promise<Instance> {
    let retried = false
    const args = { uuid, patch, ...(options.expectedTaskState ? { expectedTaskState: options.expectedTaskState } : {}) }
    try {
      return await this.withRetries('instance_update', () => super.call<Instance>('instance_update', args, context), () => {
        retried = true
      })
    } catch (err) {
      if (!retried || !options.expectedTaskState || !ComputeError.is(err, 'CONFLICT')) throw err
      const current = await this.instanceGet(context, uuid)
      if (!patchApplied(current, patch)) throw err
      this.log.info({ instance_uuid: uuid }, `instance_update of ${uuid} was applied before its reply was lost; not repeating it`)
      return current
    }
  }

  private async withRetries<R>(method: string, send: () => Promise<R>, onRetry?: () => void): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send()
      } catch (err) {
        if (!ComputeError.is(err, 'TRANSPORT') || attempt >= this.retries) throw err
        this.log.warn({ err }, `conductor ${method} failed with a transport error (${err.message}); retrying (${attempt + 1}/${this.retries})`)
        onRetry?.()
        await new Promise((r) => setTimeout(r, this.delayMs))
      }
    }
  }
}

/** True when `instance` already has every value of `patch`. */
function patchApplied(instance: Instance, patch: InstancePatch): boolean {
  return Object.entries(patch).every(([key, value]) => value === undefined || isDeepStrictEqual(instance[key as keyof Instance], value))
}
