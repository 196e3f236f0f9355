import { Migrator, NO_MIGRATIONS, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrationProvider } from '../db/migrations/index.js'
import { ComputeError } from '../errors/compute-error.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { STANDARD_RESOURCE_CLASSES } from './names.js'
import { PlacementService } from './placement-service.js'

const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

async function errorOf(p: Promise<unknown>): Promise<ComputeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!ComputeError.is(err)) throw new Error(`expected a ComputeError, got ${String(err)}`)
  return err
}

describe.each(databaseKindsUnderTest())('resource classes on %s', (kind) => {
  let tdb: TestDatabase
  let placement: PlacementService
  let next = 1
  const fresh = (): string => uuid(0x5300 + next++)

  beforeAll(async () => {
    tdb = await createTestDatabase(kind)
    placement = new PlacementService(tdb.db)
  })
  afterAll(async () => {
    await tdb?.destroy()
  })

  async function provider(): Promise<string> {
    const id = fresh()
    await placement.createProvider({ uuid: id, name: `rc-${id}` })
    return id
  }

  it('creates custom classes once and lists them after the standard ones, in creation order', async () => {
    expect(await placement.createResourceClass('CUSTOM_ZEBRA')).toBe('created')
    expect(await placement.createResourceClass('CUSTOM_APPLE')).toBe('created')
    expect(await placement.createResourceClass('CUSTOM_ZEBRA')).toBe('exists')
    expect(await placement.createResourceClass('VCPU')).toBe('exists')
    const all = await placement.listResourceClasses()
    expect(all.slice(0, STANDARD_RESOURCE_CLASSES.size)).toEqual([...STANDARD_RESOURCE_CLASSES])
    expect(all.slice(STANDARD_RESOURCE_CLASSES.size)).toEqual(['CUSTOM_ZEBRA', 'CUSTOM_APPLE'])
    expect(await placement.listCustomResourceClasses()).toEqual(['CUSTOM_APPLE', 'CUSTOM_ZEBRA'])
    expect(await placement.hasResourceClass('CUSTOM_APPLE')).toBe(true)
    expect(await placement.hasResourceClass('MEMORY_MB')).toBe(true)
    expect(await placement.hasResourceClass('CUSTOM_NEVER')).toBe(false)
  })

  it.each(['custom_lower', 'GPU', 'CUSTOM_'])('rejects the invalid name %s', async (name) => {
    expect((await errorOf(placement.createResourceClass(name))).code).toBe('INVALID')
  })

  it('creates a class exactly once under concurrent creations', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => placement.createResourceClass('CUSTOM_RACE')))
    expect(results.filter((r) => r === 'created')).toHaveLength(1)
    expect((await placement.listCustomResourceClasses()).filter((n) => n === 'CUSTOM_RACE')).toHaveLength(1)
  })

  it('refuses an inventory of a custom class that was never created', async () => {
    const id = await provider()
    const err = await errorOf(placement.setInventories(id, 0, { VCPU: { total: 4 }, CUSTOM_GHOST: { total: 1 } }))
    expect(err.code).toBe('INVALID')
    expect(err.message).toBe('no such resource class CUSTOM_GHOST')
    expect(err.details).toMatchObject({ reason: 'unknown_resource_class', resourceClass: 'CUSTOM_GHOST' })
    // Nothing was written: the provider's generation did not move.
    expect((await placement.getInventories(id)).resourceProviderGeneration).toBe(0)
    await placement.createResourceClass('CUSTOM_GHOST')
    expect(Object.keys((await placement.setInventories(id, 0, { VCPU: { total: 4 }, CUSTOM_GHOST: { total: 1 } })).inventories)).toEqual(['CUSTOM_GHOST', 'VCPU'])
  })

  it('creates the custom classes a provider tree report names, as Nova\'s report client does', async () => {
    const id = fresh()
    await placement.syncProviderTree({ uuid: id, name: `sync-${id}`, inventories: { CUSTOM_BAREMETAL_GOLD: { total: 1 } }, traits: [] })
    expect(await placement.hasResourceClass('CUSTOM_BAREMETAL_GOLD')).toBe(true)
  })

  it('deletes an unused custom class; refuses a class in inventory, a standard class and an unknown one', async () => {
    await placement.createResourceClass('CUSTOM_USED')
    await placement.createResourceClass('CUSTOM_UNUSED')
    const id = await provider()
    await placement.setInventories(id, 0, { CUSTOM_USED: { total: 2 } })
    expect((await errorOf(placement.deleteResourceClass('CUSTOM_USED'))).code).toBe('CONFLICT')
    expect((await errorOf(placement.deleteResourceClass('VCPU'))).code).toBe('INVALID')
    expect((await errorOf(placement.deleteResourceClass('CUSTOM_NOBODY'))).code).toBe('NOT_FOUND')
    await placement.deleteResourceClass('CUSTOM_UNUSED')
    expect(await placement.hasResourceClass('CUSTOM_UNUSED')).toBe(false)
    // Once no inventory names it, the class can go.
    await placement.setInventories(id, 1, {})
    await placement.deleteResourceClass('CUSTOM_USED')
    expect(await placement.listCustomResourceClasses()).not.toContain('CUSTOM_USED')
  })

  it('renames a class with its inventories and allocations, and candidates follow', async () => {
    await placement.createResourceClass('CUSTOM_OLD_NAME')
    await placement.createResourceClass('CUSTOM_TAKEN')
    const id = await provider()
    await placement.setInventories(id, 0, { CUSTOM_OLD_NAME: { total: 4 } })
    const consumer = fresh()
    await placement.putAllocations(consumer, { allocations: { [id]: { resources: { CUSTOM_OLD_NAME: 1 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
    const query = (rc: string) => placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { [rc]: 1 } }] })
    expect((await query('CUSTOM_OLD_NAME')).allocationRequests).toHaveLength(1)

    expect((await errorOf(placement.renameResourceClass('CUSTOM_OLD_NAME', 'CUSTOM_TAKEN'))).code).toBe('CONFLICT')
    expect((await errorOf(placement.renameResourceClass('VCPU', 'CUSTOM_VCPU'))).code).toBe('INVALID')
    expect((await errorOf(placement.renameResourceClass('CUSTOM_MISSING', 'CUSTOM_OTHER'))).code).toBe('NOT_FOUND')
    await placement.renameResourceClass('CUSTOM_OLD_NAME', 'CUSTOM_NEW_NAME')

    expect(await placement.hasResourceClass('CUSTOM_OLD_NAME')).toBe(false)
    expect(Object.keys((await placement.getInventories(id)).inventories)).toEqual(['CUSTOM_NEW_NAME'])
    expect((await placement.getAllocations(consumer)).allocations[id]?.resources).toEqual({ CUSTOM_NEW_NAME: 1 })
    expect((await query('CUSTOM_OLD_NAME')).allocationRequests).toEqual([])
    const renamed = await query('CUSTOM_NEW_NAME')
    expect(renamed.providerSummaries[id]?.resources).toEqual({ CUSTOM_NEW_NAME: { capacity: 4, used: 1 } })
  })

  it('keeps classes in the database: a new service instance on the same database sees them', async () => {
    await placement.createResourceClass('CUSTOM_PERSISTED')
    const other = new PlacementService(tdb.db)
    expect(await other.hasResourceClass('CUSTOM_PERSISTED')).toBe(true)
    expect(await other.listResourceClasses()).toContain('CUSTOM_PERSISTED')
    expect(await other.createResourceClass('CUSTOM_PERSISTED')).toBe('exists')
  })
})

