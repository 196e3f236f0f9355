import { sql } from 'kysely'
import type { NovumDb } from '../db/create-database.js'
import type { SqlFamily } from '../db/migrations/dialect-helpers.js'
import { ComputeError } from '../errors/compute-error.js'
import { type Clock, isoNow, systemClock } from '../util/clock.js'
import { type Logger, silentLogger } from '../util/logger.js'
import { computeAllocationCandidates, explainAllocationCandidates } from './allocation-candidates.js'
import { STANDARD_RESOURCE_CLASSES, assertResourceClass, assertTraitNames, assertUuid, isCustomName, isValidTraitName } from './names.js'
import type {
  AllocationCandidates,
  AllocationCandidatesRequest,
  ConsumerAllocations,
  Inventory,
  InventoryInput,
  PlacementClient,
  ProviderRejection,
  ProviderTreeReport,
  PutAllocationsRequest,
  ResourceProvider,
} from './placement-client.js'
import { ProviderCache, type ProviderSnapshot } from './provider-cache.js'
import { STANDARD_TRAITS } from './standard-traits.js'
import { RetryWrite, affected, chunks, familyOf, insertReturningId, isTransientDbError, isUniqueViolation, jitter, type Queryable, writeTransaction } from './sql.js'

/** Options of {@link PlacementService}. */
export interface PlacementServiceConfig {
  /** @default systemClock */
  readonly clock?: Clock
  /** @default silentLogger */
  readonly logger?: Logger
  /**
   * How many times an allocation write is tried when the providers it touches change underneath it (another claim
   * committed first) or the database reports a deadlock, before failing with `placement.concurrent_update`.
   * @default 10
   */
  readonly maxWriteAttempts?: number
  /**
   * Accept an inventory update that leaves a class's capacity below its current usage (logged as a warning), as
   * upstream Placement does. By default such an update fails with `placement.inventory.inuse`.
   * @default false
   */
  readonly allowInventoryBelowUsage?: boolean
  /**
   * Keep providers' inventories, usage, traits and aggregates in memory between candidate queries, revalidated on
   * every query by provider generation (see `provider-cache.ts`). Turn it off if something other than
   * `PlacementService` writes the Placement tables.
   * @default true
   */
  readonly cacheProviders?: boolean
}

/** What creating a provider takes (`POST /resource_providers`). */
export interface CreateProviderRequest {
  readonly name: string
  /** Generated when absent. */
  readonly uuid?: string
  /** Makes the new provider a child of this one (1.14). */
  readonly parentProviderUuid?: string | null
}

/** What updating a provider takes (`PUT /resource_providers/{uuid}`). */
export interface UpdateProviderRequest {
  readonly name: string
  /** A new parent, `null` to make it a root (1.37), or absent to keep the parent. */
  readonly parentProviderUuid?: string | null
}

/** Filters of {@link PlacementService.listProviders} (`GET /resource_providers`); all given ones must match. */
export interface ListProvidersFilter {
  readonly name?: string
  readonly uuid?: string
  /** Only providers in the tree of this provider (1.14). */
  readonly inTree?: string
  /** Each inner list is an any-of set of aggregate uuids; every set must match (1.3, 1.24). */
  readonly memberOf?: readonly (readonly string[])[]
  readonly forbiddenAggregates?: readonly string[]
  readonly requiredTraits?: readonly string[]
  /** `required=in:A,B` (1.39): each inner list is an any-of set of traits; every set must match. */
  readonly anyTraits?: readonly (readonly string[])[]
  readonly forbiddenTraits?: readonly string[]
  /** Only providers with room for these amounts (1.4). */
  readonly resources?: Readonly<Record<string, number>>
}

/** A provider's inventories with its generation (`GET /resource_providers/{uuid}/inventories`). */
export interface ProviderInventories {
  readonly resourceProviderGeneration: number
  readonly inventories: Readonly<Record<string, Inventory>>
}

/** A provider's traits with its generation. */
export interface ProviderTraits {
  readonly resourceProviderGeneration: number
  readonly traits: readonly string[]
}

/** A provider's aggregates with its generation. */
export interface ProviderAggregates {
  readonly resourceProviderGeneration: number
  readonly aggregates: readonly string[]
}

/** A provider's usage per resource class with its generation (every class it has inventory of, 0 when unused). */
export interface ProviderUsages {
  readonly resourceProviderGeneration: number
  readonly usages: Readonly<Record<string, number>>
}

/** The allocations against one provider, per consumer. */
export interface ProviderAllocations {
  readonly resourceProviderGeneration: number
  readonly allocations: Readonly<Record<string, { readonly resources: Readonly<Record<string, number>> }>>
}

/** A consumer as Placement records it (the `consumers` row): who owns it and its generation. */
export interface ConsumerRecord {
  readonly uuid: string
  readonly generation: number
  readonly projectId: string
  readonly userId: string
  /** `null` for a consumer written before 1.38 or without a type (Placement shows it as `unknown`). */
  readonly consumerType: string | null
}

/** Usage of one consumer type in a project (`GET /usages` from 1.38). */
export interface ConsumerTypeUsage {
  /** How many distinct consumers of this type hold allocations. */
  readonly consumerCount: number
  /** Amount used per resource class. */
  readonly usages: Readonly<Record<string, number>>
}

/** Filters of {@link PlacementService.listTraits} (`GET /traits`). */
export interface ListTraitsFilter {
  /** `name=in:A,B`. */
  readonly names?: readonly string[]
  /** `name=startswith:X`. */
  readonly startsWith?: string
  /** `associated=true`: only traits some provider has; `false`: only traits none has. */
  readonly associated?: boolean
}

const MAX_INT = 2147483647

/** Fills Placement's defaults into an inventory and validates it; throws `INVALID` naming the bad field. */
export function normaliseInventory(resourceClass: string, input: InventoryInput): Inventory {
  assertResourceClass(resourceClass)
  const inv: Inventory = {
    total: input.total,
    reserved: input.reserved ?? 0,
    minUnit: input.minUnit ?? 1,
    maxUnit: input.maxUnit ?? MAX_INT,
    stepSize: input.stepSize ?? 1,
    allocationRatio: input.allocationRatio ?? 1,
  }
  const bad = (field: string, value: number, rule: string): ComputeError =>
    new ComputeError('INVALID', `invalid ${resourceClass} inventory: ${field} ${value} ${rule}`, { details: { code: 'placement.undefined_code' } })
  const ints: [string, number, number][] = [
    ['total', inv.total, 1],
    ['reserved', inv.reserved, 0],
    ['min_unit', inv.minUnit, 1],
    ['max_unit', inv.maxUnit, 1],
    ['step_size', inv.stepSize, 1],
  ]
  for (const [field, value, min] of ints) {
    if (!Number.isInteger(value) || value < min || value > MAX_INT) throw bad(field, value, `must be an integer from ${min} to ${MAX_INT}`)
  }
  if (!(inv.allocationRatio > 0) || !Number.isFinite(inv.allocationRatio)) throw bad('allocation_ratio', inv.allocationRatio, 'must be a positive number')
  if (inv.reserved > inv.total) throw bad('reserved', inv.reserved, `must not exceed total ${inv.total}`)
  if (inv.minUnit > inv.maxUnit) throw bad('min_unit', inv.minUnit, `must not exceed max_unit ${inv.maxUnit}`)
  return inv
}

function capacity(inv: Inventory): number {
  return Math.floor((inv.total - inv.reserved) * inv.allocationRatio)
}

function sameInventory(a: Inventory, b: Inventory): boolean {
  return a.total === b.total && a.reserved === b.reserved && a.minUnit === b.minUnit && a.maxUnit === b.maxUnit && a.stepSize === b.stepSize && a.allocationRatio === b.allocationRatio
}

function notFound(uuid: string): ComputeError {
  return new ComputeError('NOT_FOUND', `resource provider ${uuid} not found`, { details: { code: 'placement.resource_provider.not_found' } })
}

