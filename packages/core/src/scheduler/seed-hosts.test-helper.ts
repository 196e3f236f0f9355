import type { NovumDb } from '../db/create-database.js'
import type { PlacementService } from '../placement/placement-service.js'
import { uuidFromName } from '../testing/scheduler-fixtures.js'

/*
 * @internal Test helper for scheduler integration tests: writes compute hosts the way the conductor and the
 * resource tracker would (services + compute_nodes rows, and the node's root provider in Placement).
 */

/** The moment scheduler integration tests run at (their clock). */
export const TEST_NOW = Date.parse('2026-03-01T12:00:00.000Z')

/** A fixed clock at {@link TEST_NOW}. */
export const testClock = { now: (): number => TEST_NOW }

/** What a seeded host looks like; everything has a default. */
export interface SeedHost {
  readonly host: string
  readonly vcpus?: number
  readonly memoryMb?: number
  readonly diskGb?: number
  /** The compute node record's free RAM (what the RAM weigher sees). @default memoryMb */
  readonly freeRamMb?: number
  readonly placementMemoryMb?: number
  readonly disabled?: boolean
  readonly disabledReason?: string | null
  readonly forcedDown?: boolean
  /** Seconds since the last heartbeat. @default 5 */
  readonly lastSeenAgoSec?: number
  /** Traits of the node's provider (e.g. `COMPUTE_STATUS_DISABLED`). */
  readonly traits?: readonly string[]
  readonly stats?: Readonly<Record<string, string>>
  readonly supportedInstances?: readonly (readonly [string, string, string])[]
  /** Skip creating the Placement provider. */
  readonly noProvider?: boolean
}

let seq = 0

/** Seeds one compute host (service, compute node, Placement provider); returns the node uuid. */
export async function seedHost(db: NovumDb, placement: PlacementService, spec: SeedHost): Promise<string> {
  const now = new Date(TEST_NOW).toISOString()
  const seen = new Date(TEST_NOW - (spec.lastSeenAgoSec ?? 5) * 1000).toISOString()
  const uuid = uuidFromName(`node:${spec.host}`)
  const vcpus = spec.vcpus ?? 8
  const memoryMb = spec.memoryMb ?? 16384
  const diskGb = spec.diskGb ?? 200
  seq++
  await db
    .insertInto('services')
    .values({
      uuid: uuidFromName(`service:${spec.host}:${seq}`),
      host: spec.host,
      binary: 'nova-compute',
      topic: 'compute',
      report_count: 1,
      disabled: spec.disabled ? 1 : 0,
      disabled_reason: spec.disabledReason ?? null,
      forced_down: spec.forcedDown ? 1 : 0,
      last_seen_up: seen,
      version: 1,
      created_at: now,
      updated_at: seen,
      deleted_at: null,
    })
    .execute()
  const service = await db.selectFrom('services').select('id').where('host', '=', spec.host).where('binary', '=', 'nova-compute').executeTakeFirstOrThrow()
  await db
    .insertInto('compute_nodes')
    .values({
      uuid,
      service_id: service.id,
      host: spec.host,
      hypervisor_hostname: spec.host,
      hypervisor_type: 'QEMU',
      hypervisor_version: 6_002_000,
      vcpus,
      memory_mb: memoryMb,
      local_gb: diskGb,
      vcpus_used: 0,
      memory_mb_used: 0,
      local_gb_used: 0,
      free_ram_mb: spec.freeRamMb ?? memoryMb,
      free_disk_gb: diskGb,
      disk_available_least: diskGb,
      current_workload: 0,
      running_vms: 0,
      host_ip: '192.0.2.1',
      cpu_info: JSON.stringify({ arch: 'x86_64' }),
      supported_instances: JSON.stringify(spec.supportedInstances ?? [['x86_64', 'qemu', 'hvm']]),
      stats: JSON.stringify(spec.stats ?? { num_instances: '0', io_workload: '0', failed_builds: '0' }),
      metrics: '[]',
      cpu_allocation_ratio: 16,
      ram_allocation_ratio: 1,
      disk_allocation_ratio: 1,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    })
    .execute()
  if (!spec.noProvider) {
    await placement.syncProviderTree({
      uuid,
      name: spec.host,
      inventories: { VCPU: { total: vcpus, allocationRatio: 16 }, MEMORY_MB: { total: spec.placementMemoryMb ?? memoryMb }, DISK_GB: { total: diskGb } },
      traits: [...(spec.traits ?? [])],
    })
  }
  return uuid
}

/** Empties every table the scheduler tests write, so each test counts only its own hosts. */
export async function clearHosts(db: NovumDb): Promise<void> {
  for (const table of [
    'allocations',
    'consumers',
    'inventories',
    'resource_provider_traits',
    'resource_provider_aggregates',
    'resource_providers',
    'compute_nodes',
    'services',
    'instances',
    'aggregate_metadata',
    'aggregate_hosts',
    'aggregates',
  ] as const) {
    await db.deleteFrom(table).execute()
  }
}
