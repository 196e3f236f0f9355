import { silentLogger, type Logger } from '@novum/core'

/**
 * Configuration of {@link AmqpTransport}. Every field is optional; the defaults connect to a local RabbitMQ as
 * `guest` and behave like oslo.messaging's rabbit driver with `control_exchange = novum`.
 *
 * @example
 * ```ts
 * const config = {
 *   url: 'amqp://nova:secret@rabbit-1:5672/nova',
 *   exchange: 'nova',
 *   defaultCallTimeoutMs: 60_000,
 *   reconnect: { initialDelayMs: 100, maxDelayMs: 30_000, jitter: 0.2 },
 * } satisfies AmqpTransportConfig
 * ```
 */
export interface AmqpTransportConfig {
  /**
   * The broker, as an AMQP 0-9-1 URL (`amqp://user:password@host:port/vhost`, or `amqps://`). Query parameters
   * such as `frameMax` are passed on; `heartbeat` is set from {@link AmqpTransportConfig.heartbeatSec} unless the
   * URL already has one.
   * @default 'amqp://guest:guest@127.0.0.1:5672'
   */
  readonly url?: string
  /**
   * The durable topic exchange that carries RPC requests and notifications (oslo's `control_exchange`).
   * Services that talk to each other must use the same one.
   * @default 'novum'
   */
  readonly exchange?: string
  /** AMQP heartbeat interval in seconds; a broker that misses two is taken as gone. `0` turns heartbeats off. @default 30 */
  readonly heartbeatSec?: number
  /** The timeout of a `call` that gives none (oslo `rpc_response_timeout`). @default 60000 */
  readonly defaultCallTimeoutMs?: number
  /** How long opening the TCP connection and the AMQP handshake may take before the attempt counts as failed. @default 10000 */
  readonly connectTimeoutMs?: number
  /** Backoff between reconnection attempts: `initialDelayMs × 2^(attempt-1)`, capped at `maxDelayMs`, ± `jitter`. */
  readonly reconnect?: AmqpReconnectConfig
  /**
   * How long a cast, a notification or a reply waits for the broker when the connection is down (or when it was
   * lost before the broker confirmed it) before it is rejected with `ComputeError('TRANSPORT')`.
   * @default 60000
   */
  readonly publishWaitMs?: number
  /**
   * Unacknowledged deliveries the broker may push to each consumer of a listener (AMQP `basic.qos`, per consumer).
   * Requests are acknowledged when their handler starts, so this only bounds what is in flight on the wire plus
   * what waits for a handler slot.
   * @default 64
   */
  readonly prefetch?: number
  /** Handlers one listener runs at the same time (oslo `executor_thread_pool_size`); more requests wait unacknowledged. @default 64 */
  readonly maxConcurrentHandlers?: number
  /**
   * When this transport binds its queue for {@link AmqpTransport.notifications}:
   * - `'eager'`: as soon as it connects, so a subscriber sees every notification sent after the connection is up
   *   (what `InMemoryTransport` does, and what the conformance suite expects);
   * - `'lazy'`: on the first subscription, which saves a queue and a copy of every notification in processes
   *   that never read them (compute hosts), at the price of missing those sent while the binding is made.
   * @default 'eager'
   */
  readonly notificationSubscription?: 'eager' | 'lazy'
  /** The `connection_name` shown by `rabbitmqctl list_connections` and the management UI. @default 'novum:<hostname>:<pid>' */
  readonly connectionName?: string
  /** Where connection events and failures of casts are logged. @default silentLogger */
  readonly logger?: Logger
}

/** Reconnection backoff of {@link AmqpTransportConfig.reconnect}. */
export interface AmqpReconnectConfig {
  /** Delay before the first reconnection attempt. @default 100 */
  readonly initialDelayMs?: number
  /** Longest delay between attempts. @default 30000 */
  readonly maxDelayMs?: number
  /** Random spread applied to each delay, as a fraction (0–1) of it. @default 0.2 */
  readonly jitter?: number
}

