import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { migrateDownToZero, migrateToLatest } from './migrate.js'
import { migrations } from './migrations/index.js'

describe.each(databaseKindsUnderTest())('migrations on %s', (kind) => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDatabase(kind, { migrate: false })
  })
  afterAll(async () => {
    await t?.destroy()
  })

  const tableNames = async () => (await t.db.introspection.getTables()).map((x) => x.name).filter((n) => !n.startsWith('novum_migrations'))

  it('runs up, down and up again', async () => {
    const up = await migrateToLatest(t.db)
    expect(up.results?.map((r) => r.status)).toEqual(Object.keys(migrations).map(() => 'Success'))
    expect(await tableNames()).toContain('instances')
    expect(await tableNames()).toHaveLength(34)

    await migrateDownToZero(t.db)
    expect(await tableNames()).toEqual([])

    await migrateToLatest(t.db)
    expect((await tableNames()).sort()).toContain('resource_providers')
    expect(await tableNames()).toHaveLength(34)
  })

  it('fills the instance size columns of existing rows when 0002 runs', async () => {
    const { Migrator } = await import('kysely')
    const { migrationProvider } = await import('./migrations/index.js')
    const m = new Migrator({ db: t.db, provider: migrationProvider, migrationTableName: 'novum_migrations', migrationLockTableName: 'novum_migrations_lock' })
    const { NO_MIGRATIONS } = await import('kysely')
    expect((await m.migrateTo(NO_MIGRATIONS)).error).toBeUndefined()
    expect((await m.migrateTo('0001-initial')).error).toBeUndefined()
    const now = new Date().toISOString()
    const flavor = { id: '3', name: 'm1.medium', memoryMb: 4096, vcpus: 2, rootGb: 40, ephemeralGb: 5 }
    await (t.db as unknown as import('kysely').Kysely<any>).insertInto('instances').values({
      uuid: '00000000-0000-4000-8000-00000000b001', display_name: 'old', hostname: 'old', project_id: 'p', user_id: 'u', image_ref: 'i',
      flavor: JSON.stringify(flavor), vm_state: 'active', power_state: 1, metadata: '{}', system_metadata: '{}', networks: '"none"',
      config_drive: '', progress: 0, locked: 0, reservation_id: 'r-1', launch_index: 0, created_at: now,
    }).execute()
    expect((await m.migrateToLatest()).error).toBeUndefined()
    const row = await t.db.selectFrom('instances').select(['vcpus', 'memory_mb', 'root_gb', 'ephemeral_gb']).executeTakeFirstOrThrow()
    expect(row).toEqual({ vcpus: 2, memory_mb: 4096, root_gb: 40, ephemeral_gb: 5 })
    await t.db.deleteFrom('instances').execute()
  })

  it('round-trips the portable column types', async () => {
    const now = new Date().toISOString()
    await t.db
      .insertInto('compute_nodes')
      .values({
        uuid: crypto.randomUUID(), host: 'h1', hypervisor_hostname: 'h1', hypervisor_type: 'fake', hypervisor_version: 9_000_000_000,
        vcpus: 32, memory_mb: 131072, local_gb: 2000, vcpus_used: 0, memory_mb_used: 0, local_gb_used: 0, free_ram_mb: 131072,
        free_disk_gb: 2000, disk_available_least: 2000, current_workload: 0, running_vms: 0, host_ip: null, cpu_info: '{}',
        supported_instances: '[]', stats: '{}', metrics: '{}', cpu_allocation_ratio: 16, ram_allocation_ratio: 1.5,
        disk_allocation_ratio: 1, created_at: now, updated_at: null, deleted_at: null, service_id: null,
      })
      .execute()
    const row = await t.db.selectFrom('compute_nodes').selectAll().where('host', '=', 'h1').executeTakeFirstOrThrow()
    expect(row.hypervisor_version).toBe(9_000_000_000)
    expect(row.ram_allocation_ratio).toBe(1.5)
    expect(typeof row.id).toBe('number')
    expect(row.created_at).toBe(now)
    const count = await sql<{ n: number }>`select count(*) as n from compute_nodes`.execute(t.db)
    expect(Number(count.rows[0]?.n)).toBe(1)
  })
})
