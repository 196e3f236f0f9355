import { randomBytes, randomInt, randomUUID } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import type { Selectable } from 'kysely'
import { statsSupport, type PublishedCapability } from '../compute/capability-stats.js'
import type { ComputeRpcClient } from '../compute/compute-rpc.js'
import type { ConductorTaskRpcClient } from '../conductor/conductor-rpc.js'
import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import type { InstanceActionEventsTable, InstanceActionsTable, InstancesTable } from '../db/database.js'
import { InstanceRepository, instanceFromRow } from '../db/repositories/instance-repository.js'
import { ComputeError } from '../errors/compute-error.js'
import type { Flavor } from '../model/flavor.js'
import type { Instance } from '../model/instance.js'
import type { RequestServerGroup, RequestSpec } from '../model/request-spec.js'
import { serverStatus, STATUS_TO_VM_STATES } from '../model/states.js'
import type { PlacementClient } from '../placement/placement-client.js'
import { Policy } from '../policy/policy.js'
import type { QuotaService } from '../quota/quota-service.js'
import type { ImageService } from '../image/image-service.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import type { RebootType } from '../virt/virt-driver.js'
import type { FlavorService } from './flavor-service.js'
import type { KeypairService } from './keypair-service.js'
import { aggregateZonesByHost, DEFAULT_SERVICE_DOWN_TIME_SEC, isServiceUp, zoneOfService } from './service-liveness.js'

/** One entry of a create request's `networks` list (Nova's requested network). */
export interface RequestedNetwork {
  /** Network uuid. */
  readonly uuid?: string
  /** Port uuid. */
  readonly port?: string
  readonly fixedIp?: string
  /** Device tag (2.32). */
  readonly tag?: string
}

/** An injected file (`personality`, ≤ 2.56): checked against the injected_files quotas. */
export interface InjectedFile {
  readonly path: string
  /** Base64 contents. */
  readonly contents: string
}

/** What `POST /servers` asks for, already parsed by the HTTP layer (names are Nova's, camel-cased). */
export interface CreateServerRequest {
  readonly name: string
  /** Image uuid. */
  readonly imageRef: string
  /** Flavor id (`flavorid`). */
  readonly flavorRef: string
  readonly description?: string | null
  /** @default 1 */
  readonly minCount?: number
  /** @default minCount */
  readonly maxCount?: number
  readonly keyName?: string | null
  /** `az`, or the admin-only forced forms `az:host` and `az:host:node`. */
  readonly availabilityZone?: string | null
  readonly metadata?: Readonly<Record<string, string>>
  /** `none`, `auto` or a list. @default 'auto' */
  readonly networks?: 'none' | 'auto' | readonly RequestedNetwork[]
  /** Base64 user data. */
  readonly userData?: string | null
  /** The admin password; generated when omitted. */
  readonly adminPass?: string | null
  readonly accessIpV4?: string | null
  readonly accessIpV6?: string | null
  readonly configDrive?: boolean
  /** `os:scheduler_hints`; `group` names a server group. */
  readonly schedulerHints?: Readonly<Record<string, string | readonly string[]>>
  /** 2.90 hostname. */
  readonly hostname?: string
  /** 2.74 requested host (admin). */
  readonly host?: string
  /** 2.74 requested hypervisor hostname (admin). */
  readonly hypervisorHostname?: string
  /** Personality files (≤ 2.56). */
  readonly personality?: readonly InjectedFile[]
}

/** What {@link ComputeApi.createServers} returns. */
export interface CreateServersResult {
  /** The created instances (building/scheduling), in launch-index order. */
  readonly instances: readonly Server[]
  /** `r-xxxxxxxx`, shared by every instance of the request. */
  readonly reservationId: string
  /** The admin password (given or generated). */
  readonly adminPass: string
}

/** A fault recorded on an instance (`instance_faults`), the latest of which the API shows for ERROR servers. */
export interface InstanceFault {
  readonly code: number
  readonly message: string
  readonly details: string | null
  readonly host: string | null
  readonly createdAt: string
}

/**
 * A server as the API shows it: the {@link Instance} plus the fields only the API reads, and its latest fault
 * (set only for `error`/`deleted` vm_states, as Nova shows it).
 */
export interface Server extends Instance {
  readonly accessIpV4: string | null
  readonly accessIpV6: string | null
  readonly configDrive: string
  readonly progress: number
  readonly lockedReason: string | null
  readonly fault: InstanceFault | null
}

/** Filters and paging of {@link ComputeApi.listServers} (`GET /servers[/detail]`). */
export interface ServerListFilters {
  /** Admin only: every project's servers. */
  readonly allTenants?: boolean
  /** Admin only (with or without `allTenants`): one project's servers. */
  readonly projectId?: string
  readonly userId?: string
  /** A regular expression matched against the display name. */
  readonly name?: string
  /** API status (`ACTIVE`, `SHUTOFF`, `BUILD`, …); an unknown one is `INVALID`. */
  readonly status?: string
  /** Image uuid. */
  readonly image?: string
  /** Flavor id. */
  readonly flavor?: string
  /** Admin only. */
  readonly host?: string
  /** Admin only. */
  readonly node?: string
  readonly availabilityZone?: string
  readonly reservationId?: string
  /** ISO timestamp: servers updated at or after it (includes deleted ones, as Nova does). */
  readonly changesSince?: string
  /** ISO timestamp: servers updated at or before it. */
  readonly changesBefore?: string
  readonly locked?: boolean
  /** Admin only: list deleted servers. */
  readonly deleted?: boolean
  /** `created_at` (default), `updated_at`, `display_name`, `uuid`, `vm_state`, `task_state`, `launched_at`, `host`… */
  readonly sortKey?: string
  /** @default 'desc' */
  readonly sortDir?: 'asc' | 'desc'
  /** Page size; capped at `maxLimit`. */
  readonly limit?: number
  /** Uuid of the last server of the previous page; an unknown marker is `INVALID` ("marker [x] not found"). */
  readonly marker?: string
}

/** The mutable fields of `PUT /servers/{id}`. */
export interface ServerUpdate {
  readonly name?: string
  readonly description?: string | null
  readonly accessIpV4?: string | null
  readonly accessIpV6?: string | null
  /** 2.90 */
  readonly hostname?: string
}

/** An instance action (`os-instance-actions`). */
export interface InstanceAction {
  readonly action: string
  readonly instanceUuid: string
  readonly requestId: string
  readonly userId: string | null
  readonly projectId: string | null
  readonly startTime: string
  readonly finishTime: string | null
  readonly message: string | null
  readonly updatedAt: string | null
}

/** One step of an {@link InstanceAction}. */
export interface InstanceActionEvent {
  readonly event: string
  readonly startTime: string
  readonly finishTime: string | null
  /** `Success`, `Error`, or null while running. */
  readonly result: string | null
  readonly traceback: string | null
  readonly host: string | null
  /** 2.84 details (the scheduler's explanation for `conductor_schedule_and_build_instances`). */
  readonly details: string | null
}

/** An action with its events. */
export interface InstanceActionWithEvents extends InstanceAction {
  readonly events: readonly InstanceActionEvent[]
}

/** Paging of {@link ComputeApi.listInstanceActions} (2.58). */
export interface InstanceActionListOptions {
  readonly limit?: number
  /** A request id. */
  readonly marker?: string
  readonly changesSince?: string
  readonly changesBefore?: string
}

/** Options of {@link ComputeApi}. */
export interface ComputeApiConfig {
  /** Nova `[api] max_limit`. @default 1000 */
  readonly maxLimit?: number
  /** Nova `service_down_time`: a service is down after this long without a heartbeat. @default 60 */
  readonly serviceDownTimeSec?: number
  /** Nova `[api] enable_instance_password`. @default true */
  readonly enableInstancePassword?: boolean
  /** Nova `password_length`. @default 12 */
  readonly passwordLength?: number
  /** Nova `[DEFAULT] default_availability_zone`, the zone of computes in no AZ aggregate. @default 'nova' */
  readonly defaultAvailabilityZone?: string
  /** Nova `[DEFAULT] internal_service_availability_zone`. @default 'internal' */
  readonly internalAvailabilityZone?: string
}


