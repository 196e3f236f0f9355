import type { NovumDb } from '../db/create-database.js'
import { systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import type { ServiceRecord } from './conductor-compute-rpc.js'
import { HostRecords } from './host-records.js'

/** What {@link ServiceReporter} reports, where, and how often. */
export interface ServiceReporterConfig {
  readonly db: NovumDb
  /** The service's host (Nova `CONF.host`). */
  readonly host: string
  /** e.g. `nova-conductor`, `nova-scheduler`. */
  readonly binary: string
  /** The service's RPC topic, stored in `services.topic`. */
  readonly topic: string | null
  /** Heartbeat period (Nova `report_interval`); 0 reports once, at start. */
  readonly intervalMs: number
  /** @default systemClock */
  readonly clock?: Clock
  /** @default silentLogger */
  readonly logger?: Logger
}

/**
 * The liveness report of a service that holds the database (conductor, scheduler): Nova's DB servicegroup driver.
 * {@link ServiceReporter.start} registers the `services` row (or heartbeats the existing one) and then bumps
 * `report_count` and `last_seen_up` every `intervalMs`, so `os-services` shows the service up while it runs and
 * down once `service_down_time` has passed without a report. Compute services report through the conductor
 * instead (they have no database handle).
 *
 * A failed heartbeat (database unreachable) is logged and retried at the next tick; it never throws. The timer is
 * unref'd, and {@link ServiceReporter.stop} clears it and waits for a report in flight.
 *
 * @example
 * ```ts
 * const heartbeat = new ServiceReporter({ db, host: 'ctl-1', binary: 'nova-conductor', topic: 'conductor', intervalMs: 10_000 })
 * await heartbeat.start()
 * ```
 */
export class ServiceReporter {
  private readonly records: HostRecords
  private readonly logger: Logger
  private timer: ReturnType<typeof setInterval> | null = null
  private inFlight: Promise<void> | null = null
  private last: ServiceRecord | null = null

  constructor(private readonly config: ServiceReporterConfig) {
    this.records = new HostRecords(config.db, config.clock ?? systemClock)
    this.logger = (config.logger ?? silentLogger).child({ service: config.binary, host: config.host })
  }

  /** The services row as of the last successful report, or null before the first. */
  get serviceRecord(): ServiceRecord | null {
    return this.last
  }

  /** Reports once (a failure here throws: a service that cannot register should not start), then periodically. */
  async start(): Promise<void> {
    if (this.timer) return
    this.last = await this.records.reportService({ host: this.config.host, binary: this.config.binary, topic: this.config.topic })
    if (this.config.intervalMs <= 0) return
    this.timer = setInterval(() => {
      this.inFlight ??= this.beat().finally(() => {
        this.inFlight = null
      })
    }, this.config.intervalMs)
    this.timer.unref?.()
  }

  /** Stops the periodic report (the row stays; the service shows down after `service_down_time`). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.inFlight
  }

  private async beat(): Promise<void> {
    try {
      this.last = await this.records.reportService({ host: this.config.host, binary: this.config.binary, topic: this.config.topic })
    } catch (err) {
      this.logger.warn({ err }, `heartbeat of ${this.config.binary} on ${this.config.host} failed: ${(err as Error).message}`)
    }
  }
}
