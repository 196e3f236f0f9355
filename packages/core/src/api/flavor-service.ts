import type { Selectable } from 'kysely'
import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import type { FlavorsTable } from '../db/database.js'
import { ComputeError } from '../errors/compute-error.js'
import type { Flavor } from '../model/flavor.js'
import { Policy } from '../policy/policy.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { isUniqueViolation } from './db-errors.js'

/** Filters and paging of {@link FlavorService.list} (`GET /flavors[/detail]`). */
export interface FlavorListFilters {
  /** Minimum memory in MB (`minRam`). */
  readonly minRam?: number
  /** Minimum root disk in GB (`minDisk`). */
  readonly minDisk?: number
  /**
   * Admin only (ignored for others, who always see public flavors plus those shared with their project):
   * `true` (default) public + shared with the caller's project, `false` private only, `null` all.
   */
  readonly isPublic?: boolean | null
  /** A flavor column: `flavorid` (default), `name`, `memory_mb`, `vcpus`, `root_gb`, … */
  readonly sortKey?: string
  /** @default 'asc' */
  readonly sortDir?: 'asc' | 'desc'
  readonly limit?: number
  /** The flavor id of the last flavor of the previous page. */
  readonly marker?: string
}

/** `POST /flavors`. */
export interface FlavorCreateRequest {
  readonly name: string
  /** Memory in MB, ≥ 1. */
  readonly ram: number
  /** ≥ 1. */
  readonly vcpus: number
  /** Root disk in GB, ≥ 0. */
  readonly disk: number
  /** The flavor id; a uuid is generated when omitted or null. */
  readonly id?: string | null
  /** `OS-FLV-EXT-DATA:ephemeral`, GB. @default 0 */
  readonly ephemeral?: number
  /** Swap in MB. @default 0 */
  readonly swap?: number
  /** @default 1.0 */
  readonly rxtxFactor?: number
  /** `os-flavor-access:is_public`. @default true */
  readonly isPublic?: boolean
  /** 2.55 */
  readonly description?: string | null
}

/** One entry of a flavor's access list (`flavor_access`). */
export interface FlavorAccess {
  readonly flavorId: string
  readonly tenantId: string
}

/** Options of {@link FlavorService}. */
export interface FlavorServiceConfig {
  /** Nova `[api] max_limit`. @default 1000 */
  readonly maxLimit?: number
}

/** A default flavor, as {@link FlavorService.ensureDefaultFlavors} creates it. */
export interface DefaultFlavor {
  readonly id: string
  readonly name: string
  readonly ram: number
  readonly vcpus: number
  readonly disk: number
}

/** Nova's historic default flavors (m1.tiny … m1.xlarge). */
export const DEFAULT_FLAVORS: readonly DefaultFlavor[] = [
  { id: '1', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1 },
  { id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20 },
  { id: '3', name: 'm1.medium', ram: 4096, vcpus: 2, disk: 40 },
  { id: '4', name: 'm1.large', ram: 8192, vcpus: 4, disk: 80 },
  { id: '5', name: 'm1.xlarge', ram: 16384, vcpus: 8, disk: 160 },
]

const SORT_KEYS: ReadonlySet<string> = new Set([
  'created_at', 'description', 'disabled', 'ephemeral_gb', 'flavorid', 'id', 'is_public', 'memory_mb', 'name',
  'root_gb', 'rxtx_factor', 'swap', 'updated_at', 'vcpus',
])
const FLAVOR_ID_PATTERN = /^(?! )[a-zA-Z0-9. _-]+(?<! )$/
const EXTRA_SPEC_KEY_PATTERN = /^[a-zA-Z0-9-_:. /]{1,255}$/

type FlavorRow = Selectable<FlavorsTable>

/**
 * Flavors, their extra specs and access lists (Nova `flavors.py`, `flavor_manage.py`, `flavors_extraspecs.py`,
 * `flavor_access.py`). Admin-only operations are checked with {@link Policy}. Instances keep a copy of their
 * flavor, so nothing here changes an existing server.
 */
export class FlavorService {
  private readonly maxLimit: number

  constructor(
    private readonly db: NovumDb,
    private readonly policy: Policy = new Policy(),
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    config: FlavorServiceConfig = {},
  ) {
    this.maxLimit = config.maxLimit ?? 1000
  }

