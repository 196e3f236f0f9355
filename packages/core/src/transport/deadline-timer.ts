import { ComputeError } from '../errors/compute-error.js'

/**
 * One timer for many deadlines (pending calls, parked publishes): it fires `onDue` no later than the earliest
 * deadline armed. `onDue` settles whatever is due and returns the next deadline (or `Infinity`).
 * @internal Shared by the transports of sibling packages.
 */
export class DeadlineTimer {
  private timer: ReturnType<typeof setTimeout> | null = null
  private at = Number.POSITIVE_INFINITY

  constructor(private readonly onDue: (now: number) => number) {}

  /** Makes sure the timer fires no later than `at` (epoch ms). */
  arm(at: number): void {
    if (this.timer !== null && this.at <= at) return
    this.clear()
    this.at = at
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()))
  }

  /** Stops the timer. */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.at = Number.POSITIVE_INFINITY
  }

  private fire(): void {
    this.timer = null
    this.at = Number.POSITIVE_INFINITY
    const next = this.onDue(Date.now())
    if (next !== Number.POSITIVE_INFINITY) this.arm(next)
  }
}

/** The error of a call that got no reply in time. @internal */
export function callTimeoutError(call: { readonly topic: string; readonly method: string; readonly timeoutMs: number }, target: string = call.topic): ComputeError {
  return new ComputeError('TIMEOUT', `timed out after ${call.timeoutMs} ms waiting for a reply to ${target} ${call.method}`, {
    details: { topic: call.topic, method: call.method, timeoutMs: call.timeoutMs },
  })
}
