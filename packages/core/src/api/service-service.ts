import type { Selectable } from 'kysely'
import type { PlacementService } from '../placement/placement-service.js'
import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import type { ServicesTable } from '../db/database.js'
import { ComputeError } from '../errors/compute-error.js'
import { Policy } from '../policy/policy.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { aggregateZonesByHost, DEFAULT_SERVICE_DOWN_TIME_SEC, isServiceUp, zoneOfService, type ZoneConfig } from './service-liveness.js'

/** A service as `GET /os-services` shows it. */
export interface ComputeService {
  /** Integer id (< 2.53). */
  readonly id: number
  /** Uuid (the id from 2.53). */
  readonly uuid: string
  readonly binary: string
  readonly host: string
  /** Availability zone: the host's AZ (or the default) for computes, `internal` for the others. */
  readonly zone: string
  readonly status: 'enabled' | 'disabled'
  readonly state: 'up' | 'down'
  /** The last heartbeat. */
  readonly updatedAt: string | null
  readonly disabledReason: string | null
  /** 2.11 */
  readonly forcedDown: boolean
}

/** Filters of {@link ServiceService.list}. */
export interface ServiceListFilters {
  readonly host?: string
  readonly binary?: string
}

/** `PUT /os-services/{id}` (2.53) or the legacy enable/disable/force-down actions. */
export interface ServiceUpdate {
  readonly status?: 'enabled' | 'disabled'
  readonly disabledReason?: string | null
  readonly forcedDown?: boolean
}

/** Options of {@link ServiceService}. */
export interface ServiceServiceConfig extends ZoneConfig {
  /** Nova `service_down_time`. @default 60 */
  readonly serviceDownTimeSec?: number
  /**
   * Where a deleted compute service's resource providers are removed (Nova deletes them from Placement, and with
   * them their aggregates). Without it they stay in Placement.
   */
  readonly placement?: Pick<PlacementService, 'deleteProvider'>
}

type ServiceRow = Selectable<ServicesTable>

/**
 * Nova's services (`os-services`): list with zone, status and up/down state, enable/disable/force-down, delete.
 * Admin only (Nova's default policy).
 */
export class ServiceService {
  private readonly downTimeSec: number

  constructor(
    private readonly db: NovumDb,
    private readonly policy: Policy = new Policy(),
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    private readonly config: ServiceServiceConfig = {},
  ) {
    this.downTimeSec = config.serviceDownTimeSec ?? DEFAULT_SERVICE_DOWN_TIME_SEC
  }

  /** `GET /os-services`, optionally for one host and/or binary. */
  async list(ctx: RequestContext, filters: ServiceListFilters = {}): Promise<ComputeService[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-services:list')
    let q = this.db.selectFrom('services').selectAll().where('deleted_at', 'is', null).orderBy('id')
    if (filters.host !== undefined) q = q.where('host', '=', filters.host)
    if (filters.binary !== undefined) q = q.where('binary', '=', filters.binary)
    const rows = await q.execute()
    const zones = await aggregateZonesByHost(this.db)
    return rows.map((r) => this.toService(r, zones))
  }

  /**
   * `PUT /os-services/{id}` (2.53): status, disabled reason, forced down, for nova-compute services only.
   * `id` is the uuid or the integer id.
   */
  async update(ctx: RequestContext, id: string | number, changes: ServiceUpdate): Promise<ComputeService> {
    this.policy.authorize(ctx, 'os_compute_api:os-services:update')
    const row = await this.requireRow(id)
    return this.apply(ctx, row, changes)
  }

  /** The legacy (< 2.53) `PUT /os-services/{enable,disable,disable-log-reason,force-down}` by host and binary. */
  async updateByHost(ctx: RequestContext, host: string, binary: string, changes: ServiceUpdate): Promise<ComputeService> {
    this.policy.authorize(ctx, 'os_compute_api:os-services:update')
    const row = await this.db.selectFrom('services').selectAll().where('host', '=', host).where('binary', '=', binary).where('deleted_at', 'is', null).executeTakeFirst()
    if (!row) throw new ComputeError('NOT_FOUND', `Service ${binary} on host ${host} could not be found.`)
    return this.apply(ctx, row, changes)
  }

