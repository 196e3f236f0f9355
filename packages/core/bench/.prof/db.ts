import { createAdminContext, PlacementService, SchedulerManager } from '../../src/index.js'
import { createTestDatabase, makeRequestSpec } from '../../src/testing/index.js'
import bench from '../scheduler.js'
void bench
const { seedDatabase } = (await import('../scheduler.js')) as unknown as { seedDatabase: (db: unknown, n: number) => Promise<void> }
const tdb = await createTestDatabase('sqlite')
await seedDatabase(tdb.db, 1000)
const s = new SchedulerManager({ db: tdb.db, placement: new PlacementService(tdb.db) })
const ctx = createAdminContext('x')
let seq = 0
const t0 = performance.now()
let runs = 0
while (performance.now() - t0 < 5000) {
  await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: ['00000000-0000-4000-8000-' + (++seq).toString(16).padStart(12, '0')] }), { returnAlternates: true })
  runs++
}
console.log(runs / 5, 'per s')
