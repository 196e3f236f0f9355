import type { FastifyRequest } from 'fastify'
import { LEGACY_NETWORK_QUOTAS, type AbsoluteLimits, type QuotaResource, type QuotaService } from '@novum/core'
import { contextOf } from '../../common/auth.js'
import { badRequest } from '../../common/http-error.js'
import type { JsonSchema } from '../../common/validation.js'
import type { ComputeRoutesFactory } from '../compute-app.js'
import { mv } from '../microversion.js'
import { boolFromString, lastParam, multi, queryValidator, versionedBody } from '../params.js'

const V2_36 = mv('2.36')
const V2_39 = mv('2.39')
const V2_57 = mv('2.57')

/** Nova's quota resources in `QUOTAS.resources` order (the network ones last, shown only up to 2.35). */
const RESOURCE_ORDER: readonly string[] = [
  'instances', 'cores', 'ram', 'metadata_items', 'injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes',
  'key_pairs', 'server_groups', 'server_group_members', 'fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules',
]
const NETWORK_QUOTAS = new Set(['fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules'])
const INJECTED = new Set(['injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes'])

/** Whether a quota resource is shown at a microversion (network quotas ≤ 2.35, injected files ≤ 2.56). */
function shownAt(resource: string, version: number): boolean {
  if (NETWORK_QUOTAS.has(resource)) return version < V2_36
  if (INJECTED.has(resource)) return version < V2_57
  return true
}

const COMMON_QUOTA: JsonSchema = { type: ['integer', 'string'], pattern: '^-?[0-9]+$', minimum: -1, maximum: 0x7fffffff }
const BOOLEAN: JsonSchema = {
  type: ['boolean', 'string'],
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'],
}

function updateSchema(version: 'v21' | 'v236' | 'v257'): JsonSchema {
  const props: Record<string, JsonSchema> = {}
  for (const r of RESOURCE_ORDER) {
    if (version !== 'v21' && NETWORK_QUOTAS.has(r)) continue
    if (version === 'v257' && INJECTED.has(r)) continue
    props[r] = COMMON_QUOTA
  }
  if (version === 'v21') props.networks = COMMON_QUOTA
  props.force = BOOLEAN
  return {
    type: 'object',
    properties: { quota_set: { type: 'object', properties: props, additionalProperties: false } },
    required: ['quota_set'],
    additionalProperties: false,
  }
}

/** What the quota and limits routes call. */
export interface QuotaRouteServices {
  readonly quotas: QuotaService
}

/** A quota set (limits by resource) in Nova's key order, with the keys of this microversion, and `id` first. */
export function quotaSetView<V>(projectId: string | null, values: Readonly<Record<string, V>>, version: number, legacy: (resource: string) => V | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = projectId === null ? {} : { id: projectId }
  for (const r of RESOURCE_ORDER) {
    if (!shownAt(r, version)) continue
    const v = r in values ? values[r] : legacy(r)
    if (v !== undefined) out[r] = v
  }
  return out
}

/** `GET /limits`'s `absolute` object with the keys of this microversion (2.36, 2.39 and 2.57 drop some). */
export function absoluteLimitsView(l: AbsoluteLimits, version: number): Record<string, number> {
  const out: Record<string, number> = {
    maxTotalRAMSize: l.maxTotalRAMSize,
    maxTotalInstances: l.maxTotalInstances,
    maxTotalCores: l.maxTotalCores,
    maxTotalKeypairs: l.maxTotalKeypairs,
    maxServerMeta: l.maxServerMeta,
    maxServerGroups: l.maxServerGroups,
    maxServerGroupMembers: l.maxServerGroupMembers,
  }
  if (version < V2_39) out.maxImageMeta = l.maxImageMeta
  if (version < V2_57) {
    out.maxPersonality = l.maxPersonality
    out.maxPersonalitySize = l.maxPersonalitySize
  }
  if (version < V2_36) {
    out.maxTotalFloatingIps = l.maxTotalFloatingIps
    out.maxSecurityGroups = l.maxSecurityGroups
    out.maxSecurityGroupRules = l.maxSecurityGroupRules
  }
  out.totalRAMUsed = l.totalRAMUsed
  out.totalCoresUsed = l.totalCoresUsed
  out.totalInstancesUsed = l.totalInstancesUsed
  out.totalServerGroupsUsed = l.totalServerGroupsUsed
  if (version < V2_36) {
    out.totalFloatingIpsUsed = l.totalFloatingIpsUsed
    out.totalSecurityGroupsUsed = l.totalSecurityGroupsUsed
  }
  return out
}

