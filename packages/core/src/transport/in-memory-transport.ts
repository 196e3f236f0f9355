import { map, Subject, type Observable, type Subscription } from 'rxjs'
import { createAdminContext, type RequestContext } from '../context.js'
import { ComputeError, toComputeError } from '../errors/compute-error.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { ENVELOPE_VERSION, type ReplyEnvelope, type RequestEnvelope } from './envelope.js'
import type { CallOptions, CastOptions, Notification, RpcEndpoint, RpcListener, Target, Transport } from './transport.js'
import { callTimeoutError, DeadlineTimer } from './deadline-timer.js'

/** A message as the broker holds it: the serialised envelope, plus routing data that never reaches a handler. */
interface QueuedMessage {
  readonly topic: string
  readonly method: string
  /** The JSON text of a {@link RequestEnvelope}. */
  readonly body: string
  /** For calls: where the reply goes (the calling transport's id) and when the message expires. */
  readonly reply?: { readonly transportId: string; readonly expiresAt: number }
}

/** One consumer registered with the broker. */
interface Consumer {
  readonly topic: string
  readonly server: string
  readonly transportId: string
  deliver(message: QueuedMessage): void
}

/** One `topic.server` queue: its consumers (usually one), their round-robin cursor and what waits for them. */
interface ServerQueue {
  consumers: Consumer[]
  cursor: number
  readonly queue: QueuedMessage[]
}

/** Per-topic state: listeners, the round-robin cursor and the queues that hold messages nobody consumes yet. */
interface TopicState {
  consumers: Consumer[]
  cursor: number
  /** The shared `topic` queue. */
  readonly shared: QueuedMessage[]
  /** One queue per `topic.server`. */
  readonly perServer: Map<string, ServerQueue>
}

/**
 * The in-process "message broker" that {@link InMemoryTransport}s share: queues per topic and per
 * `topic.server`, round robin among a topic's listeners, fanout, reply routing and the notification stream.
 *
 * Give the same broker to several transports to model one transport per service in a test; a transport
 * made without one gets a private broker.
 *
 * @example
 * ```ts
 * const broker = new InMemoryBroker()
 * const api = new InMemoryTransport({ broker })
 * const compute = new InMemoryTransport({ broker })
 * ```
 */
export class InMemoryBroker {
  private readonly topics = new Map<string, TopicState>()
  private readonly replyRoutes = new Map<string, (reply: string) => void>()
  private readonly notificationSubject = new Subject<string>()

  /** @internal Registers a consumer and drains whatever waited for it. */
  addConsumer(consumer: Consumer): void {
    const state = this.topic(consumer.topic)
    state.consumers.push(consumer)
    const own = this.serverQueue(state, consumer.server)
    own.consumers.push(consumer)
    this.drain(own.queue, (m) => this.deliverToServer(state, consumer.server, m))
    this.drain(state.shared, (m) => this.deliverToTopic(state, m))
  }

  /** @internal Removes a consumer; later messages wait in its queues or go to the topic's other consumers. */
  removeConsumer(consumer: Consumer): void {
    const state = this.topics.get(consumer.topic)
    if (!state) return
    state.consumers = state.consumers.filter((c) => c !== consumer)
    const own = state.perServer.get(consumer.server)
    if (own) own.consumers = own.consumers.filter((c) => c !== consumer)
  }

  /** @internal Routes a request: to `topic.server`, to one consumer of `topic`, or to all of them (fanout). */
  publish(target: Target, message: QueuedMessage): void {
    const state = this.topic(target.topic)
    if (target.fanout) {
      // NOTE: like a fanout exchange, a fanout nobody is bound to is dropped rather than queued.
      for (const consumer of state.consumers) consumer.deliver(message)
      return
    }
    if (target.server !== undefined) this.deliverToServer(state, target.server, message)
    else this.deliverToTopic(state, message)
  }

  /** @internal Registers the reply queue of a transport. */
  addReplyRoute(transportId: string, route: (reply: string) => void): void {
    this.replyRoutes.set(transportId, route)
  }

  /** @internal Removes the reply queue of a closed transport; replies for it are dropped. */
  removeReplyRoute(transportId: string): void {
    this.replyRoutes.delete(transportId)
  }

