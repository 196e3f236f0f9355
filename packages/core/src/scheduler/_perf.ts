import { createTestDatabase } from '../testing/test-databases.js'
import { PlacementService } from '../placement/placement-service.js'
import { SchedulerManager } from './scheduler-manager.js'
import { DatabaseHostStateSource } from './host-state-source.js'
import { seedHost, testClock } from './seed-hosts.test-helper.js'
import { makeRequestSpec } from '../testing/scheduler-fixtures.js'
import { createAdminContext } from '../context.js'
import { buildAllocationCandidatesRequest } from './resource-request.js'
import { prepareFilters, runFilters } from './filter-runner.js'
import { prepareWeighers, weighHosts } from './weigh.js'
const tdb = await createTestDatabase((process.argv[2] ?? 'sqlite') as 'sqlite')
const placement = new PlacementService(tdb.db)
for (let i = 0; i < 1000; i++) await seedHost(tdb.db, placement, { host: `h${i}` })
const s = new SchedulerManager({ db: tdb.db, placement, clock: testClock })
const src = new DatabaseHostStateSource(tdb.db, { clock: testClock })
const ctx = createAdminContext()
async function time(label: string, f: () => Promise<unknown> | unknown) {
  for (let i = 0; i < 5; i++) await f()
  const t: number[] = []
  for (let i = 0; i < 20; i++) { const t0 = performance.now(); await f(); t.push(performance.now() - t0) }
  t.sort((a, b) => a - b)
  console.log(label.padEnd(30), t[10]!.toFixed(2), 'ms')
}
const spec = makeRequestSpec()
const q = buildAllocationCandidatesRequest(spec)
const cands = await placement.getAllocationCandidates(q)
const uuids = [...new Set(cands.allocationRequests.map((a) => Object.keys(a.allocations)[0]!))]
await time('candidates', () => placement.getAllocationCandidates(q))
await time('host states', () => src.getHostStates(uuids))
const states = await src.getHostStates(uuids)
const filters = await prepareFilters(s.profile.filters, spec)
const weighers = await prepareWeighers(s.profile.weighers, spec)
await time('filters', () => runFilters(filters, states, spec, { instanceUuid: 'x', instanceIndex: 0 }))
await time('weigh', () => weighHosts(weighers, states, spec, { instanceUuid: 'x', instanceIndex: 0 }))
await time('claim+delete', async () => { const c = crypto.randomUUID(); await placement.putAllocations(c, { allocations: cands.allocationRequests[0]!.allocations, projectId: 'p', userId: 'u', consumerGeneration: null }); await placement.deleteAllocations(c) })
await time('selectDestinations', () => s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [crypto.randomUUID()] }), { returnAlternates: true }))
await tdb.destroy()
