import type { Selectable } from 'kysely'
import type { NovumDb } from '../db/create-database.js'
import type { ComputeNodesTable, ServicesTable } from '../db/database.js'
import { ComputeError } from '../errors/compute-error.js'
import { isoNow, type Clock } from '../util/clock.js'
import type { ComputeNodeRecord, ComputeNodeReport, ServiceRecord, ServiceReport } from './conductor-compute-rpc.js'

/** Novum's own service version, stored in `services.version` (bumped when the RPC surface changes). */
export const NOVUM_SERVICE_VERSION = 1

/** Converts a `services` row. */
export function serviceFromRow(row: Selectable<ServicesTable>): ServiceRecord {
  return {
    id: row.id,
    uuid: row.uuid,
    host: row.host,
    binary: row.binary,
    topic: row.topic,
    reportCount: row.report_count,
    disabled: row.disabled === 1,
    disabledReason: row.disabled_reason,
    forcedDown: row.forced_down === 1,
    lastSeenUp: row.last_seen_up,
    version: row.version,
  }
}

/**
 * The `services` and `compute_nodes` rows that compute services maintain through the conductor: registration
 * and heartbeat, and the per-node resource report.
 */
export class HostRecords {
  constructor(
    private readonly db: NovumDb,
    private readonly clock: Clock,
  ) {}

  /** Creates the service row on the first report; afterwards bumps `report_count` and `last_seen_up`. */
  async reportService(report: ServiceReport): Promise<ServiceRecord> {
    const now = isoNow(this.clock)
    const existing = await this.findService(report.host, report.binary)
    if (!existing) {
      try {
        await this.db
          .insertInto('services')
          .values({
            uuid: crypto.randomUUID(),
            host: report.host,
            binary: report.binary,
            topic: report.topic,
            report_count: 1,
            disabled: 0,
            disabled_reason: null,
            forced_down: 0,
            last_seen_up: now,
            version: NOVUM_SERVICE_VERSION,
            created_at: now,
            updated_at: null,
            deleted_at: null,
          })
          .execute()
        return serviceFromRow(await this.getService(report.host, report.binary))
      } catch (err) {
        // NOTE: two first reports raced on the (host, binary) unique key; the loser heartbeats the winner's row.
        if (!(await this.findService(report.host, report.binary))) throw err
      }
    }
    await this.db
      .updateTable('services')
      .set((eb) => ({ report_count: eb('report_count', '+', 1), last_seen_up: now, updated_at: now }))
      .where('host', '=', report.host)
      .where('binary', '=', report.binary)
      .where('deleted_at', 'is', null)
      .execute()
    return serviceFromRow(await this.getService(report.host, report.binary))
  }

  /** The live service row, or undefined. */
  findService(host: string, binary: string): Promise<Selectable<ServicesTable> | undefined> {
    return this.db.selectFrom('services').selectAll().where('host', '=', host).where('binary', '=', binary).where('deleted_at', 'is', null).executeTakeFirst()
  }

  private async getService(host: string, binary: string): Promise<Selectable<ServicesTable>> {
    const row = await this.findService(host, binary)
    if (!row) throw new ComputeError('NOT_FOUND', `service ${binary} on host ${host} could not be found`, { details: { host, binary } })
    return row
  }

  /**
   * Upserts the compute node of `report` (keyed by host and hypervisor hostname; the uuid is made once and kept).
   * The compute service must have registered first.
   */
  async upsertComputeNode(report: ComputeNodeReport): Promise<{ readonly node: Selectable<ComputeNodesTable>; readonly service: Selectable<ServicesTable> }> {
    const service = await this.findService(report.host, 'nova-compute')
    if (!service) {
      throw new ComputeError('NOT_FOUND', `compute service on host ${report.host} is not registered; report the service before its nodes`, {
        details: { host: report.host },
      })
    }
    const now = isoNow(this.clock)
    const r = report.resources
    const ratio = (rc: string, fallback: number): number => report.inventories[rc]?.allocationRatio ?? fallback
    const values = {
      service_id: service.id,
      hypervisor_type: r.hypervisorType,
      hypervisor_version: r.hypervisorVersion,
      vcpus: r.vcpus,
      memory_mb: r.memoryMb,
      local_gb: r.localGb,
      vcpus_used: r.vcpusUsed,
      memory_mb_used: r.memoryMbUsed,
      local_gb_used: r.localGbUsed,
      free_ram_mb: r.memoryMb - r.memoryMbUsed,
      free_disk_gb: r.localGb - r.localGbUsed,
      disk_available_least: r.diskAvailableLeast,
      current_workload: Number(report.stats.io_workload ?? 0),
      running_vms: Number(report.stats.num_instances ?? 0),
      host_ip: r.hostIp ?? null,
      cpu_info: JSON.stringify(r.cpuInfo),
      supported_instances: JSON.stringify(r.supportedInstances),
      stats: JSON.stringify(report.stats),
      metrics: '{}',
      cpu_allocation_ratio: ratio('VCPU', 16),
      ram_allocation_ratio: ratio('MEMORY_MB', 1.5),
      disk_allocation_ratio: ratio('DISK_GB', 1),
    }
    const existing = await this.findComputeNode(report.host, report.nodename)
    if (existing) {
      await this.db.updateTable('compute_nodes').set({ ...values, updated_at: now }).where('id', '=', existing.id).execute()
    } else {
      try {
        await this.db
          .insertInto('compute_nodes')
          .values({ uuid: crypto.randomUUID(), host: report.host, hypervisor_hostname: report.nodename, ...values, created_at: now, updated_at: now, deleted_at: null })
          .execute()
      } catch (err) {
        if (!(await this.findComputeNode(report.host, report.nodename))) throw err
        await this.db.updateTable('compute_nodes').set({ ...values, updated_at: now }).where('host', '=', report.host).where('hypervisor_hostname', '=', report.nodename).execute()
      }
    }
    const node = await this.findComputeNode(report.host, report.nodename)
    if (!node) throw new ComputeError('INTERNAL', `compute node ${report.nodename} of host ${report.host} was not recorded`)
    return { node, service }
  }

  /** The live compute node row, or undefined. */
  findComputeNode(host: string, nodename: string): Promise<Selectable<ComputeNodesTable> | undefined> {
    return this.db
      .selectFrom('compute_nodes')
      .selectAll()
      .where('host', '=', host)
      .where('hypervisor_hostname', '=', nodename)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
  }

  /** The public record of a compute node row. */
  static computeNodeRecord(node: Selectable<ComputeNodesTable>, service: Selectable<ServicesTable>): ComputeNodeRecord {
    return { id: node.id, uuid: node.uuid, host: node.host, hypervisorHostname: node.hypervisor_hostname, serviceId: node.service_id, serviceDisabled: service.disabled === 1 }
  }
}