/** {@link AmqpTransportConfig} with every default applied. */
export interface ResolvedAmqpTransportConfig {
  readonly url: string
  readonly exchange: string
  readonly heartbeatSec: number
  readonly defaultCallTimeoutMs: number
  readonly connectTimeoutMs: number
  readonly reconnect: Required<AmqpReconnectConfig>
  readonly publishWaitMs: number
  readonly prefetch: number
  readonly maxConcurrentHandlers: number
  readonly notificationSubscription: 'eager' | 'lazy'
  readonly connectionName: string
  readonly logger: Logger
}

/** The default broker URL. */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672'

/** Applies the defaults of {@link AmqpTransportConfig} and checks the numbers. */
export function resolveAmqpTransportConfig(config: AmqpTransportConfig, hostname: string, pid: number): ResolvedAmqpTransportConfig {
  const resolved: ResolvedAmqpTransportConfig = {
    url: config.url ?? DEFAULT_AMQP_URL,
    exchange: config.exchange ?? 'novum',
    heartbeatSec: config.heartbeatSec ?? 30,
    defaultCallTimeoutMs: config.defaultCallTimeoutMs ?? 60_000,
    connectTimeoutMs: config.connectTimeoutMs ?? 10_000,
    reconnect: {
      initialDelayMs: config.reconnect?.initialDelayMs ?? 100,
      maxDelayMs: config.reconnect?.maxDelayMs ?? 30_000,
      jitter: config.reconnect?.jitter ?? 0.2,
    },
    publishWaitMs: config.publishWaitMs ?? 60_000,
    prefetch: config.prefetch ?? 64,
    maxConcurrentHandlers: config.maxConcurrentHandlers ?? 64,
    notificationSubscription: config.notificationSubscription ?? 'eager',
    connectionName: config.connectionName ?? `novum:${hostname}:${pid}`,
    logger: config.logger ?? silentLogger,
  }
  const checks: [string, number, number][] = [
    ['heartbeatSec', resolved.heartbeatSec, 0],
    ['defaultCallTimeoutMs', resolved.defaultCallTimeoutMs, 1],
    ['connectTimeoutMs', resolved.connectTimeoutMs, 1],
    ['reconnect.initialDelayMs', resolved.reconnect.initialDelayMs, 0],
    ['reconnect.maxDelayMs', resolved.reconnect.maxDelayMs, resolved.reconnect.initialDelayMs],
    ['publishWaitMs', resolved.publishWaitMs, 0],
    ['prefetch', resolved.prefetch, 1],
    ['maxConcurrentHandlers', resolved.maxConcurrentHandlers, 1],
  ]
  for (const [name, value, min] of checks) {
    if (!Number.isFinite(value) || value < min) throw new RangeError(`AmqpTransportConfig.${name} must be a number ≥ ${min}, got ${value}`)
  }
  if (!(resolved.reconnect.jitter >= 0 && resolved.reconnect.jitter <= 1)) {
    throw new RangeError(`AmqpTransportConfig.reconnect.jitter must be between 0 and 1, got ${resolved.reconnect.jitter}`)
  }
  if (resolved.exchange === '' || resolved.exchange.startsWith('amq.')) {
    throw new RangeError(`AmqpTransportConfig.exchange must be a non-empty name outside "amq.", got "${resolved.exchange}"`)
  }
  return resolved
}

/** The URL with the heartbeat set (unless it has one) and the password hidden, for connecting and for messages. */
export function brokerUrls(url: string, heartbeatSec: number): { readonly connect: string; readonly redacted: string } {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new RangeError(`AmqpTransportConfig.url is not a URL: "${url}"`)
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new RangeError(`AmqpTransportConfig.url must use amqp: or amqps:, got "${parsed.protocol}"`)
  }
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(heartbeatSec))
  const connect = parsed.toString()
  if (parsed.password !== '') parsed.password = '***'
  return { connect, redacted: parsed.toString() }
}