  /** Flavors visible to the caller, filtered, sorted (default `flavorid asc`) and paged. */
  async list(ctx: RequestContext, filters: FlavorListFilters = {}): Promise<Flavor[]> {
    const sortKey = filters.sortKey ?? 'flavorid'
    if (!SORT_KEYS.has(sortKey)) throw new ComputeError('INVALID', `Invalid sort_key: ${sortKey}`)
    const sortDir = filters.sortDir ?? 'asc'
    if (filters.minRam !== undefined && !(Number.isInteger(filters.minRam) && filters.minRam >= 0)) {
      throw new ComputeError('INVALID', `Invalid minRam filter [${String(filters.minRam)}]`)
    }
    if (filters.minDisk !== undefined && !(Number.isInteger(filters.minDisk) && filters.minDisk >= 0)) {
      throw new ComputeError('INVALID', `Invalid minDisk filter [${String(filters.minDisk)}]`)
    }
    const isPublic = ctx.isAdmin ? (filters.isPublic === undefined ? true : filters.isPublic) : true
    let q = this.db.selectFrom('flavors').selectAll()
    if (!ctx.isAdmin) q = q.where('disabled', '=', 0)
    if (isPublic !== null) {
      const projectId = ctx.projectId
      if (isPublic && projectId) {
        q = q.where((eb) =>
          eb.or([
            eb('is_public', '=', 1),
            eb('id', 'in', eb.selectFrom('flavor_projects').select('flavor_id').where('project_id', '=', projectId)),
          ]),
        )
      } else {
        q = q.where('is_public', '=', isPublic ? 1 : 0)
      }
    }
    if (filters.minRam !== undefined) q = q.where('memory_mb', '>=', filters.minRam)
    if (filters.minDisk !== undefined) q = q.where('root_gb', '>=', filters.minDisk)
    q = q.orderBy(sortKey as 'flavorid', sortDir).orderBy('id', sortDir)
    let rows = await q.execute()
    if (filters.marker !== undefined) {
      const at = rows.findIndex((r) => r.flavorid === filters.marker)
      if (at < 0) throw new ComputeError('INVALID', `marker [${filters.marker}] not found`)
      rows = rows.slice(at + 1)
    }
    if (filters.limit !== undefined && !(Number.isInteger(filters.limit) && filters.limit >= 0)) {
      throw new ComputeError('INVALID', 'limit param must be an integer')
    }
    const limit = Math.min(filters.limit ?? this.maxLimit, this.maxLimit)
    return this.withExtraSpecs(rows.slice(0, limit))
  }

  /** One flavor; a private flavor not shared with the caller's project is `NOT_FOUND` (admins see all). */
  async get(ctx: RequestContext, flavorId: string): Promise<Flavor> {
    const row = await this.findVisibleRow(ctx, flavorId)
    if (!row) throw flavorNotFound(flavorId)
    const [flavor] = await this.withExtraSpecs([row])
    return flavor as Flavor
  }

  /**
   * The flavor a new server asks for: visible to the caller and not disabled, else `INVALID`
   * "Invalid flavorRef provided." (what Nova's create returns for a `FlavorNotFound`).
   */
  async getForBuild(ctx: RequestContext, flavorId: string): Promise<Flavor> {
    const row = await this.findVisibleRow(ctx, flavorId)
    if (!row || row.disabled === 1) throw new ComputeError('INVALID', 'Invalid flavorRef provided.', { details: { flavorId } })
    const [flavor] = await this.withExtraSpecs([row])
    return flavor as Flavor
  }

