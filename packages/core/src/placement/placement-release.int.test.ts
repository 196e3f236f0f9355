import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, type NovumDb } from '../db/create-database.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { PlacementService } from './placement-service.js'

/**
 * Releasing allocations never fails for contention: many consumers of one provider deleted at once (a compute host's
 * servers deleted together, each delete a separate conductor call in a multi-process deployment) all succeed, and
 * the provider's generation moves exactly once per release.
 */
const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

describe.each(databaseKindsUnderTest())('PlacementService.deleteAllocations under contention on %s', (kind) => {
  let tdb: TestDatabase
  let db: NovumDb
  let placement: PlacementService

  beforeAll(async () => {
    tdb = await createTestDatabase(kind)
    // a conductor's pool: up to 20 releases in flight at once
    const c = tdb.config
    db = c.kind === 'postgres' || c.kind === 'mysql' ? createDatabase({ ...c, poolSize: 20 }) : tdb.db
    placement = new PlacementService(db)
  })
  afterAll(async () => {
    if (db !== tdb.db) await db.destroy()
    await tdb?.destroy()
  })

  it('releases 200 consumers of one provider concurrently, each exactly once', async () => {
    const rp = uuid(1)
    await placement.syncProviderTree({ uuid: rp, name: 'node-1', inventories: { VCPU: { total: 256, reserved: 0, minUnit: 1, maxUnit: 256, stepSize: 1, allocationRatio: 16 } }, traits: [] })
    const consumers = Array.from({ length: 200 }, (_, i) => uuid(100 + i))
    for (const c of consumers) {
      await placement.putAllocations(c, { allocations: { [rp]: { resources: { VCPU: 1 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
    }
    const before = (await placement.getProvider(rp))!.generation
    const results = await Promise.allSettled(consumers.map((c) => placement.deleteAllocations(c)))
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([])
    expect((await placement.getProvider(rp))?.generation).toBe(before + 200)
    expect(await tdb.db.selectFrom('allocations').selectAll().execute()).toEqual([])
    expect(await tdb.db.selectFrom('consumers').selectAll().execute()).toEqual([])
  })
})
