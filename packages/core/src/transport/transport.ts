import type { Observable } from 'rxjs'
import type { RequestContext } from '../context.js'

/**
 * Where a message goes (oslo.messaging `Target`). A `topic` alone reaches one of the servers listening on it
 * (round robin); `topic` + `server` reaches that one server; `fanout` reaches every server on the topic.
 */
export interface Target {
  readonly topic: string
  readonly server?: string
  readonly fanout?: boolean
}

/** Options of {@link Transport.call}. */
export interface CallOptions {
  /** How long to wait for the reply before rejecting with `ComputeError('TIMEOUT')`. @default 60000 */
  readonly timeoutMs?: number
  /** The caller's context, delivered to the handler. */
  readonly context?: RequestContext
}

/** Options of {@link Transport.cast}. */
export interface CastOptions {
  readonly context?: RequestContext
}

/**
 * The server side of RPC: one method per RPC name. A handler receives the JSON `args` of the message and the
 * caller's context, and returns a JSON-serialisable value (the reply of a call; ignored for a cast).
 * A throw travels back to a caller as the rebuilt `ComputeError`.
 */
export type RpcEndpoint = Readonly<
  Record<string, (args: Record<string, unknown>, context: RequestContext) => unknown | Promise<unknown>>
>

/** A running RPC server; {@link RpcListener.stop} stops consuming. */
export interface RpcListener {
  stop(): Promise<void>
}

/** Notification priorities (oslo.messaging), lower case on the wire topic `notifications.<priority>`. */
export type NotificationPriority = 'audit' | 'debug' | 'info' | 'warn' | 'error' | 'critical' | 'sample'

/** A versioned notification (Nova's envelope). */
export interface Notification {
  readonly priority: NotificationPriority
  /** e.g. `instance.create.end`. */
  readonly eventType: string
  /** `<service>:<host>`, e.g. `nova-compute:compute-1`. */
  readonly publisherId: string
  readonly timestamp: string
  readonly messageId: string
  readonly payload: Readonly<Record<string, unknown>>
  /** The request id of the work that emitted it, when known. */
  readonly requestId?: string
}

/**
 * Carries messages between Novum's services, the way oslo.messaging does for Nova.
 *
 * Guarantees every implementation gives (and `describeTransportConformance` checks):
 * - messages are serialised: the handler never sees the caller's objects, only JSON copies;
 * - a `call` resolves with the handler's return value, or rejects with the handler's error rebuilt as a
 *   `ComputeError` (same code, message and details), or with `ComputeError('TIMEOUT')` after `timeoutMs`;
 * - a `cast` resolves once the message is accepted for delivery (durable where the medium allows),
 *   not when it is handled; a cast to a topic nobody listens on yet waits for a listener;
 * - a message for `topic` goes to exactly one listener on that topic; one for `topic`+`server` to that server;
 *   a fanout to every listener on the topic;
 * - {@link Transport.notifications} is hot and sees every notification sent through this transport's broker.
 *
 * Swapping one implementation for another changes no service code.
 */
export interface Transport {
  /** Sends a request and waits for the reply (oslo `call`). */
  call<R = unknown>(target: Target, method: string, args: Record<string, unknown>, options?: CallOptions): Promise<R>
  /** Sends a request with no reply (oslo `cast`); with `target.fanout`, to every server on the topic. */
  cast(target: Target, method: string, args: Record<string, unknown>, options?: CastOptions): Promise<void>
  /**
   * Starts an RPC server for `topic` as `server`: it consumes the shared topic queue, its own `topic.server`
   * queue and the topic's fanout.
   */
  listen(target: { readonly topic: string; readonly server: string }, endpoint: RpcEndpoint): Promise<RpcListener>
  /** Emits a notification on `notifications.<priority>`. */
  notify(notification: Notification): Promise<void>
  /** Every notification sent through the broker, as a hot stream. */
  notifications(): Observable<Notification>
  /** Stops every listener and releases the connection. */
  close(): Promise<void>
}
