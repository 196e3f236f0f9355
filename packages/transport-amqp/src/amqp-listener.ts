import type { Channel, ConsumeMessage } from 'amqplib'
import {
  ComputeError,
  createAdminContext,
  ENVELOPE_VERSION,
  toComputeError,
  type Logger,
  type ReplyEnvelope,
  type RequestContext,
  type RequestEnvelope,
  type RpcEndpoint,
  type RpcListener,
} from '@novum/core'
import { topology } from './topology.js'

/** @internal What a listener needs from its transport. */
export interface ListenerHost {
  readonly exchange: string
  readonly prefetch: number
  readonly maxConcurrentHandlers: number
  readonly logger: Logger
  /** Publishes a reply (or waits for the connection to come back to do so). */
  sendReply(replyTo: string, correlationId: string, body: Buffer, what: string): void
  /** Called when the broker took away a channel or consumer of this listener on a connection that is still up. */
  channelLost(session: ListenerSession, reason: string): void
  /** Called once when the listener stops, so the transport forgets it. */
  forget(listener: AmqpListener): void
}

/** @internal The part of a transport's connection a listener uses. */
export interface ListenerSession {
  readonly model: { createChannel(): Promise<Channel> }
  readonly alive: boolean
}

/** A request taken from a queue, waiting for a handler slot. */
interface Delivery {
  readonly channel: Channel
  readonly message: ConsumeMessage
}

/**
 * @internal One RPC server of an {@link AmqpTransport}: a channel of its own with three consumers (the shared
 * `<topic>` queue, the `<topic>.<server>` queue and an exclusive queue on `<topic>_fanout`).
 *
 * As oslo.messaging does, a request is acknowledged as its handler starts (so a handler that is running when the
 * connection drops is normally not run again; only one whose ack was lost with the connection is redelivered).
 * At most `maxConcurrentHandlers` handlers run at once; requests
 * beyond that wait unacknowledged, so the broker's prefetch window is what bounds them, and they go back to the
 * queue if the channel closes before they start. Acknowledgements are batched: one `basic.ack` with
 * `multiple` per event-loop turn covers every request started in that turn, which is safe because requests of a
 * channel start in delivery order.
 */
export class AmqpListener implements RpcListener {
  private channel: Channel | null = null
  /** True once every consumer of {@link channel} is set up. */
  private live = false
  private attachedTo: ListenerSession | null = null
  private attaching: Promise<void> | null = null
  private readonly waiting: Delivery[] = []
  private active = 0
  private idleWaiters: (() => void)[] = []
  private stopped = false
  /** Why the transport stopped this listener, if the broker refused it. */
  private failure: unknown = undefined
  private ackChannel: Channel | null = null
  private ackMessage: ConsumeMessage | null = null
  private ackTimer: ReturnType<typeof setImmediate> | null = null
  private readonly flushAckBound = (): void => this.flushAck()
  private readonly handlerDone = (): void => this.onHandlerDone()

  constructor(
    private readonly host: ListenerHost,
    readonly topic: string,
    readonly server: string,
    private readonly endpoint: RpcEndpoint,
  ) {}

  /** True once stopped (by {@link AmqpListener.stop}, the transport's close, or a broker refusal). */
  get isStopped(): boolean {
    return this.stopped
  }

  /** `topic.server`, for messages. */
  get name(): string {
    return `${this.topic}.${this.server}`
  }

  /**
   * Declares this listener's queues and starts consuming on `session`; a second call for the same session
   * returns the first one's promise.
   */
  attach(session: ListenerSession): Promise<void> {
    if (this.stopped) return this.failure === undefined ? Promise.resolve() : Promise.reject(this.failure)
    if (this.attachedTo === session && this.attaching) return this.attaching
    this.attachedTo = session
    this.attaching = this.doAttach(session)
    return this.attaching
  }

  private async doAttach(session: ListenerSession): Promise<void> {
    const { exchange } = this.host
    const ch = await session.model.createChannel()
    ch.on('error', (err: Error) => this.host.logger.warn({ err, listener: this.name }, `amqp listener ${this.name}: channel error: ${err.message}`))
    ch.on('close', () => {
      if (this.channel !== ch) return
      this.channel = null
      const wasLive = this.live
      this.live = false
      // NOTE: deferred, so that when the whole connection drops the transport handles that first.
      if (wasLive && !this.stopped) {
        setImmediate(() => {
          if (!this.stopped && session.alive) this.host.channelLost(session, `the channel of listener ${this.name} was closed`)
        })
      }
    })
    if (this.stopped) {
      await ch.close().catch(() => {})
      return
    }
    this.channel = ch
    this.live = false
    await ch.prefetch(this.host.prefetch)
    const shared = topology.topicQueue(this.topic)
    const own = topology.serverQueue(this.topic, this.server)
    const fanoutExchange = topology.fanoutExchange(this.topic)
    const fanoutQueue = topology.fanoutQueue(this.topic, crypto.randomUUID().replaceAll('-', ''))
    await ch.assertQueue(shared, { durable: true })
    await ch.bindQueue(shared, exchange, shared)
    await ch.assertQueue(own, { durable: true })
    await ch.bindQueue(own, exchange, own)
    await ch.assertExchange(fanoutExchange, 'fanout', { durable: true })
    await ch.assertQueue(fanoutQueue, { exclusive: true, autoDelete: true })
    await ch.bindQueue(fanoutQueue, fanoutExchange, '')
    const onMessage = (message: ConsumeMessage | null): void => this.onDelivery(session, ch, message)
    for (const queue of [own, shared, fanoutQueue]) await ch.consume(queue, onMessage, { noAck: false })
    if (this.channel === ch) this.live = true
    if (this.stopped) await ch.close().catch(() => {})
  }