/** Fields that change a server's metadata (`POST`/`PUT /servers/{id}/metadata`). */
export interface MetadataUpdateOptions {
  /** `PUT` semantics: replace every item instead of merging. @default false */
  readonly replace?: boolean
}

type InstanceRow = Selectable<InstancesTable>
type ActionRow = Selectable<InstanceActionsTable>
type EventRow = Selectable<InstanceActionEventsTable>

/** Nova's `ALLOW_REBOOT` task states: a hard reboot may preempt these. */
const ALLOW_REBOOT: readonly (string | null)[] = [
  null, 'rebooting', 'reboot_pending', 'reboot_started', 'rebooting_hard', 'resuming', 'unpausing', 'pausing', 'suspending',
]
const ALLOW_SOFT_REBOOT: readonly string[] = ['active']
const ALLOW_HARD_REBOOT: readonly string[] = ['active', 'stopped', 'paused', 'suspended', 'error']

/** Nova's message for an action the host's virt driver cannot do (`common.raise_feature_not_supported`, 501). */
const NOT_SUPPORTED_MESSAGE = 'The requested functionality is not supported.'

/** What the console output controller strips (Nova: "XML output is not correctly escaped"); keeps `\t` and `\n`. */
const CONSOLE_CONTROL_CHARS = /[\x00-\x08\x0B-\x1F]/g // eslint-disable-line no-control-regex -- Nova's class, on purpose

/** Pause, unpause, suspend and resume: Nova's guards and transitions (`compute/api.py`), as data. */
interface SimpleAction {
  /** The instance action and the word of the 409 message. */
  readonly action: 'pause' | 'unpause' | 'suspend' | 'resume'
  readonly rule: string
  readonly vmStates: readonly string[]
  readonly taskState: string
  readonly capability: PublishedCapability
  readonly cast: (compute: ComputeRpcClient, ctx: RequestContext, instance: Instance) => Promise<void>
}

const PAUSE_ACTION: SimpleAction = {
  action: 'pause', rule: 'os_compute_api:os-pause-server:pause', vmStates: ['active'], taskState: 'pausing', capability: 'supportsPause',
  cast: (compute, ctx, instance) => compute.pauseInstance(ctx, instance),
}
const UNPAUSE_ACTION: SimpleAction = {
  action: 'unpause', rule: 'os_compute_api:os-pause-server:unpause', vmStates: ['paused'], taskState: 'unpausing', capability: 'supportsPause',
  cast: (compute, ctx, instance) => compute.unpauseInstance(ctx, instance),
}
const SUSPEND_ACTION: SimpleAction = {
  action: 'suspend', rule: 'os_compute_api:os-suspend-server:suspend', vmStates: ['active'], taskState: 'suspending', capability: 'supportsSuspend',
  cast: (compute, ctx, instance) => compute.suspendInstance(ctx, instance),
}
const RESUME_ACTION: SimpleAction = {
  action: 'resume', rule: 'os_compute_api:os-suspend-server:resume', vmStates: ['suspended'], taskState: 'resuming', capability: 'supportsSuspend',
  cast: (compute, ctx, instance) => compute.resumeInstance(ctx, instance),
}

/** Nova's sortable server columns (API name → column). */
const SERVER_SORT_COLUMNS: Readonly<Record<string, keyof InstancesTable>> = {
  access_ip_v4: 'access_ip_v4',
  access_ip_v6: 'access_ip_v6',
  availability_zone: 'availability_zone',
  config_drive: 'config_drive',
  created_at: 'created_at',
  display_description: 'description',
  display_name: 'display_name',
  host: 'host',
  hostname: 'hostname',
  image_ref: 'image_ref',
  key_name: 'key_name',
  launch_index: 'launch_index',
  launched_at: 'launched_at',
  locked_by: 'locked_by',
  node: 'node',
  power_state: 'power_state',
  progress: 'progress',
  project_id: 'project_id',
  task_state: 'task_state',
  terminated_at: 'terminated_at',
  updated_at: 'updated_at',
  user_id: 'user_id',
  uuid: 'uuid',
  vm_state: 'vm_state',
}

/** A guard of Nova's `check_instance_state`: `taskState: 'any'` disables the task check (Nova's `task_state=None`). */
interface StateGuard {
  readonly vmStates?: readonly string[]
  readonly taskStates?: readonly (string | null)[] | 'any'
  readonly mustHaveLaunched?: boolean
}

/**
 * The business layer of the Compute API (Nova `nova/compute/api.py` `API`): validates requests, enforces policy,
 * state guards and quotas, records instances, build requests and instance actions, and casts the work to the
 * conductor or compute services. It never speaks HTTP; `@novum/api-http` maps {@link ComputeError} codes to statuses.
 *
 * Guarantees:
 * - a create writes every instance, its `build_requests` row and its `create` action in ONE transaction, then
 *   casts `schedule_and_build_instances`; a validation or quota failure writes nothing;
 * - actions set their transitional task_state with a compare-and-swap; a guard failure and a lost race are both
 *   `CONFLICT` with Nova's wording (`Cannot 'stop' instance <uuid> while it is in vm_state stopped`);
 * - a project sees only its own servers (another project's server is `NOT_FOUND`); admins may list all projects.
 *
 * @example
 * ```ts
 * const { instances, adminPass } = await api.createServers(ctx, { name: 'web', imageRef, flavorRef: '1', networks: 'none' })
 * await api.stopServer(ctx, instances[0]!.uuid)
 * ```
 */
export class ComputeApi {
  private readonly instances: InstanceRepository
  private readonly maxLimit: number
  private readonly downTimeSec: number
  private readonly enablePassword: boolean
  private readonly passwordLength: number
  private readonly defaultAz: string
  private readonly internalAz: string

  constructor(
    private readonly db: NovumDb,
    private readonly conductor: ConductorTaskRpcClient,
    private readonly compute: ComputeRpcClient,
    private readonly flavors: FlavorService,
    private readonly images: ImageService,
    private readonly keypairs: KeypairService,
    private readonly quotas: QuotaService,
    private readonly policy: Policy = new Policy(),
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    config: ComputeApiConfig = {},
    private readonly placement: PlacementClient | null = null,
  ) {
    this.instances = new InstanceRepository(db)
    this.maxLimit = config.maxLimit ?? 1000
    this.downTimeSec = config.serviceDownTimeSec ?? DEFAULT_SERVICE_DOWN_TIME_SEC
    this.enablePassword = config.enableInstancePassword ?? true
    this.passwordLength = config.passwordLength ?? 12
    this.defaultAz = config.defaultAvailabilityZone ?? 'nova'
    this.internalAz = config.internalAvailabilityZone ?? 'internal'
  }

  // --- create ------------------------------------------------------------------------------------

