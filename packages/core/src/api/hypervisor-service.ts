import type { Selectable } from 'kysely'
import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import type { ComputeNodesTable, ServicesTable } from '../db/database.js'
import { ComputeError } from '../errors/compute-error.js'
import { Policy } from '../policy/policy.js'
import { systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { DEFAULT_SERVICE_DOWN_TIME_SEC, isServiceUp } from './service-liveness.js'

/** The compute service a hypervisor belongs to. */
export interface HypervisorServiceRef {
  readonly id: number | null
  readonly uuid: string | null
  readonly host: string
  readonly disabledReason: string | null
}

/** A server on a hypervisor (`with_servers`). */
export interface HypervisorServer {
  readonly uuid: string
  readonly name: string
}

/** A compute node as `GET /os-hypervisors/{id}` shows it (the HTTP layer drops fields per microversion). */
export interface Hypervisor {
  readonly id: number
  readonly uuid: string
  readonly hypervisorHostname: string
  readonly hypervisorType: string
  readonly hypervisorVersion: number
  readonly hostIp: string | null
  /** `up` when the compute service's heartbeat is within `service_down_time` and it is not forced down. */
  readonly state: 'up' | 'down'
  /** `disabled` when the compute service is disabled. */
  readonly status: 'enabled' | 'disabled'
  readonly vcpus: number
  readonly vcpusUsed: number
  readonly memoryMb: number
  readonly memoryMbUsed: number
  readonly localGb: number
  readonly localGbUsed: number
  readonly freeRamMb: number
  readonly freeDiskGb: number
  readonly currentWorkload: number
  readonly runningVms: number
  readonly diskAvailableLeast: number
  readonly cpuInfo: Readonly<Record<string, unknown>>
  readonly service: HypervisorServiceRef
  /** Present when asked for with `withServers`. */
  readonly servers?: readonly HypervisorServer[]
  readonly updatedAt: string | null
}

/** Options of {@link HypervisorService.list} and {@link HypervisorService.detail}. */
export interface HypervisorListOptions {
  /** 2.53 `hypervisor_hostname_pattern`: a substring of the hypervisor hostname; no match is `NOT_FOUND`. */
  readonly hostnamePattern?: string
  /** 2.53 */
  readonly withServers?: boolean
  /** 2.33 */
  readonly limit?: number
  /** 2.33: the id (or, from 2.53, uuid) of the last hypervisor of the previous page. */
  readonly marker?: string | number
}

/** Totals of `GET /os-hypervisors/statistics` (≤ 2.87). */
export interface HypervisorStatistics {
  readonly count: number
  readonly vcpus: number
  readonly vcpusUsed: number
  readonly memoryMb: number
  readonly memoryMbUsed: number
  readonly localGb: number
  readonly localGbUsed: number
  readonly freeRamMb: number
  readonly freeDiskGb: number
  readonly currentWorkload: number
  readonly runningVms: number
  readonly diskAvailableLeast: number
}

/** Options of {@link HypervisorService}. */
export interface HypervisorServiceConfig {
  /** Nova `service_down_time`. @default 60 */
  readonly serviceDownTimeSec?: number
}

type NodeRow = Selectable<ComputeNodesTable>
type ServiceRow = Selectable<ServicesTable>

/**
 * Compute nodes as the admin API shows them (`os-hypervisors`): capacity and usage from the compute node
 * record, `state`/`status` from its compute service. Admin only (Nova's default policy).
 */
export class HypervisorService {
  private readonly downTimeSec: number

  constructor(
    private readonly db: NovumDb,
    private readonly policy: Policy = new Policy(),
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    config: HypervisorServiceConfig = {},
  ) {
    this.downTimeSec = config.serviceDownTimeSec ?? DEFAULT_SERVICE_DOWN_TIME_SEC
  }

  /** `GET /os-hypervisors`. */
  async list(ctx: RequestContext, options: HypervisorListOptions = {}): Promise<Hypervisor[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-hypervisors:list')
    return this.query(options)
  }

  /** `GET /os-hypervisors/detail`. */
  async detail(ctx: RequestContext, options: HypervisorListOptions = {}): Promise<Hypervisor[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-hypervisors:list-detail')
    return this.query(options)
  }

  /** `GET /os-hypervisors/{id}` by integer id or uuid; unknown is `NOT_FOUND`. */
  async show(ctx: RequestContext, id: string | number, options: { readonly withServers?: boolean } = {}): Promise<Hypervisor> {
    this.policy.authorize(ctx, 'os_compute_api:os-hypervisors:show')
    const node = await this.findNode(id)
    if (!node) throw new ComputeError('NOT_FOUND', `Hypervisor with ID '${String(id)}' could not be found.`)
    const [h] = await this.assemble([node], options.withServers ?? false)
    return h as Hypervisor
  }

  /** `GET /os-hypervisors/statistics` (≤ 2.87): sums over every compute node. */
  async statistics(ctx: RequestContext): Promise<HypervisorStatistics> {
    this.policy.authorize(ctx, 'os_compute_api:os-hypervisors:statistics')
    const nodes = await this.db.selectFrom('compute_nodes').selectAll().where('deleted_at', 'is', null).execute()
    const sum = (f: (n: NodeRow) => number) => nodes.reduce((acc, n) => acc + Number(f(n)), 0)
    return {
      count: nodes.length,
      vcpus: sum((n) => n.vcpus),
      vcpusUsed: sum((n) => n.vcpus_used),
      memoryMb: sum((n) => n.memory_mb),
      memoryMbUsed: sum((n) => n.memory_mb_used),
      localGb: sum((n) => n.local_gb),
      localGbUsed: sum((n) => n.local_gb_used),
      freeRamMb: sum((n) => n.free_ram_mb),
      freeDiskGb: sum((n) => n.free_disk_gb),
      currentWorkload: sum((n) => n.current_workload),
      runningVms: sum((n) => n.running_vms),
      diskAvailableLeast: sum((n) => n.disk_available_least),
    }
  }

  private async query(options: HypervisorListOptions): Promise<Hypervisor[]> {
    let q = this.db.selectFrom('compute_nodes').selectAll().where('deleted_at', 'is', null).orderBy('id')
    if (options.hostnamePattern !== undefined) {
      q = q.where('hypervisor_hostname', 'like', `%${options.hostnamePattern.replace(/[%_\\]/g, (c) => `\\${c}`)}%`)
    }
    let nodes = await q.execute()
    if (options.hostnamePattern !== undefined && nodes.length === 0) {
      throw new ComputeError('NOT_FOUND', `No hypervisor matching '${options.hostnamePattern}' could be found.`)
    }
    if (options.marker !== undefined) {
      const marker = String(options.marker)
      const at = nodes.findIndex((n) => String(n.id) === marker || n.uuid === marker)
      if (at < 0) throw new ComputeError('INVALID', `marker [${marker}] not found`)
      nodes = nodes.slice(at + 1)
    }
    if (options.limit !== undefined) nodes = nodes.slice(0, options.limit)
    return this.assemble(nodes, options.withServers ?? false)
  }

  private async findNode(id: string | number): Promise<NodeRow | undefined> {
    const s = String(id)
    let q = this.db.selectFrom('compute_nodes').selectAll().where('deleted_at', 'is', null)
    q = /^\d+$/.test(s) ? q.where('id', '=', Number(s)) : q.where('uuid', '=', s)
    return q.executeTakeFirst()
  }

  private async assemble(nodes: readonly NodeRow[], withServers: boolean): Promise<Hypervisor[]> {
    if (nodes.length === 0) return []
    const hosts = [...new Set(nodes.map((n) => n.host))]
    const services = await this.db.selectFrom('services').selectAll().where('binary', '=', 'nova-compute').where('host', 'in', hosts).where('deleted_at', 'is', null).execute()
    const byHost = new Map<string, ServiceRow>(services.map((s) => [s.host, s]))
    const byId = new Map<number, ServiceRow>(services.map((s) => [s.id, s]))
    let servers = new Map<string, HypervisorServer[]>()
    if (withServers) {
      const rows = await this.db
        .selectFrom('instances')
        .select(['uuid', 'display_name', 'host', 'node'])
        .where('host', 'in', hosts)
        .where('deleted', '=', 0)
        .orderBy('created_at')
        .execute()
      servers = new Map()
      for (const r of rows) {
        const key = `${r.host ?? ''}\u0000${r.node ?? ''}`
        const list = servers.get(key) ?? []
        list.push({ uuid: r.uuid, name: r.display_name })
        servers.set(key, list)
      }
    }
    const now = this.clock.now()
    return nodes.map((n) => {
      const service = (n.service_id !== null ? byId.get(n.service_id) : undefined) ?? byHost.get(n.host)
      const up = service ? isServiceUp(service, now, this.downTimeSec) : false
      const h: Hypervisor = {
        id: n.id,
        uuid: n.uuid,
        hypervisorHostname: n.hypervisor_hostname,
        hypervisorType: n.hypervisor_type,
        hypervisorVersion: Number(n.hypervisor_version),
        hostIp: n.host_ip,
        state: up ? 'up' : 'down',
        status: service && service.disabled ? 'disabled' : 'enabled',
        vcpus: n.vcpus,
        vcpusUsed: n.vcpus_used,
        memoryMb: Number(n.memory_mb),
        memoryMbUsed: Number(n.memory_mb_used),
        localGb: Number(n.local_gb),
        localGbUsed: Number(n.local_gb_used),
        freeRamMb: Number(n.free_ram_mb),
        freeDiskGb: Number(n.free_disk_gb),
        currentWorkload: n.current_workload,
        runningVms: n.running_vms,
        diskAvailableLeast: Number(n.disk_available_least),
        cpuInfo: safeJson(n.cpu_info),
        service: { id: service?.id ?? null, uuid: service?.uuid ?? null, host: n.host, disabledReason: service?.disabled_reason ?? null },
        updatedAt: n.updated_at,
        ...(withServers ? { servers: servers.get(`${n.host}\u0000${n.hypervisor_hostname}`) ?? [] } : {}),
      }
      return h
    })
  }
}

/** The same service under the name of what it lists. */
export { HypervisorService as ComputeNodeService }

function safeJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}
