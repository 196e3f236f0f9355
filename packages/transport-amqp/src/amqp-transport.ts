import os from 'node:os'
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Message, type Options, type RecoveringChannelModel } from 'amqplib'
import { BehaviorSubject, map, Observable, Subject } from 'rxjs'
import {
  callTimeoutError,
  ComputeError,
  DeadlineTimer,
  ENVELOPE_VERSION,
  type CallOptions,
  type CastOptions,
  type Logger,
  type Notification,
  type NotificationPriority,
  type ReplyEnvelope,
  type RequestEnvelope,
  type RpcEndpoint,
  type RpcListener,
  type Target,
  type Transport,
} from '@novum/core'
import { AmqpListener, type ListenerHost, type ListenerSession } from './amqp-listener.js'
import { brokerUrls, resolveAmqpTransportConfig, type AmqpTransportConfig, type ResolvedAmqpTransportConfig } from './amqp-transport-config.js'
import { coalesceSocketWrites } from './coalesce-writes.js'
import { checkName, describeTarget, routeOf, topology, type Route } from './topology.js'

/**
 * Where an {@link AmqpTransport}'s connection stands, as {@link AmqpTransport.connectionState} reports it:
 * `idle` until first used, `connecting` until the first connection is ready, `connected`, `reconnecting` after a
 * loss (with backoff) and `closed` after {@link AmqpTransport.close}.
 */
export type AmqpConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed'

/** Options of {@link AmqpTransport.init}. */
export interface AmqpInitOptions {
  /** Reject with `ComputeError('TRANSPORT')` if the first connection is not ready by then. @default the config's `connectTimeoutMs` */
  readonly timeoutMs?: number
  /** Stops waiting (the transport keeps trying in the background until closed). */
  readonly signal?: AbortSignal
}

/** One AMQP connection and the channels the transport keeps on it. */
interface Session extends ListenerSession {
  readonly id: number
  readonly model: ChannelModel
  /** Publishes calls and replies; consumes direct reply-to (and the notification queue). */
  readonly pub: Channel
  /** Publishes casts and notifications with publisher confirms. */
  readonly confirm: ConfirmChannel
  /** Declares queues and exchanges for casts; reopened after a channel error. */
  topologyChannel: Promise<Channel> | null
  alive: boolean
  /** What casts declared on this connection, by key. */
  readonly declared: Map<string, { done: boolean; readonly promise: Promise<void> }>
  /** Message ids of mandatory publishes the broker returned; checked when their confirm arrives. */
  readonly returned: Set<string>
  notificationsBound: Promise<void> | null
}

/** A call waiting for its reply (or for a connection to be published on). */
interface PendingCall {
  readonly msgId: string
  readonly target: string
  readonly topic: string
  readonly method: string
  readonly route: Route
  readonly body: Buffer
  readonly timeoutMs: number
  readonly expiresAt: number
  /** Set once published; a call published on a connection that is lost cannot get its reply any more. */
  published: boolean
  resolve(value: unknown): void
  reject(err: unknown): void
}

/** A queue (with its binding) or fanout exchange a cast needs before it is published. */
type Declaration =
  | { readonly kind: 'queue'; readonly queue: string; readonly routingKey: string }
  | { readonly kind: 'fanout'; readonly exchange: string }

/** A publish that must reach the broker: a cast, a notification or a reply. */
interface PendingPublish {
  /** e.g. `cast compute.host-1 build_and_run_instance`, for messages. */
  readonly what: string
  readonly route: Route
  readonly declaration: Declaration | null
  readonly body: Buffer
  readonly options: Options.Publish
  /** On the confirm channel, resolving on the broker's ack (else fire-and-forget on the publish channel). */
  readonly confirm: boolean
  readonly messageId: string
  /** When it gives up waiting for a connection. */
  readonly deadline: number
  /** Declarations that failed on a live connection without a broker refusal (the channel went away). */
  declareAttempts: number
  /** Set once the broker returned it and its queue was declared again. */
  redeclared?: boolean
  resolve(): void
  reject(err: unknown): void
}

interface SessionWaiter {
  resolve(session: Session): void
  reject(err: unknown): void
  timer: ReturnType<typeof setTimeout> | null
}

const PRIORITIES: ReadonlySet<NotificationPriority> = new Set(['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample'])
const JSON_TYPE = 'application/json'
const noop = (): void => {}