  /**
   * Nova `API.create`: validates flavor, image, keypair, availability zone, metadata, networks and counts;
   * checks the instances/cores/ram quota (reducing `maxCount` to what fits when `minCount` fits); records every
   * instance (`building`/`scheduling`), its build request and its `create` action in one transaction; rechecks
   * the quota; then casts `schedule_and_build_instances` to the conductor.
   *
   * Errors: `INVALID` (bad flavorRef, image, key_name, zone, metadata, networks, counts), `QUOTA`
   * (`Quota exceeded for instances: Requested 1, but already used 10 of 10 instances`, metadata items,
   * personality, server group members), `FORBIDDEN` (policy).
   */
  async createServers(ctx: RequestContext, req: CreateServerRequest): Promise<CreateServersResult> {
    const projectId = ctx.projectId
    const userId = ctx.userId
    if (!projectId || !userId) throw new ComputeError('INVALID', 'a project-scoped token is needed to create servers')
    this.policy.authorize(ctx, 'os_compute_api:servers:create', { projectId, userId })

    validateServerName(req.name)
    if (req.description !== undefined && req.description !== null && req.description.length > 255) {
      throw new ComputeError('INVALID', 'Invalid input for field/attribute description. Value: too long. must be at most 255 characters')
    }
    const minCount = req.minCount ?? 1
    const maxCount = req.maxCount ?? minCount
    for (const [field, v] of [['min_count', minCount], ['max_count', maxCount]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ComputeError('INVALID', `Invalid input for field/attribute ${field}. Value: ${String(v)}. must be an integer of at least 1`)
    }
    if (minCount > maxCount) throw new ComputeError('INVALID', 'min_count must be <= max_count')
    if (req.hostname !== undefined && !/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(req.hostname)) {
      throw new ComputeError('INVALID', `Invalid input for field/attribute hostname. Value: ${req.hostname}. must be 1 to 63 letters, digits or '-', not starting or ending with '-'`)
    }
    if (req.hostname !== undefined && maxCount > 1) {
      throw new ComputeError('INVALID', 'Unable to launch multiple instances with a single configured hostname.')
    }

    validateAccessIps(req.accessIpV4, req.accessIpV6)

    const flavor = await this.flavors.getForBuild(ctx, req.flavorRef)
    const image = await this.imageForBuild(ctx, req.imageRef, flavor)

    let keyData: string | null = null
    if (req.keyName !== undefined && req.keyName !== null) {
      const keypair = await this.keypairs.find(userId, req.keyName)
      if (!keypair) throw new ComputeError('INVALID', 'Invalid key_name provided.')
      keyData = keypair.publicKey
    }

    const { zone, forcedHost, forcedNode } = await this.resolveAvailabilityZone(ctx, req)

    const metadata = { ...(req.metadata ?? {}) }
    validateMetadata(metadata)
    await this.quotas.checkMetadataItems(ctx, Object.keys(metadata).length)
    await this.quotas.checkInjectedFiles(ctx, req.personality ?? [])

    const networks = validateNetworks(req.networks ?? 'auto', maxCount)
    if (Array.isArray(networks) && networks.length) this.policy.authorize(ctx, 'os_compute_api:servers:create:attach_network', { projectId })
    const userData = validateUserData(req.userData ?? null)

    const group = await this.serverGroupFor(ctx, req.schedulerHints)

    const count = await this.quotas.checkInstances(ctx, flavor, minCount, maxCount)
    if (group) await this.checkGroupMembers(ctx, group, count)

    const adminPass = req.adminPass ?? generatePassword(this.passwordLength)
    const reservationId = `r-${randomSuffix(8)}`
    const now = isoNow(this.clock)
    const uuids = Array.from({ length: count }, () => randomUUID())
    const schedulerHints = normaliseHints(req.schedulerHints ?? {})
    const requestSpec: RequestSpec = {
      instanceUuids: uuids,
      projectId,
      userId,
      flavor,
      image: this.images.toImageMeta(image),
      availabilityZone: zone,
      schedulerHints,
      instanceGroup: group ? { ...group, members: [...group.members, ...uuids] } : null,
      ignoreHosts: [],
      requestedHost: forcedHost,
      requestedNode: forcedNode,
      isRebuild: false,
    }

    const created: Instance[] = []
    await this.db.transaction().execute(async (trx) => {
      for (const [index, uuid] of uuids.entries()) {
        const displayName = req.name
        const hostname = req.hostname ?? sanitizeHostname(count > 1 ? `${displayName}-${index + 1}` : displayName, `Server-${uuid}`)
        created.push(
          await this.instances.create(
            {
              uuid,
              displayName,
              description: req.description ?? null,
              hostname,
              projectId,
              userId,
              imageRef: image.id,
              flavor,
              availabilityZone: zone,
              keyName: req.keyName ?? null,
              keyData,
              userData,
              metadata,
              networks,
              accessIpV4: req.accessIpV4 ?? null,
              accessIpV6: req.accessIpV6 ?? null,
              configDrive: req.configDrive ? 'True' : '',
              reservationId,
              launchIndex: index,
              createdAt: now,
            },
            trx,
          ),
        )
        await trx
          .insertInto('build_requests')
          .values({ instance_uuid: uuid, project_id: projectId, request_spec: JSON.stringify({ requestSpec, launchIndex: index }), created_at: now })
          .execute()
        await trx
          .insertInto('instance_actions')
          .values({
            action: 'create', instance_uuid: uuid, request_id: ctx.requestId, user_id: userId, project_id: projectId,
            start_time: now, finish_time: null, message: null, created_at: now, updated_at: null,
          })
          .execute()
        if (group) await trx.insertInto('instance_group_members').values({ group_id: group.id, instance_uuid: uuid, created_at: now }).execute()
      }
    })

    try {
      await this.quotas.recheckInstances(ctx, count, flavor)
    } catch (err) {
      // NOTE: Nova's recheck_quota: a concurrent create pushed usage over the limit; undo ours and fail.
      await this.undoCreate(uuids, now)
      throw err
    }

    this.logger.info({ req_id: ctx.requestId, reservationId, uuids, flavor: flavor.id, image: image.id }, 'servers recorded; casting schedule_and_build_instances')
    await this.conductor.scheduleAndBuildInstances(ctx, { requestSpec, adminPassword: this.enablePassword ? adminPass : null })
    const servers = await this.loadServers(uuids)
    return { instances: servers, reservationId, adminPass }
  }

  // --- read --------------------------------------------------------------------------------------

  /**
   * `GET /servers[/detail]`: the caller's project's servers (every project's for an admin with `allTenants`),
   * filtered, sorted (default `created_at desc`) and paged. Errored servers carry their latest fault.
   */
  async listServers(ctx: RequestContext, filters: ServerListFilters = {}): Promise<Server[]> {
    this.policy.authorize(ctx, 'os_compute_api:servers:index')
    const sortKey = filters.sortKey ?? 'created_at'
    const sortColumn = SERVER_SORT_COLUMNS[sortKey]
    if (!sortColumn) throw new ComputeError('INVALID', `Invalid sort_key: ${sortKey}`)
    const sortDir = filters.sortDir ?? 'desc'
    if (filters.limit !== undefined && !(Number.isInteger(filters.limit) && filters.limit >= 0)) {
      throw new ComputeError('INVALID', 'limit param must be an integer')
    }
    let statusVmStates: readonly string[] | null = null
    if (filters.status !== undefined) {
      statusVmStates = STATUS_TO_VM_STATES[filters.status.toUpperCase()] ?? null
      if (!statusVmStates) throw new ComputeError('INVALID', `Invalid status value`)
    }
    let nameRe: RegExp | null = null
    if (filters.name !== undefined) {
      try {
        nameRe = new RegExp(filters.name)
      } catch {
        throw new ComputeError('INVALID', `Invalid name filter: ${filters.name}`)
      }
    }

    let q = this.db.selectFrom('instances').selectAll()
    if (filters.allTenants) {
      this.policy.authorize(ctx, 'os_compute_api:servers:index:get_all_tenants')
      if (filters.projectId !== undefined) q = q.where('project_id', '=', filters.projectId)
    } else if (ctx.projectId) {
      q = q.where('project_id', '=', ctx.projectId)
    } else {
      q = q.where('user_id', '=', ctx.userId ?? '')
    }
    if (filters.userId !== undefined) q = q.where('user_id', '=', filters.userId)
    const includeDeleted = ctx.isAdmin && filters.deleted === true
    if (includeDeleted) q = q.where('deleted', '!=', 0)
    else if (filters.changesSince === undefined && filters.changesBefore === undefined) q = q.where('deleted', '=', 0)
    if (statusVmStates) q = q.where('vm_state', 'in', [...statusVmStates])
    if (filters.image !== undefined) q = q.where('image_ref', '=', filters.image)
    if (filters.reservationId !== undefined) q = q.where('reservation_id', '=', filters.reservationId)
    if (filters.availabilityZone !== undefined) q = q.where('availability_zone', '=', filters.availabilityZone)
    if (filters.locked !== undefined) q = q.where('locked', '=', filters.locked ? 1 : 0)
    if (ctx.isAdmin && filters.host !== undefined) q = q.where('host', '=', filters.host)
    if (ctx.isAdmin && filters.node !== undefined) q = q.where('node', '=', filters.node)
    if (filters.changesSince !== undefined) {
      const since = normaliseTimestamp(filters.changesSince, 'changes-since')
      q = q.where((eb) => eb.or([eb('updated_at', '>=', since), eb.and([eb('updated_at', 'is', null), eb('created_at', '>=', since)])]))
    }
    if (filters.changesBefore !== undefined) {
      const before = normaliseTimestamp(filters.changesBefore, 'changes-before')
      q = q.where((eb) => eb.or([eb('updated_at', '<=', before), eb.and([eb('updated_at', 'is', null), eb('created_at', '<=', before)])]))
    }
    q = q.orderBy(sortColumn, sortDir).orderBy('id', sortDir)
    let rows = await q.execute()
    rows = rows.filter((r) => {
      if (filters.status !== undefined && serverStatus(r.vm_state, r.task_state) !== filters.status.toUpperCase()) return false
      if (nameRe && !nameRe.test(r.display_name)) return false
      if (filters.flavor !== undefined && (JSON.parse(r.flavor) as Flavor).id !== filters.flavor) return false
      return true
    })
    if (filters.marker !== undefined) {
      const at = rows.findIndex((r) => r.uuid === filters.marker)
      if (at < 0) throw new ComputeError('INVALID', `marker [${filters.marker}] not found`)
      rows = rows.slice(at + 1)
    }
    rows = rows.slice(0, Math.min(filters.limit ?? this.maxLimit, this.maxLimit))
    const faults = await this.latestFaults(rows.filter((r) => r.vm_state === 'error' || r.vm_state === 'deleted').map((r) => r.uuid))
    return rows.map((r) => serverFromRow(r, faults.get(r.uuid) ?? null))
  }

  /** `GET /servers/{id}`, with its latest fault when it is in error; another project's server is `NOT_FOUND`. */
  async getServer(ctx: RequestContext, uuid: string): Promise<Server> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:servers:show', { projectId: row.project_id })
    return this.toServer(row)
  }