  /** @internal Sends a reply to the transport that made the call (dropped if it has gone). */
  reply(transportId: string, body: string): void {
    this.replyRoutes.get(transportId)?.(body)
  }

  /** @internal Publishes a serialised notification to every subscriber. */
  publishNotification(body: string): void {
    this.notificationSubject.next(body)
  }

  /** @internal The broker-wide notification stream, as JSON text (each subscriber parses its own copy). */
  notificationStream(): Observable<string> {
    return this.notificationSubject.asObservable()
  }

  /** How many messages wait for a consumer on `topic` (the shared queue plus every `topic.server` queue). */
  queuedCount(topic: string): number {
    const state = this.topics.get(topic)
    if (!state) return 0
    let n = state.shared.length
    for (const q of state.perServer.values()) n += q.queue.length
    return n
  }

  private topic(name: string): TopicState {
    let state = this.topics.get(name)
    if (!state) {
      state = { consumers: [], cursor: 0, shared: [], perServer: new Map() }
      this.topics.set(name, state)
    }
    return state
  }

  private deliverToTopic(state: TopicState, message: QueuedMessage): void {
    const n = state.consumers.length
    if (n === 0) {
      state.shared.push(message)
      return
    }
    const consumer = state.consumers[state.cursor % n]!
    state.cursor = (state.cursor + 1) % n
    consumer.deliver(message)
  }

  private serverQueue(state: TopicState, server: string): ServerQueue {
    let entry = state.perServer.get(server)
    if (!entry) {
      entry = { consumers: [], cursor: 0, queue: [] }
      state.perServer.set(server, entry)
    }
    return entry
  }

  private deliverToServer(state: TopicState, server: string, message: QueuedMessage): void {
    const entry = this.serverQueue(state, server)
    const n = entry.consumers.length
    if (n === 0) {
      entry.queue.push(message)
      return
    }
    const consumer = entry.consumers[entry.cursor % n]!
    entry.cursor = (entry.cursor + 1) % n
    consumer.deliver(message)
  }

  private drain(queue: QueuedMessage[], send: (m: QueuedMessage) => void): void {
    const waiting = queue.splice(0, queue.length)
    for (const m of waiting) send(m)
  }
}

/** Configuration of {@link InMemoryTransport}. */
export interface InMemoryTransportConfig {
  /** The broker to share with other transports; a private one when omitted. */
  readonly broker?: InMemoryBroker
  /** Where handler failures of casts are logged (a cast has nobody to reply to). @default silentLogger */
  readonly logger?: Logger
  /** The timeout of a call that gives none. @default 60000 */
  readonly defaultTimeoutMs?: number
}

interface PendingCall {
  readonly topic: string
  readonly method: string
  readonly timeoutMs: number
  readonly expiresAt: number
  resolve(value: unknown): void
  reject(err: unknown): void
}

let transportSeq = 0

/**
 * A {@link Transport} inside one process that behaves like a message broker: every message is serialised to
 * JSON and parsed again (no object is shared between caller and handler), requests are queued per topic and
 * per `topic.server`, a topic's listeners take turns (round robin), a fanout reaches all of them, and a cast to
 * a topic nobody listens on waits in its queue until a listener appears. Handler errors come back as rebuilt
 * `ComputeError`s and a call without a reply rejects with `ComputeError('TIMEOUT')`.
 *
 * Delivery happens on the microtask queue, and a single deadline timer per transport serves every pending
 * call, so the hot path has no timers.
 *
 * @example
 * ```ts
 * const broker = new InMemoryBroker()
 * const server = new InMemoryTransport({ broker })
 * await server.listen({ topic: 'echo', server: 'a' }, { ping: (args) => args })
 * const client = new InMemoryTransport({ broker })
 * await client.call({ topic: 'echo' }, 'ping', { n: 1 }) // → { n: 1 }
 * ```
 */
export class InMemoryTransport implements Transport {
  /** The broker this transport talks to (share it to connect more transports). */
  readonly broker: InMemoryBroker
  private readonly id = `t${++transportSeq}-${Math.random().toString(36).slice(2, 8)}`
  private readonly logger: Logger
  private readonly defaultTimeoutMs: number
  private readonly pending = new Map<string, PendingCall>()
  private readonly listeners = new Set<InMemoryListener>()
  /** Notification bodies seen on the broker; completed on close. */
  private readonly notificationBodies = new Subject<string>()
  private readonly brokerSubscription: Subscription
  private readonly deadlines = new DeadlineTimer((now) => this.expireCalls(now))
  private closed = false

