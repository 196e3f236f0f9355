/**
 * `pnpm bench scheduler`: scheduling decisions per second with the default filters and weighers.
 *
 * - In process, over in-memory host states (1,000 / 5,000 / 10,000 / 100,000 hosts), explanations on and off: the
 *   whole `SchedulerManager.selectDestinations` (request filters, candidates indexed by host, host states, filters,
 *   weighers, pick, claim, explanation) with a Placement that returns every host as a candidate and accepts every
 *   claim, so the figure is the scheduler's own cost.
 * - With Placement on SQLite: the same call against `PlacementService` and the database host states (real
 *   allocation-candidates queries and claims) at 1,000 and 5,000 hosts.
 * - The spread of one 50-server multi-create over 10 identical idle hosts (SQLite, default weighers).
 */
import { defineBenchmark, median, type BenchFigure } from '../../../scripts/bench-api.js'
import {
  createAdminContext, PlacementService, SchedulerManager, type AllocationCandidates, type AllocationCandidatesRequest, type ConsumerAllocations, type HostState,
  type HostStateSource, type NovumDb, type PlacementClient, type ProviderTreeReport, type PutAllocationsRequest, type ResourceProvider,
} from '../src/index.js'
import { createTestDatabase, makeHostState, makeRequestSpec, uuidFromName } from '../src/testing/index.js'

const ctx = createAdminContext('req-bench')
let seq = 0
const nextInstance = (): string => `00000000-0000-4000-8000-${(++seq).toString(16).padStart(12, '0')}`

/** Host states held in memory, returned in the order asked. */
export class MemoryHostStates implements HostStateSource {
  private readonly byUuid: Map<string, HostState>
  constructor(readonly hosts: readonly HostState[]) {
    this.byUuid = new Map(hosts.map((h) => [h.uuid, h]))
  }
  async getHostStates(uuids: readonly string[]): Promise<HostState[]> {
    const out: HostState[] = []
    for (const u of uuids) {
      const h = this.byUuid.get(u)
      if (h) out.push(h)
    }
    return out
  }
  async getHostStatesByHost(host: string): Promise<HostState[]> {
    return this.hosts.filter((h) => h.host === host)
  }
}

/**
 * A Placement that offers every host, in order, up to the query's `limit` (as Placement does: the first N), and
 * accepts every claim: the scheduler's own cost is measured, not Placement's.
 */
export class EveryHostPlacement implements PlacementClient {
  private readonly answer: AllocationCandidates
  private readonly limited = new Map<number, AllocationCandidates>()
  constructor(hosts: readonly HostState[]) {
    const resources = { VCPU: { capacity: 512, used: 0 }, MEMORY_MB: { capacity: 196_608, used: 0 }, DISK_GB: { capacity: 2000, used: 0 } }
    this.answer = {
      allocationRequests: hosts.map((h) => ({ allocations: { [h.uuid]: { resources: { VCPU: 1, MEMORY_MB: 2048, DISK_GB: 20 } } }, mappings: { '': [h.uuid] } })),
      providerSummaries: Object.fromEntries(hosts.map((h) => [h.uuid, { resources, traits: [], parentProviderUuid: null, rootProviderUuid: h.uuid }])),
    }
  }
  async getProvider(): Promise<ResourceProvider | null> {
    return null
  }
  async syncProviderTree(report: ProviderTreeReport): Promise<ResourceProvider> {
    return { uuid: report.uuid, name: report.name, generation: 0, parentProviderUuid: null, rootProviderUuid: report.uuid }
  }
  async getAllocationCandidates(request: AllocationCandidatesRequest): Promise<AllocationCandidates> {
    const limit = request.limit ?? Number.POSITIVE_INFINITY
    if (limit >= this.answer.allocationRequests.length) return this.answer
    let cut = this.limited.get(limit)
    if (!cut) {
      const allocationRequests = this.answer.allocationRequests.slice(0, limit)
      const providerSummaries = Object.fromEntries(allocationRequests.map((ar) => Object.keys(ar.allocations)).flat().map((u) => [u, this.answer.providerSummaries[u]]))
      this.limited.set(limit, (cut = { allocationRequests, providerSummaries } as AllocationCandidates))
    }
    return cut
  }
  async getAllocations(): Promise<ConsumerAllocations> {
    return { allocations: {}, consumerGeneration: null, projectId: null, userId: null }
  }
  async putAllocations(_consumer: string, _request: PutAllocationsRequest): Promise<void> {}
  async deleteAllocations(): Promise<void> {}
}