  // --- update ------------------------------------------------------------------------------------

  /** `PUT /servers/{id}`: name, description, access IPs, hostname. */
  async updateServer(ctx: RequestContext, uuid: string, update: ServerUpdate): Promise<Server> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:servers:update', { projectId: row.project_id })
    if (update.name !== undefined) validateServerName(update.name)
    if (update.description !== undefined && update.description !== null && update.description.length > 255) {
      throw new ComputeError('INVALID', 'Invalid input for field/attribute description. Value: too long. must be at most 255 characters')
    }
    validateAccessIps(update.accessIpV4, update.accessIpV6)
    const set: Partial<Record<keyof InstancesTable, unknown>> = {}
    if (update.name !== undefined) set.display_name = update.name
    if (update.description !== undefined) set.description = update.description
    if (update.accessIpV4 !== undefined) set.access_ip_v4 = update.accessIpV4
    if (update.accessIpV6 !== undefined) set.access_ip_v6 = update.accessIpV6
    if (update.hostname !== undefined) {
      if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(update.hostname)) {
        throw new ComputeError('INVALID', `Invalid input for field/attribute hostname. Value: ${update.hostname}. must be 1 to 63 letters, digits or '-', not starting or ending with '-'`)
      }
      set.hostname = update.hostname
    }
    await this.db
      .updateTable('instances')
      .set({ ...(set as Record<string, never>), updated_at: isoNow(this.clock) })
      .where('uuid', '=', uuid)
      .where('deleted', '=', 0)
      .execute()
    return this.getServer(ctx, uuid)
  }

  /** The server's metadata (`GET /servers/{id}/metadata`). */
  async getServerMetadata(ctx: RequestContext, uuid: string): Promise<Record<string, string>> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:server-metadata:index', { projectId: row.project_id })
    return JSON.parse(row.metadata) as Record<string, string>
  }

  /**
   * Merges (`POST`) or replaces (`PUT`, `replace: true`) the server's metadata, with Nova's guards
   * (active/paused/suspended/stopped, lock) and the `metadata_items` quota. Returns the new metadata.
   */
  async updateServerMetadata(ctx: RequestContext, uuid: string, items: Readonly<Record<string, string>>, options: MetadataUpdateOptions = {}): Promise<Record<string, string>> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, options.replace ? 'os_compute_api:server-metadata:update_all' : 'os_compute_api:server-metadata:create', { projectId: row.project_id })
    const instance = instanceFromRow(row)
    this.checkLock(ctx, instance)
    this.checkState(instance, 'update metadata', { vmStates: ['active', 'paused', 'suspended', 'stopped'], taskStates: 'any' })
    validateMetadata(items)
    const next = options.replace ? { ...items } : { ...instance.metadata, ...items }
    await this.quotas.checkMetadataItems(ctx, Object.keys(next).length, { projectId: row.project_id, userId: row.user_id })
    await this.instances.update(uuid, { metadata: next }, { updatedAt: isoNow(this.clock) })
    return next
  }

  /** Removes one metadata item (`DELETE /servers/{id}/metadata/{key}`); a missing key is `NOT_FOUND`. */
  async deleteServerMetadataItem(ctx: RequestContext, uuid: string, key: string): Promise<void> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:server-metadata:delete', { projectId: row.project_id })
    const instance = instanceFromRow(row)
    this.checkLock(ctx, instance)
    this.checkState(instance, 'delete metadata', { vmStates: ['active', 'paused', 'suspended', 'stopped'], taskStates: 'any' })
    if (!(key in instance.metadata)) throw new ComputeError('NOT_FOUND', 'Metadata item was not found')
    const next = { ...instance.metadata }
    delete next[key]
    await this.instances.update(uuid, { metadata: next }, { updatedAt: isoNow(this.clock) })
  }

  // --- delete and power actions --------------------------------------------------------------------

  /**
   * `DELETE /servers/{id}`. A server with no host yet (never scheduled) is deleted here: its build request goes,
   * the instance is marked deleted and its allocations (if the scheduler already claimed) are removed. A server
   * whose compute service is down is deleted locally the same way. Otherwise task_state becomes `deleting` and
   * compute is told to `terminate_instance`. Locked servers are `CONFLICT` for non-admins.
   */
  async deleteServer(ctx: RequestContext, uuid: string): Promise<void> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:servers:delete', { projectId: row.project_id })
    const instance = instanceFromRow(row)
    this.checkLock(ctx, instance)
    const now = isoNow(this.clock)
    const local = instance.host === null || !(await this.isComputeUp(instance.host))
    if (local) {
      await this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('build_requests').where('instance_uuid', '=', uuid).execute()
        await trx
          .updateTable('instances')
          .set({ vm_state: 'deleted', task_state: null, power_state: 0, deleted: row.id, deleted_at: now, terminated_at: now, updated_at: now })
          .where('id', '=', row.id)
          .where('deleted', '=', 0)
          .execute()
        await trx.deleteFrom('instance_group_members').where('instance_uuid', '=', uuid).execute()
        await this.recordAction(ctx, instance, 'delete', now, trx, now)
      })
      if (this.placement) await this.placement.deleteAllocations(uuid)
      this.logger.info({ req_id: ctx.requestId, uuid, host: instance.host }, instance.host ? 'compute down: deleted locally' : 'deleted before scheduling')
      return
    }
    const updated = await this.instances.update(uuid, { taskState: 'deleting' }, { updatedAt: now })
    await this.recordAction(ctx, updated, 'delete', now)
    await this.compute.terminateInstance(ctx, updated)
  }

  /** `os-stop`: active or error, idle, launched, not locked; task `powering-off`, then compute `stop_instance`. */
  async stopServer(ctx: RequestContext, uuid: string): Promise<void> {
    const instance = await this.actionTarget(ctx, uuid, 'os_compute_api:servers:stop')
    this.checkLock(ctx, instance)
    this.checkHost(instance)
    this.checkState(instance, 'stop', { vmStates: ['active', 'error'] })
    const updated = await this.casTaskState(instance, 'stop', 'powering-off', [null])
    await this.recordAction(ctx, updated, 'stop', isoNow(this.clock))
    await this.compute.stopInstance(ctx, updated)
  }

  /** `os-start`: stopped, idle, launched, not locked; task `powering-on`, then compute `start_instance`. */
  async startServer(ctx: RequestContext, uuid: string): Promise<void> {
    const instance = await this.actionTarget(ctx, uuid, 'os_compute_api:servers:start')
    this.checkLock(ctx, instance)
    this.checkHost(instance)
    this.checkState(instance, 'start', { vmStates: ['stopped'] })
    const updated = await this.casTaskState(instance, 'start', 'powering-on', [null])
    await this.recordAction(ctx, updated, 'start', isoNow(this.clock))
    await this.compute.startInstance(ctx, updated)
  }

  /**
   * `reboot`: SOFT needs `active` and an idle task; HARD allows active/stopped/paused/suspended/error and may
   * preempt a reboot in flight (Nova `ALLOW_REBOOT`). Task `rebooting` / `rebooting_hard`, then compute
   * `reboot_instance`.
   */
  async rebootServer(ctx: RequestContext, uuid: string, rebootType: RebootType): Promise<void> {
    if (rebootType !== 'SOFT' && rebootType !== 'HARD') throw new ComputeError('INVALID', `Argument 'type' for reboot must be a string with value 'SOFT' or 'HARD'`)
    const instance = await this.actionTarget(ctx, uuid, 'os_compute_api:servers:reboot')
    this.checkLock(ctx, instance)
    this.checkState(instance, 'reboot', { vmStates: [...new Set([...ALLOW_SOFT_REBOOT, ...ALLOW_HARD_REBOOT])], taskStates: ALLOW_REBOOT })
    let updated: Instance
    if (rebootType === 'SOFT') {
      this.checkState(instance, 'reboot', { vmStates: ALLOW_SOFT_REBOOT, taskStates: [null] })
      this.checkHost(instance)
      updated = await this.casTaskState(instance, 'reboot', 'rebooting', [null])
    } else {
      this.checkState(instance, 'reboot', { vmStates: ALLOW_HARD_REBOOT, taskStates: ALLOW_REBOOT })
      this.checkHost(instance)
      updated = await this.casTaskState(instance, 'reboot', 'rebooting_hard', ALLOW_REBOOT)
    }
    await this.recordAction(ctx, updated, 'reboot', isoNow(this.clock))
    await this.compute.rebootInstance(ctx, updated, rebootType)
  }

  /**
   * `pause`: active, idle, launched, not locked; task `pausing`, a `pause` action, then compute `pause_instance`
   * (the instance ends `paused`/PAUSED). `NOT_IMPLEMENTED` (501) when the host's virt driver cannot pause.
   */
  async pauseServer(ctx: RequestContext, uuid: string): Promise<void> {
    await this.simpleAction(ctx, uuid, PAUSE_ACTION)
  }

  /** `unpause`: paused, idle, launched, not locked; task `unpausing`, then compute `unpause_instance` (→ `active`). */
  async unpauseServer(ctx: RequestContext, uuid: string): Promise<void> {
    await this.simpleAction(ctx, uuid, UNPAUSE_ACTION)
  }

  /**
   * `suspend`: active, idle, launched, not locked; task `suspending`, then compute `suspend_instance` (the instance
   * ends `suspended`). `NOT_IMPLEMENTED` (501) when the host's virt driver cannot suspend.
   */
  async suspendServer(ctx: RequestContext, uuid: string): Promise<void> {
    await this.simpleAction(ctx, uuid, SUSPEND_ACTION)
  }

  /** `resume`: suspended, idle, launched, not locked; task `resuming`, then compute `resume_instance` (→ `active`). */
  async resumeServer(ctx: RequestContext, uuid: string): Promise<void> {
    await this.simpleAction(ctx, uuid, RESUME_ACTION)
  }

  /**
   * `os-getConsoleOutput` (Nova `API.get_console_output` and its controller): the guest's console log through an
   * RPC call to its host, in any vm_state or task_state, without an instance action. `length` is Nova's: an
   * integer or a string of digits, at least -1; its last `length` newline-separated pieces are returned (0 →
   * `''`; -1 or absent → everything). Control characters other than tab and newline are stripped, as Nova's
   * controller does.
   *
   * Errors: `INVALID` (bad `length`), `CONFLICT` `Instance <uuid> is not ready` (no host), `NOT_FOUND` (the server,
   * or its guest on the host), `NOT_IMPLEMENTED` (the host's driver has no console output), `TIMEOUT` (the compute
   * service does not answer).
   */
  async getConsoleOutput(ctx: RequestContext, uuid: string, length?: number | string | null): Promise<string> {
    const tailLength = parseConsoleLength(length)
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:os-console-output', { projectId: row.project_id })
    const instance = instanceFromRow(row)
    this.checkHost(instance)
    let output: string
    try {
      output = await this.compute.getConsoleOutput(ctx, instance, tailLength)
    } catch (err) {
      // NOTE: as Nova's controller: the guest gone from the host (a race with a delete) is a 404, a driver without
      // console output a 501.
      if (ComputeError.is(err, 'NOT_FOUND')) {
        throw new ComputeError('NOT_FOUND', `Instance ${uuid} could not be found.`, { cause: err, details: { instanceUuid: uuid } })
      }
      if (ComputeError.is(err, 'NOT_IMPLEMENTED')) {
        throw new ComputeError('NOT_IMPLEMENTED', NOT_SUPPORTED_MESSAGE, { cause: err, details: { ...err.details, instanceUuid: uuid } })
      }
      throw err
    }
    return output.replace(CONSOLE_CONTROL_CHARS, '')
  }

  /** `lock`: any state; records who locked it (`owner` or `admin`) and an optional reason (2.73). */
  async lockServer(ctx: RequestContext, uuid: string, reason?: string | null): Promise<void> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:os-lock-server:lock', { projectId: row.project_id })
    const instance = instanceFromRow(row)
    const now = isoNow(this.clock)
    const lockedBy = ctx.projectId === instance.projectId ? 'owner' : 'admin'
    await this.db.updateTable('instances').set({ locked: 1, locked_by: lockedBy, locked_reason: reason ?? null, updated_at: now }).where('id', '=', row.id).execute()
    await this.recordAction(ctx, instance, 'lock', now, this.db, now)
  }

  /** `unlock`: an owner may not undo an admin's lock without `unlock:unlock_override`. */
  async unlockServer(ctx: RequestContext, uuid: string): Promise<void> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, 'os_compute_api:os-lock-server:unlock', { projectId: row.project_id })
    const instance = instanceFromRow(row)
    if (instance.locked && instance.lockedBy === 'admin' && ctx.projectId === instance.projectId) {
      this.policy.authorize(ctx, 'os_compute_api:os-lock-server:unlock:unlock_override', { projectId: row.project_id })
    }
    const now = isoNow(this.clock)
    await this.db.updateTable('instances').set({ locked: 0, locked_by: null, locked_reason: null, updated_at: now }).where('id', '=', row.id).execute()
    await this.recordAction(ctx, instance, 'unlock', now, this.db, now)
  }

  /** `os-resetState` (admin): vm_state `active` or `error`, task_state cleared. */
  async resetServerState(ctx: RequestContext, uuid: string, state: 'active' | 'error'): Promise<void> {
    this.policy.authorize(ctx, 'os_compute_api:os-admin-actions:reset_state')
    if (state !== 'active' && state !== 'error') throw new ComputeError('INVALID', `Invalid state ${String(state)}: must be 'active' or 'error'`)
    const row = await this.visibleRow(ctx, uuid)
    const now = isoNow(this.clock)
    await this.instances.update(uuid, { vmState: state, taskState: null }, { updatedAt: now })
    await this.recordAction(ctx, instanceFromRow(row), 'resetState', now, this.db, now)
  }

  // --- instance actions ----------------------------------------------------------------------------

  /** `GET /servers/{id}/os-instance-actions`, newest first; works for deleted servers (2.21). */
  async listInstanceActions(ctx: RequestContext, uuid: string, options: InstanceActionListOptions = {}): Promise<InstanceAction[]> {
    const row = await this.visibleRow(ctx, uuid, { readDeleted: true })
    this.policy.authorize(ctx, 'os_compute_api:os-instance-actions:list', { projectId: row.project_id })
    let q = this.db.selectFrom('instance_actions').selectAll().where('instance_uuid', '=', uuid)
    if (options.changesSince !== undefined) {
      const since = normaliseTimestamp(options.changesSince, 'changes-since')
      q = q.where((eb) => eb.or([eb('updated_at', '>=', since), eb.and([eb('updated_at', 'is', null), eb('created_at', '>=', since)])]))
    }
    if (options.changesBefore !== undefined) {
      const before = normaliseTimestamp(options.changesBefore, 'changes-before')
      q = q.where((eb) => eb.or([eb('updated_at', '<=', before), eb.and([eb('updated_at', 'is', null), eb('created_at', '<=', before)])]))
    }
    let rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute()
    if (options.marker !== undefined) {
      const at = rows.findIndex((r) => r.request_id === options.marker)
      if (at < 0) throw new ComputeError('INVALID', `Marker ${options.marker} could not be found.`)
      rows = rows.slice(at + 1)
    }
    if (options.limit !== undefined) rows = rows.slice(0, Math.min(options.limit, this.maxLimit))
    return rows.map(actionFromRow)
  }

  /**
   * `GET /servers/{id}/os-instance-actions/{request_id}` with its events. Non-admins get events without
   * traceback and details (Nova's `events` and `events:details` policies).
   */
  async getInstanceAction(ctx: RequestContext, uuid: string, requestId: string): Promise<InstanceActionWithEvents> {
    const row = await this.visibleRow(ctx, uuid, { readDeleted: true })
    this.policy.authorize(ctx, 'os_compute_api:os-instance-actions:show', { projectId: row.project_id })
    const action = await this.db
      .selectFrom('instance_actions')
      .selectAll()
      .where('instance_uuid', '=', uuid)
      .where('request_id', '=', requestId)
      .orderBy('id', 'desc')
      .executeTakeFirst()
    if (!action) throw new ComputeError('NOT_FOUND', `Action for request_id ${requestId} on instance ${uuid} not found`)
    const events = await this.db.selectFrom('instance_actions_events').selectAll().where('action_id', '=', action.id).orderBy('start_time', 'desc').orderBy('id', 'desc').execute()
    const showTraceback = this.policy.check(ctx, 'os_compute_api:os-instance-actions:events', { projectId: row.project_id })
    const showDetails = this.policy.check(ctx, 'os_compute_api:os-instance-actions:events:details', { projectId: row.project_id })
    return { ...actionFromRow(action), events: events.map((e) => eventFromRow(e, showTraceback, showDetails)) }
  }

  // --- internals ------------------------------------------------------------------------------------

  private async imageForBuild(ctx: RequestContext, imageRef: string, flavor: Flavor) {
    if (!imageRef) throw new ComputeError('INVALID', 'Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.')
    let image
    try {
      image = await this.images.get(ctx, imageRef)
    } catch (err) {
      if (ComputeError.is(err, 'NOT_FOUND')) throw new ComputeError('INVALID', err.message, { cause: err, details: { imageId: imageRef } })
      throw err
    }
    if (image.status !== 'active') throw new ComputeError('INVALID', `Image ${image.id} is not active.`)
    if (image.minRamMb > flavor.memoryMb) throw new ComputeError('INVALID', "Flavor's memory is too small for requested image.")
    const GiB = 1024 ** 3
    if (flavor.rootGb === 0) {
      if (!this.policy.check(ctx, 'os_compute_api:servers:create:zero_disk_flavor', { projectId: ctx.projectId })) {
        throw new ComputeError('FORBIDDEN', 'Only volume-backed servers are allowed for flavors with zero disk.')
      }
    } else {
      if (image.minDiskGb > flavor.rootGb) {
        throw new ComputeError(
          'INVALID',
          `Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is ${flavor.rootGb * GiB} bytes, minimum size is ${image.minDiskGb * GiB} bytes.`,
        )
      }
      if (image.size !== null && image.size > flavor.rootGb * GiB) {
        throw new ComputeError('INVALID', `Flavor's disk is too small for requested image. Flavor disk is ${flavor.rootGb * GiB} bytes, image is ${image.size} bytes.`)
      }
    }
    return image
  }

  private async resolveAvailabilityZone(ctx: RequestContext, req: CreateServerRequest): Promise<{ zone: string | null; forcedHost: string | null; forcedNode: string | null }> {
    let zone: string | null = null
    let forcedHost: string | null = null
    let forcedNode: string | null = null
    if (req.availabilityZone) {
      const parts = req.availabilityZone.split(':')
      zone = parts[0] || null
      if (parts.length > 1) {
        this.policy.authorize(ctx, 'os_compute_api:servers:create:forced_host', { projectId: ctx.projectId })
        forcedHost = parts[1] || null
        forcedNode = parts.slice(2).join(':') || null
      }
    }
    if (req.host !== undefined || req.hypervisorHostname !== undefined) {
      this.policy.authorize(ctx, 'os_compute_api:servers:create:requested_destination', { projectId: ctx.projectId })
      let q = this.db.selectFrom('compute_nodes').select(['host', 'hypervisor_hostname']).where('deleted_at', 'is', null)
      if (req.host !== undefined) q = q.where('host', '=', req.host)
      if (req.hypervisorHostname !== undefined) q = q.where('hypervisor_hostname', '=', req.hypervisorHostname)
      const node = await q.executeTakeFirst()
      if (!node) throw new ComputeError('INVALID', `Compute host ${req.host ?? req.hypervisorHostname ?? ''} could not be found.`)
      forcedHost = forcedHost ?? req.host ?? null
      forcedNode = forcedNode ?? req.hypervisorHostname ?? null
    }
    if (zone !== null && forcedHost === null) {
      const available = await this.availableZones()
      if (!available.has(zone)) throw new ComputeError('INVALID', 'The requested availability zone is not available')
    }
    return { zone, forcedHost, forcedNode }
  }

  /** Zones of enabled services (Nova `get_availability_zones(get_only_available=True)`). */
  private async availableZones(): Promise<Set<string>> {
    const services = await this.db.selectFrom('services').select(['binary', 'host']).where('disabled', '=', 0).where('deleted_at', 'is', null).execute()
    const aggregateZones = await aggregateZonesByHost(this.db)
    const out = new Set<string>()
    for (const s of services) {
      for (const z of zoneOfService(s.binary, s.host, aggregateZones, { defaultAvailabilityZone: this.defaultAz, internalAvailabilityZone: this.internalAz }).split(',')) out.add(z)
    }
    return out
  }

  private async serverGroupFor(
    ctx: RequestContext,
    hints: CreateServerRequest['schedulerHints'],
  ): Promise<(RequestServerGroup & { readonly id: number }) | null> {
    const raw = hints?.group
    if (raw === undefined) return null
    const uuid = Array.isArray(raw) ? raw[0] : raw
    if (typeof uuid !== 'string') throw new ComputeError('INVALID', 'Invalid scheduler hint group')
    let q = this.db.selectFrom('instance_groups').selectAll().where('uuid', '=', uuid)
    if (!ctx.isAdmin) q = q.where('project_id', '=', ctx.projectId ?? '')
    const group = await q.executeTakeFirst()
    if (!group) throw new ComputeError('INVALID', `Instance group ${uuid} could not be found.`)
    const members = await this.db
      .selectFrom('instance_group_members')
      .innerJoin('instances', 'instances.uuid', 'instance_group_members.instance_uuid')
      .select(['instances.uuid as uuid', 'instances.host as host'])
      .where('instance_group_members.group_id', '=', group.id)
      .where('instances.deleted', '=', 0)
      .execute()
    return {
      id: group.id,
      uuid: group.uuid,
      policy: group.policy as RequestServerGroup['policy'],
      rules: JSON.parse(group.rules) as Record<string, number>,
      hosts: [...new Set(members.map((m) => m.host).filter((h): h is string => h !== null))],
      members: members.map((m) => m.uuid),
    }
  }

  private async checkGroupMembers(ctx: RequestContext, group: RequestServerGroup, count: number): Promise<void> {
    const limits = await this.quotas.effectiveLimits({ projectId: ctx.projectId ?? '', userId: ctx.userId })
    const limit = limits.server_group_members
    if (limit >= 0 && group.members.length + count > limit) {
      throw new ComputeError('QUOTA', 'Quota exceeded, too many servers in group', { details: { resource: 'server_group_members', allowed: limit } })
    }
  }

  private async undoCreate(uuids: readonly string[], now: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('build_requests').where('instance_uuid', 'in', [...uuids]).execute()
      await trx.deleteFrom('instance_group_members').where('instance_uuid', 'in', [...uuids]).execute()
      const rows = await trx.selectFrom('instances').select(['id']).where('uuid', 'in', [...uuids]).where('deleted', '=', 0).execute()
      for (const r of rows) {
        await trx
          .updateTable('instances')
          .set({ vm_state: 'deleted', task_state: null, deleted: r.id, deleted_at: now, terminated_at: now, updated_at: now })
          .where('id', '=', r.id)
          .execute()
      }
    })
  }

  private async visibleRow(ctx: RequestContext, uuid: string, options: { readDeleted?: boolean } = {}): Promise<InstanceRow> {
    let q = this.db.selectFrom('instances').selectAll().where('uuid', '=', uuid)
    if (!options.readDeleted) q = q.where('deleted', '=', 0)
    if (!ctx.isAdmin) q = q.where('project_id', '=', ctx.projectId ?? '')
    const row = await q.orderBy('id', 'desc').executeTakeFirst()
    if (!row) throw new ComputeError('NOT_FOUND', `Instance ${uuid} could not be found.`, { details: { instanceUuid: uuid } })
    return row
  }

  private async actionTarget(ctx: RequestContext, uuid: string, rule: string): Promise<Instance> {
    const row = await this.visibleRow(ctx, uuid)
    this.policy.authorize(ctx, rule, { projectId: row.project_id })
    return instanceFromRow(row)
  }

  /**
   * Nova's shape of pause/unpause/suspend/resume: lock check, state guard (idle, launched), then the host must
   * be able to do it, then the CAS on task_state, the instance action and the cast.
   */
  private async simpleAction(ctx: RequestContext, uuid: string, spec: SimpleAction): Promise<void> {
    const instance = await this.actionTarget(ctx, uuid, spec.rule)
    this.checkLock(ctx, instance)
    this.checkState(instance, spec.action, { vmStates: spec.vmStates })
    // NOTE: Nova has no host check here (a launched server has one); without it the cast could not be addressed.
    this.checkHost(instance)
    await this.checkHostCapability(instance, spec.capability)
    const updated = await this.casTaskState(instance, spec.action, spec.taskState, [null])
    await this.recordAction(ctx, updated, spec.action, isoNow(this.clock))
    await spec.cast(this.compute, ctx, updated)
  }

  /**
   * Refuses, with Nova's 501 (`NOT_IMPLEMENTED`), an action the instance's host has said its virt driver cannot
   * do: compute services publish the capabilities without a Placement trait in their compute node stats
   * (`CAPABILITY_STATS`). A host that has not said lets the action through; its compute manager then fails it the
   * Nova way (fault, task cleared).
   */
  private async checkHostCapability(instance: Instance, capability: PublishedCapability): Promise<void> {
    if (!instance.host) return
    let q = this.db.selectFrom('compute_nodes').select(['stats']).where('host', '=', instance.host).where('deleted_at', 'is', null)
    if (instance.node) q = q.where('hypervisor_hostname', '=', instance.node)
    const node = await q.executeTakeFirst()
    if (!node) return
    let stats: Record<string, unknown>
    try {
      stats = JSON.parse(node.stats) as Record<string, unknown>
    } catch {
      return
    }
    if (statsSupport(stats, capability) === false) {
      throw new ComputeError('NOT_IMPLEMENTED', NOT_SUPPORTED_MESSAGE, {
        details: { code: 'NotImplementedError', instanceUuid: instance.uuid, host: instance.host, capability },
      })
    }
  }

  /** Nova `check_instance_lock`: a locked instance is `CONFLICT` for non-admins. */
  private checkLock(ctx: RequestContext, instance: Instance): void {
    if (instance.locked && !ctx.isAdmin) {
      throw new ComputeError('CONFLICT', `Instance ${instance.uuid} is locked`, { details: { code: 'InstanceIsLocked', instanceUuid: instance.uuid } })
    }
  }

  /** Nova `check_instance_host`: the instance must have a host. */
  private checkHost(instance: Instance): void {
    if (!instance.host) {
      throw new ComputeError('CONFLICT', `Instance ${instance.uuid} is not ready`, { details: { code: 'InstanceNotReady', instanceUuid: instance.uuid } })
    }
  }

  /**
   * Nova `check_instance_state`: vm_state in the list, task_state in the list (default: idle; `'any'` skips),
   * and `launched_at` set unless `mustHaveLaunched` is false.
   */
  private checkState(instance: Instance, action: string, guard: StateGuard): void {
    const invalid = (attr: string, state: string) =>
      new ComputeError('CONFLICT', `Cannot '${action}' instance ${instance.uuid} while it is in ${attr} ${state}`, {
        details: { code: 'InstanceInvalidState', instanceUuid: instance.uuid, attr, state, action },
      })
    if (guard.vmStates && !guard.vmStates.includes(instance.vmState)) throw invalid('vm_state', instance.vmState)
    const taskStates = guard.taskStates ?? [null]
    if (taskStates !== 'any' && !taskStates.includes(instance.taskState)) throw invalid('task_state', instance.taskState ?? 'None')
    if ((guard.mustHaveLaunched ?? true) && !instance.launchedAt) throw invalid('launched_at', 'None')
  }

  /** The compare-and-swap on task_state; a lost race is the same `CONFLICT` a guard would give. */
  private async casTaskState(instance: Instance, action: string, taskState: string, expected: readonly (string | null)[]): Promise<Instance> {
    try {
      return await this.instances.update(instance.uuid, { taskState }, { expectedTaskState: expected, updatedAt: isoNow(this.clock) })
    } catch (err) {
      if (ComputeError.is(err, 'CONFLICT')) {
        const actual = (err.details?.actual as string | null | undefined) ?? null
        throw new ComputeError('CONFLICT', `Cannot '${action}' instance ${instance.uuid} while it is in task_state ${actual ?? 'None'}`, {
          cause: err,
          details: { code: 'UnexpectedTaskState', instanceUuid: instance.uuid, attr: 'task_state', state: actual, action },
        })
      }
      throw err
    }
  }

  private async recordAction(ctx: RequestContext, instance: Instance, action: string, startTime: string, db: NovumDb = this.db, finishTime: string | null = null): Promise<void> {
    await db
      .insertInto('instance_actions')
      .values({
        action,
        instance_uuid: instance.uuid,
        request_id: ctx.requestId,
        user_id: ctx.userId,
        project_id: ctx.projectId,
        start_time: startTime,
        finish_time: finishTime,
        message: null,
        created_at: startTime,
        updated_at: null,
      })
      .execute()
  }

  private async isComputeUp(host: string): Promise<boolean> {
    const service = await this.db
      .selectFrom('services')
      .select(['last_seen_up', 'updated_at', 'created_at', 'forced_down'])
      .where('host', '=', host)
      .where('binary', '=', 'nova-compute')
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
    return service ? isServiceUp(service, this.clock.now(), this.downTimeSec) : false
  }

  private async latestFaults(uuids: readonly string[]): Promise<Map<string, InstanceFault>> {
    const out = new Map<string, InstanceFault>()
    if (uuids.length === 0) return out
    const rows = await this.db.selectFrom('instance_faults').selectAll().where('instance_uuid', 'in', [...uuids]).orderBy('created_at', 'desc').orderBy('id', 'desc').execute()
    for (const r of rows) {
      if (out.has(r.instance_uuid)) continue
      out.set(r.instance_uuid, { code: r.code, message: r.message, details: r.details, host: r.host, createdAt: r.created_at })
    }
    return out
  }

  private async toServer(row: InstanceRow): Promise<Server> {
    const faults = row.vm_state === 'error' || row.vm_state === 'deleted' ? await this.latestFaults([row.uuid]) : new Map<string, InstanceFault>()
    return serverFromRow(row, faults.get(row.uuid) ?? null)
  }

  private async loadServers(uuids: readonly string[]): Promise<Server[]> {
    const rows = await this.db.selectFrom('instances').selectAll().where('uuid', 'in', [...uuids]).orderBy('launch_index').execute()
    return rows.map((r) => serverFromRow(r, null))
  }
}

