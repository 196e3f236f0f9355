import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import { Policy } from '../policy/policy.js'
import { systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { aggregateZonesByHost, DEFAULT_SERVICE_DOWN_TIME_SEC, isServiceUp, zoneOfService, type ZoneConfig } from './service-liveness.js'

/** One service of a host in the detailed AZ listing. */
export interface ZoneServiceState {
  /** The service is up (heartbeat within `service_down_time`). */
  readonly available: boolean
  /** The service is enabled. */
  readonly active: boolean
  readonly updatedAt: string | null
}

/** One entry of `availabilityZoneInfo`. */
export interface AvailabilityZoneInfo {
  readonly zoneName: string
  readonly zoneState: { readonly available: boolean }
  /** host → binary → state in the detailed listing; null in the simple one and for unavailable zones. */
  readonly hosts: Readonly<Record<string, Readonly<Record<string, ZoneServiceState>>>> | null
}

/** Options of {@link AvailabilityZoneService}. */
export interface AvailabilityZoneServiceConfig extends ZoneConfig {
  /** Nova `service_down_time`. @default 60 */
  readonly serviceDownTimeSec?: number
}

const API_BINARIES: ReadonlySet<string> = new Set(['nova-osapi_compute', 'nova-metadata'])

/**
 * Availability zones (`os-availability-zone`), derived as Nova derives them: a compute host's zone is the
 * `availability_zone` of its aggregates, else the default (`nova`); other services are in `internal`. A zone is
 * available when it has an enabled service. The simple listing hides `internal`.
 */
export class AvailabilityZoneService {
  private readonly downTimeSec: number

  constructor(
    private readonly db: NovumDb,
    private readonly policy: Policy = new Policy(),
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    private readonly config: AvailabilityZoneServiceConfig = {},
  ) {
    this.downTimeSec = config.serviceDownTimeSec ?? DEFAULT_SERVICE_DOWN_TIME_SEC
  }

  /** `GET /os-availability-zone`: available zones first, then unavailable ones; `internal` hidden. */
  async list(ctx: RequestContext): Promise<AvailabilityZoneInfo[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-availability-zone:list')
    const { available, unavailable } = await this.zones()
    const internal = this.config.internalAvailabilityZone ?? 'internal'
    return [
      ...available.filter((z) => z !== internal).map((zoneName) => ({ zoneName, zoneState: { available: true }, hosts: null })),
      ...unavailable.filter((z) => z !== internal).map((zoneName) => ({ zoneName, zoneState: { available: false }, hosts: null })),
    ]
  }

  /** `GET /os-availability-zone/detail` (admin): zones with their hosts and services, `internal` included. */
  async detail(ctx: RequestContext): Promise<AvailabilityZoneInfo[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-availability-zone:detail')
    const { available, unavailable, services, zoneOf } = await this.zones()
    const now = this.clock.now()
    const result: AvailabilityZoneInfo[] = []
    for (const zone of available) {
      const hosts: Record<string, Record<string, ZoneServiceState>> = {}
      for (const s of services) {
        if (s.disabled || API_BINARIES.has(s.binary) || !zoneOf(s).split(',').includes(zone)) continue
        hosts[s.host] ??= {}
        ;(hosts[s.host] as Record<string, ZoneServiceState>)[s.binary] = {
          available: isServiceUp(s, now, this.downTimeSec),
          active: s.disabled !== 1,
          updatedAt: s.last_seen_up ?? s.updated_at,
        }
      }
      result.push({ zoneName: zone, zoneState: { available: true }, hosts })
    }
    for (const zone of unavailable) result.push({ zoneName: zone, zoneState: { available: false }, hosts: null })
    return result
  }

  /** Names of zones with an enabled service (no policy check; for services). */
  async availableZoneNames(): Promise<string[]> {
    return (await this.zones()).available
  }

  private async zones() {
    const services = await this.db
      .selectFrom('services')
      .select(['host', 'binary', 'disabled', 'last_seen_up', 'updated_at', 'created_at', 'forced_down'])
      .where('deleted_at', 'is', null)
      .orderBy('id')
      .execute()
    const aggregateZones = await aggregateZonesByHost(this.db)
    const zoneOf = (s: { binary: string; host: string }) => zoneOfService(s.binary, s.host, aggregateZones, this.config)
    const available = new Set<string>()
    for (const s of services) if (!s.disabled) for (const z of zoneOf(s).split(',')) available.add(z)
    const unavailable = new Set<string>()
    for (const s of services) if (s.disabled) for (const z of zoneOf(s).split(',')) if (!available.has(z)) unavailable.add(z)
    return { available: [...available].sort(), unavailable: [...unavailable].sort(), services, zoneOf }
  }
}