function providerConflict(uuid: string, expected: number, actual: number | null): ComputeError {
  const got = actual === null ? 'a concurrent change' : `generation ${actual}`
  return new ComputeError('CONFLICT', `resource provider ${uuid} generation conflict: expected ${expected}, found ${got}`, {
    details: { code: 'placement.concurrent_update', conflict: 'provider', resourceProviderUuid: uuid },
  })
}

function consumerConflict(consumer: string, expected: number | null, actual: number | null): ComputeError {
  return new ComputeError('CONFLICT', `consumer ${consumer} generation conflict: expected ${expected ?? 'null'} but got ${actual ?? 'null'}`, {
    details: { code: 'placement.concurrent_update', conflict: 'consumer', consumerUuid: consumer },
  })
}

function unableToAllocate(reasons: readonly string[]): ComputeError {
  return new ComputeError('CONFLICT', `unable to allocate inventory: ${reasons.join('; ')}`, { details: { code: 'placement.undefined_code', reasons } })
}

/** True for the error a stale provider generation raises (the caller may refresh and try again). */
export function isProviderGenerationConflict(err: unknown): boolean {
  return ComputeError.is(err, 'CONFLICT') && err.details?.['code'] === 'placement.concurrent_update' && err.details?.['conflict'] === 'provider'
}

/** True for a consumer-generation conflict (someone else changed the consumer's allocations). */
export function isConsumerGenerationConflict(err: unknown): boolean {
  return ComputeError.is(err, 'CONFLICT') && err.details?.['code'] === 'placement.concurrent_update' && err.details?.['conflict'] === 'consumer'
}

interface ProviderRow {
  readonly id: number
  readonly uuid: string
  readonly generation: number
}

interface AllocationEntry {
  readonly consumer: string
  readonly request: PutAllocationsRequest
}

/**
 * Placement over Novum's database: resource providers (trees), inventories, traits, aggregates, consumers and
 * allocations, with Placement's generation rules, and allocation candidates.
 *
 * Concurrency: every change to a provider (inventory, traits, aggregates, allocations against it) increments its
 * generation with a compare-and-swap `UPDATE … WHERE generation = ?` inside the writing transaction. A client's
 * stale generation fails with `CONFLICT` / `placement.concurrent_update`. Allocation writes read the generations
 * of every provider they touch, take the row locks by bumping them, then check capacity against usage and write,
 * all in one transaction; when another writer got there first, the bump matches no row, and the write is rolled
 * back and retried (up to {@link PlacementServiceConfig.maxWriteAttempts}), so concurrent claims can never exceed
 * capacity on SQLite, PostgreSQL (read committed) or MariaDB (repeatable read).
 *
 * @example
 * ```ts
 * const placement = new PlacementService(db)
 * await placement.syncProviderTree({ uuid, name: 'node-1', traits: [], inventories: { VCPU: { total: 8 } } })
 * const { allocationRequests } = await placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { VCPU: 2 } }] })
 * ```
 */
export class PlacementService implements PlacementClient {
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly maxAttempts: number
  private readonly allowBelowUsage: boolean
  private readonly family: SqlFamily
  private readonly cache: ProviderCache | null

  constructor(
    private readonly db: NovumDb,
    config: PlacementServiceConfig = {},
  ) {
    this.clock = config.clock ?? systemClock
    this.logger = config.logger ?? silentLogger
    this.maxAttempts = config.maxWriteAttempts ?? 10
    this.allowBelowUsage = config.allowInventoryBelowUsage ?? false
    this.family = familyOf(db)
    this.cache = config.cacheProviders === false ? null : new ProviderCache(db)
  }

  // --- providers ---------------------------------------------------------------------------------

  /** The provider, or null when there is none with that uuid. */
  async getProvider(uuid: string): Promise<ResourceProvider | null> {
    const rows = await this.selectProviders(this.db).where('rp.uuid', '=', uuid).execute()
    const row = rows[0]
    return row ? toProvider(row) : null
  }

  /** Creates a provider (root, or child of `parentProviderUuid`); a duplicate name or uuid is a `CONFLICT`. */
  async createProvider(request: CreateProviderRequest): Promise<ResourceProvider> {
    const uuid = request.uuid ?? crypto.randomUUID()
    assertUuid(uuid, 'resource provider uuid')
    const name = request.name
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new ComputeError('INVALID', `invalid resource provider name "${String(name)}": must be 1 to 200 characters`)
    const now = isoNow(this.clock)
    try {
      await this.write(async (trx) => {
        const dup = await trx.selectFrom('resource_providers').select(['uuid', 'name']).where((eb) => eb.or([eb('uuid', '=', uuid), eb('name', '=', name)])).execute()
        for (const d of dup) {
          if (d.name === name) throw duplicateName(name)
          throw new ComputeError('CONFLICT', `conflicting resource provider uuid: ${uuid} already exists`, { details: { code: 'placement.duplicate_name' } })
        }
        let parentId: number | null = null
        let rootId: number | null = null
        if (request.parentProviderUuid) {
          const parent = await trx.selectFrom('resource_providers').select(['id', 'root_provider_id']).where('uuid', '=', request.parentProviderUuid).executeTakeFirst()
          if (!parent) throw new ComputeError('INVALID', `parent resource provider ${request.parentProviderUuid} does not exist`, { details: { code: 'placement.resource_provider.not_found' } })
          parentId = parent.id
          rootId = parent.root_provider_id ?? parent.id
        }
        const id = await insertReturningId(
          this.family,
          trx.insertInto('resource_providers').values({ uuid, name, generation: 0, parent_provider_id: parentId, root_provider_id: rootId, created_at: now, updated_at: null }),
        )
        if (rootId === null) await trx.updateTable('resource_providers').set({ root_provider_id: id }).where('id', '=', id).execute()
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicateName(name)
      throw err
    }
    return (await this.getProvider(uuid)) as ResourceProvider
  }

  /** Providers matching every given filter, in creation order. */
  async listProviders(filter: ListProvidersFilter = {}): Promise<ResourceProvider[]> {
    let q = this.selectProviders(this.db)
    if (filter.name !== undefined) q = q.where('rp.name', '=', filter.name)
    if (filter.uuid !== undefined) q = q.where('rp.uuid', '=', filter.uuid)
    if (filter.inTree !== undefined) {
      const anchor = await this.db.selectFrom('resource_providers').select('root_provider_id').where('uuid', '=', filter.inTree).executeTakeFirst()
      if (!anchor) throw new ComputeError('INVALID', `no resource provider with uuid ${filter.inTree} for in_tree`, { details: { code: 'placement.query.bad_value' } })
      q = q.where('rp.root_provider_id', '=', anchor.root_provider_id)
    }
    for (const anyOf of filter.memberOf ?? []) {
      if (anyOf.length) q = q.where('rp.id', 'in', (eb) => eb.selectFrom('resource_provider_aggregates').select('resource_provider_id').where('aggregate_uuid', 'in', [...anyOf]))
    }
    if (filter.forbiddenAggregates?.length) {
      const f = [...filter.forbiddenAggregates]
      q = q.where('rp.id', 'not in', (eb) => eb.selectFrom('resource_provider_aggregates').select('resource_provider_id').where('aggregate_uuid', 'in', f))
    }
    const traitSub = (name: string) =>
      this.db.selectFrom('resource_provider_traits as rpt').innerJoin('traits as t', 't.id', 'rpt.trait_id').select('rpt.resource_provider_id').where('t.name', '=', name)
    for (const t of filter.requiredTraits ?? []) q = q.where('rp.id', 'in', traitSub(t))
    for (const anyOf of filter.anyTraits ?? []) {
      if (anyOf.length === 0) continue
      const names = [...anyOf]
      q = q.where('rp.id', 'in', this.db.selectFrom('resource_provider_traits as rpt').innerJoin('traits as t', 't.id', 'rpt.trait_id').select('rpt.resource_provider_id').where('t.name', 'in', names))
    }
    for (const t of filter.forbiddenTraits ?? []) q = q.where('rp.id', 'not in', traitSub(t))
    for (const [rc, amount] of Object.entries(filter.resources ?? {})) {
      assertResourceClass(rc)
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('inventories as i')
            .select('i.id')
            .whereRef('i.resource_provider_id', '=', 'rp.id')
            .where('i.resource_class', '=', rc)
            .where('i.min_unit', '<=', amount)
            .where('i.max_unit', '>=', amount)
            .where(
              sql<boolean>`coalesce((select sum(a.used) from allocations a where a.resource_provider_id = i.resource_provider_id and a.resource_class = i.resource_class), 0) + ${amount} <= (i.total - i.reserved) * i.allocation_ratio`,
            ),
        ),
      )
    }
    const rows = await q.orderBy('rp.id').execute()
    return rows.map(toProvider)
  }