/** Converts an `instances` row to a {@link Server}. */
export function serverFromRow(row: InstanceRow, fault: InstanceFault | null): Server {
  return {
    ...instanceFromRow(row),
    accessIpV4: row.access_ip_v4,
    accessIpV6: row.access_ip_v6,
    configDrive: row.config_drive,
    progress: row.progress,
    lockedReason: row.locked_reason,
    fault,
  }
}

function actionFromRow(r: ActionRow): InstanceAction {
  return {
    action: r.action,
    instanceUuid: r.instance_uuid,
    requestId: r.request_id,
    userId: r.user_id,
    projectId: r.project_id,
    startTime: r.start_time,
    finishTime: r.finish_time,
    message: r.message,
    updatedAt: r.updated_at,
  }
}

function eventFromRow(e: EventRow, showTraceback: boolean, showDetails: boolean): InstanceActionEvent {
  return {
    event: e.event,
    startTime: e.start_time,
    finishTime: e.finish_time,
    result: e.result,
    traceback: showTraceback ? e.traceback : null,
    host: e.host,
    details: showDetails ? e.details : null,
  }
}

/**
 * Nova's `length` of `os-getConsoleOutput` (`type: [integer, string, null]`, `pattern: ^-?[0-9]+$`, `minimum: -1`,
 * where Nova's validator also bounds numeric strings) as the tail length compute takes: null for everything.
 *
 * NOTE: Nova passes -1 through and its `_tail_log` then drops the first line; Novum reads -1 as "unlimited", as
 * the schema's own comment says.
 */