/** `n` hosts that differ in free RAM, used vCPUs and I/O, with 1 % disabled, as a real cloud's would. */
export function makeHosts(n: number): HostState[] {
  const base = makeHostState()
  return Array.from({ length: n }, (_, i) => {
    const name = `node-${i}`
    return {
      ...base,
      host: name,
      nodename: name,
      hypervisorHostname: name,
      uuid: uuidFromName(name),
      freeRamMb: 4096 + ((i * 7919) % 28_672),
      vcpusUsed: (i * 31) % 16,
      numIoOps: i % 5,
      numInstances: i % 40,
      service: i % 100 === 0 ? { ...base.service, disabled: true, disabledReason: 'maintenance' } : base.service,
    }
  })
}


/** Runs decisions for about `budgetMs` (at least `min`, at most `max`); returns decisions/s and the median latency. */
async function measure(decide: () => Promise<unknown>, budgetMs: number, min: number, max: number): Promise<{ perSecond: number; medianMs: number; runs: number }> {
  for (let i = 0; i < Math.min(3, min); i++) await decide()
  const times: number[] = []
  const started = performance.now()
  while (times.length < max && (times.length < min || performance.now() - started < budgetMs)) {
    const t0 = performance.now()
    await decide()
    times.push(performance.now() - t0)
  }
  const elapsed = performance.now() - started
  return { perSecond: (times.length / elapsed) * 1000, medianMs: median(times), runs: times.length }
}

/** Seeds `n` compute hosts straight into the database (services, compute nodes, root providers with inventories). */
export async function seedDatabase(db: NovumDb, n: number, options: { identical?: boolean } = {}): Promise<void> {
  const now = new Date().toISOString()
  const batch = 200
  for (let start = 0; start < n; start += batch) {
    const names = Array.from({ length: Math.min(batch, n - start) }, (_, k) => `db-node-${start + k}`)
    await db
      .insertInto('services')
      .values(names.map((host) => ({
        uuid: uuidFromName(`svc:${host}`), host, binary: 'nova-compute', topic: 'compute', report_count: 1, disabled: 0, disabled_reason: null, forced_down: 0,
        last_seen_up: now, version: 1, created_at: now, updated_at: now, deleted_at: null,
      })))
      .execute()
    const services = await db.selectFrom('services').select(['id', 'host']).where('host', 'in', names).execute()
    const serviceId = new Map(services.map((s) => [s.host, s.id]))
    await db
      .insertInto('compute_nodes')
      .values(names.map((host, k) => {
        const i = start + k
        const free = options.identical ? 131_072 : 65_536 + ((i * 7919) % 65_536)
        return {
          uuid: uuidFromName(`node:${host}`), service_id: serviceId.get(host) ?? null, host, hypervisor_hostname: host, hypervisor_type: 'QEMU', hypervisor_version: 6_002_000,
          vcpus: 32, memory_mb: 131_072, local_gb: 2000, vcpus_used: 0, memory_mb_used: 131_072 - free, local_gb_used: 0, free_ram_mb: free, free_disk_gb: 2000,
          disk_available_least: 2000, current_workload: 0, running_vms: 0, host_ip: '192.0.2.1', cpu_info: JSON.stringify({ arch: 'x86_64' }),
          supported_instances: JSON.stringify([['x86_64', 'qemu', 'hvm']]), stats: JSON.stringify({ num_instances: '0', io_workload: '0', failed_builds: '0' }), metrics: '[]',
          cpu_allocation_ratio: 16, ram_allocation_ratio: 1.5, disk_allocation_ratio: 1, created_at: now, updated_at: now, deleted_at: null,
        }
      }))
      .execute()
    await db
      .insertInto('resource_providers')
      .values(names.map((host) => ({ uuid: uuidFromName(`node:${host}`), name: host, generation: 1, root_provider_id: null, parent_provider_id: null, created_at: now, updated_at: null })))
      .execute()
  }
  await db.updateTable('resource_providers').set((eb) => ({ root_provider_id: eb.ref('id') })).execute()
  const ids = (await db.selectFrom('resource_providers').select('id').orderBy('id').execute()).map((r) => r.id)
  const inv = (id: number, rc: string, total: number, ratio: number, reserved = 0) => ({
    resource_provider_id: id, resource_class: rc, total, reserved, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio: ratio, created_at: now, updated_at: null,
  })
  for (let i = 0; i < ids.length; i += batch) {
    await db.insertInto('inventories').values(ids.slice(i, i + batch).flatMap((id) => [inv(id, 'VCPU', 32, 16), inv(id, 'MEMORY_MB', 131_072, 1.5, 512), inv(id, 'DISK_GB', 2000, 1)])).execute()
  }
}