  /** Renames or re-parents a provider (re-parenting moves its whole subtree); bumps its generation. */
  async updateProvider(uuid: string, request: UpdateProviderRequest): Promise<ResourceProvider> {
    const name = request.name
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new ComputeError('INVALID', `invalid resource provider name "${String(name)}": must be 1 to 200 characters`)
    await this.write(async (trx) => {
      const rp = await trx.selectFrom('resource_providers').select(['id', 'parent_provider_id', 'root_provider_id']).where('uuid', '=', uuid).executeTakeFirst()
      if (!rp) throw notFound(uuid)
      const other = await trx.selectFrom('resource_providers').select('id').where('name', '=', name).where('id', '!=', rp.id).executeTakeFirst()
      if (other) throw duplicateName(name)
      let parentId = rp.parent_provider_id
      let rootId = rp.root_provider_id ?? rp.id
      if (request.parentProviderUuid !== undefined) {
        const tree = await trx.selectFrom('resource_providers').select(['id', 'parent_provider_id']).where('root_provider_id', '=', rootId).execute()
        const subtree = new Set<number>([rp.id])
        for (let grew = true; grew; ) {
          grew = false
          for (const n of tree) {
            if (n.parent_provider_id !== null && subtree.has(n.parent_provider_id) && !subtree.has(n.id)) {
              subtree.add(n.id)
              grew = true
            }
          }
        }
        if (request.parentProviderUuid === null) {
          parentId = null
          rootId = rp.id
        } else {
          const parent = await trx.selectFrom('resource_providers').select(['id', 'root_provider_id']).where('uuid', '=', request.parentProviderUuid).executeTakeFirst()
          if (!parent) throw new ComputeError('INVALID', `parent resource provider ${request.parentProviderUuid} does not exist`, { details: { code: 'placement.resource_provider.not_found' } })
          if (subtree.has(parent.id)) throw new ComputeError('INVALID', `cannot make ${request.parentProviderUuid} the parent of ${uuid}: it is in ${uuid}'s subtree`)
          parentId = parent.id
          rootId = parent.root_provider_id ?? parent.id
        }
        // Every provider of the moved subtree changes root, so each gets a new generation (the candidates cache keys on it).
        await trx
          .updateTable('resource_providers')
          .set((eb) => ({ root_provider_id: rootId, generation: eb('generation', '+', 1) }))
          .where('id', 'in', [...subtree])
          .execute()
      }
      await trx
        .updateTable('resource_providers')
        .set((eb) => ({ name, parent_provider_id: parentId, generation: eb('generation', '+', 1), updated_at: isoNow(this.clock) }))
        .where('id', '=', rp.id)
        .execute()
    })
    return (await this.getProvider(uuid)) as ResourceProvider
  }

  /** Deletes a provider with its inventories, traits and aggregates; `CONFLICT` while it has allocations or children. */
  async deleteProvider(uuid: string): Promise<void> {
    await this.write(async (trx) => {
      const rp = await trx.selectFrom('resource_providers').select('id').where('uuid', '=', uuid).executeTakeFirst()
      if (!rp) throw notFound(uuid)
      const child = await trx.selectFrom('resource_providers').select('id').where('parent_provider_id', '=', rp.id).executeTakeFirst()
      if (child) throw new ComputeError('CONFLICT', `unable to delete resource provider ${uuid}: it has child providers`, { details: { code: 'placement.resource_provider.cannot_delete_parent' } })
      const alloc = await trx.selectFrom('allocations').select('id').where('resource_provider_id', '=', rp.id).executeTakeFirst()
      if (alloc) throw new ComputeError('CONFLICT', `unable to delete resource provider ${uuid}: it has allocations`, { details: { code: 'placement.resource_provider.inuse' } })
      await trx.deleteFrom('inventories').where('resource_provider_id', '=', rp.id).execute()
      await trx.deleteFrom('resource_provider_traits').where('resource_provider_id', '=', rp.id).execute()
      await trx.deleteFrom('resource_provider_aggregates').where('resource_provider_id', '=', rp.id).execute()
      await trx.deleteFrom('resource_providers').where('id', '=', rp.id).execute()
    })
  }

  // --- inventories -------------------------------------------------------------------------------

  /** The provider's inventories and generation; `NOT_FOUND` for an unknown provider. */
  async getInventories(uuid: string): Promise<ProviderInventories> {
    const rp = await this.requireProvider(this.db, uuid)
    const rows = await this.db.selectFrom('inventories').selectAll().where('resource_provider_id', '=', rp.id).orderBy('resource_class').execute()
    return { resourceProviderGeneration: rp.generation, inventories: Object.fromEntries(rows.map((r) => [r.resource_class, inventoryFromRow(r)])) }
  }

  /**
   * Replaces all of the provider's inventories (`PUT /resource_providers/{uuid}/inventories`), checking the
   * provider generation; a class with allocations cannot be removed or shrunk below its usage. A custom class
   * must have been created first ({@link PlacementService.createResourceClass}), else `INVALID` "no such
   * resource class".
   */
  async setInventories(uuid: string, generation: number, inventories: Readonly<Record<string, InventoryInput>>): Promise<ProviderInventories> {
    const desired = Object.fromEntries(Object.entries(inventories).map(([rc, inv]) => [rc, normaliseInventory(rc, inv)]))
    return this.writeInventories(uuid, generation, desired, 'replace')
  }

  /** Creates or updates one class's inventory (`PUT /resource_providers/{uuid}/inventories/{rc}`). */
  async setInventory(uuid: string, generation: number, resourceClass: string, inventory: InventoryInput): Promise<ProviderInventories> {
    return this.writeInventories(uuid, generation, { [resourceClass]: normaliseInventory(resourceClass, inventory) }, 'merge')
  }

  /** Deletes one class's inventory; `CONFLICT` (`placement.inventory.inuse`) while it has allocations. */
  async deleteInventory(uuid: string, generation: number, resourceClass: string): Promise<ProviderInventories> {
    assertResourceClass(resourceClass)
    return this.writeInventories(uuid, generation, {}, { remove: resourceClass })
  }

  // --- traits ------------------------------------------------------------------------------------

  /** The provider's traits (sorted) and generation. */
  async getTraits(uuid: string): Promise<ProviderTraits> {
    const rp = await this.requireProvider(this.db, uuid)
    const rows = await this.db
      .selectFrom('resource_provider_traits as rpt')
      .innerJoin('traits as t', 't.id', 'rpt.trait_id')
      .select('t.name')
      .where('rpt.resource_provider_id', '=', rp.id)
      .orderBy('t.name')
      .execute()
    return { resourceProviderGeneration: rp.generation, traits: rows.map((r) => r.name) }
  }

  /**
   * Replaces the provider's traits, checking its generation. Standard (os-traits) names are always accepted;
   * a `CUSTOM_*` trait must exist first ({@link PlacementService.createTrait}), as in Placement.
   */
  async setTraits(uuid: string, generation: number, traits: readonly string[]): Promise<ProviderTraits> {
    const names = [...new Set(traits)].sort()
    assertTraitNames(names)
    const ids = await this.ensureTraits(names, false)
    await this.providerWrite(uuid, generation, async (trx, rp) => {
      await trx.deleteFrom('resource_provider_traits').where('resource_provider_id', '=', rp.id).execute()
      if (ids.length) await trx.insertInto('resource_provider_traits').values(ids.map((trait_id) => ({ resource_provider_id: rp.id, trait_id }))).execute()
    })
    return { resourceProviderGeneration: generation + 1, traits: names }
  }