function parseConsoleLength(length: number | string | null | undefined): number | null {
  if (length === undefined || length === null) return null
  const shown = typeof length === 'string' ? length : String(length)
  let n: number
  if (typeof length === 'number') {
    if (!Number.isInteger(length)) throw invalidLength(shown, `${shown} is not of type 'integer', 'string', 'null'`)
    n = length
  } else if (typeof length === 'string') {
    if (!/^-?[0-9]+$/.test(length)) throw invalidLength(shown, `'${length}' does not match '^-?[0-9]+$'`)
    n = Number.parseInt(length, 10)
  } else {
    throw invalidLength(String(length), `${String(length)} is not of type 'integer', 'string', 'null'`)
  }
  if (n < -1) throw invalidLength(shown, `${n} is less than the minimum of -1`)
  return n === -1 ? null : n
}

function invalidLength(value: string, reason: string): ComputeError {
  return new ComputeError('INVALID', `Invalid input for field/attribute length. Value: ${value}. ${reason}`, { details: { field: 'length', value } })
}

function validateAccessIps(v4: string | null | undefined, v6: string | null | undefined): void {
  if (v4 !== undefined && v4 !== null && !isIPv4(v4)) throw new ComputeError('INVALID', `Invalid input for field/attribute accessIPv4. Value: ${v4}. '${v4}' is not a 'ipv4'`)
  if (v6 !== undefined && v6 !== null && !isIPv6(v6)) throw new ComputeError('INVALID', `Invalid input for field/attribute accessIPv6. Value: ${v6}. '${v6}' is not a 'ipv6'`)
}