export default defineBenchmark({
  description: 'scheduler: decisions/s with the default filters and weighers (in process and with Placement on SQLite), and the spread of a 50-server batch',
  async run({ log }) {
    const figures: BenchFigure[] = []
    const spec = () => makeRequestSpec({ instanceUuids: [nextInstance()] })

    // Nova's default `max_placement_results` (1000) caps the hosts one decision weighs; "every host" lifts the cap.
    for (const n of [1_000, 5_000, 10_000, 100_000]) {
      const hosts = makeHosts(n)
      const placement = new EveryHostPlacement(hosts)
      const states = new MemoryHostStates(hosts)
      for (const everyHost of n > 1_000 ? [false, true] : [false]) {
        for (const explain of [true, false]) {
          const config = { explain, ...(everyHost ? { maxPlacementResults: n } : {}) }
          const scheduler = new SchedulerManager({ placement, hostStates: states, config })
          const big = everyHost && n >= 100_000
          const r = await measure(() => scheduler.selectDestinations(ctx, spec(), { returnAlternates: true }), big ? 3000 : 2000, big ? 10 : 50, big ? 60 : 50_000)
          const scope = everyHost ? 'every host weighed' : 'Placement limit 1000 (Nova default)'
          log(`${n} hosts, ${scope}, explanations ${explain ? 'on' : 'off'}: ${r.perSecond.toFixed(0)} decisions/s, median ${r.medianMs.toFixed(3)} ms (${r.runs} runs)`)
          const label = `${n.toLocaleString('en-US')} hosts in process, ${scope}, explanations ${explain ? 'on' : 'off'}`
          const note = `median ${r.medianMs.toFixed(2)} ms per decision, ${r.runs} decisions`
          if (n === 5_000) figures.push({ figure: `decisions/s at ${label}`, value: Math.round(r.perSecond), unit: 'decisions/s', target: '≥ 2,000/s', met: r.perSecond >= 2000, note })
          else if (n === 100_000) figures.push({ figure: `one decision at ${label}, median`, value: Number(r.medianMs.toFixed(2)), unit: 'ms', target: '≤ 50 ms', met: r.medianMs <= 50, note: `${Math.round(r.perSecond)} decisions/s, ${r.runs} decisions` })
          else figures.push({ figure: `decisions/s at ${label}`, value: Math.round(r.perSecond), unit: 'decisions/s', note })
        }
      }
    }

    for (const n of [1_000, 5_000]) {
      const tdb = await createTestDatabase('sqlite')
      try {
        log(`seeding ${n} hosts in SQLite`)
        await seedDatabase(tdb.db, n)
        const placement = new PlacementService(tdb.db)
        const scheduler = new SchedulerManager({ db: tdb.db, placement })
        const r = await measure(() => scheduler.selectDestinations(ctx, spec(), { returnAlternates: true }), 3000, 30, 2000)
        log(`${n} hosts with Placement on SQLite: ${r.perSecond.toFixed(0)} decisions/s, median ${r.medianMs.toFixed(2)} ms (${r.runs} runs, each claimed)`)
        figures.push({
          figure: `decisions/s at ${n.toLocaleString('en-US')} hosts, Placement + host states on SQLite, explanations on`,
          value: Math.round(r.perSecond),
          unit: 'decisions/s',
          note: `median ${r.medianMs.toFixed(2)} ms; each decision queries candidates (limit 1000) and claims`,
        })
      } finally {
        await tdb.destroy()
      }
    }

    const tdb = await createTestDatabase('sqlite')
    try {
      await seedDatabase(tdb.db, 10, { identical: true })
      const scheduler = new SchedulerManager({ db: tdb.db, placement: new PlacementService(tdb.db) })
      const batch = makeRequestSpec({ instanceUuids: Array.from({ length: 50 }, nextInstance), flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } })
      const result = await scheduler.selectDestinations(ctx, batch, { returnAlternates: true })
      const perHost = new Map<string, number>()
      for (const list of result.selections) perHost.set(list[0]?.serviceHost ?? '?', (perHost.get(list[0]?.serviceHost ?? '?') ?? 0) + 1)
      const counts = [...perHost.values()].sort((a, b) => b - a)
      log(`50 × m1.tiny over 10 idle hosts: ${perHost.size} hosts used, per host ${counts.join('/')}`)
      figures.push({ figure: 'spread of a 50-server batch over 10 identical idle hosts (default weighers)', value: perHost.size, unit: 'hosts', target: 'all 10 used', met: perHost.size === 10, note: `servers per host: ${counts.join('/')}` })
    } finally {
      await tdb.destroy()
    }
    return figures
  },
})
