import type { FastifyReply, FastifyRequest } from 'fastify'
import { ComputeError, STATUS_TO_VM_STATES, type ComputeApi, type CreateServerRequest, type InjectedFile, type Policy, type RequestedNetwork, type Server, type ServerGroupService, type ServerListFilters, type ServerUpdate } from '@novum/core'
import { contextOf } from '../../common/auth.js'
import { badRequest, forbidden, HttpError, notFound } from '../../common/http-error.js'
import type { ComputeRoutesFactory } from '../compute-app.js'
import { mv, type Microversion } from '../microversion.js'
import { actionOf, boolFromString, intParam, lastParam, looseBool, versionedBody, versionedQuery } from '../params.js'
import { canSeeExtendedAttributes, canSeeServerFlavorExtraSpecs } from '../policy-checks.js'
import { hostId, serverBasicView, serverDetailView } from '../views/server-view.js'
import { strtime } from '../views/time.js'
import {
  CONSOLE_OUTPUT_SCHEMA,
  IGNORED_SORT_KEYS,
  instanceActionQuerySchemas,
  JOINED_TABLE_PARAMS,
  LOCK_SCHEMA_273,
  REBOOT_SCHEMA,
  RESET_STATE_SCHEMA,
  serverCreateSchemas,
  serverQuerySchemas,
  serverUpdateSchemas,
  userSearchOptions,
} from './server-schemas.js'

const V2_19 = mv('2.19')
const V2_38 = mv('2.38')
const V2_51 = mv('2.51')
const V2_57 = mv('2.57')
const V2_58 = mv('2.58')
const V2_62 = mv('2.62')
const V2_66 = mv('2.66')
const V2_71 = mv('2.71')
const V2_73 = mv('2.73')
const V2_74 = mv('2.74')
const V2_75 = mv('2.75')
const V2_84 = mv('2.84')
const V2_90 = mv('2.90')

/** Server actions Nova has that Novum does not serve yet: a 501 rather than Nova's "no such action" 400. */
const NOT_YET_ACTIONS: ReadonlySet<string> = new Set([
  'rescue', 'unrescue', 'resize', 'confirmResize', 'revertResize', 'rebuild',
  'createImage', 'createBackup', 'migrate', 'os-migrateLive', 'evacuate', 'shelve', 'shelveOffload', 'unshelve',
  'os-getVNCConsole', 'os-getSPICEConsole', 'os-getRDPConsole', 'os-getSerialConsole', 'changePassword',
  'restore', 'forceDelete', 'trigger_crash_dump', 'injectNetworkInfo', 'addSecurityGroup', 'removeSecurityGroup',
  'addFloatingIp', 'removeFloatingIp', 'addFixedIp', 'removeFixedIp',
])

/** What the server routes call. */
export interface ServerRouteServices {
  readonly compute: ComputeApi
  readonly policy: Policy
  /** For the 2.71 `server_groups` of a server (an empty list without it). */
  readonly serverGroups?: ServerGroupService
}

interface ServerBody {
  readonly name: string
  readonly imageRef?: string
  readonly flavorRef: string | number
  readonly adminPass?: string
  readonly metadata?: Record<string, string>
  readonly networks?: 'none' | 'auto' | { uuid?: string; port?: string | null; fixed_ip?: string; tag?: string }[]
  readonly accessIPv4?: string
  readonly accessIPv6?: string
  readonly personality?: { path?: string; contents?: string }[]
  readonly availability_zone?: string
  readonly block_device_mapping?: unknown[]
  readonly block_device_mapping_v2?: unknown[]
  readonly config_drive?: string | boolean
  readonly key_name?: string
  readonly min_count?: string | number
  readonly max_count?: string | number
  readonly return_reservation_id?: string | boolean
  readonly security_groups?: { name?: string }[]
  readonly user_data?: string | null
  readonly description?: string | null
  readonly tags?: string[]
  readonly host?: string
  readonly hypervisor_hostname?: string
  readonly hostname?: string
}

/** Nova `common.get_id_from_href`: the last path segment of an id or URL. */
function idFromHref(href: string | number): string {
  const s = String(href)
  const path = (s.split('?')[0] ?? s).replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')
  return path.split('/').pop() ?? s
}

