import type { NovumDb } from '../db/create-database.js'
import type { HostAggregate, HostState, SupportedInstance } from '../model/host-state.js'
import { type Clock, systemClock } from '../util/clock.js'

/**
 * Where the scheduler gets `HostState`s (Nova `HostManager.get_host_states_by_uuids`). The scheduler asks only
 * for the compute nodes Placement returned, once per request.
 */
export interface HostStateSource {
  /** Host states of these compute nodes (= root provider uuids), in the order given; unknown or deleted nodes are left out. */
  getHostStates(computeNodeUuids: readonly string[]): Promise<HostState[]>
  /** Host states of the nodes of one compute host (or one node of it), e.g. for a same-host rebuild. */
  getHostStatesByHost(host: string, nodename?: string | null): Promise<HostState[]>
}

/** Options of {@link DatabaseHostStateSource}. */
export interface DatabaseHostStateSourceConfig {
  /** @default systemClock */
  readonly clock?: Clock
  /** A service is down after this long without a heartbeat (Nova `service_down_time`). @default 60 */
  readonly serviceDownTimeSec?: number
}

const MAX_IN_LIST = 5_000

function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (!text) return fallback
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

function metricsOf(text: string): Record<string, number> {
  const raw = parseJson<unknown>(text, {})
  const out: Record<string, number> = {}
  // Nova stores metrics as a list of {name, value}; accept that and a plain object.
  if (Array.isArray(raw)) {
    for (const m of raw) if (m && typeof m === 'object' && typeof m.name === 'string' && Number.isFinite(Number(m.value))) out[m.name] = Number(m.value)
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) if (Number.isFinite(Number(v))) out[k] = Number(v)
  }
  return out
}

/**
 * Builds `HostState`s from the database with a fixed number of queries, whatever the number of hosts (for up to
 * 5,000 nodes per call): compute nodes, their services, aggregates with metadata, instances per node, and the
 * traits of their resource providers, all keyed on the requested node uuids. A service is up when it is not forced
 * down and its last heartbeat (`last_seen_up`, else `updated_at`, else `created_at`) is within
 * `serviceDownTimeSec` of the clock. Usage comes from the compute node record and its stats (`num_instances`,
 * `io_workload`, `failed_builds`), as in Nova, not from Placement.
 *
 * @example
 * ```ts
 * const hosts = await new DatabaseHostStateSource(db, { serviceDownTimeSec: 60 }).getHostStates(uuids)
 * ```
 */
export class DatabaseHostStateSource implements HostStateSource {
  private readonly clock: Clock
  private readonly downTimeMs: number

  constructor(
    private readonly db: NovumDb,
    config: DatabaseHostStateSourceConfig = {},
  ) {
    this.clock = config.clock ?? systemClock
    this.downTimeMs = (config.serviceDownTimeSec ?? 60) * 1000
  }

  /** Host states of the (non-deleted) nodes of `host`, or of its node `nodename`. */
  async getHostStatesByHost(host: string, nodename?: string | null): Promise<HostState[]> {
    let q = this.db.selectFrom('compute_nodes').select('uuid').where('host', '=', host).where('deleted_at', 'is', null)
    if (nodename) q = q.where('hypervisor_hostname', '=', nodename)
    const rows = await q.orderBy('id').execute()
    return this.getHostStates(rows.map((r) => r.uuid))
  }

  /** Host states of these compute nodes, in the order given; see the class notes. */
  async getHostStates(computeNodeUuids: readonly string[]): Promise<HostState[]> {
    const out: HostState[] = []
    for (let i = 0; i < computeNodeUuids.length; i += MAX_IN_LIST) out.push(...(await this.load(computeNodeUuids.slice(i, i + MAX_IN_LIST))))
    return out
  }