  /**
   * `DELETE /os-services/{id}`: a compute service still hosting instances is `CONFLICT`; otherwise the service,
   * its compute nodes and its aggregate memberships go.
   */
  async delete(ctx: RequestContext, id: string | number): Promise<void> {
    this.policy.authorize(ctx, 'os_compute_api:os-services:delete')
    const row = await this.requireRow(id)
    const now = isoNow(this.clock)
    if (row.binary === 'nova-compute') {
      const hosted = await this.db.selectFrom('instances').select('uuid').where('host', '=', row.host).where('deleted', '=', 0).executeTakeFirst()
      if (hosted) throw new ComputeError('CONFLICT', 'Unable to delete compute service that is hosting instances. Migrate or delete the instances first.')
    }
    const nodes =
      row.binary === 'nova-compute' ? await this.db.selectFrom('compute_nodes').select('uuid').where('host', '=', row.host).where('deleted_at', 'is', null).execute() : []
    await this.db.transaction().execute(async (trx) => {
      if (row.binary === 'nova-compute') {
        await trx.updateTable('compute_nodes').set({ deleted_at: now }).where('host', '=', row.host).where('deleted_at', 'is', null).execute()
        await trx.deleteFrom('aggregate_hosts').where('host', '=', row.host).execute()
      }
      await trx.deleteFrom('services').where('id', '=', row.id).execute()
    })
    // NOTE: as Nova, after the service is gone: its compute nodes' providers leave Placement (with their aggregates,
    // so the host's aggregate memberships end there too). One that is already gone is fine; another failure is
    // logged and left for an operator, as the service itself is deleted.
    for (const node of nodes) {
      await this.config.placement?.deleteProvider(node.uuid).catch((err: unknown) => {
        if (!ComputeError.is(err, 'NOT_FOUND')) this.logger.warn({ req_id: ctx.requestId, host: row.host, provider: node.uuid, err: String(err) }, 'could not delete the resource provider of a deleted compute service')
      })
    }
    this.logger.info({ req_id: ctx.requestId, host: row.host, binary: row.binary }, 'service deleted')
  }

  private async apply(ctx: RequestContext, row: ServiceRow, changes: ServiceUpdate): Promise<ComputeService> {
    if (changes.status === undefined && changes.forcedDown === undefined) {
      throw new ComputeError('INVALID', "No updates were requested. Fields 'status' or 'forced_down' should be specified.")
    }
    if (changes.status !== undefined && changes.status !== 'enabled' && changes.status !== 'disabled') {
      throw new ComputeError('INVALID', `Invalid status ${String(changes.status)}: must be 'enabled' or 'disabled'`)
    }
    if (changes.status === 'enabled' && changes.disabledReason) {
      throw new ComputeError('INVALID', "Specifying 'disabled_reason' with status 'enabled' is invalid.")
    }
    if (changes.disabledReason !== undefined && changes.disabledReason !== null && changes.disabledReason.length > 255) {
      throw new ComputeError('INVALID', 'disabled_reason must be at most 255 characters')
    }
    if (row.binary !== 'nova-compute') {
      throw new ComputeError('INVALID', `Updating a ${row.binary} service is not supported. Only nova-compute services can be updated.`)
    }
    const set: { disabled?: number; disabled_reason?: string | null; forced_down?: number; updated_at: string } = { updated_at: isoNow(this.clock) }
    if (changes.status === 'enabled') {
      set.disabled = 0
      set.disabled_reason = null
    } else if (changes.status === 'disabled') {
      set.disabled = 1
      set.disabled_reason = changes.disabledReason ?? null
    }
    if (changes.forcedDown !== undefined) set.forced_down = changes.forcedDown ? 1 : 0
    await this.db.updateTable('services').set(set).where('id', '=', row.id).execute()
    this.logger.info({ req_id: ctx.requestId, host: row.host, changes }, 'service updated')
    const zones = await aggregateZonesByHost(this.db)
    return this.toService(await this.db.selectFrom('services').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow(), zones)
  }

  private async requireRow(id: string | number): Promise<ServiceRow> {
    const s = String(id)
    let q = this.db.selectFrom('services').selectAll().where('deleted_at', 'is', null)
    q = /^\d+$/.test(s) ? q.where('id', '=', Number(s)) : q.where('uuid', '=', s)
    const row = await q.executeTakeFirst()
    if (!row) throw new ComputeError('NOT_FOUND', `Service ${s} could not be found.`)
    return row
  }

  private toService(r: ServiceRow, zones: ReadonlyMap<string, string>): ComputeService {
    return {
      id: r.id,
      uuid: r.uuid,
      binary: r.binary,
      host: r.host,
      zone: zoneOfService(r.binary, r.host, zones, this.config),
      status: r.disabled ? 'disabled' : 'enabled',
      state: isServiceUp(r, this.clock.now(), this.downTimeSec) ? 'up' : 'down',
      updatedAt: r.last_seen_up ?? r.updated_at,
      disabledReason: r.disabled_reason,
      forcedDown: r.forced_down === 1,
    }
  }
}
