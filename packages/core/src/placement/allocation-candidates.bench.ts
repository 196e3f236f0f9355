/*
 * Benchmark of the allocation-candidates query: 1,000 single-root providers with VCPU, MEMORY_MB and DISK_GB,
 * 20 traits and 5 consumers each, and a Nova-like request (three classes, root_required !COMPUTE_STATUS_DISABLED,
 * limit 1000). Target: ≤ 5 ms per query on SQLite.
 *
 * Run: cd packages/core && npx tsx src/placement/allocation-candidates.bench.ts [sqlite|postgres|mysql] [providers]
 */
import { createTestDatabase, type DatabaseKind } from '../testing/test-databases.js'
import { PlacementService } from './placement-service.js'
import { STANDARD_TRAITS } from './standard-traits.js'

const kind = (process.argv[2] ?? 'sqlite') as DatabaseKind
const count = Number(process.argv[3] ?? 1000)
const tdb = await createTestDatabase(kind)
const db = tdb.db
const now = new Date().toISOString()
const traitNames = [...STANDARD_TRAITS].filter((t) => t.startsWith('HW_CPU_X86')).slice(0, 20)
try {
  await db.insertInto('traits').values([...traitNames, 'COMPUTE_STATUS_DISABLED'].map((name) => ({ name, created_at: now }))).execute()
  const traitIds = await db.selectFrom('traits').select(['id', 'name']).execute()
  const disabledId = traitIds.find((t) => t.name === 'COMPUTE_STATUS_DISABLED')?.id as number
  const batch = 200
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start)
    await db
      .insertInto('resource_providers')
      .values(Array.from({ length: n }, (_, k) => ({ uuid: crypto.randomUUID(), name: `node-${start + k}`, generation: 1, root_provider_id: null, parent_provider_id: null, created_at: now, updated_at: null })))
      .execute()
  }
  await db.updateTable('resource_providers').set((eb) => ({ root_provider_id: eb.ref('id') })).execute()
  const ids = (await db.selectFrom('resource_providers').select('id').orderBy('id').execute()).map((r) => r.id)
  const inv = (id: number, rc: string, total: number, ratio: number) => ({ resource_provider_id: id, resource_class: rc, total, reserved: 0, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio: ratio, created_at: now, updated_at: null })
  for (let i = 0; i < ids.length; i += batch) {
    const part = ids.slice(i, i + batch)
    await db.insertInto('inventories').values(part.flatMap((id) => [inv(id, 'VCPU', 32, 16), inv(id, 'MEMORY_MB', 131072, 1.5), inv(id, 'DISK_GB', 2000, 1)])).execute()
    await db.insertInto('resource_provider_traits').values(part.flatMap((id) => traitIds.filter((t) => t.id !== disabledId).map((t) => ({ resource_provider_id: id, trait_id: t.id })))).execute()
    const allocs = part.flatMap((id) =>
      Array.from({ length: 5 }, () => {
        const consumer = crypto.randomUUID()
        return [
          { resource_provider_id: id, consumer_id: consumer, resource_class: 'VCPU', used: 2, created_at: now, updated_at: null },
          { resource_provider_id: id, consumer_id: consumer, resource_class: 'MEMORY_MB', used: 4096, created_at: now, updated_at: null },
          { resource_provider_id: id, consumer_id: consumer, resource_class: 'DISK_GB', used: 40, created_at: now, updated_at: null },
        ]
      }).flat(),
    )
    await db.insertInto('allocations').values(allocs).execute()
  }
  // A few disabled hosts, as in a real cloud.
  await db.insertInto('resource_provider_traits').values(ids.filter((_, i) => i % 50 === 0).map((id) => ({ resource_provider_id: id, trait_id: disabledId }))).execute()

  const placement = new PlacementService(db)
  const request = { groups: [{ suffix: '', resources: { VCPU: 2, MEMORY_MB: 4096, DISK_GB: 40 } }], rootRequired: ['!COMPUTE_STATUS_DISABLED'], limit: 1000 }
  for (let i = 0; i < 20; i++) await placement.getAllocationCandidates(request)
  const runs = 100
  const times: number[] = []
  let candidates = 0
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    const result = await placement.getAllocationCandidates(request)
    times.push(performance.now() - t0)
    candidates = result.allocationRequests.length
  }
  // The scheduler's pattern: a claim between two queries, so one provider is reloaded each time.
  const afterClaim: number[] = []
  for (let i = 0; i < 50; i++) {
    const first = (await placement.getAllocationCandidates(request)).allocationRequests[i]
    if (first) await placement.putAllocations(crypto.randomUUID(), { allocations: first.allocations, projectId: 'p', userId: 'u', consumerGeneration: null })
    const t0 = performance.now()
    await placement.getAllocationCandidates(request)
    afterClaim.push(performance.now() - t0)
  }
  const cold = new PlacementService(db)
  const t0 = performance.now()
  await cold.getAllocationCandidates(request)
  const coldMs = performance.now() - t0
  const pct = (list: number[], p: number): string => ([...list].sort((a, b) => a - b)[Math.floor((list.length - 1) * p)] as number).toFixed(2)
  console.log(
    `${kind}: ${count} providers → ${candidates} candidates; unchanged: median ${pct(times, 0.5)} ms, p90 ${pct(times, 0.9)} ms; ` +
      `after a claim: median ${pct(afterClaim, 0.5)} ms, p90 ${pct(afterClaim, 0.9)} ms; cold cache ${coldMs.toFixed(1)} ms`,
  )
} finally {
  await tdb.destroy()
}