  constructor(config: InMemoryTransportConfig = {}) {
    this.broker = config.broker ?? new InMemoryBroker()
    this.logger = config.logger ?? silentLogger
    this.defaultTimeoutMs = config.defaultTimeoutMs ?? 60_000
    this.broker.addReplyRoute(this.id, (body) => this.onReply(body))
    this.brokerSubscription = this.broker.notificationStream().subscribe(this.notificationBodies)
  }

  /** {@inheritDoc Transport.call} */
  call<R = unknown>(target: Target, method: string, args: Record<string, unknown>, options: CallOptions = {}): Promise<R> {
    if (this.closed) return Promise.reject(closedError(target, method))
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs
    const msgId = crypto.randomUUID()
    let body: string
    try {
      body = serialise({ v: ENVELOPE_VERSION, msgId, method, args, context: options.context ?? null, replyTo: this.id }, target, method)
    } catch (err) {
      return Promise.reject(err)
    }
    const expiresAt = Date.now() + timeoutMs
    return new Promise<R>((resolve, reject) => {
      this.pending.set(msgId, { topic: describeTarget(target), method, timeoutMs, expiresAt, resolve: resolve as (v: unknown) => void, reject })
      this.deadlines.arm(expiresAt)
      this.broker.publish(target, { topic: target.topic, method, body, reply: { transportId: this.id, expiresAt } })
    })
  }

  /** {@inheritDoc Transport.cast} */
  async cast(target: Target, method: string, args: Record<string, unknown>, options: CastOptions = {}): Promise<void> {
    if (this.closed) throw closedError(target, method)
    const body = serialise({ v: ENVELOPE_VERSION, msgId: crypto.randomUUID(), method, args, context: options.context ?? null }, target, method)
    this.broker.publish(target, { topic: target.topic, method, body })
  }

  /** {@inheritDoc Transport.listen} */
  async listen(target: { readonly topic: string; readonly server: string }, endpoint: RpcEndpoint): Promise<RpcListener> {
    if (this.closed) throw new ComputeError('TRANSPORT', `cannot listen on ${target.topic}.${target.server}: transport is closed`)
    const listener = new InMemoryListener(this.broker, this.id, target.topic, target.server, endpoint, this.logger, () => this.listeners.delete(listener))
    this.listeners.add(listener)
    listener.start()
    return listener
  }

  /** {@inheritDoc Transport.notify} */
  async notify(notification: Notification): Promise<void> {
    if (this.closed) throw new ComputeError('TRANSPORT', `cannot send notification ${notification.eventType}: transport is closed`)
    let body: string
    try {
      body = JSON.stringify(notification)
    } catch (err) {
      throw new ComputeError('INVALID', `cannot serialise notification ${notification.eventType}: ${(err as Error).message}`, { cause: err })
    }
    queueMicrotask(() => this.broker.publishNotification(body))
  }

  /** {@inheritDoc Transport.notifications} */
  notifications(): Observable<Notification> {
    // NOTE: `map` runs once per subscriber, so no two subscribers share a notification object.
    return this.notificationBodies.pipe(map((body) => JSON.parse(body) as Notification))
  }

  /** {@inheritDoc Transport.close} */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // NOTE: unlike `listener.stop()`, closing does not wait for running handlers: a connection that goes away
    // abandons them, and their replies are dropped.
    for (const listener of [...this.listeners]) listener.halt()
    this.broker.removeReplyRoute(this.id)
    this.brokerSubscription.unsubscribe()
    this.notificationBodies.complete()
    this.deadlines.clear()
    const pending = [...this.pending.values()]
    this.pending.clear()
    for (const p of pending) p.reject(new ComputeError('TRANSPORT', `transport closed while waiting for the reply to ${p.topic} ${p.method}`))
  }

  private onReply(body: string): void {
    const reply = JSON.parse(body) as ReplyEnvelope
    const call = this.pending.get(reply.msgId)
    if (!call) return // timed out already, or a duplicate
    this.pending.delete(reply.msgId)
    if (this.pending.size === 0) this.deadlines.clear()
    if (reply.ok) call.resolve(reply.result)
    else call.reject(ComputeError.fromJSON(reply.error))
  }

  /** Rejects the calls whose time is up; returns the next deadline. */
  private expireCalls(now: number): number {
    let next = Number.POSITIVE_INFINITY
    for (const [msgId, call] of this.pending) {
      if (call.expiresAt <= now) {
        this.pending.delete(msgId)
        call.reject(callTimeoutError(call))
      } else if (call.expiresAt < next) next = call.expiresAt
    }
    return next
  }
}