/** The create request core understands, from a validated Nova body. */
function toCreateRequest(version: Microversion, body: { server: ServerBody; 'os:scheduler_hints'?: Record<string, unknown>; 'OS-SCH-HNT:scheduler_hints'?: Record<string, unknown> }): CreateServerRequest {
  const s = body.server
  if ((s.block_device_mapping?.length ?? 0) > 0 && (s.block_device_mapping_v2?.length ?? 0) > 0) {
    throw badRequest('Using different block_device_mapping syntaxes is not allowed in the same request.')
  }
  if ((s.block_device_mapping?.length ?? 0) > 0 || (s.block_device_mapping_v2?.length ?? 0) > 0) {
    // NOTE: Novum has no block storage service yet; volumes cannot be attached at boot.
    throw badRequest('Block Device Mapping is Invalid: block device mappings are not supported by this deployment (no volume service).')
  }
  if (!s.imageRef) throw badRequest('Missing imageRef attribute')
  const minCount = s.min_count === undefined ? 1 : Number.parseInt(String(s.min_count), 10)
  const maxCount = s.max_count === undefined ? minCount : Number.parseInt(String(s.max_count), 10)
  if (minCount > maxCount) throw badRequest('min_count must be <= max_count')

  let networks: CreateServerRequest['networks']
  if (s.networks === 'none' || s.networks === 'auto') networks = s.networks
  else if (Array.isArray(s.networks)) {
    const ports = new Set<string>()
    const list: RequestedNetwork[] = []
    for (const n of s.networks) {
      if (n.port) {
        if (ports.has(n.port)) throw badRequest(`Port ID '${n.port}' was specified twice: you cannot attach a port multiple times.`)
        if (n.fixed_ip !== undefined) throw badRequest(`Specified Fixed IP '${n.fixed_ip}' cannot be used with port '${n.port}': the two cannot be specified together.`)
        ports.add(n.port)
        list.push({ port: n.port, ...(n.tag !== undefined ? { tag: n.tag } : {}) })
      } else {
        if (n.uuid === undefined) throw badRequest("Bad network format: missing 'uuid'")
        list.push({ uuid: n.uuid, ...(n.fixed_ip !== undefined ? { fixedIp: n.fixed_ip } : {}), ...(n.tag !== undefined ? { tag: n.tag } : {}) })
      }
    }
    networks = list
  }

  const rawHints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {}
  const hints: Record<string, string | readonly string[]> = {}
  for (const [k, v] of Object.entries(rawHints)) {
    hints[k] = Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : typeof v === 'string' ? v : JSON.stringify(v)
  }
  const personality: InjectedFile[] | undefined =
    version < V2_57 && s.personality ? s.personality.map((f) => ({ path: f.path ?? '', contents: f.contents ?? '' })) : undefined

  return {
    name: s.name,
    imageRef: s.imageRef,
    flavorRef: idFromHref(s.flavorRef),
    // NOTE: before 2.19 Nova stores the name as the description (`display_description = name`).
    description: version >= V2_19 ? (s.description ?? null) : s.name,
    minCount,
    maxCount,
    ...(s.key_name !== undefined ? { keyName: s.key_name } : {}),
    ...(s.availability_zone !== undefined ? { availabilityZone: s.availability_zone } : {}),
    ...(s.metadata !== undefined ? { metadata: s.metadata } : {}),
    ...(networks !== undefined ? { networks } : {}),
    ...(s.user_data !== undefined ? { userData: s.user_data } : {}),
    ...(s.adminPass !== undefined ? { adminPass: s.adminPass } : {}),
    ...(s.accessIPv4 !== undefined ? { accessIpV4: s.accessIPv4 } : {}),
    ...(s.accessIPv6 !== undefined ? { accessIpV6: s.accessIPv6 } : {}),
    ...(s.config_drive !== undefined ? { configDrive: boolFromString(s.config_drive) === true } : {}),
    ...(Object.keys(hints).length ? { schedulerHints: hints } : {}),
    ...(version >= V2_74 && s.host !== undefined ? { host: s.host } : {}),
    ...(version >= V2_74 && s.hypervisor_hostname !== undefined ? { hypervisorHostname: s.hypervisor_hostname } : {}),
    ...(version >= V2_90 && s.hostname !== undefined ? { hostname: s.hostname } : {}),
    ...(personality ? { personality } : {}),
  }
}