  /** Creates a flavor (admin). A duplicate name or id is `CONFLICT` with Nova's wording. */
  async create(ctx: RequestContext, req: FlavorCreateRequest): Promise<Flavor> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-manage:create')
    const name = req.name
    if (typeof name !== 'string' || name.length < 1 || name.length > 255 || name.trim() !== name || name.trim().length === 0) {
      throw new ComputeError('INVALID', 'Flavor name must be a string of 1 to 255 characters without leading or trailing whitespace')
    }
    const flavorId = req.id ?? crypto.randomUUID()
    if (flavorId.length > 255 || !FLAVOR_ID_PATTERN.test(flavorId)) {
      throw new ComputeError('INVALID', `Invalid flavor id ${JSON.stringify(flavorId)}: use 1 to 255 letters, digits, '.', '_', '-' or spaces (not at either end)`)
    }
    requireInt('ram', req.ram, 1)
    requireInt('vcpus', req.vcpus, 1)
    requireInt('disk', req.disk, 0)
    requireInt('OS-FLV-EXT-DATA:ephemeral', req.ephemeral ?? 0, 0)
    requireInt('swap', req.swap ?? 0, 0)
    const rxtx = req.rxtxFactor ?? 1.0
    if (typeof rxtx !== 'number' || !Number.isFinite(rxtx) || rxtx <= 0) throw new ComputeError('INVALID', `Invalid input for field/attribute rxtx_factor. Value: ${String(rxtx)}. must be a number greater than 0`)
    if (req.description !== undefined && req.description !== null && req.description.length > 65535) {
      throw new ComputeError('INVALID', 'Flavor description must be at most 65535 characters')
    }
    const byName = await this.db.selectFrom('flavors').select('id').where('name', '=', name).executeTakeFirst()
    if (byName) throw new ComputeError('CONFLICT', `Flavor with name ${name} already exists.`)
    const byId = await this.db.selectFrom('flavors').select('id').where('flavorid', '=', flavorId).executeTakeFirst()
    if (byId) throw new ComputeError('CONFLICT', `Flavor with ID ${flavorId} already exists.`)
    try {
      await this.db
        .insertInto('flavors')
        .values({
          flavorid: flavorId,
          name,
          memory_mb: req.ram,
          vcpus: req.vcpus,
          root_gb: req.disk,
          ephemeral_gb: req.ephemeral ?? 0,
          swap: req.swap ?? 0,
          rxtx_factor: rxtx,
          is_public: req.isPublic === false ? 0 : 1,
          disabled: 0,
          description: req.description ?? null,
          created_at: isoNow(this.clock),
          updated_at: null,
        })
        .execute()
    } catch (err) {
      if (isUniqueViolation(err)) throw new ComputeError('CONFLICT', `Flavor with name ${name} already exists.`, { cause: err })
      throw err
    }
    this.logger.info({ req_id: ctx.requestId, flavorId, name }, 'flavor created')
    return this.get({ ...ctx, isAdmin: true }, flavorId)
  }

  /** Updates a flavor's description (2.55; the only mutable field). */
  async update(ctx: RequestContext, flavorId: string, changes: { readonly description: string | null }): Promise<Flavor> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-manage:update')
    const row = await this.requireRow(flavorId)
    await this.db.updateTable('flavors').set({ description: changes.description, updated_at: isoNow(this.clock) }).where('id', '=', row.id).execute()
    return this.get({ ...ctx, isAdmin: true }, flavorId)
  }

  /** Deletes a flavor (admin); its extra specs and access entries go with it. Servers keep their copy. */
  async delete(ctx: RequestContext, flavorId: string): Promise<void> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-manage:delete')
    const row = await this.requireRow(flavorId)
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('flavor_extra_specs').where('flavor_id', '=', row.id).execute()
      await trx.deleteFrom('flavor_projects').where('flavor_id', '=', row.id).execute()
      await trx.deleteFrom('flavors').where('id', '=', row.id).execute()
    })
    this.logger.info({ req_id: ctx.requestId, flavorId }, 'flavor deleted')
  }

  /** Every extra spec of a visible flavor. */
  async getExtraSpecs(ctx: RequestContext, flavorId: string): Promise<Record<string, string>> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-extra-specs:index')
    return { ...(await this.get(ctx, flavorId)).extraSpecs }
  }

  /** One extra spec; a missing key is `NOT_FOUND` with Nova's wording. */
  async getExtraSpec(ctx: RequestContext, flavorId: string, key: string): Promise<string> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-extra-specs:show')
    const specs = (await this.get(ctx, flavorId)).extraSpecs
    const value = specs[key]
    if (value === undefined) throw new ComputeError('NOT_FOUND', `Flavor ${flavorId} has no extra specs with key ${key}.`)
    return value
  }

  /** Merges `specs` into the flavor's extra specs (`POST .../os-extra_specs`, admin); returns all of them. */
  async setExtraSpecs(ctx: RequestContext, flavorId: string, specs: Readonly<Record<string, string | number | boolean>>): Promise<Record<string, string>> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-extra-specs:create')
    const row = await this.requireRow(flavorId)
    const normalised = normaliseSpecs(specs)
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of Object.entries(normalised)) {
        const existing = await trx.selectFrom('flavor_extra_specs').select('id').where('flavor_id', '=', row.id).where('key', '=', key).executeTakeFirst()
        if (existing) await trx.updateTable('flavor_extra_specs').set({ value }).where('id', '=', existing.id).execute()
        else await trx.insertInto('flavor_extra_specs').values({ flavor_id: row.id, key, value }).execute()
      }
    })
    return this.specsOf(row.id)
  }

  /** Sets one extra spec (`PUT .../os-extra_specs/{key}`, admin); returns `{ [key]: value }`. */
  async updateExtraSpec(ctx: RequestContext, flavorId: string, key: string, value: string | number | boolean): Promise<Record<string, string>> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-extra-specs:update')
    const row = await this.requireRow(flavorId)
    const normalised = normaliseSpecs({ [key]: value })
    const v = normalised[key] as string
    const existing = await this.db.selectFrom('flavor_extra_specs').select('id').where('flavor_id', '=', row.id).where('key', '=', key).executeTakeFirst()
    if (existing) await this.db.updateTable('flavor_extra_specs').set({ value: v }).where('id', '=', existing.id).execute()
    else await this.db.insertInto('flavor_extra_specs').values({ flavor_id: row.id, key, value: v }).execute()
    return { [key]: v }
  }

  /** Removes one extra spec (admin); a missing key is `NOT_FOUND`. */
  async deleteExtraSpec(ctx: RequestContext, flavorId: string, key: string): Promise<void> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-extra-specs:delete')
    const row = await this.requireRow(flavorId)
    const result = await this.db.deleteFrom('flavor_extra_specs').where('flavor_id', '=', row.id).where('key', '=', key).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw new ComputeError('NOT_FOUND', `Flavor ${flavorId} has no extra specs with key ${key}.`)
  }

  /** The projects a private flavor is shared with; a public flavor has none (`NOT_FOUND`, as Nova). */
  async listAccess(ctx: RequestContext, flavorId: string): Promise<FlavorAccess[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-access')
    const row = await this.requireRow(flavorId)
    if (row.is_public === 1) throw new ComputeError('NOT_FOUND', 'Access list not available for public flavors.')
    return this.accessOf(row)
  }

  /** Shares a private flavor with a project (admin); returns the new access list. */
  async addAccess(ctx: RequestContext, flavorId: string, projectId: string): Promise<FlavorAccess[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-access:add_tenant_access')
    const row = await this.requireRow(flavorId)
    if (row.is_public === 1) throw new ComputeError('CONFLICT', 'Can not add access to a public flavor.')
    const exists = () => new ComputeError('CONFLICT', `Flavor access already exists for flavor ${flavorId} and project ${projectId} combination.`)
    const existing = await this.db.selectFrom('flavor_projects').select('id').where('flavor_id', '=', row.id).where('project_id', '=', projectId).executeTakeFirst()
    if (existing) throw exists()
    try {
      await this.db.insertInto('flavor_projects').values({ flavor_id: row.id, project_id: projectId }).execute()
    } catch (err) {
      if (isUniqueViolation(err)) throw exists()
      throw err
    }
    return this.accessOf(row)
  }

  /** Stops sharing a flavor with a project (admin); an absent entry is `NOT_FOUND`. */
  async removeAccess(ctx: RequestContext, flavorId: string, projectId: string): Promise<FlavorAccess[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-flavor-access:remove_tenant_access')
    const row = await this.requireRow(flavorId)
    const result = await this.db.deleteFrom('flavor_projects').where('flavor_id', '=', row.id).where('project_id', '=', projectId).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) {
      throw new ComputeError('NOT_FOUND', `Flavor access not found for ${flavorId} / ${projectId} combination.`)
    }
    return this.accessOf(row)
  }

  /**
   * Creates whichever of {@link DEFAULT_FLAVORS} is missing (by id) and returns all five. Idempotent, and safe
   * when two processes race (the loser's insert is ignored).
   */
  async ensureDefaultFlavors(): Promise<Flavor[]> {
    for (const d of DEFAULT_FLAVORS) {
      const existing = await this.db.selectFrom('flavors').select('id').where('flavorid', '=', d.id).executeTakeFirst()
      if (existing) continue
      try {
        await this.db
          .insertInto('flavors')
          .values({
            flavorid: d.id, name: d.name, memory_mb: d.ram, vcpus: d.vcpus, root_gb: d.disk, ephemeral_gb: 0, swap: 0,
            rxtx_factor: 1.0, is_public: 1, disabled: 0, description: null, created_at: isoNow(this.clock), updated_at: null,
          })
          .execute()
      } catch (err) {
        if (!isUniqueViolation(err)) throw err
      }
    }
    const rows = await this.db.selectFrom('flavors').selectAll().where('flavorid', 'in', DEFAULT_FLAVORS.map((d) => d.id)).orderBy('flavorid').execute()
    return this.withExtraSpecs(rows)
  }

  private async findVisibleRow(ctx: RequestContext, flavorId: string): Promise<FlavorRow | undefined> {
    let q = this.db.selectFrom('flavors').selectAll().where('flavorid', '=', flavorId)
    if (!ctx.isAdmin) {
      const projectId = ctx.projectId
      q = q.where((eb) =>
        projectId
          ? eb.or([eb('is_public', '=', 1), eb('id', 'in', eb.selectFrom('flavor_projects').select('flavor_id').where('project_id', '=', projectId))])
          : eb('is_public', '=', 1),
      )
    }
    return q.executeTakeFirst()
  }

  private async requireRow(flavorId: string): Promise<FlavorRow> {
    const row = await this.db.selectFrom('flavors').selectAll().where('flavorid', '=', flavorId).executeTakeFirst()
    if (!row) throw flavorNotFound(flavorId)
    return row
  }

  private async specsOf(id: number): Promise<Record<string, string>> {
    const rows = await this.db.selectFrom('flavor_extra_specs').select(['key', 'value']).where('flavor_id', '=', id).orderBy('key').execute()
    return Object.fromEntries(rows.map((r) => [r.key, r.value]))
  }

  private async accessOf(row: FlavorRow): Promise<FlavorAccess[]> {
    const rows = await this.db.selectFrom('flavor_projects').select('project_id').where('flavor_id', '=', row.id).orderBy('project_id').execute()
    return rows.map((r) => ({ flavorId: row.flavorid, tenantId: r.project_id }))
  }

  private async withExtraSpecs(rows: readonly FlavorRow[]): Promise<Flavor[]> {
    if (rows.length === 0) return []
    const specRows = await this.db
      .selectFrom('flavor_extra_specs')
      .select(['flavor_id', 'key', 'value'])
      .where('flavor_id', 'in', rows.map((r) => r.id))
      .orderBy('key')
      .execute()
    const specs = new Map<number, Record<string, string>>()
    for (const s of specRows) {
      const m = specs.get(s.flavor_id) ?? {}
      m[s.key] = s.value
      specs.set(s.flavor_id, m)
    }
    return rows.map((r) => flavorFromRow(r, specs.get(r.id) ?? {}))
  }
}