/** A running in-memory RPC server. */
class InMemoryListener implements RpcListener {
  private readonly inFlight = new Set<Promise<void>>()
  private stopped = false
  private readonly consumer: Consumer

  constructor(
    private readonly broker: InMemoryBroker,
    transportId: string,
    topic: string,
    server: string,
    private readonly endpoint: RpcEndpoint,
    private readonly logger: Logger,
    private readonly onStop: () => void,
  ) {
    this.consumer = { topic, server, transportId, deliver: (m) => this.deliver(m) }
  }

  start(): void {
    this.broker.addConsumer(this.consumer)
  }

  async stop(): Promise<void> {
    this.halt()
    // NOTE: like oslo's `stop()` + `wait()`: no new messages, and the ones being handled finish first.
    await Promise.allSettled([...this.inFlight])
  }

  /** Stops consuming without waiting for running handlers. */
  halt(): void {
    if (this.stopped) return
    this.stopped = true
    this.broker.removeConsumer(this.consumer)
    this.onStop()
  }

  private deliver(message: QueuedMessage): void {
    const run = Promise.resolve().then(() => this.handle(message))
    this.inFlight.add(run)
    void run.finally(() => this.inFlight.delete(run))
  }

  private async handle(message: QueuedMessage): Promise<void> {
    if (message.reply && message.reply.expiresAt <= Date.now()) return // expired in the queue, as a TTL'd call message does
    const envelope = JSON.parse(message.body) as RequestEnvelope
    const context: RequestContext = envelope.context ?? createAdminContext()
    let reply: ReplyEnvelope
    try {
      const handler = Object.hasOwn(this.endpoint, envelope.method) ? this.endpoint[envelope.method] : undefined
      if (typeof handler !== 'function') {
        throw new ComputeError('NOT_IMPLEMENTED', `endpoint for topic "${message.topic}" has no method "${envelope.method}"`, {
          details: { topic: message.topic, method: envelope.method },
        })
      }
      const result = await handler(envelope.args, context)
      reply = { v: ENVELOPE_VERSION, msgId: envelope.msgId, ok: true, result: result === undefined ? null : result }
    } catch (err) {
      const error = toComputeError(err)
      if (!message.reply) {
        this.logger.error({ err: error, topic: message.topic, method: envelope.method, req_id: context.requestId }, `cast ${message.topic} ${envelope.method} failed: ${error.message}`)
        return
      }
      reply = { v: ENVELOPE_VERSION, msgId: envelope.msgId, ok: false, error: error.toJSON() }
    }
    if (!message.reply) return
    let body: string
    try {
      body = JSON.stringify(reply)
    } catch (err) {
      body = JSON.stringify({
        v: ENVELOPE_VERSION,
        msgId: envelope.msgId,
        ok: false,
        error: new ComputeError('INTERNAL', `cannot serialise the reply of ${message.topic} ${envelope.method}: ${(err as Error).message}`).toJSON(),
      } satisfies ReplyEnvelope)
    }
    this.broker.reply(message.reply.transportId, body)
  }
}

function describeTarget(target: Target): string {
  return target.server !== undefined ? `${target.topic}.${target.server}` : target.fanout ? `${target.topic} (fanout)` : target.topic
}

function serialise(envelope: RequestEnvelope, target: Target, method: string): string {
  try {
    return JSON.stringify(envelope)
  } catch (err) {
    throw new ComputeError('INVALID', `cannot serialise the arguments of ${describeTarget(target)} ${method}: ${(err as Error).message}`, { cause: err })
  }
}

function closedError(target: Target, method: string): ComputeError {
  return new ComputeError('TRANSPORT', `cannot send ${describeTarget(target)} ${method}: transport is closed`)
}