const legacyLimit = (r: string): number | undefined => (LEGACY_NETWORK_QUOTAS as Readonly<Record<string, number>>)[r]

/**
 * `GET /limits` (`limits.py`) and `os-quota-sets` (`quota_sets.py`): show, detail, defaults, update (admin) and
 * delete (admin, 202), each with the keys of the negotiated microversion.
 */
export function quotaRoutes(services: QuotaRouteServices): ComputeRoutesFactory {
  return ({ schemas }) => {
    const limitsQuery = queryValidator(schemas, { tenant_id: multi({ type: 'string' }) })
    const quotaQuery = queryValidator(schemas, { user_id: multi({ type: 'string' }) })
    const validateUpdate = versionedBody(schemas, [
      { min: mv('2.1'), max: mv('2.35'), value: updateSchema('v21') },
      { min: V2_36, max: mv('2.56'), value: updateSchema('v236') },
      { min: V2_57, value: updateSchema('v257') },
    ])
    const { quotas } = services
    const userOf = (request: FastifyRequest): string | undefined => {
      const q = quotaQuery(request.microversion, request.query)
      return q.user_id?.[0]
    }

    return {
      name: 'quotas',
      register(app) {
        app.get('/limits', async (request) => {
          const q = limitsQuery(request.microversion, request.query)
          const tenant = lastParam(q, 'tenant_id')
          const limits = await quotas.limits(contextOf(request), tenant)
          return { limits: { rate: [], absolute: absoluteLimitsView(limits, request.microversion) } }
        })
        app.get('/os-quota-sets/:project_id_target', async (request) => {
          const { project_id_target: id } = request.params as { project_id_target: string }
          const values = await quotas.show(contextOf(request), id, userOf(request))
          return { quota_set: quotaSetView(id, values, request.microversion, legacyLimit) }
        })
        app.get('/os-quota-sets/:project_id_target/detail', async (request) => {
          const { project_id_target: id } = request.params as { project_id_target: string }
          const detail = await quotas.detail(contextOf(request), id, userOf(request))
          const values: Record<string, { limit: number; in_use: number; reserved: number }> = {}
          for (const [r, d] of Object.entries(detail)) values[r] = { limit: d.limit, in_use: d.inUse, reserved: d.reserved }
          return {
            quota_set: quotaSetView(id, values, request.microversion, (r) => {
              const limit = legacyLimit(r)
              return limit === undefined ? undefined : { limit, in_use: 0, reserved: 0 }
            }),
          }
        })
        app.get('/os-quota-sets/:project_id_target/defaults', async (request) => {
          const { project_id_target: id } = request.params as { project_id_target: string }
          const values = await quotas.defaults(contextOf(request))
          return { quota_set: quotaSetView(id, values, request.microversion, legacyLimit) }
        })
        app.put('/os-quota-sets/:project_id_target', async (request) => {
          validateUpdate(request.microversion, request.body)
          const { project_id_target: id } = request.params as { project_id_target: string }
          const userId = userOf(request)
          const set = (request.body as { quota_set: Record<string, unknown> }).quota_set
          if ('networks' in set) throw badRequest('The networks quota has been removed')
          const force = set.force !== undefined && boolFromString(set.force as string | boolean) === true
          const values: Partial<Record<QuotaResource, number>> = {}
          for (const [k, v] of Object.entries(set)) {
            if (k === 'force' || NETWORK_QUOTAS.has(k)) continue
            if (v === null || v === '' || v === undefined) continue
            values[k as QuotaResource] = Number.parseInt(String(v), 10)
          }
          const updated = await quotas.update(contextOf(request), id, values, { force, ...(userId !== undefined ? { userId } : {}) })
          return { quota_set: quotaSetView(null, updated, request.microversion, legacyLimit) }
        })
        app.delete('/os-quota-sets/:project_id_target', async (request, reply) => {
          const { project_id_target: id } = request.params as { project_id_target: string }
          await quotas.delete(contextOf(request), id, userOf(request))
          return reply.code(202).send()
        })
      },
    }
  }
}