  /** {@inheritDoc @novum/core#RpcListener.stop} */
  async stop(): Promise<void> {
    const ch = this.halt()
    // NOTE: closing the channel hands the requests that were delivered but not started back to the queue.
    if (ch) await ch.close().catch(() => {})
    await this.idle()
  }

  /**
   * Stops taking requests without waiting for running handlers (the transport's `close()`), and returns the
   * channel for the caller to close.
   */
  halt(): Channel | null {
    if (this.stopped) return null
    this.stopped = true
    this.flushAck()
    this.waiting.length = 0
    this.host.forget(this)
    const ch = this.channel
    this.channel = null
    this.live = false
    return ch
  }

  /** Stops the listener because the broker refused to set it up; a pending `attach` for it rejects with `err`. */
  fail(err: unknown): Channel | null {
    this.failure ??= err
    return this.halt()
  }

  private idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private onDelivery(session: ListenerSession, ch: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (its queue was deleted): recover by re-declaring on a new connection.
      if (!this.stopped && session.alive) this.host.channelLost(session, `the broker cancelled a consumer of listener ${this.name}`)
      return
    }
    if (this.stopped || ch !== this.channel) return // left unacknowledged: back to the queue when the channel closes
    if (this.active < this.host.maxConcurrentHandlers && this.waiting.length === 0) this.start(ch, message)
    else {
      this.waiting.push({ channel: ch, message })
      this.startWaiting()
    }
  }

  private startWaiting(): void {
    while (this.active < this.host.maxConcurrentHandlers && this.waiting.length > 0) {
      const next = this.waiting.shift()!
      if (next.channel !== this.channel) continue // its channel is gone and the broker will deliver it again
      this.start(next.channel, next.message)
    }
  }

  private start(ch: Channel, message: ConsumeMessage): void {
    this.active++
    this.ack(ch, message)
    this.handle(message).then(this.handlerDone, this.handlerDone)
  }

  private onHandlerDone(): void {
    this.active--
    if (this.waiting.length > 0 && !this.stopped) this.startWaiting()
    if (this.active === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  private ack(ch: Channel, message: ConsumeMessage): void {
    if (this.ackChannel !== ch) this.flushAck()
    this.ackChannel = ch
    this.ackMessage = message
    if (this.ackTimer === null) this.ackTimer = setImmediate(this.flushAckBound)
  }

  private flushAck(): void {
    if (this.ackTimer !== null) clearImmediate(this.ackTimer)
    this.ackTimer = null
    const ch = this.ackChannel
    const message = this.ackMessage
    this.ackChannel = null
    this.ackMessage = null
    if (!ch || !message) return
    try {
      ch.ack(message, true)
    } catch {
      // The channel is closed: the broker requeued what it had not seen acknowledged.
    }
  }

  private async handle(message: ConsumeMessage): Promise<void> {
    const replyTo = message.properties.replyTo as string | undefined
    const correlationId = message.properties.correlationId as string | undefined
    let envelope: RequestEnvelope
    try {
      envelope = JSON.parse(message.content.toString('utf8')) as RequestEnvelope
      if (envelope === null || typeof envelope !== 'object' || typeof envelope.method !== 'string' || typeof envelope.msgId !== 'string') {
        throw new Error('not a request envelope')
      }
    } catch (err) {
      const error = new ComputeError('INVALID', `listener ${this.name} received a malformed request: ${(err as Error).message}`)
      this.host.logger.error({ err: error, listener: this.name }, error.message)
      if (replyTo && correlationId) this.reply(replyTo, { v: ENVELOPE_VERSION, msgId: correlationId, ok: false, error: error.toJSON() }, 'malformed request')
      return
    }
    const context: RequestContext = envelope.context ?? createAdminContext()
    const what = `${this.topic} ${envelope.method}`
    let reply: ReplyEnvelope
    try {
      const handler = Object.hasOwn(this.endpoint, envelope.method) ? this.endpoint[envelope.method] : undefined
      if (typeof handler !== 'function') {
        throw new ComputeError('NOT_IMPLEMENTED', `endpoint for topic "${this.topic}" has no method "${envelope.method}"`, {
          details: { topic: this.topic, method: envelope.method },
        })
      }
      const result = await handler(envelope.args ?? {}, context)
      reply = { v: ENVELOPE_VERSION, msgId: envelope.msgId, ok: true, result: result === undefined ? null : result }
    } catch (err) {
      const error = toComputeError(err)
      if (!replyTo) {
        this.host.logger.error({ err: error, topic: this.topic, method: envelope.method, req_id: context.requestId }, `cast ${what} failed: ${error.message}`)
        return
      }
      reply = { v: ENVELOPE_VERSION, msgId: envelope.msgId, ok: false, error: error.toJSON() }
    }
    if (replyTo) this.reply(replyTo, reply, what)
  }

  private reply(replyTo: string, reply: ReplyEnvelope, what: string): void {
    let text: string
    try {
      text = JSON.stringify(reply)
    } catch (err) {
      text = JSON.stringify({
        v: ENVELOPE_VERSION,
        msgId: reply.msgId,
        ok: false,
        error: new ComputeError('INTERNAL', `cannot serialise the reply of ${what}: ${(err as Error).message}`).toJSON(),
      } satisfies ReplyEnvelope)
    }
    this.host.sendReply(replyTo, reply.msgId, Buffer.from(text), `reply to ${what}`)
  }
}