  private async load(uuids: readonly string[]): Promise<HostState[]> {
    if (uuids.length === 0) return []
    const db = this.db
    const list = [...uuids]
    const hostsOf = db.selectFrom('compute_nodes').select('host').where('uuid', 'in', list).where('deleted_at', 'is', null)
    const [nodes, services, aggregates, metadata, instances, traits] = await Promise.all([
      db.selectFrom('compute_nodes').selectAll().where('uuid', 'in', list).where('deleted_at', 'is', null).execute(),
      db
        .selectFrom('services')
        .select(['id', 'host', 'binary', 'disabled', 'disabled_reason', 'forced_down', 'last_seen_up', 'updated_at', 'created_at'])
        .where('deleted_at', 'is', null)
        .where((eb) =>
          eb.or([
            eb('id', 'in', db.selectFrom('compute_nodes').select('service_id').where('uuid', 'in', list).where('service_id', 'is not', null)),
            eb.and([eb('binary', '=', 'nova-compute'), eb('host', 'in', hostsOf)]),
          ]),
        )
        .execute(),
      db
        .selectFrom('aggregate_hosts as ah')
        .innerJoin('aggregates as a', 'a.id', 'ah.aggregate_id')
        .select(['ah.host', 'a.id', 'a.uuid', 'a.name'])
        .where('ah.host', 'in', hostsOf)
        .orderBy('a.id')
        .execute(),
      db
        .selectFrom('aggregate_metadata')
        .select(['aggregate_id', 'key', 'value'])
        .where('aggregate_id', 'in', db.selectFrom('aggregate_hosts').select('aggregate_id').where('host', 'in', hostsOf))
        .execute(),
      db.selectFrom('instances').select(['uuid', 'host', 'node']).where('host', 'in', hostsOf).where('deleted', '=', 0).orderBy('id').execute(),
      db
        .selectFrom('resource_providers as rp')
        .innerJoin('resource_provider_traits as rpt', 'rpt.resource_provider_id', 'rp.id')
        .innerJoin('traits as t', 't.id', 'rpt.trait_id')
        .select(['rp.uuid', 't.name'])
        .where('rp.uuid', 'in', list)
        .execute(),
    ])

    const now = this.clock.now()
    const serviceById = new Map(services.map((s) => [s.id, s]))
    const computeServiceByHost = new Map(services.filter((s) => s.binary === 'nova-compute').map((s) => [s.host, s]))
    const metaByAggregate = new Map<number, Record<string, string>>()
    for (const m of metadata) {
      const meta = metaByAggregate.get(m.aggregate_id) ?? {}
      meta[m.key] = m.value
      metaByAggregate.set(m.aggregate_id, meta)
    }
    const aggregatesByHost = new Map<string, HostAggregate[]>()
    for (const a of aggregates) {
      const meta = metaByAggregate.get(a.id) ?? {}
      const list = aggregatesByHost.get(a.host) ?? []
      list.push({ id: a.id, uuid: a.uuid, name: a.name, availabilityZone: meta['availability_zone'] ?? null, metadata: meta })
      aggregatesByHost.set(a.host, list)
    }
    const instancesByNode = new Map<string, string[]>()
    const nodesPerHost = new Map<string, number>()
    for (const n of nodes) nodesPerHost.set(n.host, (nodesPerHost.get(n.host) ?? 0) + 1)
    for (const i of instances) {
      if (!i.host) continue
      // An instance without a node yet belongs to its host's only node, if there is just one.
      const key = i.node ? `${i.host}\u0000${i.node}` : nodesPerHost.get(i.host) === 1 ? `${i.host}\u0000*` : null
      if (!key) continue
      const list = instancesByNode.get(key) ?? []
      list.push(i.uuid)
      instancesByNode.set(key, list)
    }
    const traitsByUuid = new Map<string, string[]>()
    for (const t of traits) {
      const list = traitsByUuid.get(t.uuid) ?? []
      list.push(t.name)
      traitsByUuid.set(t.uuid, list)
    }

    const byUuid = new Map<string, HostState>()
    for (const n of nodes) {
      const service = (n.service_id !== null ? serviceById.get(n.service_id) : undefined) ?? computeServiceByHost.get(n.host)
      const heartbeat = service ? Date.parse(service.last_seen_up ?? service.updated_at ?? service.created_at) : Number.NaN
      const forcedDown = service ? service.forced_down === 1 : false
      const up = service !== undefined && !forcedDown && Number.isFinite(heartbeat) && Math.abs(now - heartbeat) <= this.downTimeMs
      const stats = Object.fromEntries(Object.entries(parseJson<Record<string, unknown>>(n.stats, {})).map(([k, v]) => [k, String(v)]))
      const instanceUuids = [...(instancesByNode.get(`${n.host}\u0000${n.hypervisor_hostname}`) ?? []), ...(instancesByNode.get(`${n.host}\u0000*`) ?? [])]
      const freeDiskGb = Math.min(Number(n.free_disk_gb), Number(n.disk_available_least))
      byUuid.set(n.uuid, {
        host: n.host,
        nodename: n.hypervisor_hostname,
        uuid: n.uuid,
        totalUsableRamMb: Number(n.memory_mb),
        freeRamMb: Number(n.free_ram_mb),
        totalUsableDiskGb: Number(n.local_gb),
        freeDiskMb: freeDiskGb * 1024,
        vcpusTotal: Number(n.vcpus),
        vcpusUsed: Number(n.vcpus_used),
        cpuAllocationRatio: Number(n.cpu_allocation_ratio),
        ramAllocationRatio: Number(n.ram_allocation_ratio),
        diskAllocationRatio: Number(n.disk_allocation_ratio),
        numInstances: Number(stats['num_instances'] ?? instanceUuids.length),
        numIoOps: Number(stats['io_workload'] ?? 0),
        failedBuilds: Number(stats['failed_builds'] ?? 0),
        hostIp: n.host_ip,
        hypervisorType: n.hypervisor_type,
        hypervisorVersion: Number(n.hypervisor_version),
        hypervisorHostname: n.hypervisor_hostname,
        cpuInfo: parseJson<Record<string, unknown>>(n.cpu_info, {}),
        supportedInstances: parseJson<SupportedInstance[]>(n.supported_instances, []),
        metrics: metricsOf(n.metrics),
        stats,
        aggregates: aggregatesByHost.get(n.host) ?? [],
        instanceUuids,
        service: service
          ? { disabled: service.disabled === 1, disabledReason: service.disabled_reason, forcedDown, up }
          : { disabled: true, disabledReason: 'no compute service record', forcedDown: false, up: false },
        traits: (traitsByUuid.get(n.uuid) ?? []).sort(),
        updatedAt: n.updated_at,
      })
    }
    return uuids.map((u) => byUuid.get(u)).filter((h): h is HostState => h !== undefined)
  }
}
