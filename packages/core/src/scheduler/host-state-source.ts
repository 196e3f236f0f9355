import type { NovumDb } from '../db/create-database.js'
import type { HostAggregate, HostState, SupportedInstance } from '../model/host-state.js'
import { type Clock, systemClock } from '../util/clock.js'

/**
 * Where the scheduler gets `HostState`s (Nova `HostManager.get_host_states_by_uuids`). The scheduler asks only
 * for the compute nodes Placement returned, once per request.
 */
export interface HostStateSource {
  /**
   * Host states of these compute nodes (= root provider uuids), in the order given; unknown or deleted nodes are
   * left out. `traits`, when given (e.g. from Placement's provider summaries), saves looking them up.
   */
  getHostStates(computeNodeUuids: readonly string[], options?: HostStateOptions): Promise<HostState[]>
  /** Host states of the nodes of one compute host (or one node of it), e.g. for a same-host rebuild. */
  getHostStatesByHost(host: string, nodename?: string | null): Promise<HostState[]>
}

/** Options of {@link HostStateSource.getHostStates}. */
export interface HostStateOptions {
  /**
   * Root provider traits per compute node uuid, when the caller already has them (e.g. from Placement's provider
   * summaries): a map, or a lookup function (undefined: not known).
   */
  readonly traits?: ReadonlyMap<string, readonly string[]> | ((computeNodeUuid: string) => readonly string[] | undefined)
}

/** Options of {@link DatabaseHostStateSource}. */
export interface DatabaseHostStateSourceConfig {
  /** @default systemClock */
  readonly clock?: Clock
  /** A service is down after this long without a heartbeat (Nova `service_down_time`). @default 60 */
  readonly serviceDownTimeSec?: number
}

const MAX_IN_LIST = 5_000

