import type { RequestContext } from '../context.js'
import type { Target, Transport } from './transport.js'

/**
 * The base of every typed RPC client (`*-rpc.ts`): a transport, a target and a default timeout.
 * Subclasses add one method per RPC and keep a version history in their TSDoc, as Nova's `rpcapi.py` does.
 */
export class RpcClient {
  constructor(
    protected readonly transport: Transport,
    protected readonly target: Target,
    protected readonly defaultTimeoutMs = 60_000,
  ) {}

  /** A blocking request/reply. */
  protected call<R>(method: string, args: Record<string, unknown>, context?: RequestContext, timeoutMs?: number, server?: string): Promise<R> {
    const target = server ? { ...this.target, server } : this.target
    return this.transport.call<R>(target, method, args, { timeoutMs: timeoutMs ?? this.defaultTimeoutMs, ...(context ? { context } : {}) })
  }

  /** A fire-and-forget request. */
  protected cast(method: string, args: Record<string, unknown>, context?: RequestContext, server?: string): Promise<void> {
    const target = server ? { ...this.target, server } : this.target
    return this.transport.cast(target, method, args, context ? { context } : undefined)
  }
}