/**
 * A {@link Transport} over RabbitMQ (AMQP 0-9-1, through amqplib) with oslo.messaging's topology and semantics.
 *
 * - **Topology**: a durable topic exchange `exchange` (oslo `control_exchange`). A listener on
 *   `{ topic, server }` consumes the durable queues `<topic>` (shared by the topic's servers, round robin) and
 *   `<topic>.<server>`, bound with those names as routing keys, plus an exclusive auto-delete queue on the
 *   durable fanout exchange `<topic>_fanout`.
 * - **call**: published transient on the topic exchange with `mandatory`, a TTL equal to the timeout and
 *   RabbitMQ direct reply-to (`amq.rabbitmq.reply-to`, one consumer per connection). Rejects with the handler's
 *   rebuilt `ComputeError`, with `ComputeError('TIMEOUT')` after `timeoutMs`, at once with `TIMEOUT` (details
 *   `undeliverable: true`) when no queue is bound for the target, and with `ComputeError('TRANSPORT')` when the
 *   connection is lost while it waits for the reply (calls are never re-sent: a handler may have run).
 * - **cast**: the target's durable queue (or fanout exchange) is declared first, so a cast to a topic nobody
 *   listens on yet waits in its queue; the message is persistent, `mandatory`, and published on a confirm
 *   channel: the promise resolves on the broker's ack. A cast issued while disconnected, or lost with the
 *   connection before its confirm, is published again once reconnected (at-least-once), or rejected with
 *   `TRANSPORT` after `publishWaitMs`.
 * - **notify**: published with confirms on `exchange` with routing key `notifications.<priority>`;
 *   {@link AmqpTransport.notifications} reads an exclusive queue bound to `notifications.*`.
 * - **Recovery**: heartbeats, TCP_NODELAY, reconnection with exponential backoff and jitter; on every new
 *   connection the exchange, the reply consumer, every active listener and the notification queue are set up
 *   again before anything waiting is published.
 *
 * The constructor does no I/O: the transport connects on first use, or when {@link AmqpTransport.init} is called.
 *
 * @example
 * ```ts
 * const transport = new AmqpTransport({ url: 'amqp://nova:secret@rabbit:5672', exchange: 'nova' })
 * await transport.init()
 * await transport.listen({ topic: 'scheduler', server: 'host-1' }, { ping: () => 'pong' })
 * await transport.call({ topic: 'scheduler' }, 'ping', {}) // → 'pong'
 * await transport.close()
 * ```
 */
export class AmqpTransport implements Transport {
  private readonly config: ResolvedAmqpTransportConfig
  private readonly logger: Logger
  private readonly urls: { readonly connect: string; readonly redacted: string }
  private readonly listeners = new Set<AmqpListener>()
  private readonly listenerHost: ListenerHost
  private readonly pending = new Map<string, PendingCall>()
  private readonly outbox = new Set<PendingPublish>()
  private readonly sessionWaiters = new Set<SessionWaiter>()
  private readonly notificationBodies = new Subject<string>()
  private readonly state = new BehaviorSubject<AmqpConnectionState>('idle')
  private session: Session | null = null
  private sessionSeq = 0
  private settingUp: ChannelModel | null = null
  private recovering: Promise<RecoveringChannelModel | null> | null = null
  private notificationsWanted: boolean
  private lastError: Error | null = null
  private readonly deadlines = new DeadlineTimer((now) => this.expire(now))
  private closed = false
  private readonly onReplyBound = (message: ConsumeMessage | null): void => this.onReply(message)

  /** Validates the configuration; connects on first use. */
  constructor(config: AmqpTransportConfig = {}) {
    this.config = resolveAmqpTransportConfig(config, os.hostname(), process.pid)
    this.logger = this.config.logger
    this.urls = brokerUrls(this.config.url, this.config.heartbeatSec)
    this.notificationsWanted = this.config.notificationSubscription === 'eager'
    const checked = checkName('exchange', this.config.exchange)
    if (checked) throw new RangeError(`AmqpTransportConfig.${checked}`)
    this.listenerHost = {
      exchange: this.config.exchange,
      prefetch: this.config.prefetch,
      maxConcurrentHandlers: this.config.maxConcurrentHandlers,
      logger: this.logger,
      sendReply: (replyTo, correlationId, body, what) => this.sendReply(replyTo, correlationId, body, what),
      channelLost: (session, reason) => this.recycle(session as Session, reason),
      forget: (listener) => this.listeners.delete(listener),
    }
  }

  /** The control exchange this transport publishes to. */
  get exchange(): string {
    return this.config.exchange
  }

  /**
   * Connects (if not yet) and resolves once the first connection is ready: exchange declared, reply consumer and
   * listeners set up. Optional: every other method connects on first use and waits for the connection itself.
   * Rejects with `ComputeError('TRANSPORT')` after `timeoutMs`; the transport keeps trying in the background.
   */
  async init(options: AmqpInitOptions = {}): Promise<void> {
    await this.waitForSession(options.timeoutMs ?? this.config.connectTimeoutMs, 'connect', options.signal)
  }