/** Converts a `flavors` row (and its extra specs) to a {@link Flavor}. */
export function flavorFromRow(row: FlavorRow, extraSpecs: Readonly<Record<string, string>>): Flavor {
  return {
    id: row.flavorid,
    name: row.name,
    memoryMb: row.memory_mb,
    vcpus: row.vcpus,
    rootGb: row.root_gb,
    ephemeralGb: row.ephemeral_gb,
    swapMb: row.swap,
    rxtxFactor: Number(row.rxtx_factor),
    isPublic: row.is_public === 1,
    disabled: row.disabled === 1,
    description: row.description,
    extraSpecs,
  }
}

function flavorNotFound(flavorId: string): ComputeError {
  return new ComputeError('NOT_FOUND', `Flavor ${flavorId} could not be found.`, { details: { flavorId } })
}

function requireInt(field: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 2147483647) {
    throw new ComputeError('INVALID', `Invalid input for field/attribute ${field}. Value: ${String(value)}. must be an integer between ${min} and 2147483647`)
  }
}

function normaliseSpecs(specs: Readonly<Record<string, string | number | boolean>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, raw] of Object.entries(specs)) {
    if (!EXTRA_SPEC_KEY_PATTERN.test(key)) throw new ComputeError('INVALID', `Invalid extra spec key ${JSON.stringify(key)}: 1 to 255 of letters, digits, '-', '_', ':', '.', ' ' or '/'`)
    const value = typeof raw === 'string' ? raw : String(raw)
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new ComputeError('INVALID', `Invalid extra spec value for ${key}: must be a string, number or boolean`)
    }
    if (value.length > 255) throw new ComputeError('INVALID', `Invalid extra spec value for ${key}: longer than 255 characters`)
    out[key] = value
  }
  return out
}
