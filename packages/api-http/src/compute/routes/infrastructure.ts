import type { FastifyRequest } from 'fastify'
import type { AvailabilityZoneService, ComputeService, Hypervisor, HypervisorService, ServiceService } from '@novum/core'
import { contextOf } from '../../common/auth.js'
import { badRequest, notFound } from '../../common/http-error.js'
import type { JsonSchema } from '../../common/validation.js'
import type { ComputeRoutesFactory } from '../compute-app.js'
import { mv, type Microversion } from '../microversion.js'
import { boolFromString, intParam, lastParam, multi, NON_NEGATIVE_INT, versionedBody, versionedQuery } from '../params.js'
import { P } from './server-schemas.js'
import { strtime } from '../views/time.js'

const V2_11 = mv('2.11')
const V2_28 = mv('2.28')
const V2_33 = mv('2.33')
const V2_53 = mv('2.53')
const V2_75 = mv('2.75')
const V2_88 = mv('2.88')

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

/** What the infrastructure routes call. */
export interface InfrastructureRouteServices {
  readonly hypervisors: HypervisorService
  readonly services: ServiceService
  readonly availabilityZones: AvailabilityZoneService
}

/**
 * Nova's hypervisor view at a microversion: integer ids before 2.53 and uuids after; the detail fields up to 2.87;
 * `cpu_info` a JSON string before 2.28 and an object after; `uptime` from 2.88.
 */
export function hypervisorView(h: Hypervisor, version: Microversion, detail: boolean, withServers: boolean): Record<string, unknown> {
  const uuidIds = version >= V2_53
  const out: Record<string, unknown> = {
    id: uuidIds ? h.uuid : h.id,
    hypervisor_hostname: h.hypervisorHostname,
    state: h.state,
    status: h.status,
  }
  if (detail) {
    out.hypervisor_type = h.hypervisorType
    out.hypervisor_version = h.hypervisorVersion
    out.host_ip = h.hostIp
    out.service = { id: uuidIds ? h.service.uuid : h.service.id, host: h.service.host, disabled_reason: h.service.disabledReason }
    if (version < V2_88) {
      out.vcpus = h.vcpus
      out.memory_mb = h.memoryMb
      out.local_gb = h.localGb
      out.vcpus_used = h.vcpusUsed
      out.memory_mb_used = h.memoryMbUsed
      out.local_gb_used = h.localGbUsed
      out.free_ram_mb = h.freeRamMb
      out.free_disk_gb = h.freeDiskGb
      out.current_workload = h.currentWorkload
      out.running_vms = h.runningVms
      out.disk_available_least = h.diskAvailableLeast
      out.cpu_info = version < V2_28 ? JSON.stringify(h.cpuInfo) : h.cpuInfo
    } else {
      // NOTE: the compute RPC API has no get_host_uptime yet; Nova shows null when a driver cannot tell.
      out.uptime = null
    }
  }
  if (h.servers && h.servers.length) out.servers = h.servers.map((s) => ({ name: s.name, uuid: s.uuid }))
  else if (withServers && version >= V2_75) out.servers = []
  return out
}

/** Nova's `os-services` entry: integer ids before 2.53, uuids after; `forced_down` from 2.11. */
export function serviceView(s: ComputeService, version: Microversion): Record<string, unknown> {
  return {
    binary: s.binary,
    host: s.host,
    id: version >= V2_53 ? s.uuid : s.id,
    zone: s.zone,
    status: s.status,
    state: s.state,
    updated_at: strtime(s.updatedAt),
    disabled_reason: s.disabledReason,
    ...(version >= V2_11 ? { forced_down: s.forcedDown } : {}),
  }
}

/** API services are not RPC services: Nova leaves them out of `os-services` (bug 1543625). */
const API_BINARIES: ReadonlySet<string> = new Set(['nova-osapi_compute', 'nova-metadata'])

const SERVICE_UPDATE_253: JsonSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['enabled', 'disabled'] },
    disabled_reason: { type: 'string', minLength: 1, maxLength: 255 },
    forced_down: P.boolean,
  },
  additionalProperties: false,
}
const SERVICE_HOST_BINARY: JsonSchema = {
  type: 'object',
  properties: { host: P.fqdn, binary: { type: 'string', minLength: 1, maxLength: 255 }, disabled_reason: { type: 'string', minLength: 1, maxLength: 255 } },
  required: ['host', 'binary'],
  additionalProperties: false,
}
const SERVICE_FORCE_DOWN: JsonSchema = {
  type: 'object',
  properties: { host: P.fqdn, binary: { type: 'string', minLength: 1, maxLength: 255 }, forced_down: P.boolean },
  required: ['host', 'binary', 'forced_down'],
  additionalProperties: false,
}

/**
 * Admin and infrastructure resources: `os-hypervisors` (list, detail, show, statistics ≤ 2.87), `os-services`
 * (list, update both before and after 2.53, delete) and `os-availability-zone` (list, detail).
 */