function validateServerName(name: unknown): void {
  if (typeof name !== 'string' || name.length < 1 || name.length > 255 || name.trim().length === 0) {
    throw new ComputeError('INVALID', 'Invalid input for field/attribute name. Value: must be a non-blank string of 1 to 255 characters')
  }
}

/** Nova `_check_metadata_properties`: keys 1–255 characters, values at most 255. */
function validateMetadata(metadata: Readonly<Record<string, unknown>>): void {
  for (const [k, v] of Object.entries(metadata)) {
    if (k.length === 0) throw new ComputeError('INVALID', 'Metadata property key blank.')
    if (k.length > 255) throw new ComputeError('INVALID', 'Metadata property key greater than 255 characters.')
    if (typeof v !== 'string') throw new ComputeError('INVALID', `Metadata property value for ${k} must be a string.`)
    if (v.length > 255) throw new ComputeError('INVALID', 'Metadata property value greater than 255 characters.')
  }
}

function validateNetworks(networks: 'none' | 'auto' | readonly RequestedNetwork[], maxCount: number): Instance['networks'] {
  if (networks === 'none' || networks === 'auto') return networks
  if (!Array.isArray(networks)) throw new ComputeError('INVALID', `Bad networks format: expected 'none', 'auto' or a list`)
  const uuidRe = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i
  for (const n of networks as readonly RequestedNetwork[]) {
    if (!n.uuid && !n.port) throw new ComputeError('INVALID', 'Bad network format: missing network uuid or port')
    if (n.uuid && !uuidRe.test(n.uuid)) throw new ComputeError('INVALID', `Bad networks format: network uuid is not in proper format (${n.uuid})`)
    if (n.port && maxCount > 1) {
      throw new ComputeError('INVALID', 'Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.')
    }
  }
  return networks.map((n) => ({ ...n }))
}