describe.each(databaseKindsUnderTest())('migration 0003-resource-classes on %s', (kind) => {
  let tdb: TestDatabase
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, { migrate: false })
  })
  afterAll(async () => {
    await tdb?.destroy()
  })

  it('creates the table with the custom classes inventories and allocations already use, and drops it again', async () => {
    const migrator = new Migrator({ db: tdb.db, provider: migrationProvider, migrationTableName: 'novum_migrations', migrationLockTableName: 'novum_migrations_lock' })
    expect((await migrator.migrateTo('0002-instance-resources')).error).toBeUndefined()
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema before 0003 has no resource_classes table
    const db = tdb.db as unknown as Kysely<any>
    const now = new Date().toISOString()
    await db.insertInto('resource_providers').values({ uuid: uuid(0x5390), name: 'pre-0003', generation: 0, root_provider_id: null, parent_provider_id: null, created_at: now }).execute()
    const rp = (await db.selectFrom('resource_providers').select('id').executeTakeFirstOrThrow()) as { id: number }
    const inv = (rc: string) => ({ resource_provider_id: rp.id, resource_class: rc, total: 4, reserved: 0, min_unit: 1, max_unit: 4, step_size: 1, allocation_ratio: 1, created_at: now })
    await db.insertInto('inventories').values([inv('VCPU'), inv('CUSTOM_FROM_INVENTORY')]).execute()
    await db
      .insertInto('allocations')
      .values([
        { resource_provider_id: rp.id, consumer_id: uuid(0x5391), resource_class: 'CUSTOM_FROM_INVENTORY', used: 1, created_at: now },
        { resource_provider_id: rp.id, consumer_id: uuid(0x5391), resource_class: 'CUSTOM_ONLY_ALLOCATED', used: 1, created_at: now },
      ])
      .execute()

    expect((await migrator.migrateToLatest()).error).toBeUndefined()
    const placement = new PlacementService(tdb.db)
    expect(await placement.listCustomResourceClasses()).toEqual(['CUSTOM_FROM_INVENTORY', 'CUSTOM_ONLY_ALLOCATED'])
    expect(await placement.createResourceClass('CUSTOM_FROM_INVENTORY')).toBe('exists')

    expect((await migrator.migrateTo('0002-instance-resources')).error).toBeUndefined()
    expect((await tdb.db.introspection.getTables()).map((t) => t.name)).not.toContain('resource_classes')
    expect((await migrator.migrateToLatest()).error).toBeUndefined()
    expect(await new PlacementService(tdb.db).listCustomResourceClasses()).toEqual(['CUSTOM_FROM_INVENTORY', 'CUSTOM_ONLY_ALLOCATED'])
    expect((await migrator.migrateTo(NO_MIGRATIONS)).error).toBeUndefined()
  })
})