export function infrastructureRoutes(deps: InfrastructureRouteServices): ComputeRoutesFactory {
  return ({ schemas, links, maxLimit }) => {
    const single = (s: JsonSchema): JsonSchema => ({ type: 'array', items: s, maxItems: 1 })
    const hypervisorListQuery = versionedQuery(schemas, [
      { min: V2_33, max: mv('2.52'), value: { type: 'object', properties: { limit: multi(NON_NEGATIVE_INT), marker: multi({ type: 'string' }) }, additionalProperties: true } },
      {
        min: V2_53,
        value: {
          type: 'object',
          properties: {
            limit: single(NON_NEGATIVE_INT),
            marker: single({ type: 'string' }),
            hypervisor_hostname_pattern: single(P.fqdn),
            with_servers: single(P.boolean),
          },
          additionalProperties: false,
        },
      },
    ])
    const hypervisorShowQuery = versionedQuery(schemas, [
      { min: V2_53, value: { type: 'object', properties: { with_servers: single(P.boolean) }, additionalProperties: false } },
    ])
    const serviceQuery = versionedQuery(schemas, [
      { min: mv('2.1'), max: mv('2.74'), value: { type: 'object', properties: { host: multi({ type: 'string' }), binary: multi({ type: 'string' }) }, additionalProperties: true } },
      { min: V2_75, value: { type: 'object', properties: { host: multi({ type: 'string' }), binary: multi({ type: 'string' }) }, additionalProperties: false } },
    ])
    const validateServiceUpdate = versionedBody(schemas, [{ min: V2_53, value: SERVICE_UPDATE_253 }])
    const validateHostBinary = schemas.body(SERVICE_HOST_BINARY)
    const validateForceDown = schemas.body(SERVICE_FORCE_DOWN)

    const listHypervisors = async (request: FastifyRequest, detail: boolean) => {
      const version = request.microversion
      const q = hypervisorListQuery(version, request.query)
      const paged = version >= V2_33
      const limitParam = paged ? intParam(lastParam(q, 'limit')) : undefined
      const limit = Math.min(maxLimit, limitParam ?? maxLimit)
      const marker = paged ? lastParam(q, 'marker') : undefined
      let pattern: string | undefined
      let withServers = false
      if (version >= V2_53) {
        pattern = lastParam(q, 'hypervisor_hostname_pattern')
        const ws = lastParam(q, 'with_servers')
        withServers = ws !== undefined && boolFromString(ws) === true
        if (pattern !== undefined && ('limit' in q || marker !== undefined)) {
          throw badRequest('Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.')
        }
      }
      const ctx = contextOf(request)
      const options = {
        ...(pattern !== undefined ? { hostnamePattern: pattern } : {}),
        ...(withServers ? { withServers } : {}),
        ...(paged && pattern === undefined ? { limit } : {}),
        ...(marker !== undefined ? { marker } : {}),
      }
      const list = detail ? await deps.hypervisors.detail(ctx, options) : await deps.hypervisors.list(ctx, options)
      const views = list.map((h) => hypervisorView(h, version, detail, withServers))
      const body: Record<string, unknown> = { hypervisors: views }
      if (paged && pattern === undefined) {
        const next = links.collection(request, detail ? 'os-hypervisors/detail' : 'os-hypervisors', views.map((v) => ({ id: String(v.id) })), limit)
        if (next.length) body.hypervisors_links = next
      }
      return body
    }

    return {
      name: 'infrastructure',
      register(app) {
        app.get('/os-hypervisors', (request) => listHypervisors(request, false))
        app.get('/os-hypervisors/detail', (request) => listHypervisors(request, true))
        app.get('/os-hypervisors/statistics', async (request) => {
          if (request.microversion >= V2_88) throw notFound()
          const s = await deps.hypervisors.statistics(contextOf(request))
          return {
            hypervisor_statistics: {
              count: s.count,
              vcpus_used: s.vcpusUsed,
              local_gb_used: s.localGbUsed,
              memory_mb: s.memoryMb,
              current_workload: s.currentWorkload,
              vcpus: s.vcpus,
              running_vms: s.runningVms,
              free_disk_gb: s.freeDiskGb,
              disk_available_least: s.diskAvailableLeast,
              local_gb: s.localGb,
              free_ram_mb: s.freeRamMb,
              memory_mb_used: s.memoryMbUsed,
            },
          }
        })
        app.get('/os-hypervisors/:hypervisor_id', async (request) => {
          const version = request.microversion
          const { hypervisor_id: id } = request.params as { hypervisor_id: string }
          let withServers = false
          if (version >= V2_53) {
            const q = hypervisorShowQuery(version, request.query)
            const ws = lastParam(q, 'with_servers')
            withServers = ws !== undefined && boolFromString(ws) === true
            if (!UUID_RE.test(id)) throw badRequest(`Invalid uuid ${id}`)
          } else if (!/^\d+$/.test(id)) {
            throw notFound(`Hypervisor with ID '${id}' could not be found.`)
          }
          try {
            const h = await deps.hypervisors.show(contextOf(request), version >= V2_53 ? id : Number(id), { withServers })
            return { hypervisor: hypervisorView(h, version, true, withServers) }
          } catch (err) {
            if ((err as { code?: string }).code === 'NOT_FOUND') throw notFound(`Hypervisor with ID '${id}' could not be found.`)
            throw err
          }
        })

        app.get('/os-services', async (request) => {
          const q = serviceQuery(request.microversion, request.query)
          const host = lastParam(q, 'host')
          const binary = lastParam(q, 'binary')
          const list = await deps.services.list(contextOf(request), { ...(host ? { host } : {}), ...(binary ? { binary } : {}) })
          return { services: list.filter((s) => !API_BINARIES.has(s.binary)).map((s) => serviceView(s, request.microversion)) }
        })
        app.put('/os-services/:service_id', async (request) => {
          const version = request.microversion
          const { service_id: id } = request.params as { service_id: string }
          const ctx = contextOf(request)
          if (version >= V2_53) {
            validateServiceUpdate(version, request.body)
            if (!UUID_RE.test(id)) throw badRequest(`Invalid uuid ${id}`)
            const b = request.body as { status?: 'enabled' | 'disabled'; disabled_reason?: string; forced_down?: string | boolean }
            if (b.status === undefined && b.forced_down === undefined) {
              throw badRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
            }
            if (b.disabled_reason !== undefined && b.status !== 'disabled') {
              throw badRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
            }
            const updated = await deps.services.update(ctx, id, {
              ...(b.status !== undefined ? { status: b.status } : {}),
              ...(b.disabled_reason !== undefined ? { disabledReason: b.disabled_reason } : {}),
              ...(b.forced_down !== undefined ? { forcedDown: boolFromString(b.forced_down) === true } : {}),
            })
            return { service: serviceView(updated, version) }
          }
          // Before 2.53: PUT /os-services/{enable|disable|disable-log-reason|force-down} with host and binary.
          const body = request.body as { host: string; binary: string; disabled_reason?: string; forced_down?: string | boolean }
          switch (id) {
            case 'enable':
            case 'disable': {
              validateHostBinary(body)
              await deps.services.updateByHost(ctx, body.host, body.binary, { status: id === 'enable' ? 'enabled' : 'disabled' })
              return { service: { host: body.host, binary: body.binary, status: id === 'enable' ? 'enabled' : 'disabled' } }
            }
            case 'disable-log-reason': {
              validateHostBinary(body)
              if (!body.disabled_reason) throw badRequest('Missing disabled reason field')
              await deps.services.updateByHost(ctx, body.host, body.binary, { status: 'disabled', disabledReason: body.disabled_reason })
              return { service: { host: body.host, binary: body.binary, status: 'disabled', disabled_reason: body.disabled_reason } }
            }
            case 'force-down': {
              if (version < V2_11) throw notFound()
              validateForceDown(body)
              const forced = boolFromString(body.forced_down as string | boolean) === true
              await deps.services.updateByHost(ctx, body.host, body.binary, { forcedDown: forced })
              return { service: { host: body.host, binary: body.binary, forced_down: forced } }
            }
            default:
              throw notFound(`Unknown action`)
          }
        })
        app.delete('/os-services/:service_id', async (request, reply) => {
          const { service_id: id } = request.params as { service_id: string }
          if (request.microversion >= V2_53 ? !UUID_RE.test(id) : !/^\d+$/.test(id)) {
            throw request.microversion >= V2_53 ? badRequest(`Invalid uuid ${id}`) : badRequest(`Invalid ID ${id}`)
          }
          await deps.services.delete(contextOf(request), id)
          return reply.code(204).send()
        })

        app.get('/os-availability-zone', async (request) => {
          const zones = await deps.availabilityZones.list(contextOf(request))
          return { availabilityZoneInfo: zones.map((z) => ({ zoneName: z.zoneName, zoneState: z.zoneState, hosts: null })) }
        })
        app.get('/os-availability-zone/detail', async (request) => {
          const zones = await deps.availabilityZones.detail(contextOf(request))
          return {
            availabilityZoneInfo: zones.map((z) => ({
              zoneName: z.zoneName,
              zoneState: z.zoneState,
              hosts: z.hosts === null
                ? null
                : Object.fromEntries(
                    Object.entries(z.hosts).map(([host, binaries]) => [
                      host,
                      Object.fromEntries(Object.entries(binaries).map(([b, st]) => [b, { available: st.available, active: st.active, updated_at: strtime(st.updatedAt) }])),
                    ]),
                  ),
            })),
          }
        })
      },
    }
  }
}