function validateUserData(userData: string | null): string | null {
  if (userData === null) return null
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(userData)) throw new ComputeError('INVALID', 'User data needs to be valid base 64.')
  if (userData.length > 65535) throw new ComputeError('INVALID', 'User data too large. User data must be no larger than 65535 bytes once base64 encoded.')
  return userData
}

function normaliseHints(hints: Readonly<Record<string, string | readonly string[]>>): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {}
  for (const [k, v] of Object.entries(hints)) out[k] = Array.isArray(v) ? v.map(String) : [String(v)]
  return out
}

function normaliseTimestamp(value: string, field: string): string {
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) throw new ComputeError('INVALID', `Invalid ${field} value: ${value}`)
  return new Date(ms).toISOString()
}

/** Nova `utils.sanitize_hostname`. */
export function sanitizeHostname(name: string, defaultName?: string): string {
  let h = [...name].filter((c) => c.charCodeAt(0) < 256).join('').slice(0, 63)
  h = h.replace(/[ _.]/g, '-').replace(/[^\p{L}\p{N}_.-]+/gu, '').toLowerCase()
  h = h.replace(/^[.-]+|[.-]+$/g, '')
  if (h === '' && defaultName !== undefined) return defaultName.slice(0, 63)
  return h
}

const PASSWORD_GROUPS = ['23456789', 'ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz'] as const

/** Nova `utils.generate_password`: one character from each symbol group, then random ones, shuffled. */
export function generatePassword(length = 12): string {
  const all = PASSWORD_GROUPS.join('')
  const chars = PASSWORD_GROUPS.map((g) => g[randomInt(g.length)] as string)
  while (chars.length < length) chars.push(all[randomInt(all.length)] as string)
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[chars[i], chars[j]] = [chars[j] as string, chars[i] as string]
  }
  return chars.slice(0, length).join('')
}

function randomSuffix(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  const bytes = randomBytes(length)
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('')
}
