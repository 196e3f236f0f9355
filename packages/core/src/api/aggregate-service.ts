import { randomUUID } from 'node:crypto'
import type { Selectable } from 'kysely'
import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import type { AggregatesTable } from '../db/database.js'
import { ComputeError } from '../errors/compute-error.js'
import type { Notifier } from '../notifications/notifier.js'
import { aggregatePayload } from '../notifications/payloads.js'
import { isProviderGenerationConflict, type PlacementService } from '../placement/placement-service.js'
import { Policy } from '../policy/policy.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { isUniqueViolation } from './db-errors.js'

/** A host aggregate (`os-aggregates`): a named group of compute hosts with metadata, optionally an availability zone. */
export interface Aggregate {
  readonly id: number
  readonly uuid: string
  readonly name: string
  /** The `availability_zone` metadata value, or null when the aggregate is not an availability zone. */
  readonly availabilityZone: string | null
  /** Compute service host names, in the order they were added. */
  readonly hosts: readonly string[]
  /** Every metadata key, `availability_zone` included. */
  readonly metadata: Readonly<Record<string, string>>
  readonly createdAt: string
  readonly updatedAt: string | null
}

/** What `POST /os-aggregates` asks for, already validated against the API schema. */
export interface AggregateCreateRequest {
  readonly name: string
  /** Makes the aggregate an availability zone (its `availability_zone` metadata). Null or absent: none. */
  readonly availabilityZone?: string | null
}

/** What `PUT /os-aggregates/{id}` changes: at least one of the two. */
export interface AggregateUpdate {
  readonly name?: string
  /** A new zone name; null is refused, as Nova refuses an empty zone name. */
  readonly availabilityZone?: string | null
}

/**
 * An aggregate id as the API receives it: a number, or a string parsed the way Nova's `validate_integer` does
 * (surrounding whitespace and a sign allowed), else `INVALID` `Invalid input received: id must be an integer`.
 */
export type AggregateId = number | string

/**
 * What {@link AggregateService} needs of Placement to mirror membership: a provider's aggregates with its
 * generation, and a generation-checked replace (Placement 1.19). `PlacementService` fits as is; an HTTP client
 * of Placement can implement it too.
 */
export type AggregatePlacement = Pick<PlacementService, 'getAggregates' | 'setAggregates'>

/** Options of {@link AggregateService}. */
export interface AggregateServiceConfig {
  /** Sends the versioned `aggregate.*` notifications (publisher `nova-api:<host>`). @default none sent */
  readonly notifier?: Notifier
  /** Nova `internal_service_availability_zone`: a zone name aggregates may not take. @default 'internal' */
  readonly internalAvailabilityZone?: string
  /**
   * How many times one provider's aggregates are read and written when its generation keeps changing underneath
   * (Nova's report client tries 4 times). @default 4
   */
  readonly placementAttempts?: number
}

type AggregateRow = Selectable<AggregatesTable>

/** The action an availability-zone check runs for: it picks Nova's message and error. */
type AzAction = 'add_host' | 'update' | 'update_metadata'

const AZ_KEY = 'availability_zone'
/** The largest value of the `integer` id column; a larger id cannot exist (and PostgreSQL would refuse to compare it). */
const MAX_DB_INT = 2_147_483_647

/** Python's `repr()` of a list of strings, as Nova prints the conflicting zones. */
function pyStringList(values: readonly string[]): string {
  return `[${values.map((v) => (v.includes("'") && !v.includes('"') ? `"${v}"` : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)).join(', ')}]`
}