  /** Removes every trait of the provider (`DELETE /resource_providers/{uuid}/traits`). */
  async deleteTraits(uuid: string, generation: number): Promise<ProviderTraits> {
    return this.setTraits(uuid, generation, [])
  }

  /** Trait names (standard ones and existing custom ones) matching the filter, sorted (`GET /traits`). */
  async listTraits(filter: ListTraitsFilter = {}): Promise<string[]> {
    const rows = await this.db.selectFrom('traits').select('name').execute()
    const all = new Set<string>([...STANDARD_TRAITS, ...rows.map((r) => r.name)])
    let names = [...all]
    if (filter.names) {
      const wanted = new Set(filter.names)
      names = names.filter((n) => wanted.has(n))
    }
    if (filter.startsWith !== undefined) names = names.filter((n) => n.startsWith(filter.startsWith as string))
    if (filter.associated !== undefined) {
      const used = await this.db.selectFrom('resource_provider_traits as rpt').innerJoin('traits as t', 't.id', 'rpt.trait_id').select('t.name').distinct().execute()
      const set = new Set(used.map((u) => u.name))
      names = names.filter((n) => set.has(n) === filter.associated)
    }
    return names.sort()
  }

  /** Creates a custom trait (`PUT /traits/CUSTOM_X`); reports whether it was new. Standard names are `INVALID`. */
  async createTrait(name: string): Promise<'created' | 'exists'> {
    if (!isCustomName(name)) {
      if (STANDARD_TRAITS.has(name)) return 'exists'
      throw new ComputeError('INVALID', `invalid trait "${name}": a new trait must match CUSTOM_[A-Z0-9_]+`)
    }
    const before = await this.db.selectFrom('traits').select('id').where('name', '=', name).executeTakeFirst()
    if (before) return 'exists'
    await this.ensureTraits([name], true)
    return 'created'
  }

  /** Deletes a custom trait; `NOT_FOUND` if absent, `CONFLICT` while a provider has it, `INVALID` for a standard one. */
  async deleteTrait(name: string): Promise<void> {
    if (!isCustomName(name)) throw new ComputeError('INVALID', `cannot delete standard trait "${name}"`)
    const row = await this.db.selectFrom('traits').select('id').where('name', '=', name).executeTakeFirst()
    if (!row) throw new ComputeError('NOT_FOUND', `trait ${name} not found`)
    const used = await this.db.selectFrom('resource_provider_traits').select('trait_id').where('trait_id', '=', row.id).executeTakeFirst()
    if (used) throw new ComputeError('CONFLICT', `trait ${name} is in use by a resource provider`)
    await this.db.deleteFrom('traits').where('id', '=', row.id).execute()
  }

  // --- resource classes --------------------------------------------------------------------------

  /**
   * Every resource class (`GET /resource_classes`): the standard ones in os-resource-classes order, then the
   * custom ones in the order they were created.
   */
  async listResourceClasses(): Promise<string[]> {
    const rows = await this.db.selectFrom('resource_classes').select('name').orderBy('id').execute()
    return [...STANDARD_RESOURCE_CLASSES, ...rows.map((r) => r.name)]
  }

  /** True for a standard resource class and for a custom one that has been created. */
  async hasResourceClass(name: string): Promise<boolean> {
    if (STANDARD_RESOURCE_CLASSES.has(name)) return true
    if (!isCustomName(name)) return false
    return (await this.db.selectFrom('resource_classes').select('id').where('name', '=', name).executeTakeFirst()) !== undefined
  }

