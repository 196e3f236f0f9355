import type { NovumDb } from '../db/create-database.js'

/** The heartbeat fields of a `services` row. */
export interface ServiceHeartbeat {
  readonly last_seen_up: string | null
  readonly updated_at: string | null
  readonly created_at: string
  readonly forced_down: number
}

/** Nova's default `service_down_time`, in seconds. */
export const DEFAULT_SERVICE_DOWN_TIME_SEC = 60

/**
 * Nova's DB servicegroup driver: a service is up when it is not forced down and its last heartbeat
 * (`last_seen_up`, else `updated_at`, else `created_at`) is within `downTimeSec` of now.
 */
export function isServiceUp(row: ServiceHeartbeat, nowMs: number, downTimeSec: number = DEFAULT_SERVICE_DOWN_TIME_SEC): boolean {
  if (row.forced_down) return false
  const last = Date.parse(row.last_seen_up ?? row.updated_at ?? row.created_at)
  if (Number.isNaN(last)) return false
  return Math.abs(nowMs - last) <= downTimeSec * 1000
}

/** Where services live: Nova's `[DEFAULT] default_availability_zone` and `internal_service_availability_zone`. */
export interface ZoneConfig {
  /** @default 'nova' */
  readonly defaultAvailabilityZone?: string
  /** @default 'internal' */
  readonly internalAvailabilityZone?: string
}

/**
 * The availability zone of every host that carries an AZ aggregate (`availability_zone` metadata), several
 * zones joined by `,` as Nova does.
 */
export async function aggregateZonesByHost(db: NovumDb): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('aggregate_hosts')
    .innerJoin('aggregate_metadata', 'aggregate_metadata.aggregate_id', 'aggregate_hosts.aggregate_id')
    .select(['aggregate_hosts.host as host', 'aggregate_metadata.value as zone'])
    .where('aggregate_metadata.key', '=', 'availability_zone')
    .orderBy('aggregate_metadata.value')
    .execute()
  const byHost = new Map<string, string[]>()
  for (const r of rows) {
    const zones = byHost.get(r.host) ?? []
    if (!zones.includes(r.zone)) zones.push(r.zone)
    byHost.set(r.host, zones)
  }
  return new Map([...byHost].map(([host, zones]) => [host, zones.join(',')]))
}

/** Nova `availability_zones.get_host_availability_zone` for a service: compute → aggregate AZ or default; others → internal. */
export function zoneOfService(binary: string, host: string, aggregateZones: ReadonlyMap<string, string>, config: ZoneConfig = {}): string {
  if (binary !== 'nova-compute') return config.internalAvailabilityZone ?? 'internal'
  return aggregateZones.get(host) ?? config.defaultAvailabilityZone ?? 'nova'
}