/**
 * Host aggregates (Nova `AggregateAPI` and the `os-aggregates` controller): list, create (with an optional
 * availability zone), show, update (name, zone), delete (only when empty), add and remove hosts, and set or delete
 * metadata keys. Every method is admin-only by default (`os_compute_api:os-aggregates:*`).
 *
 * Availability zones follow Nova Zed's `is_safe_to_update_az`: a zone name may not be empty (nor, in Novum, the
 * internal service zone); a host may not end up in two aggregates with different zones (adding it is a `CONFLICT`,
 * changing a zone an `INVALID`); and a zone may not change while the aggregate's hosts run instances.
 *
 * Membership is mirrored into Placement as Nova does it: adding a host adds the aggregate's uuid to the resource
 * provider of each of the host's compute nodes (read, add, write with the provider generation, retried on a
 * generation conflict); removing the host removes it (Placement first, so a failure there can be retried). A
 * failure to mirror an added host is logged and the host stays added (Nova: `nova-manage placement
 * sync_aggregates` repairs it); a removal Placement keeps refusing is a `CONFLICT` and changes nothing. The
 * scheduler reads aggregates from the database on every request, so it needs no `update_aggregates` cast.
 *
 * @example
 * ```ts
 * const agg = await aggregates.create(adminCtx, { name: 'rack-1', availabilityZone: 'az1' })
 * await aggregates.addHost(adminCtx, agg.id, 'compute-1')   // compute-1's provider is now a member of agg.uuid
 * await aggregates.setMetadata(adminCtx, agg.id, { ssd: 'true', retired: null })
 * ```
 */
export class AggregateService {
  private readonly notifier: Notifier | null
  private readonly internalZone: string
  private readonly placementAttempts: number

  constructor(
    private readonly db: NovumDb,
    private readonly placement: AggregatePlacement,
    private readonly policy: Policy = new Policy(),
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    config: AggregateServiceConfig = {},
  ) {
    this.notifier = config.notifier ?? null
    this.internalZone = config.internalAvailabilityZone ?? 'internal'
    this.placementAttempts = Math.max(1, config.placementAttempts ?? 4)
  }

  /** Every aggregate with its hosts and metadata, by id. */
  async list(ctx: RequestContext): Promise<Aggregate[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-aggregates:index', {})
    const rows = await this.db.selectFrom('aggregates').selectAll().orderBy('id').execute()
    return this.withDetails(rows)
  }

  /** One aggregate; `NOT_FOUND` (`Aggregate <id> could not be found.`) when there is none with that id. */
  async get(ctx: RequestContext, id: AggregateId): Promise<Aggregate> {
    this.policy.authorize(ctx, 'os_compute_api:os-aggregates:show', {})
    return this.load(parseAggregateId(id))
  }

