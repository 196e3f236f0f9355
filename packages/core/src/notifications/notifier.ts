import type { RequestContext } from '../context.js'
import type { Instance } from '../model/instance.js'
import type { Notification, NotificationPriority, Transport } from '../transport/transport.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { instanceActionPayload, type InstancePayloadOptions, type VersionedPayload } from './payloads.js'

/** Configuration of {@link Notifier}. */
export interface NotifierConfig {
  readonly transport: Transport
  /** The service binary, the first half of `publisher_id` (e.g. `nova-compute`, `nova-conductor`). */
  readonly service: string
  /** The host, the second half of `publisher_id`. */
  readonly host: string
  /** @default systemClock */
  readonly clock?: Clock
  /** Where a failure to send is logged. @default silentLogger */
  readonly logger?: Logger
  /** Emit nothing when false (Nova's `notification_format = unversioned`). @default true */
  readonly enabled?: boolean
}

/**
 * Sends Nova's versioned notifications through {@link Transport.notify}: it fills the envelope (priority,
 * event type, `publisher_id` `<service>:<host>`, timestamp, message id, request id) around a versioned payload.
 *
 * Sending is best effort, as in Nova: {@link Notifier.notify} never rejects; a failure is logged and the
 * operation that emitted the notification carries on.
 *
 * @example
 * ```ts
 * const notifier = new Notifier({ transport, service: 'nova-compute', host: 'compute-1' })
 * await notifier.instanceAction(context, instance, 'instance.create.end')
 * ```
 */
export class Notifier {
  /** `<service>:<host>`. */
  readonly publisherId: string
  private readonly transport: Transport
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly enabled: boolean

  constructor(config: NotifierConfig) {
    this.transport = config.transport
    this.publisherId = `${config.service}:${config.host}`
    this.clock = config.clock ?? systemClock
    this.logger = config.logger ?? silentLogger
    this.enabled = config.enabled ?? true
  }

  /** Builds the envelope around `payload` and sends it; resolves once handed over (or failed and logged). */
  async notify(context: RequestContext | null, priority: NotificationPriority, eventType: string, payload: VersionedPayload): Promise<void> {
    if (!this.enabled) return
    const notification: Notification = {
      priority,
      eventType,
      publisherId: this.publisherId,
      timestamp: isoNow(this.clock),
      messageId: crypto.randomUUID(),
      payload,
      ...(context ? { requestId: context.requestId } : {}),
    }
    try {
      await this.transport.notify(notification)
    } catch (err) {
      this.logger.warn({ err, event_type: eventType, req_id: context?.requestId }, `failed to send notification ${eventType}: ${(err as Error).message}`)
    }
  }

  /**
   * Sends an instance notification (`instance.create.start`, `instance.power_off.end`, …) with Nova's
   * `InstanceActionPayload` (`InstanceCreatePayload` for `instance.create.*`). Event types ending in `.error`
   * go out with priority `error`, the rest with `info`.
   */
  async instanceAction(context: RequestContext | null, instance: Instance, eventType: string, options: InstancePayloadOptions = {}): Promise<void> {
    const create = options.create ?? eventType.startsWith('instance.create.')
    const payload = instanceActionPayload(context, instance, { ...options, create })
    await this.notify(context, eventType.endsWith('.error') ? 'error' : 'info', eventType, payload)
  }
}
