import { DatabaseHostStateSource, PlacementService } from '../../src/index.js'
import { createTestDatabase } from '../../src/testing/index.js'
const { seedDatabase } = (await import('../scheduler.js')) as unknown as { seedDatabase: (db: unknown, n: number) => Promise<void> }
const tdb = await createTestDatabase('sqlite')
await seedDatabase(tdb.db, 1000)
const placement = new PlacementService(tdb.db)
const hs = new DatabaseHostStateSource(tdb.db)
const q = { groups: [{ suffix: '', resources: { VCPU: 1, MEMORY_MB: 2048, DISK_GB: 20 } }], rootRequired: ['!COMPUTE_STATUS_DISABLED'], limit: 1000 }
const c = await placement.getAllocationCandidates(q)
const uuids = c.allocationRequests.map((a) => Object.keys(a.allocations)[0]!)
const t0 = performance.now()
let n = 0
while (performance.now() - t0 < 5000) { await hs.getHostStates(uuids, { traits: (u) => c.providerSummaries[u]?.traits }); n++ }
console.log((5000 / n).toFixed(2), 'ms each')