  /**
   * Creates an aggregate, with `availability_zone` metadata when a zone is given. Errors: `CONFLICT`
   * (`Aggregate <name> already exists.`), `INVALID` (a blank name or zone, or the internal zone).
   */
  async create(ctx: RequestContext, req: AggregateCreateRequest): Promise<Aggregate> {
    this.policy.authorize(ctx, 'os_compute_api:os-aggregates:create', {})
    const name = checkName(req.name)
    const zone = req.availabilityZone === undefined || req.availabilityZone === null ? null : req.availabilityZone.trim()
    if (zone !== null) {
      if (zone === '') throw new ComputeError('INVALID', `Cannot create aggregate ${name}. Reason: Aggregate ${name} does not support empty named availability zone.`)
      if (zone === this.internalZone) throw new ComputeError('INVALID', `Cannot create aggregate ${name}. Reason: ${this.reservedZoneReason(zone)}.`)
    }
    const uuid = randomUUID()
    const metadata = zone !== null ? { [AZ_KEY]: zone } : null
    await this.notify(ctx, 'aggregate.create.start', { id: null, uuid, name, hosts: null, metadata })
    const exists = (): ComputeError => new ComputeError('CONFLICT', `Aggregate ${name} already exists.`, { details: { name } })
    if (await this.db.selectFrom('aggregates').select('id').where('name', '=', name).executeTakeFirst()) throw exists()
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('aggregates').values({ uuid, name, created_at: isoNow(this.clock), updated_at: null }).execute()
        if (zone !== null) {
          const row = await trx.selectFrom('aggregates').select('id').where('uuid', '=', uuid).executeTakeFirstOrThrow()
          await trx.insertInto('aggregate_metadata').values({ aggregate_id: row.id, key: AZ_KEY, value: zone }).execute()
        }
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw new ComputeError('CONFLICT', `Aggregate ${name} already exists.`, { cause: err, details: { name } })
      throw err
    }
    const created = await this.loadByUuid(uuid)
    this.logger.info({ req_id: ctx.requestId, aggregate: created.id, name, availability_zone: zone }, 'aggregate created')
    await this.notify(ctx, 'aggregate.create.end', created)
    return created
  }

  /**
   * Renames the aggregate and/or changes its zone. Errors: `NOT_FOUND`; `CONFLICT` (the name is taken);
   * `INVALID` (`Cannot update aggregate <id>. Reason: …`: an empty or internal zone, a host that would be in two
   * zones, or hosts with instances while the zone changes).
   */
  async update(ctx: RequestContext, id: AggregateId, changes: AggregateUpdate): Promise<Aggregate> {
    this.policy.authorize(ctx, 'os_compute_api:os-aggregates:update', {})
    const aggregate = await this.load(parseAggregateId(id))
    const name = changes.name === undefined ? undefined : checkName(changes.name)
    if (name === undefined && changes.availabilityZone === undefined) {
      throw new ComputeError('INVALID', 'an aggregate update needs a name or an availability_zone')
    }
    if (changes.availabilityZone !== undefined) await this.checkZoneChange(aggregate, changes.availabilityZone, aggregate.hosts, 'update')
    const zone = changes.availabilityZone ?? undefined
    const now = isoNow(this.clock)
    if (name !== undefined) {
      const renamed = { ...aggregate, name }
      await this.notify(ctx, 'aggregate.update_prop.start', renamed)
      const taken = await this.db.selectFrom('aggregates').select('id').where('name', '=', name).where('id', '!=', aggregate.id).executeTakeFirst()
      if (taken) throw new ComputeError('CONFLICT', `Aggregate ${name} already exists.`, { details: { name } })
      try {
        await this.db.updateTable('aggregates').set({ name, updated_at: now }).where('id', '=', aggregate.id).execute()
      } catch (err) {
        if (isUniqueViolation(err)) throw new ComputeError('CONFLICT', `Aggregate ${name} already exists.`, { cause: err, details: { name } })
        throw err
      }
      await this.notify(ctx, 'aggregate.update_prop.end', await this.load(aggregate.id))
    }
    if (zone !== undefined) {
      const current = await this.load(aggregate.id)
      await this.notify(ctx, 'aggregate.update_metadata.start', current)
      await this.writeMetadata(aggregate.id, { [AZ_KEY]: zone }, now)
      await this.notify(ctx, 'aggregate.update_metadata.end', await this.load(aggregate.id))
    }
    const updated = await this.load(aggregate.id)
    this.logger.info({ req_id: ctx.requestId, aggregate: updated.id, name: updated.name, availability_zone: updated.availabilityZone }, 'aggregate updated')
    return updated
  }

  /**
   * Deletes an aggregate that has no hosts left. Errors: `NOT_FOUND`; `INVALID` (Nova's `Cannot remove host from
   * aggregate <id>. Reason: Host aggregate is not empty.`).
   */
  async delete(ctx: RequestContext, id: AggregateId): Promise<void> {
    this.policy.authorize(ctx, 'os_compute_api:os-aggregates:delete', {})
    const aggregate = await this.load(parseAggregateId(id))
    await this.notify(ctx, 'aggregate.delete.start', aggregate)
    if (aggregate.hosts.length > 0) {
      throw new ComputeError('INVALID', `Cannot remove host from aggregate ${aggregate.id}. Reason: Host aggregate is not empty.`, { details: { aggregateId: aggregate.id } })
    }
    await this.db.transaction().execute(async (trx) => {
      // NOTE: a host added concurrently keeps the aggregate (Nova's destroy refuses an aggregate with hosts too).
      const host = await trx.selectFrom('aggregate_hosts').select('id').where('aggregate_id', '=', aggregate.id).executeTakeFirst()
      if (host) throw new ComputeError('INVALID', `Cannot remove host from aggregate ${aggregate.id}. Reason: Host aggregate is not empty.`, { details: { aggregateId: aggregate.id } })
      await trx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', aggregate.id).execute()
      await trx.deleteFrom('aggregates').where('id', '=', aggregate.id).execute()
    })
    this.logger.info({ req_id: ctx.requestId, aggregate: aggregate.id, name: aggregate.name }, 'aggregate deleted')
    await this.notify(ctx, 'aggregate.delete.end', aggregate)
  }

  /**
   * Adds a compute host and mirrors it into Placement. Errors: `NOT_FOUND` (the aggregate, or `Compute host <host>
   * could not be found.` when no nova-compute service has that exact name); `CONFLICT` (`Aggregate <id> already
   * has host <host>.`, or `Cannot add host to aggregate <id>. Reason: One or more hosts already in availability
   * zone(s) [...]`, as Nova's 409).
   */
  async addHost(ctx: RequestContext, id: AggregateId, host: string): Promise<Aggregate> {
    this.policy.authorize(ctx, 'os_compute_api:os-aggregates:add_host', {})
    const aggregateId = parseAggregateId(id)
    await this.requireComputeHost(host)
    const aggregate = await this.load(aggregateId)
    await this.notify(ctx, 'aggregate.add_host.start', aggregate)
    if (aggregate.availabilityZone !== null) await this.checkZoneChange(aggregate, aggregate.availabilityZone, [host], 'add_host')
    const exists = (cause?: unknown): ComputeError =>
      new ComputeError('CONFLICT', `Aggregate ${aggregate.id} already has host ${host}.`, { ...(cause ? { cause } : {}), details: { aggregateId: aggregate.id, host } })
    if (aggregate.hosts.includes(host)) throw exists()
    try {
      await this.db.insertInto('aggregate_hosts').values({ aggregate_id: aggregate.id, host }).execute()
    } catch (err) {
      if (isUniqueViolation(err)) throw exists(err)
      throw err
    }
    await this.mirrorHost(ctx, aggregate, host, 'add')
    const updated = await this.load(aggregate.id)
    this.logger.info({ req_id: ctx.requestId, aggregate: aggregate.id, host }, 'host added to aggregate')
    await this.notify(ctx, 'aggregate.add_host.end', updated)
    return updated
  }

  /**
   * Removes a host, from Placement first. Errors: `NOT_FOUND` (`Cannot remove host <host> in aggregate <id>`: no
   * such aggregate, compute host or membership); `CONFLICT` (the same message, when Placement keeps refusing the
   * provider's new aggregates).
   */
  async removeHost(ctx: RequestContext, id: AggregateId, host: string): Promise<Aggregate> {
    this.policy.authorize(ctx, 'os_compute_api:os-aggregates:remove_host', {})
    const label = typeof id === 'string' ? id.trim() : String(id)
    const cannot = (code: 'NOT_FOUND' | 'CONFLICT', cause?: unknown): ComputeError =>
      new ComputeError(code, `Cannot remove host ${host} in aggregate ${label}`, { ...(cause ? { cause } : {}), details: { aggregateId: label, host } })
    let aggregate: Aggregate
    try {
      const aggregateId = parseAggregateId(id)
      await this.requireComputeHost(host)
      aggregate = await this.load(aggregateId)
    } catch (err) {
      if (ComputeError.is(err, 'NOT_FOUND')) throw cannot('NOT_FOUND', err)
      throw err
    }
    await this.notify(ctx, 'aggregate.remove_host.start', aggregate)
    if (!aggregate.hosts.includes(host)) throw cannot('NOT_FOUND')
    try {
      await this.mirrorHost(ctx, aggregate, host, 'remove')
    } catch (err) {
      if (ComputeError.is(err, 'CONFLICT')) throw cannot('CONFLICT', err)
      throw err
    }
    const removed = await this.db.deleteFrom('aggregate_hosts').where('aggregate_id', '=', aggregate.id).where('host', '=', host).executeTakeFirst()
    if (Number(removed.numDeletedRows) === 0) throw cannot('NOT_FOUND')
    const updated = await this.load(aggregate.id)
    this.logger.info({ req_id: ctx.requestId, aggregate: aggregate.id, host }, 'host removed from aggregate')
    await this.notify(ctx, 'aggregate.remove_host.end', updated)
    return updated
  }

  /**
   * Sets metadata keys; a null value deletes its key (a missing key is no error). Setting `availability_zone` makes
   * the aggregate a zone, or moves it to another, under the zone rules (Nova refuses a null or empty zone, so a zone
   * can be renamed but not removed). Errors: `NOT_FOUND`; `INVALID` (`Cannot update metadata of aggregate <id>.
   * Reason: …`).
   */
  async setMetadata(ctx: RequestContext, id: AggregateId, metadata: Readonly<Record<string, string | null>>): Promise<Aggregate> {
    this.policy.authorize(ctx, 'os_compute_api:os-aggregates:set_metadata', {})
    const aggregate = await this.load(parseAggregateId(id))
    if (AZ_KEY in metadata) await this.checkZoneChange(aggregate, metadata[AZ_KEY] ?? null, aggregate.hosts, 'update_metadata')
    await this.notify(ctx, 'aggregate.update_metadata.start', aggregate)
    await this.writeMetadata(aggregate.id, metadata, isoNow(this.clock))
    const updated = await this.load(aggregate.id)
    this.logger.info({ req_id: ctx.requestId, aggregate: aggregate.id, keys: Object.keys(metadata) }, 'aggregate metadata updated')
    await this.notify(ctx, 'aggregate.update_metadata.end', updated)
    return updated
  }

  /**
   * Nova's image pre-cache (`POST /os-aggregates/{id}/images`, 2.81): checks the policy, the aggregate and the
   * list (`INVALID` `Duplicate images in request`), then fails with `NOT_IMPLEMENTED`: no Novum driver caches
   * images ahead of a boot.
   */
  async cacheImages(ctx: RequestContext, id: AggregateId, imageIds: readonly string[]): Promise<never> {
    this.policy.authorize(ctx, 'compute:aggregates:images', {})
    const aggregate = await this.load(parseAggregateId(id))
    if (new Set(imageIds).size !== imageIds.length) throw new ComputeError('INVALID', 'Duplicate images in request')
    throw new ComputeError('NOT_IMPLEMENTED', `Image pre-caching is not supported (aggregate ${aggregate.id}).`)
  }

  // --- internals ---------------------------------------------------------------------------------

  private reservedZoneReason(zone: string): string {
    return `Availability zone ${zone} is reserved for internal services`
  }

  /**
   * Nova `is_safe_to_update_az`: `zone` is the aggregate's zone after the change, `hosts` the hosts to check (the new
   * host for add_host, the aggregate's hosts otherwise).
   */
  private async checkZoneChange(aggregate: Aggregate, zone: string | null, hosts: readonly string[], action: AzAction): Promise<void> {
    const fail = (reason: string): never => {
      const message =
        action === 'add_host'
          ? `Cannot add host to aggregate ${aggregate.id}. Reason: ${reason}.`
          : action === 'update'
            ? `Cannot update aggregate ${aggregate.id}. Reason: ${reason}.`
            : `Cannot update metadata of aggregate ${aggregate.id}. Reason: ${reason}.`
      throw new ComputeError(action === 'add_host' ? 'CONFLICT' : 'INVALID', message, { details: { aggregateId: aggregate.id, action, reason } })
    }
    if (zone === null || zone.trim() === '') return fail(`Aggregate ${aggregate.name} does not support empty named availability zone`)
    // NOTE: Nova Zed accepts the internal zone's name here; Novum refuses it, since `os-availability-zone` hides that zone.
    if (zone === this.internalZone) return fail(this.reservedZoneReason(zone))
    if (hosts.length > 0) {
      const zoned = await this.db
        .selectFrom('aggregate_metadata as m')
        .select(['m.aggregate_id', 'm.value'])
        .where('m.key', '=', AZ_KEY)
        .where('m.aggregate_id', '!=', aggregate.id)
        .where('m.aggregate_id', 'in', (eb) => eb.selectFrom('aggregate_hosts').select('aggregate_id').where('host', 'in', [...hosts]))
        .orderBy('m.aggregate_id')
        .execute()
      const conflicting = zoned.filter((z) => z.value !== zone).map((z) => z.value)
      if (conflicting.length > 0) return fail(`One or more hosts already in availability zone(s) ${pyStringList(conflicting)}`)
      if (action !== 'add_host' && aggregate.availabilityZone !== zone) {
        const hosted = await this.db.selectFrom('instances').select('uuid').where('host', 'in', [...hosts]).where('deleted', '=', 0).executeTakeFirst()
        if (hosted) return fail('One or more hosts contain instances in this zone')
      }
    }
  }

  /** Applies metadata changes in one transaction: null deletes, a value inserts or replaces. */
  private async writeMetadata(aggregateId: number, metadata: Readonly<Record<string, string | null>>, now: string): Promise<void> {
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const [key, value] of Object.entries(metadata)) {
          if (value === null) {
            await trx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', aggregateId).where('key', '=', key).execute()
            continue
          }
          const updated = await trx.updateTable('aggregate_metadata').set({ value }).where('aggregate_id', '=', aggregateId).where('key', '=', key).executeTakeFirst()
          // MariaDB counts only rows whose value changed, so look before inserting.
          if (Number(updated.numUpdatedRows) === 0) {
            const present = await trx.selectFrom('aggregate_metadata').select('id').where('aggregate_id', '=', aggregateId).where('key', '=', key).executeTakeFirst()
            if (!present) await trx.insertInto('aggregate_metadata').values({ aggregate_id: aggregateId, key, value }).execute()
          }
        }
        await trx.updateTable('aggregates').set({ updated_at: now }).where('id', '=', aggregateId).execute()
      })
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ComputeError('INVALID', `Aggregate ${aggregateId} already contain metadata key ${Object.keys(metadata).join(', ')}.`, { cause: err, details: { aggregateId } })
      }
      throw err
    }
  }

  /** Nova `_get_service_in_cell_by_host`: the host must run a (non-deleted) nova-compute service of exactly that name. */
  private async requireComputeHost(host: string): Promise<void> {
    const rows = await this.db.selectFrom('services').select('host').where('host', '=', host).where('binary', '=', 'nova-compute').where('deleted_at', 'is', null).execute()
    // NOTE: MariaDB compares case-insensitively; Nova refuses a service found under another case too.
    if (!rows.some((r) => r.host === host)) throw new ComputeError('NOT_FOUND', `Compute host ${host} could not be found.`, { details: { host } })
  }

  /**
   * Adds the aggregate's uuid to (or removes it from) the resource provider of each compute node of `host`. On add,
   * a provider that is missing or keeps conflicting is logged and skipped; on remove, a missing provider is
   * skipped and a conflict rethrown.
   */
  private async mirrorHost(ctx: RequestContext, aggregate: Aggregate, host: string, op: 'add' | 'remove'): Promise<void> {
    const nodes = await this.db.selectFrom('compute_nodes').select(['uuid', 'hypervisor_hostname']).where('host', '=', host).where('deleted_at', 'is', null).orderBy('id').execute()
    for (const node of nodes) {
      try {
        await this.updateProviderAggregates(node.uuid, (current) =>
          op === 'add' ? (current.includes(aggregate.uuid) ? null : [...current, aggregate.uuid]) : current.includes(aggregate.uuid) ? current.filter((a) => a !== aggregate.uuid) : null,
        )
      } catch (err) {
        const missing = ComputeError.is(err, 'NOT_FOUND')
        if (op === 'remove' && !missing) throw err
        if (op === 'add' && !missing && !ComputeError.is(err, 'CONFLICT')) throw err
        this.logger.warn(
          { req_id: ctx.requestId, aggregate: aggregate.uuid, host, node: node.hypervisor_hostname, err },
          op === 'add'
            ? `failed to associate ${node.hypervisor_hostname} with placement aggregate ${aggregate.uuid}: ${(err as Error).message}`
            : `failed to remove association of ${node.hypervisor_hostname} with placement aggregate ${aggregate.uuid}: ${(err as Error).message}`,
        )
      }
    }
  }

  /** Read-modify-write of one provider's aggregates with its generation; `change` returns null for "nothing to do". */
  private async updateProviderAggregates(providerUuid: string, change: (current: readonly string[]) => readonly string[] | null): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const { aggregates, resourceProviderGeneration } = await this.placement.getAggregates(providerUuid)
      const next = change(aggregates)
      if (next === null) return
      try {
        await this.placement.setAggregates(providerUuid, resourceProviderGeneration, next)
        return
      } catch (err) {
        if (!isProviderGenerationConflict(err) || attempt >= this.placementAttempts) throw err
        await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt * 20))
      }
    }
  }

  private async notify(ctx: RequestContext, eventType: string, aggregate: Parameters<typeof aggregatePayload>[0]): Promise<void> {
    if (this.notifier) await this.notifier.notify(ctx, 'info', eventType, aggregatePayload(aggregate))
  }

  private async load(id: number): Promise<Aggregate> {
    const row = id >= -MAX_DB_INT - 1 && id <= MAX_DB_INT ? await this.db.selectFrom('aggregates').selectAll().where('id', '=', id).executeTakeFirst() : undefined
    if (!row) throw new ComputeError('NOT_FOUND', `Aggregate ${id} could not be found.`, { details: { aggregateId: id } })
    return (await this.withDetails([row]))[0] as Aggregate
  }

  private async loadByUuid(uuid: string): Promise<Aggregate> {
    const row = await this.db.selectFrom('aggregates').selectAll().where('uuid', '=', uuid).executeTakeFirstOrThrow()
    return (await this.withDetails([row]))[0] as Aggregate
  }

  private async withDetails(rows: readonly AggregateRow[]): Promise<Aggregate[]> {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const [hosts, metadata] = await Promise.all([
      this.db.selectFrom('aggregate_hosts').select(['aggregate_id', 'host']).where('aggregate_id', 'in', ids).orderBy('id').execute(),
      this.db.selectFrom('aggregate_metadata').select(['aggregate_id', 'key', 'value']).where('aggregate_id', 'in', ids).orderBy('id').execute(),
    ])
    const hostsOf = new Map<number, string[]>()
    for (const h of hosts) hostsOf.set(h.aggregate_id, [...(hostsOf.get(h.aggregate_id) ?? []), h.host])
    const metaOf = new Map<number, Record<string, string>>()
    for (const m of metadata) metaOf.set(m.aggregate_id, { ...(metaOf.get(m.aggregate_id) ?? {}), [m.key]: m.value })
    return rows.map((r) => {
      const meta = metaOf.get(r.id) ?? {}
      return {
        id: r.id,
        uuid: r.uuid,
        name: r.name,
        availabilityZone: meta[AZ_KEY] ?? null,
        hosts: hostsOf.get(r.id) ?? [],
        metadata: meta,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      }
    })
  }
}

/** Nova `validate_integer(id, 'id')` (oslo `strutils`): an integer, or a string holding one. */
function parseAggregateId(id: AggregateId): number {
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id
  if (typeof id === 'string' && /^\s*[+-]?\d+(?:_\d+)*\s*$/.test(id)) {
    const digits = id.trim().replace(/_/g, '')
    const n = Number(digits)
    if (Number.isSafeInteger(n)) return n
    // NOTE: Python ints are unbounded; an id this large simply matches no aggregate.
    throw new ComputeError('NOT_FOUND', `Aggregate ${digits} could not be found.`, { details: { aggregateId: digits } })
  }
  throw new ComputeError('INVALID', 'Invalid input received: id must be an integer', { details: { id: String(id) } })
}

/** A name the API schema would accept: 1–255 characters, not blank (the HTTP layer also refuses edge whitespace). */
function checkName(name: string): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 255) {
    throw new ComputeError('INVALID', 'Invalid input for field/attribute name. Value: must be a non-blank string of 1 to 255 characters')
  }
  return name.trim()
}