/** What a compute node record contributes to a HostState, parsed once per `updated_at`. */
interface NodeRecord {
  readonly updatedAt: string | null
  readonly host: string
  readonly nodename: string
  readonly totalUsableRamMb: number
  readonly freeRamMb: number
  readonly totalUsableDiskGb: number
  readonly freeDiskMb: number
  readonly vcpusTotal: number
  readonly vcpusUsed: number
  readonly cpuAllocationRatio: number
  readonly ramAllocationRatio: number
  readonly diskAllocationRatio: number
  readonly hostIp: string | null
  readonly hypervisorType: string
  readonly hypervisorVersion: number
  readonly cpuInfo: Readonly<Record<string, unknown>>
  readonly supportedInstances: readonly SupportedInstance[]
  readonly metrics: Readonly<Record<string, number>>
  readonly stats: Readonly<Record<string, string>>
}

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
 * 5,000 nodes per call): compute node versions, their services, aggregates with metadata, instances per node and
 * the traits of their resource providers, keyed on the requested nodes and their hosts (or, when they are most of
 * the cloud's nodes, whole tables filtered in memory); then the full
 * records of the nodes whose `updated_at` moved since the last call (parsed records are kept, as Nova's
 * `HostManager` keeps its `HostState`s). A service is up when it is not forced
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
  /** Parsed compute node records by uuid, reloaded when the record's `updated_at` moves. */
  private readonly nodes = new Map<string, NodeRecord>()

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
  async getHostStates(computeNodeUuids: readonly string[], options: HostStateOptions = {}): Promise<HostState[]> {
    const out: HostState[] = []
    for (let i = 0; i < computeNodeUuids.length; i += MAX_IN_LIST) out.push(...(await this.load(computeNodeUuids.slice(i, i + MAX_IN_LIST), options.traits)))
    return out
  }

  private async load(uuids: readonly string[], knownTraits: HostStateOptions['traits']): Promise<HostState[]> {
    if (uuids.length === 0) return []
    const db = this.db
    const list = [...uuids]
    // The nodes' versions and hosts first, then everything keyed on that host list. When the request names most of
    // the cloud's nodes, whole tables are read and filtered here: cheaper than binding thousands of parameters.
    const total = Number((await db.selectFrom('compute_nodes').select((eb) => eb.fn.countAll().as('n')).where('deleted_at', 'is', null).executeTakeFirstOrThrow()).n)
    const wide = list.length * 2 >= total
    const wanted = new Set(list)
    const nodeRows = wide
      ? await db.selectFrom('compute_nodes').select(['uuid', 'updated_at', 'host']).where('deleted_at', 'is', null).execute()
      : await db.selectFrom('compute_nodes').select(['uuid', 'updated_at', 'host']).where('uuid', 'in', list).where('deleted_at', 'is', null).execute()
    const versions = wide ? nodeRows.filter((v) => wanted.has(v.uuid)) : nodeRows
    const hostList = [...new Set(versions.map((v) => v.host))]
    if (hostList.length === 0) return []
    const hostSet = new Set(hostList)
    const byHost = <T extends { host: string | null }>(rows: T[]): T[] => (wide ? rows.filter((r) => r.host !== null && hostSet.has(r.host)) : rows)
    const [services, aggregates, metadata, instances, traits] = await Promise.all([
      (wide
        ? db.selectFrom('services').select(['host', 'disabled', 'disabled_reason', 'forced_down', 'last_seen_up', 'updated_at', 'created_at']).where('binary', '=', 'nova-compute').where('deleted_at', 'is', null)
        : db
            .selectFrom('services')
            .select(['host', 'disabled', 'disabled_reason', 'forced_down', 'last_seen_up', 'updated_at', 'created_at'])
            .where('binary', '=', 'nova-compute')
            .where('deleted_at', 'is', null)
            .where('host', 'in', hostList)
      )
        .execute()
        .then(byHost),
      (wide
        ? db.selectFrom('aggregate_hosts as ah').innerJoin('aggregates as a', 'a.id', 'ah.aggregate_id').select(['ah.host', 'a.id', 'a.uuid', 'a.name'])
        : db.selectFrom('aggregate_hosts as ah').innerJoin('aggregates as a', 'a.id', 'ah.aggregate_id').select(['ah.host', 'a.id', 'a.uuid', 'a.name']).where('ah.host', 'in', hostList)
      )
        .orderBy('a.id')
        .execute()
        .then(byHost),
      wide
        ? db.selectFrom('aggregate_metadata').select(['aggregate_id', 'key', 'value']).execute()
        : db
            .selectFrom('aggregate_metadata as m')
            .innerJoin('aggregate_hosts as mh', 'mh.aggregate_id', 'm.aggregate_id')
            .select(['m.aggregate_id', 'm.key', 'm.value'])
            .where('mh.host', 'in', hostList)
            .execute(),
      (wide
        ? db.selectFrom('instances').select(['uuid', 'host', 'node']).where('host', 'is not', null).where('deleted', '=', 0)
        : db.selectFrom('instances').select(['uuid', 'host', 'node']).where('host', 'in', hostList).where('deleted', '=', 0)
      )
        .orderBy('id')
        .execute()
        .then(byHost),
      knownTraits
        ? Promise.resolve([])
        : db
            .selectFrom('resource_providers as rp')
            .innerJoin('resource_provider_traits as rpt', 'rpt.resource_provider_id', 'rp.id')
            .innerJoin('traits as t', 't.id', 'rpt.trait_id')
            .select(['rp.uuid', 't.name'])
            .where('rp.uuid', 'in', list)
            .execute(),
    ])
    // Compute node records change once a minute per host (the resource tracker); reload only those that did.
    const stale = versions.filter((v) => this.nodes.get(v.uuid)?.updatedAt !== v.updated_at).map((v) => v.uuid)
    if (stale.length) {
      const rows = await db
        .selectFrom('compute_nodes')
        .select([
          'uuid', 'host', 'hypervisor_hostname', 'hypervisor_type', 'hypervisor_version', 'vcpus', 'memory_mb', 'local_gb', 'vcpus_used', 'free_ram_mb',
          'free_disk_gb', 'disk_available_least', 'host_ip', 'cpu_info', 'supported_instances', 'stats', 'metrics', 'cpu_allocation_ratio',
          'ram_allocation_ratio', 'disk_allocation_ratio', 'updated_at',
        ])
        .where('uuid', 'in', stale)
        .where('deleted_at', 'is', null)
        .execute()
      for (const n of rows) {
        this.nodes.set(n.uuid, {
          updatedAt: n.updated_at,
          host: n.host,
          nodename: n.hypervisor_hostname,
          totalUsableRamMb: Number(n.memory_mb),
          freeRamMb: Number(n.free_ram_mb),
          totalUsableDiskGb: Number(n.local_gb),
          freeDiskMb: Math.min(Number(n.free_disk_gb), Number(n.disk_available_least)) * 1024,
          vcpusTotal: Number(n.vcpus),
          vcpusUsed: Number(n.vcpus_used),
          cpuAllocationRatio: Number(n.cpu_allocation_ratio),
          ramAllocationRatio: Number(n.ram_allocation_ratio),
          diskAllocationRatio: Number(n.disk_allocation_ratio),
          hostIp: n.host_ip,
          hypervisorType: n.hypervisor_type,
          hypervisorVersion: Number(n.hypervisor_version),
          cpuInfo: parseJson<Record<string, unknown>>(n.cpu_info, {}),
          supportedInstances: parseJson<SupportedInstance[]>(n.supported_instances, []),
          metrics: metricsOf(n.metrics),
          stats: Object.fromEntries(Object.entries(parseJson<Record<string, unknown>>(n.stats, {})).map(([k, v]) => [k, String(v)])),
        })
      }
    }
    const nodes = versions.map((v) => (this.nodes.get(v.uuid) ? { uuid: v.uuid, ...(this.nodes.get(v.uuid) as NodeRecord) } : null)).filter((n): n is NodeRecord & { uuid: string } => n !== null)

    const now = this.clock.now()
    const serviceByHost = new Map(services.map((sv) => [sv.host, sv]))
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
    const traitsByUuid = new Map<string, readonly string[]>()
    if (!knownTraits) {
      for (const t of traits) traitsByUuid.set(t.uuid, [...(traitsByUuid.get(t.uuid) ?? []), t.name])
    }
    const traitsOf = (uuid: string): readonly string[] =>
      (typeof knownTraits === 'function' ? knownTraits(uuid) : knownTraits ? knownTraits.get(uuid) : traitsByUuid.get(uuid)) ?? []

    const byUuid = new Map<string, HostState>()
    for (const n of nodes) {
      const service = serviceByHost.get(n.host)
      const heartbeat = service ? Date.parse(service.last_seen_up ?? service.updated_at ?? service.created_at) : Number.NaN
      const forcedDown = service ? service.forced_down === 1 : false
      const up = service !== undefined && !forcedDown && Number.isFinite(heartbeat) && Math.abs(now - heartbeat) <= this.downTimeMs
      const instanceUuids = [...(instancesByNode.get(`${n.host}\u0000${n.nodename}`) ?? []), ...(instancesByNode.get(`${n.host}\u0000*`) ?? [])]
      byUuid.set(n.uuid, {
        host: n.host,
        nodename: n.nodename,
        uuid: n.uuid,
        totalUsableRamMb: n.totalUsableRamMb,
        freeRamMb: n.freeRamMb,
        totalUsableDiskGb: n.totalUsableDiskGb,
        freeDiskMb: n.freeDiskMb,
        vcpusTotal: n.vcpusTotal,
        vcpusUsed: n.vcpusUsed,
        cpuAllocationRatio: n.cpuAllocationRatio,
        ramAllocationRatio: n.ramAllocationRatio,
        diskAllocationRatio: n.diskAllocationRatio,
        numInstances: Number(n.stats['num_instances'] ?? instanceUuids.length),
        numIoOps: Number(n.stats['io_workload'] ?? 0),
        failedBuilds: Number(n.stats['failed_builds'] ?? 0),
        hostIp: n.hostIp,
        hypervisorType: n.hypervisorType,
        hypervisorVersion: n.hypervisorVersion,
        hypervisorHostname: n.nodename,
        cpuInfo: n.cpuInfo,
        supportedInstances: n.supportedInstances,
        metrics: n.metrics,
        stats: n.stats,
        aggregates: aggregatesByHost.get(n.host) ?? [],
        instanceUuids,
        service: service
          ? { disabled: service.disabled === 1, disabledReason: service.disabled_reason, forcedDown, up }
          : { disabled: true, disabledReason: 'no compute service record', forcedDown: false, up: false },
        traits: [...traitsOf(n.uuid)].sort(),
        updatedAt: n.updatedAt,
      })
    }
    return uuids.map((u) => byUuid.get(u)).filter((h): h is HostState => h !== undefined)
  }
}
