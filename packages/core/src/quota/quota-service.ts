import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import { ComputeError } from '../errors/compute-error.js'
import type { Flavor } from '../model/flavor.js'
import { Policy } from '../policy/policy.js'
import { systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'

/** The quota resources Nova counts or limits (Zed, legacy `DbQuotaDriver`). */
export type QuotaResource =
  | 'instances'
  | 'cores'
  | 'ram'
  | 'metadata_items'
  | 'key_pairs'
  | 'server_groups'
  | 'server_group_members'
  | 'injected_files'
  | 'injected_file_content_bytes'
  | 'injected_file_path_bytes'

/** Every {@link QuotaResource}, in Nova's display order. */
export const QUOTA_RESOURCES: readonly QuotaResource[] = [
  'instances', 'cores', 'ram', 'metadata_items', 'key_pairs', 'server_groups', 'server_group_members',
  'injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes',
]

/** A limit per resource; `-1` means unlimited. */
export type QuotaSet = Readonly<Record<QuotaResource, number>>

/** Nova's configured defaults (`[quota]` options). */
export const DEFAULT_QUOTAS: QuotaSet = {
  instances: 10,
  cores: 20,
  ram: 51200,
  metadata_items: 128,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  injected_files: 5,
  injected_file_content_bytes: 10240,
  injected_file_path_bytes: 255,
}

/**
 * The network quotas Nova showed before 2.36 (proxied from Neutron; fixed values here, since Novum has no
 * network service yet).
 */
export const LEGACY_NETWORK_QUOTAS = {
  fixed_ips: -1,
  floating_ips: 10,
  security_groups: 10,
  security_group_rules: 20,
  networks: 3,
} as const

/** One resource of `GET /os-quota-sets/{id}/detail`. */
export interface QuotaDetailItem {
  readonly limit: number
  readonly inUse: number
  /** Always 0: Nova has not reserved since Pike. */
  readonly reserved: 0
}

/** `GET /os-quota-sets/{id}/detail`. */
export type QuotaDetail = Readonly<Record<QuotaResource, QuotaDetailItem>>

/** The `absolute` object of `GET /limits` (the HTTP layer drops keys per microversion). */
export interface AbsoluteLimits {
  readonly maxTotalInstances: number
  readonly maxTotalCores: number
  readonly maxTotalRAMSize: number
  readonly maxServerMeta: number
  /** ≤ 2.38. */
  readonly maxImageMeta: number
  /** ≤ 2.56. */
  readonly maxPersonality: number
  /** ≤ 2.56. */
  readonly maxPersonalitySize: number
  readonly maxTotalKeypairs: number
  readonly maxServerGroups: number
  readonly maxServerGroupMembers: number
  /** ≤ 2.35. */
  readonly maxSecurityGroups: number
  /** ≤ 2.35. */
  readonly maxSecurityGroupRules: number
  /** ≤ 2.35. */
  readonly maxTotalFloatingIps: number
  readonly totalInstancesUsed: number
  readonly totalCoresUsed: number
  readonly totalRAMUsed: number
  readonly totalServerGroupsUsed: number
  /** ≤ 2.35. */
  readonly totalSecurityGroupsUsed: number
  /** ≤ 2.35. */
  readonly totalFloatingIpsUsed: number
}

/** Whose quota: a project, and optionally one of its users (per-user overrides). */
export interface QuotaScope {
  readonly projectId: string
  readonly userId?: string | null
}

/** The outcome of checking deltas against limits: a value, not an exception (callers pick Nova's message). */
export interface QuotaEvaluation {
  /** Resources that would exceed their limit, sorted by name (Nova sorts `overs`). */
  readonly overs: readonly QuotaResource[]
  /** Effective limits of the checked resources. */
  readonly quotas: Readonly<Partial<Record<QuotaResource, number>>>
  /** Current usage of the checked resources. */
  readonly usages: Readonly<Partial<Record<QuotaResource, number>>>
}

/** Options of {@link QuotaService}. */
export interface QuotaServiceConfig {
  /** Overrides of {@link DEFAULT_QUOTAS} (Nova's `[quota]` options). */
  readonly defaults?: Partial<QuotaSet>
}

/** Options of {@link QuotaService.update}. */
export interface QuotaUpdateOptions {
  /** Set a limit below current usage (Nova's `force`). */
  readonly force?: boolean
  /** Update the per-user overrides of this user instead of the project's. */
  readonly userId?: string
}

const COUNTED: ReadonlySet<QuotaResource> = new Set(['instances', 'cores', 'ram', 'key_pairs', 'server_groups'])

/**
 * Nova's quota engine (legacy `DbQuotaDriver`): limits resolve as per-user override → project override
 * (`quotas`) → the `default` quota class (`quota_classes`) → config defaults. Usage is counted when asked, never
 * reserved: `instances`/`cores`/`ram` from non-deleted, non-soft-deleted instances, `key_pairs` per user,
 * `server_groups` per project. `-1` is unlimited.
 *
 * Over-quota is `ComputeError('QUOTA')` (HTTP 403) with Nova's wording, e.g.
 * `Quota exceeded for instances: Requested 1, but already used 10 of 10 instances`.
 */
export class QuotaService {
  private readonly configDefaults: QuotaSet

  constructor(
    private readonly db: NovumDb,
    private readonly policy: Policy = new Policy(),
    _clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    config: QuotaServiceConfig = {},
  ) {
    this.configDefaults = { ...DEFAULT_QUOTAS, ...(config.defaults ?? {}) }
  }

  /** The default limits (`GET /os-quota-sets/{id}/defaults`): the `default` quota class over config. */
  async defaults(ctx?: RequestContext): Promise<QuotaSet> {
    if (ctx) this.policy.authorize(ctx, 'os_compute_api:os-quota-sets:defaults')
    return this.classLimits('default')
  }

  /** The effective limits of a project, or of one of its users (`GET /os-quota-sets/{project_id}[?user_id=]`). */
  async show(ctx: RequestContext, projectId: string, userId?: string): Promise<QuotaSet> {
    this.policy.authorize(ctx, 'os_compute_api:os-quota-sets:show', { projectId })
    return this.effectiveLimits({ projectId, userId: userId ?? null })
  }

  /** Limits with usage (`GET /os-quota-sets/{project_id}/detail`); `reserved` is always 0. */
  async detail(ctx: RequestContext, projectId: string, userId?: string): Promise<QuotaDetail> {
    this.policy.authorize(ctx, 'os_compute_api:os-quota-sets:detail', { projectId })
    const scope = { projectId, userId: userId ?? null }
    const limits = await this.effectiveLimits(scope)
    const usage = await this.usage(scope)
    const out = {} as Record<QuotaResource, QuotaDetailItem>
    for (const r of QUOTA_RESOURCES) out[r] = { limit: limits[r], inUse: usage[r] ?? 0, reserved: 0 }
    return out
  }

  /**
   * Sets project (or per-user) overrides (`PUT /os-quota-sets/{project_id}`, admin). Without `force`, a limit
   * below current usage is `INVALID`; a per-user limit above the project's is `INVALID`. Returns the new limits.
   */
  async update(ctx: RequestContext, projectId: string, values: Partial<Record<QuotaResource, number>>, options: QuotaUpdateOptions = {}): Promise<QuotaSet> {
    this.policy.authorize(ctx, 'os_compute_api:os-quota-sets:update', { projectId })
    const entries = Object.entries(values) as [string, number][]
    for (const [resource, limit] of entries) {
      if (!(QUOTA_RESOURCES as readonly string[]).includes(resource)) {
        throw new ComputeError('INVALID', `Bad key(s) ${resource} in quota_set`)
      }
      if (!Number.isInteger(limit) || limit < -1) {
        throw new ComputeError('INVALID', `Quota limit ${String(limit)} for ${resource} must be an integer greater than or equal to -1`)
      }
    }
    const userId = options.userId ?? null
    const scope = { projectId, userId }
    if (!options.force) {
      const usage = await this.usage(scope)
      for (const [resource, limit] of entries) {
        const used = usage[resource as QuotaResource] ?? 0
        if (limit !== -1 && limit < used) {
          throw new ComputeError('INVALID', `Quota limit ${limit} for ${resource} must be greater than or equal to already used and reserved ${used}.`)
        }
      }
    }
    if (userId !== null) {
      const projectLimits = await this.effectiveLimits({ projectId, userId: null })
      for (const [resource, limit] of entries) {
        const max = projectLimits[resource as QuotaResource]
        if (max !== -1 && (limit === -1 || limit > max)) {
          throw new ComputeError('INVALID', `Quota limit ${limit} for ${resource} must be less than or equal to ${max}.`)
        }
      }
    }
    await this.db.transaction().execute(async (trx) => {
      for (const [resource, limit] of entries) {
        if (userId === null) {
          const existing = await trx.selectFrom('quotas').select('id').where('project_id', '=', projectId).where('resource', '=', resource).executeTakeFirst()
          if (existing) await trx.updateTable('quotas').set({ hard_limit: limit }).where('id', '=', existing.id).execute()
          else await trx.insertInto('quotas').values({ project_id: projectId, resource, hard_limit: limit }).execute()
        } else {
          const existing = await trx
            .selectFrom('project_user_quotas').select('id')
            .where('project_id', '=', projectId).where('user_id', '=', userId).where('resource', '=', resource)
            .executeTakeFirst()
          if (existing) await trx.updateTable('project_user_quotas').set({ hard_limit: limit }).where('id', '=', existing.id).execute()
          else await trx.insertInto('project_user_quotas').values({ project_id: projectId, user_id: userId, resource, hard_limit: limit }).execute()
        }
      }
    })
    this.logger.info({ req_id: ctx.requestId, projectId, userId, values }, 'quotas updated')
    return this.effectiveLimits(scope)
  }

  /** Removes a project's (or one user's) overrides, reverting to the defaults (`DELETE /os-quota-sets/{id}`). */
  async delete(ctx: RequestContext, projectId: string, userId?: string): Promise<void> {
    this.policy.authorize(ctx, 'os_compute_api:os-quota-sets:delete', { projectId })
    if (userId !== undefined) {
      await this.db.deleteFrom('project_user_quotas').where('project_id', '=', projectId).where('user_id', '=', userId).execute()
      return
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('quotas').where('project_id', '=', projectId).execute()
      await trx.deleteFrom('project_user_quotas').where('project_id', '=', projectId).execute()
    })
  }

  /** A quota class's limits (`GET /os-quota-class-sets/{id}`); only `default` affects projects. */
  async showClass(ctx: RequestContext, className: string): Promise<QuotaSet> {
    this.policy.authorize(ctx, 'os_compute_api:os-quota-class-sets:show')
    return this.classLimits(className)
  }

  /** Sets a quota class's limits (`PUT /os-quota-class-sets/{id}`). */
  async updateClass(ctx: RequestContext, className: string, values: Partial<Record<QuotaResource, number>>): Promise<QuotaSet> {
    this.policy.authorize(ctx, 'os_compute_api:os-quota-class-sets:update')
    for (const [resource, limit] of Object.entries(values) as [string, number][]) {
      if (!(QUOTA_RESOURCES as readonly string[]).includes(resource)) throw new ComputeError('INVALID', `Bad key(s) ${resource} in quota_class_set`)
      if (!Number.isInteger(limit) || limit < -1) throw new ComputeError('INVALID', `Quota limit ${String(limit)} for ${resource} must be an integer greater than or equal to -1`)
    }
    await this.db.transaction().execute(async (trx) => {
      for (const [resource, limit] of Object.entries(values) as [string, number][]) {
        const existing = await trx.selectFrom('quota_classes').select('id').where('class_name', '=', className).where('resource', '=', resource).executeTakeFirst()
        if (existing) await trx.updateTable('quota_classes').set({ hard_limit: limit }).where('id', '=', existing.id).execute()
        else await trx.insertInto('quota_classes').values({ class_name: className, resource, hard_limit: limit }).execute()
      }
    })
    return this.classLimits(className)
  }

  /**
   * The `absolute` limits of `GET /limits` for the caller's project, or for `projectId` (admin:
   * `os_compute_api:limits:other_project`).
   */
  async limits(ctx: RequestContext, projectId?: string): Promise<AbsoluteLimits> {
    this.policy.authorize(ctx, 'os_compute_api:limits')
    const target = projectId ?? ctx.projectId
    if (projectId !== undefined && projectId !== ctx.projectId) this.policy.authorize(ctx, 'os_compute_api:limits:other_project', { projectId })
    if (!target) throw new ComputeError('INVALID', 'a project scope is needed to show limits')
    const q = await this.effectiveLimits({ projectId: target, userId: null })
    const u = await this.usage({ projectId: target, userId: null })
    return {
      maxTotalInstances: q.instances,
      maxTotalCores: q.cores,
      maxTotalRAMSize: q.ram,
      maxServerMeta: q.metadata_items,
      maxImageMeta: q.metadata_items,
      maxPersonality: q.injected_files,
      maxPersonalitySize: q.injected_file_content_bytes,
      maxTotalKeypairs: q.key_pairs,
      maxServerGroups: q.server_groups,
      maxServerGroupMembers: q.server_group_members,
      maxSecurityGroups: LEGACY_NETWORK_QUOTAS.security_groups,
      maxSecurityGroupRules: LEGACY_NETWORK_QUOTAS.security_group_rules,
      maxTotalFloatingIps: LEGACY_NETWORK_QUOTAS.floating_ips,
      totalInstancesUsed: u.instances ?? 0,
      totalCoresUsed: u.cores ?? 0,
      totalRAMUsed: u.ram ?? 0,
      totalServerGroupsUsed: u.server_groups ?? 0,
      totalSecurityGroupsUsed: 0,
      totalFloatingIpsUsed: 0,
    }
  }

  /** The effective limits of a scope (no policy check: for services). */
  async effectiveLimits(scope: QuotaScope): Promise<QuotaSet> {
    const { project, user } = await this.limitLevels(scope)
    return { ...project, ...user }
  }

  /**
   * The `default` class's limits overlaid with the project's (`project`), and the user's own overrides (`user`),
   * read in one query.
   */
  private async limitLevels(scope: QuotaScope): Promise<{ project: QuotaSet; user: Partial<Record<QuotaResource, number>> }> {
    let q = this.db
      .selectFrom('quota_classes').select((eb) => [eb.val(0).as('level'), 'resource', 'hard_limit']).where('class_name', '=', 'default')
      .unionAll((db) => db.selectFrom('quotas').select((eb) => [eb.val(1).as('level'), 'resource', 'hard_limit']).where('project_id', '=', scope.projectId))
    const userId = scope.userId
    if (userId) {
      q = q.unionAll((db) =>
        db.selectFrom('project_user_quotas').select((eb) => [eb.val(2).as('level'), 'resource', 'hard_limit']).where('project_id', '=', scope.projectId).where('user_id', '=', userId),
      )
    }
    const rows = await q.execute()
    const project: Record<QuotaResource, number> = { ...this.configDefaults }
    const user: Partial<Record<QuotaResource, number>> = {}
    // Class rows first, then the project's, so the project wins over the class whatever order the rows come in.
    for (const level of [0, 1]) for (const row of rows) if (Number(row.level) === level && isResource(row.resource)) project[row.resource] = row.hard_limit
    for (const row of rows) if (Number(row.level) === 2 && isResource(row.resource)) user[row.resource] = row.hard_limit
    return { project, user }
  }

  /**
   * Counted usage of a scope: instances/cores/ram (of the user when `userId` is set), key_pairs (of the user),
   * server_groups (of the project). Per-request resources are 0.
   */
  async usage(scope: QuotaScope, only?: ReadonlySet<QuotaResource>): Promise<Readonly<Record<QuotaResource, number>>> {
    const wants = (r: QuotaResource) => !only || only.has(r)
    let instances = 0
    let cores = 0
    let ram = 0
    if (wants('instances') || wants('cores') || wants('ram')) {
      let q = this.db
        .selectFrom('instances')
        .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum<number>('vcpus').as('cores'), eb.fn.sum<number>('memory_mb').as('ram')])
        .where('project_id', '=', scope.projectId)
        .where('deleted', '=', 0)
        .where('vm_state', '!=', 'soft-delete')
      if (scope.userId) q = q.where('user_id', '=', scope.userId)
      const row = await q.executeTakeFirstOrThrow()
      instances = Number(row.n)
      cores = Number(row.cores ?? 0)
      ram = Number(row.ram ?? 0)
    }
    const keyPairs =
      scope.userId && wants('key_pairs')
        ? Number((await this.db.selectFrom('key_pairs').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', scope.userId).executeTakeFirstOrThrow()).n)
        : 0
    const groups = wants('server_groups')
      ? Number((await this.db.selectFrom('instance_groups').select((eb) => eb.fn.countAll().as('n')).where('project_id', '=', scope.projectId).executeTakeFirstOrThrow()).n)
      : 0
    return {
      instances,
      cores,
      ram,
      metadata_items: 0,
      key_pairs: keyPairs,
      server_groups: groups,
      server_group_members: 0,
      injected_files: 0,
      injected_file_content_bytes: 0,
      injected_file_path_bytes: 0,
    }
  }

  /** {@link QuotaService.usage} of the user (`user`) and of the whole project (`project`), instances counted in one query. */
  private async usageLevels(scope: QuotaScope, only: ReadonlySet<QuotaResource>): Promise<{ user: Readonly<Record<QuotaResource, number>>; project: Readonly<Record<QuotaResource, number>> }> {
    const userId = scope.userId
    if (!userId) {
      const usage = await this.usage({ projectId: scope.projectId, userId: null }, only)
      return { user: usage, project: usage }
    }
    const countsInstances = only.has('instances') || only.has('cores') || only.has('ram')
    const rest = new Set([...only].filter((r) => r !== 'instances' && r !== 'cores' && r !== 'ram'))
    // key_pairs are the user's and server_groups the project's in either scope: one usage() call covers both.
    const [user, row] = await Promise.all([
      this.usage({ projectId: scope.projectId, userId }, rest),
      countsInstances
        ? this.db
            .selectFrom('instances')
            .select((eb) => {
              const mine = <T>(then: T) => eb.case().when('user_id', '=', userId).then(then).else(0).end()
              return [
                eb.fn.countAll().as('n'), eb.fn.sum<number>('vcpus').as('cores'), eb.fn.sum<number>('memory_mb').as('ram'),
                eb.fn.sum<number>(mine(1)).as('user_n'), eb.fn.sum<number>(mine(eb.ref('vcpus'))).as('user_cores'), eb.fn.sum<number>(mine(eb.ref('memory_mb'))).as('user_ram'),
              ]
            })
            .where('project_id', '=', scope.projectId)
            .where('deleted', '=', 0)
            .where('vm_state', '!=', 'soft-delete')
            .executeTakeFirstOrThrow()
        : null,
    ])
    const instances = (n: unknown, cores: unknown, ram: unknown) => ({ instances: Number(n ?? 0), cores: Number(cores ?? 0), ram: Number(ram ?? 0) })
    return {
      user: row ? { ...user, ...instances(row.user_n, row.user_cores, row.user_ram) } : user,
      project: { ...user, ...(row ? instances(row.n, row.cores, row.ram) : {}) },
    }
  }

  /**
   * Checks counted resources (`instances`, `cores`, `ram`, `key_pairs`, `server_groups`) for adding `deltas`, at
   * project level and, where the user has an override, at user level. Returns the outcome; throws nothing.
   */
  async evaluate(deltas: Partial<Record<QuotaResource, number>>, scope: QuotaScope): Promise<QuotaEvaluation> {
    const resources = (Object.keys(deltas) as QuotaResource[]).filter((r) => COUNTED.has(r))
    const { project: projectLimits, user: userLimits } = await this.limitLevels(scope)
    const only = new Set(resources)
    // key_pairs are per user; everything else counted per project (the user's own usage meets user-level limits).
    const { user: projectUsage, project: projectWide } = await this.usageLevels(scope, only)
    const overs = new Set<QuotaResource>()
    const quotas: Partial<Record<QuotaResource, number>> = {}
    const usages: Partial<Record<QuotaResource, number>> = {}
    for (const r of resources) {
      const used = r === 'key_pairs' ? projectUsage[r] : projectWide[r]
      const limit = projectLimits[r]
      quotas[r] = limit
      usages[r] = used
      if (limit >= 0 && used + (deltas[r] ?? 0) > limit) overs.add(r)
    }
    for (const [resource, limit] of Object.entries(userLimits) as [QuotaResource, number][]) {
      if (!resources.includes(resource) || resource === 'key_pairs') continue
      const used = projectUsage[resource]
      if (limit >= 0 && used + (deltas[resource] ?? 0) > limit) {
        overs.add(resource)
        quotas[resource] = limit
        usages[resource] = used
      }
    }
    return { overs: [...overs].sort(), quotas, usages }
  }

  /**
   * Nova's `_check_num_instances_quota`: checks `maxCount` instances of `flavor`; when that is over quota but
   * `minCount` fits, returns the largest count that fits; otherwise throws `ComputeError('QUOTA')` with
   * Nova's `TooManyInstances` wording. Returns the number of instances to create.
   */
  async checkInstances(
    ctx: RequestContext,
    flavor: Pick<Flavor, 'vcpus' | 'memoryMb'>,
    minCount: number,
    maxCount: number,
    scope: QuotaScope = scopeOf(ctx),
  ): Promise<number> {
    const deltas = { instances: maxCount, cores: maxCount * flavor.vcpus, ram: maxCount * flavor.memoryMb }
    const evaluation = await this.evaluate(deltas, scope)
    if (evaluation.overs.length === 0) return maxCount
    const headroom = headroomOf(evaluation, deltas)
    let allowed = headroom.instances ?? 1
    if (flavor.vcpus) allowed = Math.min(allowed, Math.floor((headroom.cores ?? 0) / flavor.vcpus))
    if (flavor.memoryMb) allowed = Math.min(allowed, Math.floor((headroom.ram ?? 0) / flavor.memoryMb))
    if (allowed > 0 && minCount <= allowed && allowed <= maxCount) {
      return this.checkInstances(ctx, flavor, minCount, allowed, scope)
    }
    const requested: Record<string, string> = {
      instances: minCount === maxCount ? String(minCount) : `${minCount}-${maxCount}`,
      cores: String(deltas.cores),
      ram: String(deltas.ram),
    }
    this.logger.debug({ req_id: ctx.requestId, overs: evaluation.overs, allowed }, 'instance quota exceeded')
    throw tooMany(evaluation, (r) => requested[r] ?? '0')
  }

  /**
   * Nova's `recheck_quota`: after instances were recorded, usage must not exceed limits (a race with another
   * create may have pushed it over). `created` is how many were just recorded, for the message.
   */
  async recheckInstances(ctx: RequestContext, created: number, flavor: Pick<Flavor, 'vcpus' | 'memoryMb'>, scope: QuotaScope = scopeOf(ctx)): Promise<void> {
    const evaluation = await this.evaluate({ instances: 0, cores: 0, ram: 0 }, scope)
    if (evaluation.overs.length === 0) return
    const requested: Record<string, number> = { instances: created, cores: created * flavor.vcpus, ram: created * flavor.memoryMb }
    const adjusted: QuotaEvaluation = {
      ...evaluation,
      usages: Object.fromEntries(Object.entries(evaluation.usages).map(([r, u]) => [r, (u ?? 0) - (requested[r] ?? 0)])),
    }
    throw tooMany(adjusted, (r) => String(requested[r] ?? 0))
  }

  /** Checks a metadata item count against `metadata_items` (Nova `MetadataLimitExceeded`, 403). */
  async checkMetadataItems(ctx: RequestContext, count: number, scope: QuotaScope = scopeOf(ctx)): Promise<void> {
    // No items fit every limit (a limit is -1, unlimited, or ≥ 0): nothing to read.
    if (count === 0) return
    const limit = (await this.effectiveLimits(scope)).metadata_items
    if (limit >= 0 && count > limit) {
      throw new ComputeError('QUOTA', `Maximum number of metadata items exceeds ${limit}`, { details: { resource: 'metadata_items', allowed: limit } })
    }
  }

  /** Checks adding `delta` key pairs for `userId` (Nova `KeypairLimitExceeded`, 403). */
  async checkKeyPairs(ctx: RequestContext, userId: string, delta = 1, projectId: string | null = ctx.projectId): Promise<void> {
    const limits = projectId ? await this.effectiveLimits({ projectId, userId }) : await this.classLimits('default')
    const used = Number((await this.db.selectFrom('key_pairs').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n)
    if (limits.key_pairs >= 0 && used + delta > limits.key_pairs) {
      throw new ComputeError('QUOTA', 'Maximum number of key pairs exceeded', { details: { resource: 'key_pairs', allowed: limits.key_pairs } })
    }
  }

  /** Checks personality files against the injected_files quotas (Nova `OnsetFile*LimitExceeded`, 403). */
  async checkInjectedFiles(ctx: RequestContext, files: readonly { readonly path: string; readonly contents: string }[], scope: QuotaScope = scopeOf(ctx)): Promise<void> {
    if (files.length === 0) return
    const limits = await this.effectiveLimits(scope)
    if (limits.injected_files >= 0 && files.length > limits.injected_files) {
      throw new ComputeError('QUOTA', 'Personality file limit exceeded', { details: { resource: 'injected_files', allowed: limits.injected_files } })
    }
    for (const f of files) {
      const pathBytes = Buffer.byteLength(f.path, 'utf8')
      if (limits.injected_file_path_bytes >= 0 && pathBytes > limits.injected_file_path_bytes) {
        throw new ComputeError('QUOTA', `Personality file path exceeds maximum ${limits.injected_file_path_bytes}`, { details: { resource: 'injected_file_path_bytes' } })
      }
      const contentBytes = Buffer.from(f.contents, 'base64').length
      if (limits.injected_file_content_bytes >= 0 && contentBytes > limits.injected_file_content_bytes) {
        throw new ComputeError('QUOTA', `Personality file content exceeds maximum ${limits.injected_file_content_bytes}`, { details: { resource: 'injected_file_content_bytes' } })
      }
    }
  }

  private async classLimits(className: string): Promise<QuotaSet> {
    const out: Record<QuotaResource, number> = { ...this.configDefaults }
    const rows = await this.db.selectFrom('quota_classes').select(['resource', 'hard_limit']).where('class_name', '=', className).execute()
    for (const row of rows) if (isResource(row.resource)) out[row.resource] = row.hard_limit
    return out
  }
}

function isResource(name: string): name is QuotaResource {
  return (QUOTA_RESOURCES as readonly string[]).includes(name)
}

function scopeOf(ctx: RequestContext): QuotaScope {
  if (!ctx.projectId) throw new ComputeError('INVALID', 'a project-scoped token is needed for this request')
  return { projectId: ctx.projectId, userId: ctx.userId }
}

/** Nova `compute_utils.get_headroom`: limit − usage, with unlimited cores/ram following the instances headroom. */
function headroomOf(e: QuotaEvaluation, deltas: Readonly<Record<'instances' | 'cores' | 'ram', number>>): Partial<Record<QuotaResource, number>> {
  const headroom: Partial<Record<QuotaResource, number>> = {}
  for (const r of ['instances', 'cores', 'ram'] as const) {
    const limit = e.quotas[r]
    headroom[r] = limit === undefined || limit === -1 ? Number.POSITIVE_INFINITY : limit - (e.usages[r] ?? 0)
  }
  if (e.quotas.cores === -1) headroom.cores = deltas.cores ? ((headroom.instances ?? 1) * deltas.cores) / (deltas.instances || 1) : headroom.instances ?? 1
  if (e.quotas.ram === -1) headroom.ram = deltas.ram ? ((headroom.instances ?? 1) * deltas.ram) / (deltas.instances || 1) : headroom.instances ?? 1
  return headroom
}

/** Nova `TooManyInstances`: "Quota exceeded for %(overs)s: Requested %(req)s, but already used %(used)s of %(allowed)s %(overs)s". */
function tooMany(e: QuotaEvaluation, requested: (r: QuotaResource) => string): ComputeError {
  const overs = e.overs.join(', ')
  const req = e.overs.map(requested).join(', ')
  const used = e.overs.map((r) => String(e.usages[r] ?? 0)).join(', ')
  const allowed = e.overs.map((r) => String(e.quotas[r] ?? 0)).join(', ')
  return new ComputeError('QUOTA', `Quota exceeded for ${overs}: Requested ${req}, but already used ${used} of ${allowed} ${overs}`, {
    details: { overs: [...e.overs], quotas: e.quotas, usages: e.usages },
  })
}
