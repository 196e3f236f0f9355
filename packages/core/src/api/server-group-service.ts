import { randomUUID } from 'node:crypto'
import type { Selectable } from 'kysely'
import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import type { InstanceGroupsTable } from '../db/database.js'
import { ComputeError } from '../errors/compute-error.js'
import type { RequestServerGroup } from '../model/request-spec.js'
import { Policy } from '../policy/policy.js'
import type { QuotaService } from '../quota/quota-service.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'

/** A server group's policy: hard (`affinity`, `anti-affinity`) or soft (2.15, weighers only). */
export type ServerGroupPolicy = RequestServerGroup['policy']

/** Every policy a server group may have. */
export const SERVER_GROUP_POLICIES: readonly ServerGroupPolicy[] = Object.freeze(['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'])

/** A server group (`os-server-groups`), with its live members. */
export interface ServerGroup {
  readonly uuid: string
  readonly name: string
  readonly projectId: string
  readonly userId: string
  readonly policy: ServerGroupPolicy
  /** `max_server_per_host` for anti-affinity (2.64), else empty. */
  readonly rules: Readonly<Record<string, number>>
  /** Uuids of the members that are not deleted, oldest first. */
  readonly members: readonly string[]
  readonly createdAt: string
}

/** What `POST /os-server-groups` asks for, already validated against the microversion's schema. */
export interface ServerGroupCreateRequest {
  readonly name: string
  readonly policy: ServerGroupPolicy
  /** Only for `anti-affinity`: `max_server_per_host` ≥ 1 (2.64). */
  readonly rules?: Readonly<Record<string, number>>
}

/** Paging and scope of {@link ServerGroupService.list}. */
export interface ServerGroupListOptions {
  /** Every project's groups: admin only (`os-server-groups:index:all_projects`, a `FORBIDDEN` otherwise, as Nova). */
  readonly allProjects?: boolean
  /** At most this many (capped at `maxLimit`). */
  readonly limit?: number
  /** Skip this many first. @default 0 */
  readonly offset?: number
}

/** Options of {@link ServerGroupService}. */
export interface ServerGroupServiceConfig {
  /** Nova `[api] max_limit`. @default 1000 */
  readonly maxLimit?: number
}

type GroupRow = Selectable<InstanceGroupsTable>

/**
 * Server groups (Nova `server_groups.py` and `InstanceGroup`): create (policy, and `max_server_per_host` rules for
 * anti-affinity), list, show with the live members, delete (members keep running). Creating checks the
 * `server_groups` quota of the project, before and after the insert (Nova's `recheck_quota`); adding members is
 * `ComputeApi.createServers`' job (`os:scheduler_hints.group`), under the `server_group_members` quota.
 *
 * @example
 * ```ts
 * const group = await groups.create(ctx, { name: 'web', policy: 'anti-affinity', rules: { max_server_per_host: 2 } })
 * await api.createServers(ctx, { name: 'web', imageRef, flavorRef: '1', schedulerHints: { group: group.uuid } })
 * ```
 */
export class ServerGroupService {
  private readonly maxLimit: number

  constructor(
    private readonly db: NovumDb,
    private readonly quotas: QuotaService,
    private readonly policy: Policy = new Policy(),
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    config: ServerGroupServiceConfig = {},
  ) {
    this.maxLimit = config.maxLimit ?? 1000
  }

  /**
   * Creates a group in the caller's project. Errors: `INVALID` (unknown policy; rules for a policy other than
   * anti-affinity, Nova's "Only anti-affinity policy supports rules."; a rule that is not a positive integer),
   * `QUOTA` (`Quota exceeded, too many server groups.`), `FORBIDDEN`.
   */
  async create(ctx: RequestContext, req: ServerGroupCreateRequest): Promise<ServerGroup> {
    const projectId = ctx.projectId
    const userId = ctx.userId
    if (!projectId || !userId) throw new ComputeError('INVALID', 'a project-scoped token is needed to create a server group')
    this.policy.authorize(ctx, 'os_compute_api:os-server-groups:create', { projectId, userId })
    if (typeof req.name !== 'string' || req.name.trim() === '' || req.name.length > 255) {
      throw new ComputeError('INVALID', 'Invalid input for field/attribute name. Value: must be a non-blank string of 1 to 255 characters')
    }
    if (!SERVER_GROUP_POLICIES.includes(req.policy)) throw new ComputeError('INVALID', `Invalid input for field/attribute policy. Value: ${String(req.policy)}. must be one of ${SERVER_GROUP_POLICIES.join(', ')}`)
    const rules = { ...(req.rules ?? {}) }
    if (Object.keys(rules).length && req.policy !== 'anti-affinity') throw new ComputeError('INVALID', 'Only anti-affinity policy supports rules.')
    for (const [key, value] of Object.entries(rules)) {
      if (key !== 'max_server_per_host') throw new ComputeError('INVALID', `Invalid input for field/attribute rules. Additional properties are not allowed ('${key}' was unexpected)`)
      if (!Number.isInteger(value) || value < 1) throw new ComputeError('INVALID', `Invalid input for field/attribute max_server_per_host. Value: ${String(value)}. must be an integer of at least 1`)
    }
    const scope = { projectId, userId }
    await this.checkQuota(scope, 1)
    const uuid = randomUUID()
    const now = isoNow(this.clock)
    await this.db.insertInto('instance_groups').values({ uuid, name: req.name, project_id: projectId, user_id: userId, policy: req.policy, rules: JSON.stringify(rules), created_at: now, updated_at: null }).execute()
    try {
      await this.checkQuota(scope, 0)
    } catch (err) {
      // NOTE: Nova's recheck_quota: a concurrent create took the last slot; undo ours.
      await this.db.deleteFrom('instance_groups').where('uuid', '=', uuid).execute()
      throw err
    }
    this.logger.info({ req_id: ctx.requestId, group: uuid, policy: req.policy }, 'server group created')
    return this.get(ctx, uuid)
  }