/**
 * Servers (`servers.py`, `ips.py`, `instance_actions.py`, `pause_server.py`, `suspend_server.py`,
 * `console_output.py`): create (202 + `Location`), list and detail with filters and paging, show, update,
 * delete (204), the `reboot`/`os-stop`/`os-start`/`pause`/`unpause`/`suspend`/`resume`/`lock`/`unlock`/
 * `os-resetState` actions (202), `os-getConsoleOutput` (200 `{"output"}`), `GET /servers/{id}/ips` and
 * instance actions.
 */
export function serverRoutes(services: ServerRouteServices): ComputeRoutesFactory {
  return ({ schemas, links, maxLimit }) => {
    const { compute, policy } = services
    const validateCreate = versionedBody(schemas, serverCreateSchemas())
    const validateUpdate = versionedBody(schemas, serverUpdateSchemas())
    const validateReboot = schemas.body(REBOOT_SCHEMA)
    const validateLock = schemas.body(LOCK_SCHEMA_273)
    const validateResetState = schemas.body(RESET_STATE_SCHEMA)
    const validateConsoleOutput = schemas.body(CONSOLE_OUTPUT_SCHEMA)
    const listQuery = versionedQuery(schemas, serverQuerySchemas())
    const actionsQuery = versionedQuery(schemas, instanceActionQuerySchemas())

    const detailOf = (request: FastifyRequest, server: Server, reduced = false) => {
      const ctx = contextOf(request)
      return serverDetailView(request, links, server, {
        extendedAttributes: canSeeExtendedAttributes(policy, ctx, server.projectId),
        flavorExtraSpecs: canSeeServerFlavorExtraSpecs(policy, ctx, server.projectId),
        isAdmin: ctx.isAdmin,
        reduced,
      })
    }

    /** Nova 2.71: a server's show (and update) lists the uuids of its server groups. */
    const withGroups = async (request: FastifyRequest, view: Record<string, unknown>, uuid: string): Promise<Record<string, unknown>> => {
      if (request.microversion < V2_71) return view
      return { ...view, server_groups: services.serverGroups ? await services.serverGroups.groupsOfServer(uuid) : [] }
    }

    const list = async (request: FastifyRequest, detail: boolean) => {
      const ctx = contextOf(request)
      const version = request.microversion
      const q = listQuery(version, request.query)
      const present = Object.keys(q)
      for (const key of present) {
        if (JOINED_TABLE_PARAMS.has(key) || key.startsWith('_')) throw badRequest(`Invalid filter field: ${key}.`)
      }
      // Nova `remove_invalid_options`: a non-admin's filters outside the allowed set are dropped silently.
      const allowed = userSearchOptions(version)
      const mayUse = (key: string) => ctx.isAdmin || allowed.has(key)
      const param = (key: string) => (mayUse(key) ? lastParam(q, key) : undefined)

      const statuses = mayUse('status') ? q.status : undefined
      let status: string | undefined
      if (statuses && statuses.length) {
        const known = statuses.filter((s) => STATUS_TO_VM_STATES[s.toUpperCase()] !== undefined)
        if (known.length === 0) {
          if (version >= V2_38) throw badRequest('Invalid status value')
          return { servers: [] }
        }
        status = known[0]
      }

      const changesSince = param('changes-since')
      const changesBefore = version >= V2_66 ? param('changes-before') : undefined
      if (changesSince !== undefined && changesBefore !== undefined && Date.parse(changesBefore) < Date.parse(changesSince)) {
        throw badRequest('The value of changes-since must be less than or equal to changes-before.')
      }

      let allTenants = false
      if ('all_tenants' in q) {
        const v = lastParam(q, 'all_tenants') ?? ''
        if (v === '') allTenants = true
        else {
          const b = boolFromString(v)
          if (b === undefined) throw badRequest(`Unrecognized value '${v}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'`)
          allTenants = b
        }
      }
      const projectFilter = allTenants ? (param('project_id') ?? param('tenant_id')) : undefined

      let deleted: boolean | undefined
      if (ctx.isAdmin && 'deleted' in q) deleted = looseBool(lastParam(q, 'deleted'))

      let locked: boolean | undefined
      if (version >= V2_73 && mayUse('locked') && 'locked' in q) {
        const v = lastParam(q, 'locked') ?? ''
        const b = boolFromString(v)
        if (b === undefined) throw badRequest(`Unrecognized value '${v}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'`)
        locked = b
      }

      let sortKey: string | undefined
      let sortDir: 'asc' | 'desc' | undefined
      const sortKeys = q.sort_key ?? []
      const sortDirs = q.sort_dir ?? []
      for (const [i, key] of sortKeys.entries()) {
        if (IGNORED_SORT_KEYS.includes(key) && !(version >= V2_73 && key === 'locked')) continue
        if ((key === 'host' || key === 'node') && !ctx.isAdmin) throw forbidden(`Only administrators can sort servers by ${key}`)
        sortKey = key === 'locked' ? 'locked_by' : key
        const dir = sortDirs[i] ?? sortDirs[0]
        if (dir !== undefined) {
          if (dir !== 'asc' && dir !== 'desc') throw badRequest(`Unknown sort direction, must be 'desc' or 'asc'`)
          sortDir = dir
        }
        break
      }
      if (sortKey === undefined && sortDirs[0] !== undefined) {
        if (sortDirs[0] !== 'asc' && sortDirs[0] !== 'desc') throw badRequest(`Unknown sort direction, must be 'desc' or 'asc'`)
        sortDir = sortDirs[0]
      }

      const limitParam = intParam(lastParam(q, 'limit'))
      const limit = Math.min(maxLimit, limitParam ?? maxLimit)
      const marker = lastParam(q, 'marker')
      const name = param('name') ?? (ctx.isAdmin ? lastParam(q, 'display_name') : undefined)
      const image = param('image') ?? (ctx.isAdmin ? lastParam(q, 'image_ref') : undefined)
      const filters: ServerListFilters = {
        ...(allTenants ? { allTenants } : {}),
        ...(projectFilter !== undefined ? { projectId: projectFilter } : {}),
        ...(param('user_id') !== undefined ? { userId: param('user_id') as string } : {}),
        ...(name !== undefined ? { name } : {}),
        ...(status !== undefined ? { status } : {}),
        ...(image !== undefined ? { image: image.split('/').pop() as string } : {}),
        ...(param('flavor') !== undefined ? { flavor: param('flavor') as string } : {}),
        ...(param('host') !== undefined ? { host: param('host') as string } : {}),
        ...(param('node') !== undefined ? { node: param('node') as string } : {}),
        ...(param('availability_zone') !== undefined ? { availabilityZone: param('availability_zone') as string } : {}),
        ...(param('reservation_id') !== undefined ? { reservationId: param('reservation_id') as string } : {}),
        ...(changesSince !== undefined ? { changesSince } : {}),
        ...(changesBefore !== undefined ? { changesBefore } : {}),
        ...(locked !== undefined ? { locked } : {}),
        ...(deleted !== undefined ? { deleted } : {}),
        ...(sortKey !== undefined ? { sortKey } : {}),
        ...(sortDir !== undefined ? { sortDir } : {}),
        ...(marker !== undefined ? { marker } : {}),
        limit,
      }
      const servers = await compute.listServers(ctx, filters)
      const body: Record<string, unknown> = {
        servers: servers.map((s) => (detail ? detailOf(request, s) : serverBasicView(request, links, s))),
      }
      const next = links.collection(request, detail ? 'servers/detail' : 'servers', servers.map((s) => ({ id: s.uuid })), limit)
      if (next.length) body.servers_links = next
      return body
    }

    const create = async (request: FastifyRequest, reply: FastifyReply) => {
      const version = request.microversion
      validateCreate(version, request.body)
      const body = request.body as { server: ServerBody }
      const req = toCreateRequest(version, body)
      const result = await compute.createServers(contextOf(request), req)
      const returnReservation = body.server.return_reservation_id !== undefined && boolFromString(body.server.return_reservation_id) === true
      if (returnReservation) return reply.code(202).send({ reservation_id: result.reservationId })
      const first = result.instances[0]
      if (!first) throw new HttpError(500, 'Unexpected API Error. no instance was created')
      const self = links.self(request, 'servers', first.uuid)
      const server: Record<string, unknown> = {
        id: first.uuid,
        links: links.pair(request, 'servers', first.uuid),
        'OS-DCF:diskConfig': 'MANUAL',
        security_groups: body.server.security_groups ?? [{ name: 'default' }],
        adminPass: result.adminPass,
      }
      return reply.code(202).header('Location', self).send({ server })
    }

    const serverId = (request: FastifyRequest): string => (request.params as { server_id: string }).server_id

    const action = async (request: FastifyRequest, reply: FastifyReply) => {
      const ctx = contextOf(request)
      const id = serverId(request)
      const body = request.body
      const name = actionOf(body)
      switch (name) {
        case 'reboot': {
          validateReboot(body)
          const type = (body as { reboot: { type: string } }).reboot.type.toUpperCase() as 'SOFT' | 'HARD'
          await compute.rebootServer(ctx, id, type)
          return reply.code(202).send()
        }
        case 'os-stop':
          await compute.stopServer(ctx, id)
          return reply.code(202).send()
        case 'os-start':
          await compute.startServer(ctx, id)
          return reply.code(202).send()
        case 'pause':
          await compute.pauseServer(ctx, id)
          return reply.code(202).send()
        case 'unpause':
          await compute.unpauseServer(ctx, id)
          return reply.code(202).send()
        case 'suspend':
          await compute.suspendServer(ctx, id)
          return reply.code(202).send()
        case 'resume':
          await compute.resumeServer(ctx, id)
          return reply.code(202).send()
        case 'os-getConsoleOutput': {
          validateConsoleOutput(body)
          const length = (body as { 'os-getConsoleOutput': { length?: number | string | null } })['os-getConsoleOutput'].length
          const output = await compute.getConsoleOutput(ctx, id, length ?? null)
          return reply.code(200).send({ output })
        }
        case 'lock': {
          let reason: string | null = null
          if (request.microversion >= V2_73) {
            validateLock(body)
            reason = (body as { lock: { locked_reason?: string } | null }).lock?.locked_reason ?? null
          }
          await compute.lockServer(ctx, id, reason)
          return reply.code(202).send()
        }
        case 'unlock':
          await compute.unlockServer(ctx, id)
          return reply.code(202).send()
        case 'os-resetState': {
          validateResetState(body)
          await compute.resetServerState(ctx, id, (body as { 'os-resetState': { state: 'active' | 'error' } })['os-resetState'].state)
          return reply.code(202).send()
        }
        default:
          if (NOT_YET_ACTIONS.has(name)) {
            // Check the server exists first, so a bad id is still a 404 as in Nova.
            await compute.getServer(ctx, id)
            throw new HttpError(501, `The '${name}' action is not implemented by this deployment yet.`)
          }
          throw badRequest(`There is no such action: ${name}`)
      }
    }

    return {
      name: 'servers',
      register(app) {
        app.get('/servers', (request) => list(request, false))
        app.get('/servers/detail', (request) => list(request, true))
        app.post('/servers', create)
        app.get('/servers/:server_id', async (request) => {
          const server = await compute.getServer(contextOf(request), serverId(request))
          return { server: await withGroups(request, detailOf(request, server), server.uuid) }
        })
        app.put('/servers/:server_id', async (request) => {
          const version = request.microversion
          validateUpdate(version, request.body)
          const s = (request.body as { server: { name?: string; description?: string | null; accessIPv4?: string; accessIPv6?: string; hostname?: string } }).server
          const update: ServerUpdate = {
            ...(s.name !== undefined ? { name: s.name } : {}),
            ...(s.description !== undefined ? { description: s.description } : {}),
            ...(s.accessIPv4 !== undefined ? { accessIpV4: s.accessIPv4 } : {}),
            ...(s.accessIPv6 !== undefined ? { accessIpV6: s.accessIPv6 } : {}),
            ...(s.hostname !== undefined ? { hostname: s.hostname } : {}),
          }
          const server = await compute.updateServer(contextOf(request), serverId(request), update)
          return { server: await withGroups(request, detailOf(request, server, version < V2_75), server.uuid) }
        })
        app.delete('/servers/:server_id', async (request, reply) => {
          await compute.deleteServer(contextOf(request), serverId(request))
          return reply.code(204).send()
        })
        app.post('/servers/:server_id/action', action)

        app.get('/servers/:server_id/ips', async (request) => {
          await compute.getServer(contextOf(request), serverId(request))
          return { addresses: {} }
        })
        app.get('/servers/:server_id/ips/:network', async (request) => {
          await compute.getServer(contextOf(request), serverId(request))
          throw notFound('Instance is not a member of specified network')
        })

        app.get('/servers/:server_id/os-instance-actions', async (request) => {
          const version = request.microversion
          const id = serverId(request)
          const paged = version >= V2_58
          const q = paged ? actionsQuery(version, request.query) : {}
          const limitParam = intParam(lastParam(q, 'limit'))
          const limit = Math.min(maxLimit, limitParam ?? maxLimit)
          const marker = lastParam(q, 'marker')
          const changesSince = lastParam(q, 'changes-since')
          const changesBefore = lastParam(q, 'changes-before')
          if (changesSince !== undefined && changesBefore !== undefined && Date.parse(changesBefore) < Date.parse(changesSince)) {
            throw badRequest('The value of changes-since must be less than or equal to changes-before.')
          }
          const actions = await compute.listInstanceActions(contextOf(request), id, {
            ...(paged ? { limit } : {}),
            ...(marker !== undefined ? { marker } : {}),
            ...(changesSince !== undefined ? { changesSince } : {}),
            ...(changesBefore !== undefined ? { changesBefore } : {}),
          })
          const body: Record<string, unknown> = {
            instanceActions: actions.map((a) => ({
              action: a.action,
              instance_uuid: a.instanceUuid,
              request_id: a.requestId,
              user_id: a.userId,
              project_id: a.projectId,
              start_time: strtime(a.startTime),
              message: a.message,
              ...(paged ? { updated_at: strtime(a.updatedAt) } : {}),
            })),
          }
          if (paged) {
            const next = links.collection(request, `servers/${id}/os-instance-actions`, actions.map((a) => ({ id: a.requestId })), limit)
            if (next.length) body.links = next
          }
          return body
        })
        app.get('/servers/:server_id/os-instance-actions/:request_id', async (request) => {
          const version = request.microversion
          const ctx = contextOf(request)
          const id = serverId(request)
          const { request_id } = request.params as { request_id: string }
          let action
          try {
            action = await compute.getInstanceAction(ctx, id, request_id)
          } catch (err) {
            if (ComputeError.is(err, 'NOT_FOUND') && err.details?.instanceUuid === undefined) {
              throw notFound(`Action ${request_id} not found`)
            }
            throw err
          }
          const projectId = action.projectId
          const allEvents = policy.check(ctx, 'os_compute_api:os-instance-actions:events', { projectId })
          const showEvents = allEvents || version >= V2_51
          const out: Record<string, unknown> = {
            action: action.action,
            instance_uuid: action.instanceUuid,
            request_id: action.requestId,
            user_id: action.userId,
            project_id: action.projectId,
            start_time: strtime(action.startTime),
            message: action.message,
            ...(version >= V2_58 ? { updated_at: strtime(action.updatedAt) } : {}),
          }
          if (showEvents) {
            const showDetails = version >= V2_84 && policy.check(ctx, 'os_compute_api:os-instance-actions:events:details', { projectId })
            out.events = action.events.map((e) => ({
              event: e.event,
              start_time: strtime(e.startTime),
              finish_time: strtime(e.finishTime),
              result: e.result,
              ...(allEvents ? { traceback: e.traceback } : {}),
              ...(allEvents && version >= V2_62 ? { host: e.host } : {}),
              ...(version >= V2_62 ? { hostId: hostId(e.host, action.projectId ?? '') } : {}),
              ...(showDetails ? { details: e.details } : {}),
            }))
          }
          return { instanceAction: out }
        })
      },
    }
  }
}