  /**
   * The connection state, starting with the current one (hot; completes after `closed`). Useful for health
   * checks and for tests that need to act while the broker is away.
   */
  connectionState(): Observable<AmqpConnectionState> {
    return this.state.asObservable()
  }

  /** {@inheritDoc @novum/core#Transport.call} */
  call<R = unknown>(target: Target, method: string, args: Record<string, unknown>, options: CallOptions = {}): Promise<R> {
    if (this.closed) return Promise.reject(closedError(target, method))
    if (target.fanout) return Promise.reject(new ComputeError('INVALID', `cannot call ${describeTarget(target)} ${method}: a fanout can only be cast`))
    const invalid = checkTarget(target)
    if (invalid) return Promise.reject(new ComputeError('INVALID', `cannot call ${describeTarget(target)} ${method}: ${invalid}`))
    const timeoutMs = options.timeoutMs ?? this.config.defaultCallTimeoutMs
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(new ComputeError('INVALID', `cannot call ${describeTarget(target)} ${method}: timeoutMs must be a positive number, got ${timeoutMs}`))
    }
    const msgId = crypto.randomUUID()
    const envelope: RequestEnvelope = { v: ENVELOPE_VERSION, msgId, method, args, context: options.context ?? null, replyTo: topology.directReplyTo }
    let body: Buffer
    try {
      body = Buffer.from(JSON.stringify(envelope))
    } catch (err) {
      return Promise.reject(serialiseError(target, method, err))
    }
    return new Promise<R>((resolve, reject) => {
      const call: PendingCall = {
        msgId,
        target: describeTarget(target),
        topic: target.topic,
        method,
        route: routeOf(this.config.exchange, target),
        body,
        timeoutMs,
        expiresAt: Date.now() + timeoutMs,
        published: false,
        resolve: resolve as (value: unknown) => void,
        reject,
      }
      this.pending.set(msgId, call)
      this.deadlines.arm(call.expiresAt)
      const session = this.session
      if (session) this.publishCall(session, call)
      else this.start()
    })
  }

  /** {@inheritDoc @novum/core#Transport.cast} */
  cast(target: Target, method: string, args: Record<string, unknown>, options: CastOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(closedError(target, method))
    const invalid = checkTarget(target)
    if (invalid) return Promise.reject(new ComputeError('INVALID', `cannot cast ${describeTarget(target)} ${method}: ${invalid}`))
    const messageId = crypto.randomUUID()
    const envelope: RequestEnvelope = { v: ENVELOPE_VERSION, msgId: messageId, method, args, context: options.context ?? null }
    let body: Buffer
    try {
      body = Buffer.from(JSON.stringify(envelope))
    } catch (err) {
      return Promise.reject(serialiseError(target, method, err))
    }
    const route = routeOf(this.config.exchange, target)
    const declaration: Declaration = route.queue !== undefined
      ? { kind: 'queue', queue: route.queue, routingKey: route.routingKey }
      : { kind: 'fanout', exchange: route.exchange }
    return new Promise<void>((resolve, reject) => {
      this.sendPublish({
        what: `cast ${describeTarget(target)} ${method}`,
        route,
        declaration,
        body,
        // NOTE: a fanout nobody is bound to is dropped (as with InMemoryTransport), so only routed casts are mandatory.
        options: { persistent: true, mandatory: !target.fanout, messageId, contentType: JSON_TYPE },
        confirm: true,
        messageId,
        deadline: Date.now() + this.config.publishWaitMs,
        declareAttempts: 0,
        resolve,
        reject,
      })
    })
  }

  /** {@inheritDoc @novum/core#Transport.listen} */
  async listen(target: { readonly topic: string; readonly server: string }, endpoint: RpcEndpoint): Promise<RpcListener> {
    const name = `${target.topic}.${target.server}`
    if (this.closed) throw new ComputeError('TRANSPORT', `cannot listen on ${name}: transport is closed`)
    const invalid = checkName('topic', target.topic) ?? checkName('server', target.server)
    if (invalid) throw new ComputeError('INVALID', `cannot listen on ${name}: ${invalid}`)
    const listener = new AmqpListener(this.listenerHost, target.topic, target.server, endpoint)
    this.listeners.add(listener)
    const deadline = Date.now() + this.config.publishWaitMs
    try {
      for (;;) {
        const session = await this.waitForSession(Math.max(0, deadline - Date.now()), `listen on ${name}`)
        try {
          await listener.attach(session)
          if (this.closed) throw new ComputeError('TRANSPORT', `cannot listen on ${name}: transport is closed`)
          return listener
        } catch (err) {
          if (ComputeError.is(err)) throw err
          // NOTE: one turn later, a lost connection has been noticed (session.alive is false) and the next
          // connection will set this listener up; on a live connection the broker refused, so give up.
          await new Promise((resolve) => setImmediate(resolve))
          if (session.alive && !this.closed) {
            throw new ComputeError('TRANSPORT', `cannot listen on ${name}: ${(err as Error).message}`, { cause: err, details: { topic: target.topic, server: target.server } })
          }
        }
      }
    } catch (err) {
      listener.halt()?.close().catch(noop)
      throw err
    }
  }

  /** {@inheritDoc @novum/core#Transport.notify} */
  notify(notification: Notification): Promise<void> {
    if (this.closed) return Promise.reject(new ComputeError('TRANSPORT', `cannot send notification ${notification.eventType}: transport is closed`))
    if (!PRIORITIES.has(notification.priority)) {
      return Promise.reject(new ComputeError('INVALID', `cannot send notification ${notification.eventType}: unknown priority "${String(notification.priority)}"`))
    }
    let body: Buffer
    try {
      body = Buffer.from(JSON.stringify(notification))
    } catch (err) {
      return Promise.reject(new ComputeError('INVALID', `cannot serialise notification ${notification.eventType}: ${(err as Error).message}`, { cause: err }))
    }
    const messageId = notification.messageId || crypto.randomUUID()
    return new Promise<void>((resolve, reject) => {
      this.sendPublish({
        what: `notification ${notification.eventType}`,
        route: { exchange: this.config.exchange, routingKey: topology.notificationRoutingKey(notification.priority) },
        declaration: null,
        body,
        options: { messageId, contentType: JSON_TYPE },
        confirm: true,
        messageId,
        deadline: Date.now() + this.config.publishWaitMs,
        declareAttempts: 0,
        resolve,
        reject,
      })
    })
  }

  /**
   * {@inheritDoc @novum/core#Transport.notifications}
   *
   * Each subscriber gets its own parsed copy. Notifications sent while this transport is disconnected are not
   * seen (its queue is exclusive to the connection). See {@link AmqpTransportConfig.notificationSubscription}.
   */
  notifications(): Observable<Notification> {
    const parsed = this.notificationBodies.pipe(map((body) => JSON.parse(body) as Notification))
    return new Observable<Notification>((subscriber) => {
      if (!this.closed) this.wantNotifications()
      return parsed.subscribe(subscriber)
    })
  }

  /** {@inheritDoc @novum/core#Transport.close} */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // NOTE: as with InMemoryTransport, close does not wait for running handlers; their replies are dropped.
    const channels = [...this.listeners].map((l) => l.halt())
    const session = this.session
    this.session = null
    if (session) session.alive = false
    this.deadlines.clear()
    const calls = [...this.pending.values()]
    this.pending.clear()
    for (const call of calls) call.reject(new ComputeError('TRANSPORT', `transport closed while waiting for the reply to ${call.target} ${call.method}`, { details: { topic: call.topic, method: call.method } }))
    const publishes = [...this.outbox]
    this.outbox.clear()
    for (const p of publishes) p.reject(new ComputeError('TRANSPORT', `transport closed before ${p.what} reached the broker`))
    const waiters = [...this.sessionWaiters]
    this.sessionWaiters.clear()
    for (const w of waiters) {
      if (w.timer) clearTimeout(w.timer)
      w.reject(new ComputeError('TRANSPORT', 'transport closed while waiting for the broker'))
    }
    this.notificationBodies.complete()
    this.setState('closed')
    this.state.complete()
    await Promise.allSettled(channels.map((ch) => ch?.close()))
    const settingUp = this.settingUp
    if (settingUp) await settingUp.close().catch(noop)
    const recovering = await this.recovering
    if (recovering) await recovering.close().catch(noop)
  }

  // ---------------------------------------------------------------------------------------------------------
  // Connection and recovery

  /** Starts connecting (once); amqplib's recovery reconnects with backoff and runs {@link setupSession} each time. */
  private start(): void {
    if (this.recovering || this.closed) return
    this.setState('connecting')
    const { reconnect } = this.config
    this.recovering = connect(this.urls.connect, {
      noDelay: true,
      timeout: this.config.connectTimeoutMs,
      clientProperties: { connection_name: this.config.connectionName },
      recovery: {
        initialDelay: reconnect.initialDelayMs,
        maxDelay: reconnect.maxDelayMs,
        jitter: reconnect.jitter,
        factor: 2,
        waitForConnect: false,
        setup: (model: ChannelModel) => this.setupSession(model),
      },
    }).then(
      (recovering) => {
        recovering.on('error', (err: Error) => this.logger.warn({ err }, `amqp connection error: ${err.message}`))
        recovering.on('connect-failed', (err: Error) => {
          this.lastError = err
          this.logger.warn({ err, url: this.urls.redacted }, `amqp: cannot connect to ${this.urls.redacted}: ${err.message}`)
        })
        recovering.on('reconnect-scheduled', (info: { attempt: number; delay: number }) =>
          this.logger.info({ attempt: info.attempt, delayMs: info.delay }, `amqp: reconnecting in ${info.delay} ms (attempt ${info.attempt})`),
        )
        recovering.on('blocked', (reason: string) => this.logger.warn({ reason }, `amqp: the broker blocked publishing: ${reason}`))
        recovering.on('unblocked', () => this.logger.info('amqp: the broker unblocked publishing'))
        recovering.on('reconnect-failed', (err: Error) => this.logger.error({ err }, `amqp: gave up reconnecting: ${err.message}`))
        if (this.closed) {
          void recovering.close().catch(noop)
          return null
        }
        return recovering
      },
      (err: unknown) => {
        this.lastError = err as Error
        this.logger.error({ err }, `amqp: cannot start connecting: ${(err as Error).message}`)
        return null
      },
    )
  }

  /**
   * Runs on every new connection, before amqplib hands it out: opens the channels, declares the exchange,
   * consumes direct reply-to, binds the notification queue and sets up every active listener. A throw makes
   * amqplib close the connection and try again after the backoff.
   */
  private async setupSession(model: ChannelModel): Promise<void> {
    if (this.closed) throw new Error('transport closed')
    this.settingUp = model
    let session: Session | null = null
    let closedEarly = false
    model.on('error', (err: Error) => this.logger.warn({ err }, `amqp connection error: ${err.message}`))
    model.once('close', (err?: Error) => {
      closedEarly = true
      if (session) this.lose(session, err ? err.message : 'connection closed')
    })
    coalesceSocketWrites(model)
    try {
      const pub = await model.createChannel()
      const confirm = await model.createConfirmChannel()
      if (closedEarly) throw new Error('connection lost during set-up')
      const s: Session = {
        id: ++this.sessionSeq,
        model,
        pub,
        confirm,
        topologyChannel: null,
        alive: true,
        declared: new Map(),
        returned: new Set(),
        notificationsBound: null,
      }
      session = s
      for (const [ch, role] of [[pub, 'publish'], [confirm, 'confirm']] as const) {
        ch.on('error', (err: Error) => this.logger.warn({ err, channel: role }, `amqp ${role} channel error: ${err.message}`))
        // NOTE: deferred, so that when the whole connection drops its own 'close' is handled first.
        ch.on('close', () =>
          setImmediate(() => {
            if (s.alive && this.session === s) this.recycle(s, `the ${role} channel was closed`)
          }),
        )
      }
      pub.on('return', (message: Message) => this.onCallReturned(message))
      confirm.on('return', (message: Message) => {
        const id = message.properties.messageId as string | undefined
        if (id) s.returned.add(id)
      })
      await pub.assertExchange(this.config.exchange, 'topic', { durable: true })
      await pub.consume(topology.directReplyTo, this.onReplyBound, { noAck: true })
      if (this.notificationsWanted) await this.bindNotifications(s)
      await this.attachListeners(s)
      if (this.closed || !s.alive) throw new Error(this.closed ? 'transport closed' : 'connection lost during set-up')
    } catch (err) {
      if (session) session.alive = false
      throw err
    } finally {
      if (this.settingUp === model) this.settingUp = null
    }
    this.session = session
    this.lastError = null
    this.setState('connected')
    if (this.notificationsWanted && !session.notificationsBound) {
      // a lazy subscription that arrived while this connection was being set up
      this.bindNotifications(session).catch((err: unknown) => this.recycle(session, `cannot bind the notification queue: ${(err as Error).message}`))
    }
    this.logger.info({ url: this.urls.redacted, session: session.id }, `amqp: connected to ${this.urls.redacted}`)
    // Whatever waited for a connection goes out now, in the order it was issued.
    for (const call of this.pending.values()) if (!call.published) this.publishCall(session, call)
    const waiting = [...this.outbox]
    this.outbox.clear()
    for (const p of waiting) this.sendPublish(p)
    const waiters = [...this.sessionWaiters]
    this.sessionWaiters.clear()
    for (const w of waiters) {
      if (w.timer) clearTimeout(w.timer)
      w.resolve(session)
    }
  }

  /**
   * Sets every listener up on a new connection. A listener the broker refuses (its queue was re-declared with
   * other arguments, say) is stopped and logged rather than failing the connection, which would only be refused
   * again after the backoff; a `listen()` still waiting for it rejects.
   */
  private async attachListeners(session: Session): Promise<void> {
    const listeners = [...this.listeners]
    const results = await Promise.allSettled(listeners.map((l) => l.attach(session)))
    for (const [i, result] of results.entries()) {
      const listener = listeners[i]!
      if (result.status === 'fulfilled' || listener.isStopped) continue
      if (!isChannelError(result.reason)) throw result.reason
      this.logger.error({ err: result.reason, listener: listener.name }, `amqp: the broker refused listener ${listener.name}, which stops: ${(result.reason as Error).message}`)
      listener.fail(result.reason)?.close().catch(noop)
    }
  }

  /** A connection is gone: calls waiting on it fail, everything else waits for the next one. */
  private lose(session: Session, reason: string): void {
    const wasCurrent = this.session === session
    session.alive = false
    if (!wasCurrent) return
    this.session = null
    if (this.closed) return
    this.setState('reconnecting')
    this.logger.warn({ session: session.id, reason }, `amqp: lost the connection to ${this.urls.redacted}: ${reason}`)
    for (const [msgId, call] of this.pending) {
      if (!call.published) continue
      this.pending.delete(msgId)
      call.reject(
        new ComputeError('TRANSPORT', `lost the connection to the broker while waiting for the reply to ${call.target} ${call.method} (${reason})`, {
          details: { topic: call.topic, method: call.method, reason },
        }),
      )
    }
    if (this.pending.size === 0 && this.outbox.size === 0) this.deadlines.clear()
  }

  /** A channel of a live connection was taken away: recover by replacing the whole connection. */
  private recycle(session: Session, reason: string): void {
    if (!session.alive || this.closed) return
    this.logger.warn({ session: session.id, reason }, `amqp: ${reason}; reconnecting`)
    this.lose(session, reason)
    session.model.close().catch(noop)
  }

  private waitForSession(timeoutMs: number, what: string, signal?: AbortSignal): Promise<Session> {
    if (this.closed) return Promise.reject(new ComputeError('TRANSPORT', `cannot ${what}: transport is closed`))
    if (this.session) return Promise.resolve(this.session)
    this.start()
    return new Promise<Session>((resolve, reject) => {
      const waiter: SessionWaiter = { resolve, reject, timer: null }
      const fail = (err: unknown): void => {
        if (!this.sessionWaiters.delete(waiter)) return
        if (waiter.timer) clearTimeout(waiter.timer)
        reject(err)
      }
      waiter.timer = setTimeout(() => {
        const last = this.lastError ? ` (last error: ${this.lastError.message})` : ''
        fail(new ComputeError('TRANSPORT', `cannot ${what}: no connection to ${this.urls.redacted} within ${timeoutMs} ms${last}`, { details: { timeoutMs } }))
      }, timeoutMs)
      if (signal) {
        if (signal.aborted) {
          clearTimeout(waiter.timer)
          reject(signal.reason)
          return
        }
        signal.addEventListener('abort', () => fail(signal.reason), { once: true })
      }
      this.sessionWaiters.add(waiter)
    })
  }

  private setState(state: AmqpConnectionState): void {
    if (this.state.value !== state && !this.state.closed) this.state.next(state)
  }

  // ---------------------------------------------------------------------------------------------------------
  // Calls

  private publishCall(session: Session, call: PendingCall): void {
    const ttlMs = Math.ceil(call.expiresAt - Date.now())
    if (ttlMs <= 0) return // the deadline sweep rejects it
    try {
      session.pub.publish(call.route.exchange, call.route.routingKey, call.body, {
        correlationId: call.msgId,
        replyTo: topology.directReplyTo,
        expiration: ttlMs,
        mandatory: true,
        contentType: JSON_TYPE,
      })
      call.published = true
    } catch {
      // The channel is closing; the next connection publishes the call (it is still unpublished).
    }
  }

  private onReply(message: ConsumeMessage | null): void {
    if (message === null) return
    let reply: ReplyEnvelope
    try {
      reply = JSON.parse(message.content.toString('utf8')) as ReplyEnvelope
    } catch (err) {
      this.logger.error({ err }, `amqp: dropped a malformed reply: ${(err as Error).message}`)
      return
    }
    const call = this.pending.get(reply.msgId)
    if (!call) return // timed out already, or a duplicate
    this.pending.delete(reply.msgId)
    if (this.pending.size === 0 && this.outbox.size === 0) this.deadlines.clear()
    if (reply.ok) call.resolve(reply.result)
    else call.reject(ComputeError.fromJSON(reply.error))
  }

  /** `basic.return` of a call: no queue is bound for its target, so fail now instead of at the timeout. */
  private onCallReturned(message: Message): void {
    const msgId = message.properties.correlationId as string | undefined
    const call = msgId === undefined ? undefined : this.pending.get(msgId)
    if (!call) return
    this.pending.delete(call.msgId)
    call.reject(
      new ComputeError(
        'TIMEOUT',
        `no reply possible to ${call.target} ${call.method}: no queue is bound for "${call.route.routingKey}" on exchange "${call.route.exchange}" ` +
          `(no listener ever declared it, or it was deleted), so the call failed at once instead of after its ${call.timeoutMs} ms timeout`,
        { details: { topic: call.topic, method: call.method, timeoutMs: call.timeoutMs, undeliverable: true } },
      ),
    )
  }

  // ---------------------------------------------------------------------------------------------------------
  // Casts, notifications and replies

  /** Publishes now if connected (declaring what the target needs first), else parks until reconnected. */
  private sendPublish(p: PendingPublish): void {
    if (this.closed) {
      p.reject(new ComputeError('TRANSPORT', `transport closed before ${p.what} reached the broker`))
      return
    }
    const session = this.session
    if (!session) {
      this.park(p)
      return
    }
    const declared = p.declaration ? this.ensureDeclared(session, p.declaration) : null
    if (!declared) {
      this.publishOn(session, p)
      return
    }
    declared.then(
      () => this.publishOn(session, p),
      (err: unknown) =>
        // NOTE: one turn later, so that a lost connection has been noticed (session.alive is false).
        setImmediate(() => {
          if (!session.alive || this.closed) this.requeue(session, p)
          else if (isChannelError(err) || ++p.declareAttempts >= 3) {
            p.reject(new ComputeError('TRANSPORT', `cannot send ${p.what}: the broker refused to declare its destination: ${(err as Error).message}`, { cause: err }))
          } else this.sendPublish(p) // the declaring channel went away on a live connection: try on a new one
        }),
    )
  }

  private publishOn(session: Session, p: PendingPublish): void {
    if (!session.alive) {
      this.requeue(session, p)
      return
    }
    try {
      if (p.confirm) {
        session.confirm.publish(p.route.exchange, p.route.routingKey, p.body, p.options, (err: unknown) => this.onConfirm(session, p, err))
      } else {
        session.pub.publish(p.route.exchange, p.route.routingKey, p.body, p.options)
        p.resolve()
      }
    } catch {
      this.requeue(session, p) // the channel is closing
    }
  }

  private onConfirm(session: Session, p: PendingPublish, err: unknown): void {
    if (err == null) {
      if (!session.returned.delete(p.messageId)) p.resolve()
      else if (p.declaration && !p.redeclared && session.alive) {
        // The queue this connection declared has gone since (deleted by an operator, say): declare it again, once.
        p.redeclared = true
        session.declared.delete(declarationKey(p.declaration))
        this.sendPublish(p)
      } else {
        p.reject(new ComputeError('TRANSPORT', `${p.what} was returned by the broker: no queue is bound for "${p.route.routingKey}" on "${p.route.exchange}"`))
      }
      return
    }
    session.returned.delete(p.messageId)
    if ((err as Error).message === 'message nacked') {
      p.reject(new ComputeError('TRANSPORT', `the broker refused ${p.what} (basic.nack)`))
      return
    }
    // The channel or connection went away before the broker confirmed: publish again on the next connection.
    this.requeue(session, p)
  }

  /** A publish that failed on `session` goes back to waiting unless the connection has already been replaced. */
  private requeue(session: Session, p: PendingPublish): void {
    if (this.session && this.session !== session) this.sendPublish(p)
    else this.park(p)
  }

  private park(p: PendingPublish): void {
    if (this.closed) {
      p.reject(new ComputeError('TRANSPORT', `transport closed before ${p.what} reached the broker`))
      return
    }
    if (p.deadline <= Date.now()) {
      p.reject(this.publishTimeout(p))
      return
    }
    this.outbox.add(p)
    this.deadlines.arm(p.deadline)
    this.start()
  }

  private publishTimeout(p: PendingPublish): ComputeError {
    const last = this.lastError ? ` (last error: ${this.lastError.message})` : ''
    return new ComputeError('TRANSPORT', `cannot send ${p.what}: no connection to ${this.urls.redacted} within ${this.config.publishWaitMs} ms${last}`, {
      details: { publishWaitMs: this.config.publishWaitMs },
    })
  }

  /** Declares what a cast needs, once per connection; `null` when already done (the hot path). */
  private ensureDeclared(session: Session, declaration: Declaration): Promise<void> | null {
    const key = declarationKey(declaration)
    const known = session.declared.get(key)
    if (known?.done) return null
    if (known) return known.promise
    const entry = {
      done: false,
      promise: this.declare(session, declaration).then(() => {
        entry.done = true
      }),
    }
    entry.promise.catch(() => session.declared.delete(key))
    session.declared.set(key, entry)
    return entry.promise
  }

  private async declare(session: Session, declaration: Declaration): Promise<void> {
    const ch = await this.topologyChannel(session)
    if (declaration.kind === 'queue') {
      await ch.assertQueue(declaration.queue, { durable: true })
      await ch.bindQueue(declaration.queue, this.config.exchange, declaration.routingKey)
    } else {
      await ch.assertExchange(declaration.exchange, 'fanout', { durable: true })
    }
  }

  private topologyChannel(session: Session): Promise<Channel> {
    if (session.topologyChannel) return session.topologyChannel
    const opened = session.model.createChannel().then((ch) => {
      ch.on('error', (err: Error) => this.logger.warn({ err }, `amqp topology channel error: ${err.message}`))
      ch.on('close', () => {
        if (session.topologyChannel === opened) session.topologyChannel = null
      })
      return ch
    })
    opened.catch(() => {
      if (session.topologyChannel === opened) session.topologyChannel = null
    })
    session.topologyChannel = opened
    return opened
  }

  private sendReply(replyTo: string, correlationId: string, body: Buffer, what: string): void {
    const session = this.session
    if (session) {
      try {
        session.pub.publish('', replyTo, body, { correlationId, contentType: JSON_TYPE })
        return
      } catch {
        // the channel is closing: wait for the next connection below
      }
    }
    if (this.closed) return
    this.sendPublish({
      what,
      route: { exchange: '', routingKey: replyTo },
      declaration: null,
      body,
      options: { correlationId, contentType: JSON_TYPE },
      confirm: false,
      messageId: correlationId,
      deadline: Date.now() + this.config.publishWaitMs,
      declareAttempts: 0,
      resolve: noop,
      reject: (err: unknown) => this.logger.warn({ err }, `amqp: dropped the ${what}: ${(err as Error).message}`),
    })
  }

  // ---------------------------------------------------------------------------------------------------------
  // Notifications

  private wantNotifications(): void {
    if (this.notificationsWanted && this.recovering) return
    this.notificationsWanted = true
    const session = this.session
    if (session) {
      this.bindNotifications(session).catch((err: unknown) => this.recycle(session, `cannot bind the notification queue: ${(err as Error).message}`))
    } else this.start()
  }

  private bindNotifications(session: Session): Promise<void> {
    session.notificationsBound ??= (async () => {
      const { queue } = await session.pub.assertQueue('', { exclusive: true, autoDelete: true })
      await session.pub.bindQueue(queue, this.config.exchange, topology.notificationBindingKey)
      await session.pub.consume(queue, (message) => {
        if (message) this.notificationBodies.next(message.content.toString('utf8'))
      }, { noAck: true })
    })()
    return session.notificationsBound
  }

  // ---------------------------------------------------------------------------------------------------------
  // Deadlines: one timer for every call and parked publish

  /** Rejects the calls and parked publishes whose time is up; returns the next deadline. */
  private expire(now: number): number {
    let next = Number.POSITIVE_INFINITY
    for (const [msgId, call] of this.pending) {
      if (call.expiresAt <= now) {
        this.pending.delete(msgId)
        call.reject(callTimeoutError(call, call.target))
      } else if (call.expiresAt < next) next = call.expiresAt
    }
    for (const p of this.outbox) {
      if (p.deadline <= now) {
        this.outbox.delete(p)
        p.reject(this.publishTimeout(p))
      } else if (p.deadline < next) next = p.deadline
    }
    return next
  }
}

function declarationKey(declaration: Declaration): string {
  return declaration.kind === 'queue' ? `q:${declaration.queue}` : `x:${declaration.exchange}`
}

/** A channel-level refusal by the broker (`406 PRECONDITION_FAILED`, `404 NOT_FOUND`…), as opposed to a lost connection. */
function isChannelError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number'
}

function checkTarget(target: Target): string | undefined {
  return checkName('topic', target.topic) ?? (target.server !== undefined ? checkName('server', target.server) : undefined)
}

function serialiseError(target: Target, method: string, err: unknown): ComputeError {
  return new ComputeError('INVALID', `cannot serialise the arguments of ${describeTarget(target)} ${method}: ${(err as Error).message}`, { cause: err })
}

function closedError(target: Target, method: string): ComputeError {
  return new ComputeError('TRANSPORT', `cannot send ${describeTarget(target)} ${method}: transport is closed`)
}