  /** The caller's project's groups (every project's for an admin with `allProjects`), oldest first, paged. */
  async list(ctx: RequestContext, options: ServerGroupListOptions = {}): Promise<ServerGroup[]> {
    this.policy.authorize(ctx, 'os_compute_api:os-server-groups:index', { projectId: ctx.projectId })
    const all = options.allProjects === true
    if (all) this.policy.authorize(ctx, 'os_compute_api:os-server-groups:index:all_projects', { projectId: ctx.projectId })
    let q = this.db.selectFrom('instance_groups').selectAll()
    if (!all) q = q.where('project_id', '=', ctx.projectId ?? '')
    const offset = options.offset ?? 0
    const limit = Math.min(options.limit ?? this.maxLimit, this.maxLimit)
    if (!Number.isInteger(offset) || offset < 0) throw new ComputeError('INVALID', 'offset param must be positive')
    if (!Number.isInteger(limit) || limit < 0) throw new ComputeError('INVALID', 'limit param must be an integer')
    const rows = await q.orderBy('id').limit(limit).offset(offset).execute()
    return this.withMembers(rows)
  }

  /** One group with its live members; another project's group is `NOT_FOUND` for non-admins. */
  async get(ctx: RequestContext, uuid: string): Promise<ServerGroup> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:os-server-groups:show', { projectId: row.project_id })
    return (await this.withMembers([row]))[0] as ServerGroup
  }

  /** Deletes a group; its members keep running (they simply belong to no group any more). */
  async delete(ctx: RequestContext, uuid: string): Promise<void> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:os-server-groups:delete', { projectId: row.project_id })
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('instance_group_members').where('group_id', '=', row.id).execute()
      await trx.deleteFrom('instance_groups').where('id', '=', row.id).execute()
    })
    this.logger.info({ req_id: ctx.requestId, group: uuid }, 'server group deleted')
  }

  /**
   * The group as the scheduler sees it (`RequestSpec.instanceGroup`): policy, rules, live members and the hosts they
   * are on. Visibility as {@link ServerGroupService.get}.
   */
  async requestGroup(ctx: RequestContext, uuid: string): Promise<RequestServerGroup> {
    const row = await this.visibleRow(ctx, uuid)
    const members = await this.db
      .selectFrom('instance_group_members as m')
      .innerJoin('instances as i', 'i.uuid', 'm.instance_uuid')
      .select(['i.uuid', 'i.host'])
      .where('m.group_id', '=', row.id)
      .where('i.deleted', '=', 0)
      .orderBy('m.id')
      .execute()
    return {
      uuid: row.uuid,
      policy: row.policy as ServerGroupPolicy,
      rules: JSON.parse(row.rules) as Record<string, number>,
      hosts: [...new Set(members.map((m) => m.host).filter((h): h is string => h !== null))],
      members: members.map((m) => m.uuid),
    }
  }

  /** Uuids of the groups a server is a member of (at most one; the 2.71 `server_groups` of a server). */
  async groupsOfServer(instanceUuid: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('instance_group_members as m')
      .innerJoin('instance_groups as g', 'g.id', 'm.group_id')
      .select('g.uuid')
      .where('m.instance_uuid', '=', instanceUuid)
      .orderBy('g.id')
      .execute()
    return rows.map((r) => r.uuid)
  }

  private async checkQuota(scope: { projectId: string; userId: string }, delta: number): Promise<void> {
    const evaluation = await this.quotas.evaluate({ server_groups: delta }, scope)
    if (evaluation.overs.includes('server_groups')) {
      throw new ComputeError('QUOTA', 'Quota exceeded, too many server groups.', { details: { resource: 'server_groups', allowed: evaluation.quotas.server_groups ?? 0 } })
    }
  }

  private async visibleRow(ctx: RequestContext, uuid: string): Promise<GroupRow> {
    let q = this.db.selectFrom('instance_groups').selectAll().where('uuid', '=', uuid)
    if (!ctx.isAdmin) q = q.where('project_id', '=', ctx.projectId ?? '')
    const row = await q.executeTakeFirst()
    if (!row) throw new ComputeError('NOT_FOUND', `Instance group ${uuid} could not be found.`, { details: { groupUuid: uuid } })
    return row
  }

  private async withMembers(rows: readonly GroupRow[]): Promise<ServerGroup[]> {
    if (rows.length === 0) return []
    const members = await this.db
      .selectFrom('instance_group_members as m')
      .innerJoin('instances as i', 'i.uuid', 'm.instance_uuid')
      .select(['m.group_id', 'm.instance_uuid'])
      .where('m.group_id', 'in', rows.map((r) => r.id))
      .where('i.deleted', '=', 0)
      .orderBy('m.id')
      .execute()
    const byGroup = new Map<number, string[]>()
    for (const m of members) byGroup.set(m.group_id, [...(byGroup.get(m.group_id) ?? []), m.instance_uuid])
    return rows.map((r) => ({
      uuid: r.uuid,
      name: r.name,
      projectId: r.project_id,
      userId: r.user_id,
      policy: r.policy as ServerGroupPolicy,
      rules: JSON.parse(r.rules) as Record<string, number>,
      members: [...new Set(byGroup.get(r.id) ?? [])],
      createdAt: r.created_at,
    }))
  }
}