  /**
   * Creates a custom resource class (`POST /resource_classes`, `PUT /resource_classes/{name}` from 1.7) and
   * reports whether it was new; a standard name is `'exists'`, any other name that is not
   * `CUSTOM_[A-Z0-9_]+` is `INVALID`. Concurrent creations of one name all succeed, one of them with `'created'`.
   */
  async createResourceClass(name: string): Promise<'created' | 'exists'> {
    if (STANDARD_RESOURCE_CLASSES.has(name)) return 'exists'
    if (!isCustomName(name) || name.length > 255) throw new ComputeError('INVALID', `invalid resource class "${name}": a new resource class must match CUSTOM_[A-Z0-9_]+`)
    const q = this.db.insertInto('resource_classes').values({ name, created_at: isoNow(this.clock), updated_at: null })
    const result = await (this.family === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.column('name').doNothing())).executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0 ? 'created' : 'exists'
  }

  /**
   * Renames a custom resource class (`PUT /resource_classes/{name}` before 1.7), in the inventories and
   * allocations that use it too; the providers holding those get a new generation. `NOT_FOUND` for an unknown
   * class, `INVALID` for a standard one or a new name that is not `CUSTOM_*`, `CONFLICT` when the new name exists.
   */
  async renameResourceClass(name: string, newName: string): Promise<void> {
    if (STANDARD_RESOURCE_CLASSES.has(name)) throw new ComputeError('INVALID', `cannot update standard resource class ${name}`, { details: { reason: 'standard_resource_class' } })
    if (!isCustomName(newName) || newName.length > 255) throw new ComputeError('INVALID', `invalid resource class "${newName}": a resource class must match CUSTOM_[A-Z0-9_]+`)
    await this.withRetries(() =>
      this.write(async (trx) => {
        const row = await this.lockResourceClass(trx, name)
        if (!row) throw unknownResourceClass(name, 'NOT_FOUND')
        if (newName === name) return
        const taken = await trx.selectFrom('resource_classes').select('id').where('name', '=', newName).executeTakeFirst()
        if (taken || STANDARD_RESOURCE_CLASSES.has(newName)) {
          throw new ComputeError('CONFLICT', `resource class ${newName} already exists`, { details: { code: 'placement.undefined_code' } })
        }
        const [inv, alloc] = await Promise.all([
          trx.selectFrom('inventories').select('resource_provider_id').distinct().where('resource_class', '=', name).execute(),
          trx.selectFrom('allocations').select('resource_provider_id').distinct().where('resource_class', '=', name).execute(),
        ])
        const now = isoNow(this.clock)
        await trx.updateTable('resource_classes').set({ name: newName, updated_at: now }).where('id', '=', row.id).execute()
        await trx.updateTable('inventories').set({ resource_class: newName, updated_at: now }).where('resource_class', '=', name).execute()
        await trx.updateTable('allocations').set({ resource_class: newName, updated_at: now }).where('resource_class', '=', name).execute()
        // The candidates cache keys on provider generations, so every provider whose classes changed name moves.
        await this.incrementGenerations(trx, [...inv, ...alloc].map((r) => r.resource_provider_id))
      }),
    )
  }

  /**
   * Deletes a custom resource class: `NOT_FOUND` if it does not exist, `INVALID` for a standard class, and
   * `CONFLICT` while an inventory uses it (as in Placement, allocations alone do not keep it).
   */
  async deleteResourceClass(name: string): Promise<void> {
    if (STANDARD_RESOURCE_CLASSES.has(name)) throw new ComputeError('INVALID', `cannot delete standard resource class ${name}`, { details: { reason: 'standard_resource_class' } })
    await this.withRetries(() =>
      this.write(async (trx) => {
        const row = await this.lockResourceClass(trx, name)
        if (!row) throw unknownResourceClass(name, 'NOT_FOUND')
        const used = await trx.selectFrom('inventories').select('id').where('resource_class', '=', name).executeTakeFirst()
        if (used) throw new ComputeError('CONFLICT', `cannot delete resource class ${name}: it is in use in inventory`, { details: { code: 'placement.undefined_code' } })
        await trx.deleteFrom('resource_classes').where('id', '=', row.id).execute()
      }),
    )
  }

  /** The custom resource classes (`CUSTOM_*`) that have been created, sorted by name. */
  async listCustomResourceClasses(): Promise<string[]> {
    const rows = await this.db.selectFrom('resource_classes').select('name').orderBy('name').execute()
    return rows.map((r) => r.name)
  }

  /** The class's row, locked against a concurrent rename, delete or first use in an inventory (row locks on PostgreSQL and MariaDB; SQLite writes are serial). */
  private async lockResourceClass(trx: Queryable, name: string): Promise<{ id: number } | undefined> {
    const q = trx.selectFrom('resource_classes').select('id').where('name', '=', name)
    return (this.family === 'sqlite' ? q : q.forUpdate()).executeTakeFirst()
  }

  /** Creates the custom classes a provider tree report names and that do not exist yet (Nova's report client does the same). */
  private async ensureResourceClasses(names: readonly string[]): Promise<void> {
    const custom = [...new Set(names.filter(isCustomName))]
    if (custom.length === 0) return
    const existing = await this.db.selectFrom('resource_classes').select('name').where('name', 'in', custom).execute()
    const have = new Set(existing.map((r) => r.name))
    for (const name of custom) if (!have.has(name)) await this.createResourceClass(name)
  }

  // --- aggregates --------------------------------------------------------------------------------

  /** The provider's aggregate uuids (sorted) and generation. */
  async getAggregates(uuid: string): Promise<ProviderAggregates> {
    const rp = await this.requireProvider(this.db, uuid)
    const rows = await this.db.selectFrom('resource_provider_aggregates').select('aggregate_uuid').where('resource_provider_id', '=', rp.id).orderBy('aggregate_uuid').execute()
    return { resourceProviderGeneration: rp.generation, aggregates: rows.map((r) => r.aggregate_uuid) }
  }

  /** Replaces the provider's aggregates, checking its generation (1.19). */
  async setAggregates(uuid: string, generation: number, aggregates: readonly string[]): Promise<ProviderAggregates> {
    const uuids = [...new Set(aggregates)].sort()
    for (const a of uuids) assertUuid(a, 'aggregate uuid')
    await this.providerWrite(uuid, generation, async (trx, rp) => {
      await trx.deleteFrom('resource_provider_aggregates').where('resource_provider_id', '=', rp.id).execute()
      if (uuids.length) await trx.insertInto('resource_provider_aggregates').values(uuids.map((aggregate_uuid) => ({ resource_provider_id: rp.id, aggregate_uuid }))).execute()
    })
    return { resourceProviderGeneration: generation + 1, aggregates: uuids }
  }

  // --- usages and allocations --------------------------------------------------------------------

  /** Usage per class on one provider (`GET /resource_providers/{uuid}/usages`). */
  async getProviderUsages(uuid: string): Promise<ProviderUsages> {
    const rp = await this.requireProvider(this.db, uuid)
    const [inv, used] = await Promise.all([
      this.db.selectFrom('inventories').select('resource_class').where('resource_provider_id', '=', rp.id).execute(),
      this.db
        .selectFrom('allocations')
        .select(['resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
        .where('resource_provider_id', '=', rp.id)
        .groupBy('resource_class')
        .execute(),
    ])
    const usages: Record<string, number> = {}
    for (const i of inv) usages[i.resource_class] = 0
    for (const u of used) usages[u.resource_class] = Number(u.used)
    return { resourceProviderGeneration: rp.generation, usages }
  }

  /** Usage per class of a project (optionally one user of it) across all providers (`GET /usages`, 1.9). */
  async getUsages(filter: { readonly projectId: string; readonly userId?: string }): Promise<Record<string, number>> {
    let q = this.db
      .selectFrom('allocations as a')
      .innerJoin('consumers as c', 'c.uuid', 'a.consumer_id')
      .select(['a.resource_class', (eb) => eb.fn.sum<number>('a.used').as('used')])
      .where('c.project_id', '=', filter.projectId)
    if (filter.userId !== undefined) q = q.where('c.user_id', '=', filter.userId)
    const rows = await q.groupBy('a.resource_class').execute()
    return Object.fromEntries(rows.map((r) => [r.resource_class, Number(r.used)]))
  }

  /**
   * Usage of a project (optionally one user of it) per consumer type, with the number of distinct consumers of
   * each type (`GET /usages` from 1.38). Consumers without a type are grouped as `unknown`. `consumerType` filters:
   * a type name keeps only that type, `unknown` only untyped consumers, and `all` puts every consumer under one
   * `all` key.
   */
  async getUsagesByConsumerType(filter: { readonly projectId: string; readonly userId?: string; readonly consumerType?: string }): Promise<Record<string, ConsumerTypeUsage>> {
    let q = this.db
      .selectFrom('allocations as a')
      .innerJoin('consumers as c', 'c.uuid', 'a.consumer_id')
      .select(['a.consumer_id', 'a.resource_class', 'a.used', 'c.consumer_type'])
      .where('c.project_id', '=', filter.projectId)
    if (filter.userId !== undefined) q = q.where('c.user_id', '=', filter.userId)
    const wanted = filter.consumerType
    if (wanted === 'unknown') q = q.where('c.consumer_type', 'is', null)
    else if (wanted !== undefined && wanted !== 'all') q = q.where('c.consumer_type', '=', wanted)
    const rows = await q.execute()
    const groups = new Map<string, { consumers: Set<string>; usages: Record<string, number> }>()
    for (const r of rows) {
      const key = wanted === 'all' ? 'all' : (r.consumer_type ?? 'unknown')
      let g = groups.get(key)
      if (!g) groups.set(key, (g = { consumers: new Set(), usages: {} }))
      g.consumers.add(r.consumer_id)
      g.usages[r.resource_class] = (g.usages[r.resource_class] ?? 0) + Number(r.used)
    }
    return Object.fromEntries([...groups].map(([k, g]) => [k, { consumerCount: g.consumers.size, usages: g.usages }]))
  }

  /** The records of those consumers that exist (consumers are created with their first allocation). */
  async getConsumers(uuids: readonly string[]): Promise<Map<string, ConsumerRecord>> {
    const out = new Map<string, ConsumerRecord>()
    for (const part of chunks([...new Set(uuids)], 500)) {
      if (part.length === 0) continue
      const rows = await this.db.selectFrom('consumers').select(['uuid', 'generation', 'project_id', 'user_id', 'consumer_type']).where('uuid', 'in', part).execute()
      for (const r of rows) {
        out.set(r.uuid, { uuid: r.uuid, generation: Number(r.generation), projectId: r.project_id, userId: r.user_id, consumerType: r.consumer_type ?? null })
      }
    }
    return out
  }

  /** Allocations against one provider, per consumer (`GET /resource_providers/{uuid}/allocations`). */
  async getProviderAllocations(uuid: string): Promise<ProviderAllocations> {
    const rp = await this.requireProvider(this.db, uuid)
    const rows = await this.db.selectFrom('allocations').select(['consumer_id', 'resource_class', 'used']).where('resource_provider_id', '=', rp.id).execute()
    const allocations: Record<string, { resources: Record<string, number> }> = {}
    for (const r of rows) {
      const entry = (allocations[r.consumer_id] ??= { resources: {} })
      entry.resources[r.resource_class] = (entry.resources[r.resource_class] ?? 0) + Number(r.used)
    }
    return { resourceProviderGeneration: rp.generation, allocations }
  }

  /** A consumer's allocations per provider (with provider generations) and its generation; empty when it has none. */
  async getAllocations(consumerUuid: string): Promise<ConsumerAllocations> {
    const [consumer, rows] = await Promise.all([
      this.db.selectFrom('consumers').select(['generation', 'project_id', 'user_id']).where('uuid', '=', consumerUuid).executeTakeFirst(),
      this.db
        .selectFrom('allocations as a')
        .innerJoin('resource_providers as rp', 'rp.id', 'a.resource_provider_id')
        .select(['rp.uuid', 'rp.generation', 'a.resource_class', 'a.used'])
        .where('a.consumer_id', '=', consumerUuid)
        .execute(),
    ])
    if (!consumer || rows.length === 0) return { allocations: {}, consumerGeneration: null, projectId: null, userId: null }
    const allocations: Record<string, { generation: number; resources: Record<string, number> }> = {}
    for (const r of rows) {
      const entry = (allocations[r.uuid] ??= { generation: r.generation, resources: {} })
      entry.resources[r.resource_class] = (entry.resources[r.resource_class] ?? 0) + Number(r.used)
    }
    return { allocations, consumerGeneration: consumer.generation, projectId: consumer.project_id, userId: consumer.user_id }
  }

  /**
   * Replaces the consumer's allocations atomically (`PUT /allocations/{consumer}`): the consumer generation must be
   * null for a new consumer and current otherwise; every amount is checked against min/max/step and capacity
   * inside the transaction. An empty `allocations` removes the consumer's allocations.
   */
  async putAllocations(consumerUuid: string, request: PutAllocationsRequest): Promise<void> {
    await this.writeAllocations([{ consumer: consumerUuid, request }])
  }

  /**
   * Writes several consumers' allocations in one transaction (`POST /allocations`, 1.13), e.g. moving an
   * instance's allocations to a migration consumer. An empty `allocations` removes that consumer's allocations.
   */
  async postAllocations(requests: Readonly<Record<string, PutAllocationsRequest>>): Promise<void> {
    await this.writeAllocations(Object.entries(requests).map(([consumer, request]) => ({ consumer, request })))
  }

  /** Removes every allocation of the consumer; a no-op when it has none. */
  async deleteAllocations(consumerUuid: string): Promise<void> {
    await this.removeAllocations(consumerUuid)
  }

  /** Removes every allocation of the consumer and says whether there were any (`DELETE /allocations/{c}` answers 404 when not). */
  async removeAllocations(consumerUuid: string): Promise<boolean> {
    return this.withRetries(() =>
      this.write(async (trx) => {
        const rows = await trx.selectFrom('allocations').select(['resource_provider_id']).where('consumer_id', '=', consumerUuid).execute()
        // NOTE: the delete first: a concurrent release of the same consumer waits on its rows and then deletes none,
        // so only one of them moves the generations.
        const deleted = rows.length === 0 ? 0 : affected(await trx.deleteFrom('allocations').where('consumer_id', '=', consumerUuid).executeTakeFirst())
        await trx.deleteFrom('consumers').where('uuid', '=', consumerUuid).execute()
        if (deleted === 0) return false
        await this.incrementGenerations(trx, rows.map((r) => r.resource_provider_id))
        return true
      }),
    )
  }

  // --- candidates --------------------------------------------------------------------------------

  /** Allocation candidates for the request (`GET /allocation_candidates`); see `allocation-candidates.ts`. */
  async getAllocationCandidates(request: AllocationCandidatesRequest): Promise<AllocationCandidates> {
    return computeAllocationCandidates(await this.snapshot(), request)
  }

  /** Why each root provider without a candidate was left out (limit ignored). */
  async explainAllocationCandidates(request: AllocationCandidatesRequest): Promise<readonly ProviderRejection[]> {
    return explainAllocationCandidates(await this.snapshot(), request)
  }

  /** The provider snapshot candidates are computed from (cached and revalidated by generation, or fresh). */
  private snapshot(): Promise<ProviderSnapshot> {
    return (this.cache ?? new ProviderCache(this.db)).snapshot()
  }

  // --- provider trees ----------------------------------------------------------------------------

  /**
   * Makes the provider (and its reported children) match `report`: creates it if needed, then replaces
   * inventories, traits and (when given) aggregates that differ, retrying provider-generation conflicts.
   * Custom traits and custom resource classes are created on the way, as Nova's report client does.
   */
  async syncProviderTree(report: ProviderTreeReport): Promise<ResourceProvider> {
    await this.syncOne(report, null)
    for (const child of report.children ?? []) await this.syncChildTree(child, report.uuid)
    return (await this.getProvider(report.uuid)) as ResourceProvider
  }

  private async syncChildTree(report: ProviderTreeReport, parentUuid: string): Promise<void> {
    await this.syncOne(report, parentUuid)
    for (const child of report.children ?? []) await this.syncChildTree(child, report.uuid)
  }

  private async syncOne(report: ProviderTreeReport, parentUuid: string | null): Promise<void> {
    const desired = Object.fromEntries(Object.entries(report.inventories).map(([rc, inv]) => [rc, normaliseInventory(rc, inv)]))
    const traits = [...new Set(report.traits)].sort()
    assertTraitNames(traits)
    const aggregates = report.aggregates ? [...new Set(report.aggregates)].sort() : undefined
    for (let attempt = 1; ; attempt++) {
      try {
        let rp = await this.getProvider(report.uuid)
        if (!rp) {
          try {
            rp = await this.createProvider({ uuid: report.uuid, name: report.name, parentProviderUuid: parentUuid })
          } catch (err) {
            // Someone else created it at the same time: go round again and update it.
            if (ComputeError.is(err, 'CONFLICT') && (await this.getProvider(report.uuid))) continue
            throw err
          }
        } else if (parentUuid !== null && rp.parentProviderUuid !== parentUuid) {
          rp = await this.updateProvider(report.uuid, { name: rp.name, parentProviderUuid: parentUuid })
        }
        const current = await this.getInventories(report.uuid)
        let generation = current.resourceProviderGeneration
        const same =
          Object.keys(current.inventories).length === Object.keys(desired).length &&
          Object.entries(desired).every(([rc, inv]) => current.inventories[rc] !== undefined && sameInventory(current.inventories[rc] as Inventory, inv))
        if (!same) {
          await this.ensureResourceClasses(Object.keys(desired))
          generation = (await this.writeInventories(report.uuid, generation, desired, 'replace')).resourceProviderGeneration
        }
        const currentTraits = await this.getTraits(report.uuid)
        if (currentTraits.traits.join(',') !== traits.join(',')) {
          await this.ensureTraits(traits, true)
          generation = (await this.setTraits(report.uuid, generation, traits)).resourceProviderGeneration
        }
        if (aggregates) {
          const currentAggs = await this.getAggregates(report.uuid)
          if (currentAggs.aggregates.join(',') !== aggregates.join(',')) await this.setAggregates(report.uuid, generation, aggregates)
        }
        return
      } catch (err) {
        if (isProviderGenerationConflict(err) && attempt < this.maxAttempts) {
          this.logger.debug({ provider: report.uuid, attempt }, 'provider generation conflict while syncing the provider tree; retrying')
          continue
        }
        throw err
      }
    }
  }

  // --- internals ---------------------------------------------------------------------------------

  private selectProviders(db: Queryable) {
    return db
      .selectFrom('resource_providers as rp')
      .leftJoin('resource_providers as parent', 'parent.id', 'rp.parent_provider_id')
      .leftJoin('resource_providers as root', 'root.id', 'rp.root_provider_id')
      .select(['rp.id', 'rp.uuid', 'rp.name', 'rp.generation', 'parent.uuid as parent_uuid', 'root.uuid as root_uuid'])
  }

  private async requireProvider(db: Queryable, uuid: string): Promise<ProviderRow> {
    const rp = await db.selectFrom('resource_providers').select(['id', 'uuid', 'generation']).where('uuid', '=', uuid).executeTakeFirst()
    if (!rp) throw notFound(uuid)
    return rp
  }

  private write<T>(fn: (trx: Queryable) => Promise<T>): Promise<T> {
    return writeTransaction(this.db, this.family, fn)
  }

  /** Runs `attempt` again on transient database errors and lost generation races, with a short random pause. */
  private async withRetries<T>(attempt: () => Promise<T>, onExhausted?: (err: unknown) => Error): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt()
      } catch (err) {
        if (!isTransientDbError(err)) throw err
        if (n >= this.maxAttempts) throw onExhausted ? onExhausted(err) : err instanceof RetryWrite ? concurrentProviders(err.message) : err
        this.logger.debug({ attempt: n, err: String(err) }, 'placement write lost a race; retrying')
        await jitter(Math.min(50, 2 ** n))
      }
    }
  }

  /**
   * Checks the client's generation, takes the provider's row lock by bumping it (compare-and-swap), then runs
   * `fn` in the same transaction.
   */
  private async providerWrite<T>(uuid: string, generation: number, fn: (trx: Queryable, rp: ProviderRow) => Promise<T>): Promise<T> {
    return this.withRetries(() =>
      this.write(async (trx) => {
        const rp = await this.requireProvider(trx, uuid)
        if (rp.generation !== generation) throw providerConflict(uuid, generation, rp.generation)
        const n = affected(
          await trx
            .updateTable('resource_providers')
            .set({ generation: generation + 1, updated_at: isoNow(this.clock) })
            .where('id', '=', rp.id)
            .where('generation', '=', generation)
            .executeTakeFirst(),
        )
        if (n !== 1) throw providerConflict(uuid, generation, null)
        return fn(trx, rp)
      }),
    )
  }

  private async writeInventories(
    uuid: string,
    generation: number,
    desired: Readonly<Record<string, Inventory>>,
    mode: 'replace' | 'merge' | { readonly remove: string },
  ): Promise<ProviderInventories> {
    const now = isoNow(this.clock)
    const result = await this.providerWrite(uuid, generation, async (trx, rp) => {
      const rows = await trx.selectFrom('inventories').selectAll().where('resource_provider_id', '=', rp.id).execute()
      const current = new Map(rows.map((r) => [r.resource_class, r]))
      const next = new Map<string, Inventory>()
      if (mode !== 'replace') for (const r of rows) next.set(r.resource_class, inventoryFromRow(r))
      if (typeof mode === 'object') {
        if (!current.has(mode.remove)) throw new ComputeError('NOT_FOUND', `no ${mode.remove} inventory on resource provider ${uuid}`)
        next.delete(mode.remove)
      }
      for (const [rc, inv] of Object.entries(desired)) next.set(rc, inv)
      // A custom class must exist before an inventory can name it; the locking read keeps it from being deleted meanwhile.
      const added = [...next.keys()].filter((rc) => !current.has(rc) && !STANDARD_RESOURCE_CLASSES.has(rc))
      if (added.length) {
        const q = trx.selectFrom('resource_classes').select('name').where('name', 'in', added)
        const known = new Set((await (this.family === 'sqlite' ? q : q.forUpdate()).execute()).map((r) => r.name))
        const unknown = added.find((rc) => !known.has(rc))
        if (unknown !== undefined) throw unknownResourceClass(unknown, 'INVALID')
      }

      const usage = await trx
        .selectFrom('allocations')
        .select(['resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
        .where('resource_provider_id', '=', rp.id)
        .groupBy('resource_class')
        .execute()
      for (const u of usage) {
        const used = Number(u.used)
        const inv = next.get(u.resource_class)
        if (!inv) {
          throw new ComputeError('CONFLICT', `inventory for ${u.resource_class} on resource provider ${uuid} in use: ${used} allocated`, { details: { code: 'placement.inventory.inuse' } })
        }
        if (capacity(inv) < used) {
          if (this.allowBelowUsage) {
            this.logger.warn({ provider: uuid, resourceClass: u.resource_class, used, capacity: capacity(inv) }, 'resource provider is now over capacity')
          } else {
            throw new ComputeError('CONFLICT', `inventory for ${u.resource_class} on resource provider ${uuid} in use: ${used} allocated, new capacity ${capacity(inv)}`, {
              details: { code: 'placement.inventory.inuse' },
            })
          }
        }
      }
      const removed = [...current.keys()].filter((rc) => !next.has(rc))
      if (removed.length) await trx.deleteFrom('inventories').where('resource_provider_id', '=', rp.id).where('resource_class', 'in', removed).execute()
      for (const [rc, inv] of next) {
        const row = current.get(rc)
        const values = { total: inv.total, reserved: inv.reserved, min_unit: inv.minUnit, max_unit: inv.maxUnit, step_size: inv.stepSize, allocation_ratio: inv.allocationRatio }
        if (!row) {
          await trx.insertInto('inventories').values({ resource_provider_id: rp.id, resource_class: rc, ...values, created_at: now, updated_at: null }).execute()
        } else if (!sameInventory(inventoryFromRow(row), inv)) {
          await trx.updateTable('inventories').set({ ...values, updated_at: now }).where('id', '=', row.id).execute()
        }
      }
      return Object.fromEntries([...next].sort(([a], [b]) => (a < b ? -1 : 1)))
    })
    return { resourceProviderGeneration: generation + 1, inventories: result }
  }

  /** Trait ids for the names, creating missing rows (custom ones only when `createCustom`). */
  private async ensureTraits(names: readonly string[], createCustom: boolean): Promise<number[]> {
    if (names.length === 0) return []
    const existing = await this.db.selectFrom('traits').select(['id', 'name']).where('name', 'in', [...names]).execute()
    const have = new Set(existing.map((e) => e.name))
    const missing = names.filter((n) => !have.has(n))
    const unknownCustom = missing.filter((n) => isCustomName(n) && !createCustom)
    if (unknownCustom.length) throw new ComputeError('INVALID', `no such trait(s): ${unknownCustom.join(', ')}`, { details: { code: 'placement.undefined_code' } })
    if (missing.length === 0) return existing.map((e) => e.id)
    const now = isoNow(this.clock)
    for (const name of missing) {
      if (!isValidTraitName(name)) continue
      const q = this.db.insertInto('traits').values({ name, created_at: now })
      await (this.family === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.column('name').doNothing())).execute()
    }
    const all = await this.db.selectFrom('traits').select('id').where('name', 'in', [...names]).execute()
    return all.map((r) => r.id)
  }

  /** Bumps every provider's generation with a compare-and-swap; a lost race rolls back and retries. */
  private async bumpGenerations(trx: Queryable, providers: readonly ProviderRow[]): Promise<void> {
    if (providers.length === 0) return
    const sorted = [...providers].sort((a, b) => a.id - b.id)
    const now = isoNow(this.clock)
    for (const part of chunks(sorted, 500)) {
      const n = affected(
        await trx
          .updateTable('resource_providers')
          .set((eb) => ({ generation: eb('generation', '+', 1), updated_at: now }))
          .where((eb) => eb.or(part.map((p) => eb.and([eb('id', '=', p.id), eb('generation', '=', p.generation)]))))
          .executeTakeFirst(),
      )
      if (n !== part.length) throw new RetryWrite(`resource provider(s) ${part.map((p) => p.uuid).join(', ')} changed while allocating`)
    }
  }

  /**
   * Moves every provider's generation by one, unconditionally. A release needs no capacity check, so instead of a
   * compare-and-swap that fails (and retries) whenever another release of the same provider commits first, the row
   * locks queue concurrent releases: all succeed, each moving the generation exactly once. Rows are locked in id order.
   */
  private async incrementGenerations(trx: Queryable, providerIds: readonly number[]): Promise<void> {
    const sorted = [...new Set(providerIds)].sort((a, b) => a - b)
    const now = isoNow(this.clock)
    for (const part of chunks(sorted, 500)) {
      await trx
        .updateTable('resource_providers')
        .set((eb) => ({ generation: eb('generation', '+', 1), updated_at: now }))
        .where('id', 'in', part)
        .execute()
    }
  }

  private async writeAllocations(entries: readonly AllocationEntry[]): Promise<void> {
    const providerUuids = new Set<string>()
    const classes = new Set<string>()
    for (const { consumer, request } of entries) {
      assertUuid(consumer, 'consumer uuid')
      if (!request.projectId || !request.userId) throw new ComputeError('INVALID', `allocations for consumer ${consumer} need a project_id and a user_id`)
      if (request.consumerGeneration !== null && !Number.isInteger(request.consumerGeneration)) {
        throw new ComputeError('INVALID', `invalid consumer_generation ${String(request.consumerGeneration)} for consumer ${consumer}`)
      }
      for (const [rp, { resources }] of Object.entries(request.allocations)) {
        providerUuids.add(rp)
        const entries = Object.entries(resources)
        if (entries.length === 0) throw new ComputeError('INVALID', `allocation of consumer ${consumer} on resource provider ${rp} names no resources`)
        for (const [rc, amount] of entries) {
          assertResourceClass(rc)
          classes.add(rc)
          if (!Number.isInteger(amount) || amount < 1) throw new ComputeError('INVALID', `invalid amount ${amount} of ${rc} on resource provider ${rp}: must be an integer ≥ 1`)
        }
      }
    }
    await this.withRetries(
      () => this.write((trx) => this.allocationTransaction(trx, entries, [...providerUuids], [...classes])),
      () => concurrentProviders('the resource providers kept changing while allocating'),
    )
  }

  private async allocationTransaction(trx: Queryable, entries: readonly AllocationEntry[], providerUuids: readonly string[], classes: readonly string[]): Promise<void> {
    const consumers = entries.map((e) => e.consumer)
    const now = isoNow(this.clock)
    // 1. Consumer generations: null for a new consumer, the current value otherwise.
    const consumerRows = await trx.selectFrom('consumers').select(['uuid', 'generation']).where('uuid', 'in', consumers).execute()
    const consumerGen = new Map(consumerRows.map((c) => [c.uuid, c.generation]))
    const oldRows = await trx.selectFrom('allocations').select(['resource_provider_id', 'consumer_id']).where('consumer_id', 'in', consumers).execute()
    const hasAllocations = new Set(oldRows.map((r) => r.consumer_id))
    for (const { consumer, request } of entries) {
      const actual = hasAllocations.has(consumer) ? (consumerGen.get(consumer) ?? null) : null
      if (request.consumerGeneration !== actual) throw consumerConflict(consumer, request.consumerGeneration, actual)
    }
    // 2. Providers touched (new and old allocations): read generations, then take their locks by bumping them.
    const providers = providerUuids.length ? await trx.selectFrom('resource_providers').select(['id', 'uuid', 'generation']).where('uuid', 'in', [...providerUuids]).execute() : []
    const idOf = new Map(providers.map((p) => [p.uuid, p.id]))
    const unknown = providerUuids.filter((u) => !idOf.has(u))
    if (unknown.length) throw new ComputeError('INVALID', `resource provider(s) ${unknown.join(', ')} not found for allocation`, { details: { code: 'placement.resource_provider.not_found' } })
    const oldIds = [...new Set(oldRows.map((r) => r.resource_provider_id))].filter((id) => !providers.some((p) => p.id === id))
    const touched: ProviderRow[] = [...providers]
    if (oldIds.length) touched.push(...(await trx.selectFrom('resource_providers').select(['id', 'uuid', 'generation']).where('id', 'in', oldIds).execute()))
    await this.bumpGenerations(trx, touched)
    // 3. Capacity, with usage by every other consumer, now that no other writer can change these providers.
    if (providers.length && classes.length) {
      const ids = providers.map((p) => p.id)
      const [inventories, usage] = await Promise.all([
        trx.selectFrom('inventories').selectAll().where('resource_provider_id', 'in', ids).where('resource_class', 'in', [...classes]).execute(),
        trx
          .selectFrom('allocations')
          .select(['resource_provider_id', 'resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
          .where('resource_provider_id', 'in', ids)
          .where('resource_class', 'in', [...classes])
          .where('consumer_id', 'not in', consumers)
          .groupBy(['resource_provider_id', 'resource_class'])
          .execute(),
      ])
      const key = (id: number, rc: string): string => `${id}/${rc}`
      const inv = new Map(inventories.map((i) => [key(i.resource_provider_id, i.resource_class), inventoryFromRow(i)]))
      const used = new Map(usage.map((u) => [key(u.resource_provider_id, u.resource_class), Number(u.used)]))
      const wanted = new Map<string, { uuid: string; rc: string; amount: number }>()
      const problems: string[] = []
      for (const { request } of entries) {
        for (const [rp, { resources }] of Object.entries(request.allocations)) {
          for (const [rc, amount] of Object.entries(resources)) {
            const k = key(idOf.get(rp) as number, rc)
            const i = inv.get(k)
            if (!i) {
              problems.push(`resource provider ${rp} has no ${rc} inventory`)
              continue
            }
            if (amount < i.minUnit || amount > i.maxUnit || amount % i.stepSize !== 0) {
              problems.push(`${amount} ${rc} on resource provider ${rp} breaks min_unit ${i.minUnit}, max_unit ${i.maxUnit}, step_size ${i.stepSize}`)
            }
            const w = wanted.get(k) ?? { uuid: rp, rc, amount: 0 }
            w.amount += amount
            wanted.set(k, w)
          }
        }
      }
      for (const [k, w] of wanted) {
        const i = inv.get(k)
        if (!i) continue
        const u = used.get(k) ?? 0
        if (u + w.amount > capacity(i)) problems.push(`${w.amount} ${w.rc} on resource provider ${w.uuid} exceeds capacity ${capacity(i)} with ${u} used`)
      }
      if (problems.length) throw unableToAllocate(problems)
    }
    // 4. Replace the allocations and update the consumers.
    if (oldRows.length) await trx.deleteFrom('allocations').where('consumer_id', 'in', consumers).execute()
    const rows = entries.flatMap(({ consumer, request }) =>
      Object.entries(request.allocations).flatMap(([rp, { resources }]) =>
        Object.entries(resources).map(([rc, amount]) => ({ resource_provider_id: idOf.get(rp) as number, consumer_id: consumer, resource_class: rc, used: amount, created_at: now, updated_at: null })),
      ),
    )
    for (const part of chunks(rows, 500)) await trx.insertInto('allocations').values(part).execute()
    for (const { consumer, request } of entries) {
      const empty = Object.keys(request.allocations).length === 0
      const existing = consumerGen.get(consumer)
      if (empty) {
        await trx.deleteFrom('consumers').where('uuid', '=', consumer).execute()
      } else if (existing === undefined) {
        try {
          await trx
            .insertInto('consumers')
            .values({ uuid: consumer, project_id: request.projectId, user_id: request.userId, generation: 1, consumer_type: request.consumerType ?? null, created_at: now, updated_at: null })
            .execute()
        } catch (err) {
          if (isUniqueViolation(err)) throw consumerConflict(consumer, request.consumerGeneration, null)
          throw err
        }
      } else {
        const n = affected(
          await trx
            .updateTable('consumers')
            .set({ generation: existing + 1, project_id: request.projectId, user_id: request.userId, consumer_type: request.consumerType ?? null, updated_at: now })
            .where('uuid', '=', consumer)
            .where('generation', '=', existing)
            .executeTakeFirst(),
        )
        if (n !== 1) throw consumerConflict(consumer, request.consumerGeneration, null)
      }
    }
  }
}

function unknownResourceClass(name: string, code: 'INVALID' | 'NOT_FOUND'): ComputeError {
  return new ComputeError(code, `no such resource class ${name}`, { details: { code: 'placement.undefined_code', reason: 'unknown_resource_class', resourceClass: name } })
}

function duplicateName(name: string): ComputeError {
  return new ComputeError('CONFLICT', `conflicting resource provider name: ${name} already exists`, { details: { code: 'placement.duplicate_name' } })
}

function concurrentProviders(message: string): ComputeError {
  return new ComputeError('CONFLICT', `${message.charAt(0).toLowerCase()}${message.slice(1)}; gave up retrying`, {
    details: { code: 'placement.concurrent_update', conflict: 'provider' },
  })
}

function inventoryFromRow(r: { total: number; reserved: number; min_unit: number; max_unit: number; step_size: number; allocation_ratio: number }): Inventory {
  return {
    total: Number(r.total),
    reserved: Number(r.reserved),
    minUnit: Number(r.min_unit),
    maxUnit: Number(r.max_unit),
    stepSize: Number(r.step_size),
    allocationRatio: Number(r.allocation_ratio),
  }
}

function toProvider(row: { uuid: string; name: string; generation: number; parent_uuid: string | null; root_uuid: string | null }): ResourceProvider {
  return { uuid: row.uuid, name: row.name, generation: Number(row.generation), parentProviderUuid: row.parent_uuid, rootProviderUuid: row.root_uuid ?? row.uuid }
}
