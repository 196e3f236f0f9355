import { DatabaseHostStateSource, PlacementService } from '../../src/index.js'
import { createTestDatabase } from '../../src/testing/index.js'
const { seedDatabase } = (await import('../scheduler.js')) as unknown as { seedDatabase: (db: unknown, n: number) => Promise<void> }
const tdb = await createTestDatabase('sqlite')
await seedDatabase(tdb.db, 1000)
const placement = new PlacementService(tdb.db)
const hs = new DatabaseHostStateSource(tdb.db)
const q = { groups: [{ suffix: '', resources: { VCPU: 1, MEMORY_MB: 2048, DISK_GB: 20 } }], rootRequired: ['!COMPUTE_STATUS_DISABLED'], limit: 1000 }
const time = async (label: string, f: () => Promise<unknown>) => {
  for (let i = 0; i < 20; i++) await f()
  const t0 = performance.now()
  for (let i = 0; i < 100; i++) await f()
  console.log(label, ((performance.now() - t0) / 100).toFixed(2), 'ms')
}
const c = await placement.getAllocationCandidates(q)
const uuids = c.allocationRequests.map((a) => Object.keys(a.allocations)[0]!)
await time('candidates', () => placement.getAllocationCandidates(q))
await time('hoststates', () => hs.getHostStates(uuids, { traits: (u) => c.providerSummaries[u]?.traits }))
let n = 0
await time('claim+delete', async () => { const id = `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}`; await placement.putAllocations(id, { allocations: c.allocationRequests[n % 1000]!.allocations, projectId: 'p', userId: 'u', consumerGeneration: null }); await placement.deleteAllocations(id) })
await time('candidates after claims', () => placement.getAllocationCandidates(q))
const db = tdb.db
const list = uuids
const hostList = (await db.selectFrom('compute_nodes').select('host').execute()).map((r) => r.host)
const hostsOf = () => hostList
await time('q versions', () => db.selectFrom('compute_nodes').select(['uuid', 'updated_at']).where('uuid', 'in', list).where('deleted_at', 'is', null).execute())
await time('q services', () => db.selectFrom('services').select(['host', 'disabled', 'disabled_reason', 'forced_down', 'last_seen_up', 'updated_at', 'created_at']).where('binary', '=', 'nova-compute').where('deleted_at', 'is', null).where('host', 'in', hostsOf()).execute())
await time('q aggs', () => db.selectFrom('aggregate_hosts as ah').innerJoin('aggregates as a', 'a.id', 'ah.aggregate_id').select(['ah.host', 'a.id']).where('ah.host', 'in', hostsOf()).execute())
await time('q instances', () => db.selectFrom('instances').select(['uuid', 'host', 'node']).where('host', 'in', hostsOf()).where('deleted', '=', 0).orderBy('id').execute())
await time('q services all', () => db.selectFrom('services').select(['host', 'disabled', 'disabled_reason', 'forced_down', 'last_seen_up', 'updated_at', 'created_at']).where('binary', '=', 'nova-compute').where('deleted_at', 'is', null).execute())
await time('compile only', async () => db.selectFrom('compute_nodes').select(['uuid', 'updated_at']).where('uuid', 'in', list).where('deleted_at', 'is', null).compile())
