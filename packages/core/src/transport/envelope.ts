import type { RequestContext } from '../context.js'
import type { SerializedComputeError } from '../errors/compute-error.js'

/** Version of the wire envelope. */
export const ENVELOPE_VERSION = 1

/** A request as it travels (JSON). */
export interface RequestEnvelope {
  readonly v: typeof ENVELOPE_VERSION
  readonly msgId: string
  readonly method: string
  readonly args: Record<string, unknown>
  readonly context: RequestContext | null
  /** Set for calls: where the reply goes. */
  readonly replyTo?: string
}

/** A reply as it travels (JSON): a result or a serialised error. */
export type ReplyEnvelope =
  | { readonly v: typeof ENVELOPE_VERSION; readonly msgId: string; readonly ok: true; readonly result: unknown }
  | { readonly v: typeof ENVELOPE_VERSION; readonly msgId: string; readonly ok: false; readonly error: SerializedComputeError }
