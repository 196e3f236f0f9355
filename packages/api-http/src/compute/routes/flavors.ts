import type { FastifyRequest } from 'fastify'
import type { Flavor, FlavorService, Policy } from '@novum/core'
import { contextOf } from '../../common/auth.js'
import { badRequest } from '../../common/http-error.js'
import type { JsonSchema } from '../../common/validation.js'
import type { ComputeLinks } from '../links.js'
import type { ComputeRoutesFactory } from '../compute-app.js'
import { mv, type Microversion } from '../microversion.js'
import { actionOf, boolFromString, intParam, lastParam, multi, NON_NEGATIVE_INT, queryValidator, versionedBody } from '../params.js'

const V2_55 = mv('2.55')
const V2_61 = mv('2.61')
const V2_75 = mv('2.75')

const SORT_KEYS = ['created_at', 'description', 'disabled', 'ephemeral_gb', 'flavorid', 'id', 'is_public', 'memory_mb', 'name', 'root_gb', 'rxtx_factor', 'swap', 'updated_at', 'vcpu_weight', 'vcpus']

const NAME: JsonSchema = { type: 'string', minLength: 1, maxLength: 255, format: 'name' }
const FLAVOR_PARAM_POSITIVE: JsonSchema = { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1, maximum: 0x7fffffff }
const FLAVOR_PARAM_NON_NEGATIVE: JsonSchema = { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 0, maximum: 0x7fffffff }
const BOOLEAN: JsonSchema = {
  type: ['boolean', 'string'],
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'],
}
const DESCRIPTION: JsonSchema = { type: ['string', 'null'], minLength: 0, maxLength: 65535, pattern: '^[^\\p{C}\\p{Zl}\\p{Zp}]*$' }

function createSchema(withDescription: boolean): JsonSchema {
  return {
    type: 'object',
    properties: {
      flavor: {
        type: 'object',
        properties: {
          name: NAME,
          id: { type: ['string', 'number', 'null'], minLength: 1, maxLength: 255, pattern: '^(?! )[a-zA-Z0-9. _-]+(?<! )$' },
          ram: FLAVOR_PARAM_POSITIVE,
          vcpus: FLAVOR_PARAM_POSITIVE,
          disk: FLAVOR_PARAM_NON_NEGATIVE,
          'OS-FLV-EXT-DATA:ephemeral': FLAVOR_PARAM_NON_NEGATIVE,
          swap: FLAVOR_PARAM_NON_NEGATIVE,
          rxtx_factor: { type: ['number', 'string'], pattern: '^[0-9]+(\\.[0-9]+)?$', minimum: 0, exclusiveMinimum: true, maximum: 3.40282e38 },
          'os-flavor-access:is_public': BOOLEAN,
          ...(withDescription ? { description: DESCRIPTION } : {}),
        },
        required: ['name', 'ram', 'vcpus', 'disk'],
        additionalProperties: false,
      },
    },
    required: ['flavor'],
    additionalProperties: false,
  }
}

const UPDATE_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    flavor: { type: 'object', properties: { description: DESCRIPTION }, required: ['description'], additionalProperties: false },
  },
  required: ['flavor'],
  additionalProperties: false,
}

const SPEC_KEY = '^[a-zA-Z0-9-_:. ]{1,255}$'
const EXTRA_SPECS: JsonSchema = {
  type: 'object',
  patternProperties: { [SPEC_KEY]: { type: ['string', 'number'], maxLength: 255 } },
  additionalProperties: false,
}
const EXTRA_SPECS_CREATE: JsonSchema = { type: 'object', properties: { extra_specs: EXTRA_SPECS }, required: ['extra_specs'], additionalProperties: false }
const EXTRA_SPECS_UPDATE: JsonSchema = { ...EXTRA_SPECS, minProperties: 1, maxProperties: 1 }

const TENANT: JsonSchema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-]*$' }
const ADD_TENANT_ACCESS: JsonSchema = {
  type: 'object',
  properties: { addTenantAccess: { type: 'object', properties: { tenant: TENANT }, required: ['tenant'], additionalProperties: false } },
  required: ['addTenantAccess'],
  additionalProperties: false,
}
const REMOVE_TENANT_ACCESS: JsonSchema = {
  type: 'object',
  properties: { removeTenantAccess: { type: 'object', properties: { tenant: TENANT }, required: ['tenant'], additionalProperties: false } },
  required: ['removeTenantAccess'],
  additionalProperties: false,
}

/** What the flavor routes call. */
export interface FlavorRouteServices {
  readonly flavors: FlavorService
  readonly policy: Policy
}

/** Nova's flavor `basic` view (`GET /flavors`): id, name, links, and `description` from 2.55. */
export function flavorBasicView(request: FastifyRequest, links: ComputeLinks, f: Flavor): Record<string, unknown> {
  return {
    id: f.id,
    name: f.name,
    links: links.pair(request, 'flavors', f.id),
    ...(request.microversion >= V2_55 ? { description: f.description } : {}),
  }
}

/**
 * Nova's flavor `show` view: `swap` is `""` for none before 2.75 and 0 after, `rxtx_factor` `""` when unset,
 * `description` from 2.55, `extra_specs` from 2.61 when policy lets the caller read them.
 */
export function flavorDetailView(request: FastifyRequest, links: ComputeLinks, f: Flavor, includeExtraSpecs: boolean): Record<string, unknown> {
  const version: Microversion = request.microversion
  return {
    id: f.id,
    name: f.name,
    ram: f.memoryMb,
    disk: f.rootGb,
    swap: version >= V2_75 ? f.swapMb || 0 : f.swapMb || '',
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeralGb,
    'OS-FLV-DISABLED:disabled': f.disabled,
    vcpus: f.vcpus,
    'os-flavor-access:is_public': f.isPublic,
    rxtx_factor: f.rxtxFactor || '',
    links: links.pair(request, 'flavors', f.id),
    ...(version >= V2_55 ? { description: f.description } : {}),
    ...(includeExtraSpecs ? { extra_specs: f.extraSpecs } : {}),
  }
}

function toInt(v: unknown): number {
  return typeof v === 'number' ? v : Number.parseInt(String(v), 10)
}

/**
 * Flavors (`flavors.py`, `flavor_manage.py`, `flavors_extraspecs.py`, `flavor_access.py`): list, detail, show,
 * create (admin, 200), update description (2.55), delete (202), extra specs CRUD and tenant access.
 */
export function flavorRoutes(services: FlavorRouteServices): ComputeRoutesFactory {
  return ({ schemas, links, maxLimit }) => {
    const listQuery = queryValidator(schemas, {
      limit: multi(NON_NEGATIVE_INT),
      marker: multi({ type: 'string' }),
      is_public: multi({ type: 'string' }),
      minRam: multi({ type: 'string' }),
      minDisk: multi({ type: 'string' }),
      sort_key: multi({ type: 'string', enum: SORT_KEYS }),
      sort_dir: multi({ type: 'string', enum: ['asc', 'desc'] }),
    })
    const validateCreate = versionedBody(schemas, [
      { min: mv('2.1'), max: mv('2.54'), value: createSchema(false) },
      { min: V2_55, value: createSchema(true) },
    ])
    const validateUpdate = versionedBody(schemas, [{ min: V2_55, value: UPDATE_SCHEMA }])
    const validateSpecsCreate = schemas.body(EXTRA_SPECS_CREATE)
    const validateSpecsUpdate = schemas.body(EXTRA_SPECS_UPDATE)
    const validateAdd = schemas.body(ADD_TENANT_ACCESS)
    const validateRemove = schemas.body(REMOVE_TENANT_ACCESS)
    const { flavors, policy } = services

    const showExtraSpecs = (request: FastifyRequest): boolean =>
      request.microversion >= V2_61 && policy.check(contextOf(request), 'os_compute_api:os-flavor-extra-specs:index', {})

    const list = async (request: FastifyRequest, detail: boolean) => {
      const ctx = contextOf(request)
      const q = listQuery(request.microversion, request.query)
      const minRam = lastParam(q, 'minRam')
      const minDisk = lastParam(q, 'minDisk')
      const isPublicParam = lastParam(q, 'is_public')
      let isPublic: boolean | null | undefined
      if (ctx.isAdmin && isPublicParam !== undefined) {
        if (isPublicParam.toLowerCase() === 'none') isPublic = null
        else {
          isPublic = boolFromString(isPublicParam)
          if (isPublic === undefined) throw badRequest(`Invalid is_public filter [${isPublicParam}]`)
        }
      }
      const parseInt10 = (name: string, v: string | undefined): number | undefined => {
        if (v === undefined) return undefined
        if (!/^\s*[-+]?\d+\s*$/.test(v)) throw badRequest(`Invalid ${name} filter [${v}]`)
        return Number.parseInt(v, 10)
      }
      const limitParam = intParam(lastParam(q, 'limit'))
      const limit = Math.min(maxLimit, limitParam || maxLimit)
      const marker = lastParam(q, 'marker')
      const sortKey = lastParam(q, 'sort_key')
      const sortDir = lastParam(q, 'sort_dir') as 'asc' | 'desc' | undefined
      const minRamValue = parseInt10('minRam', minRam)
      const minDiskValue = parseInt10('minDisk', minDisk)
      const result = await flavors.list(ctx, {
        ...(minRamValue !== undefined ? { minRam: minRamValue } : {}),
        ...(minDiskValue !== undefined ? { minDisk: minDiskValue } : {}),
        ...(isPublic !== undefined ? { isPublic } : {}),
        ...(sortKey ? { sortKey } : {}),
        ...(sortDir ? { sortDir } : {}),
        ...(marker !== undefined ? { marker } : {}),
        limit,
      })
      const extra = detail && showExtraSpecs(request)
      const body: Record<string, unknown> = {
        flavors: result.map((f) => (detail ? flavorDetailView(request, links, f, extra) : flavorBasicView(request, links, f))),
      }
      const next = links.collection(request, detail ? 'flavors/detail' : 'flavors', result, limit)
      if (next.length) body.flavors_links = next
      return body
    }

    return {
      name: 'flavors',
      register(app) {
        app.get('/flavors', (request) => list(request, false))
        app.get('/flavors/detail', (request) => list(request, true))
        app.get('/flavors/:flavor_id', async (request) => {
          const { flavor_id } = request.params as { flavor_id: string }
          const flavor = await flavors.get(contextOf(request), flavor_id)
          return { flavor: flavorDetailView(request, links, flavor, showExtraSpecs(request)) }
        })
        app.post('/flavors', async (request) => {
          validateCreate(request.microversion, request.body)
          const v = (request.body as { flavor: Record<string, unknown> }).flavor
          const isPublicValue = v['os-flavor-access:is_public']
          const flavor = await flavors.create(contextOf(request), {
            name: v.name as string,
            ram: toInt(v.ram),
            vcpus: toInt(v.vcpus),
            disk: toInt(v.disk),
            id: v.id === undefined || v.id === null ? null : String(v.id),
            ...(v['OS-FLV-EXT-DATA:ephemeral'] !== undefined ? { ephemeral: toInt(v['OS-FLV-EXT-DATA:ephemeral']) } : {}),
            ...(v.swap !== undefined ? { swap: toInt(v.swap) } : {}),
            ...(v.rxtx_factor !== undefined ? { rxtxFactor: Number(v.rxtx_factor) } : {}),
            ...(isPublicValue !== undefined ? { isPublic: boolFromString(isPublicValue as string | boolean) !== false } : {}),
            ...(request.microversion >= V2_55 && v.description !== undefined ? { description: v.description as string | null } : {}),
          })
          return { flavor: flavorDetailView(request, links, flavor, showExtraSpecs(request)) }
        })
        app.put('/flavors/:flavor_id', async (request) => {
          validateUpdate(request.microversion, request.body)
          const { flavor_id } = request.params as { flavor_id: string }
          const description = (request.body as { flavor: { description: string | null } }).flavor.description
          const flavor = await flavors.update(contextOf(request), flavor_id, { description })
          return { flavor: flavorDetailView(request, links, flavor, showExtraSpecs(request)) }
        })
        app.delete('/flavors/:flavor_id', async (request, reply) => {
          const { flavor_id } = request.params as { flavor_id: string }
          await flavors.delete(contextOf(request), flavor_id)
          return reply.code(202).send()
        })

        app.get('/flavors/:flavor_id/os-extra_specs', async (request) => {
          const { flavor_id } = request.params as { flavor_id: string }
          return { extra_specs: await flavors.getExtraSpecs(contextOf(request), flavor_id) }
        })
        app.post('/flavors/:flavor_id/os-extra_specs', async (request) => {
          validateSpecsCreate(request.body)
          const { flavor_id } = request.params as { flavor_id: string }
          const specs = (request.body as { extra_specs: Record<string, string | number> }).extra_specs
          checkNumericSpecLengths(specs)
          await flavors.setExtraSpecs(contextOf(request), flavor_id, specs)
          return request.body
        })
        app.get('/flavors/:flavor_id/os-extra_specs/:key', async (request) => {
          const { flavor_id, key } = request.params as { flavor_id: string; key: string }
          return { [key]: await flavors.getExtraSpec(contextOf(request), flavor_id, key) }
        })
        app.put('/flavors/:flavor_id/os-extra_specs/:key', async (request) => {
          validateSpecsUpdate(request.body)
          const { flavor_id, key } = request.params as { flavor_id: string; key: string }
          const body = request.body as Record<string, string | number>
          checkNumericSpecLengths(body)
          const value = body[key]
          if (value === undefined) throw badRequest('Request body and URI mismatch')
          await flavors.updateExtraSpec(contextOf(request), flavor_id, key, value)
          return body
        })
        app.delete('/flavors/:flavor_id/os-extra_specs/:key', async (request, reply) => {
          const { flavor_id, key } = request.params as { flavor_id: string; key: string }
          await flavors.deleteExtraSpec(contextOf(request), flavor_id, key)
          return reply.code(200).send()
        })

        app.get('/flavors/:flavor_id/os-flavor-access', async (request) => {
          const { flavor_id } = request.params as { flavor_id: string }
          const access = await flavors.listAccess(contextOf(request), flavor_id)
          return { flavor_access: access.map((a) => ({ flavor_id: a.flavorId, tenant_id: a.tenantId })) }
        })
        app.post('/flavors/:flavor_id/action', async (request) => {
          const { flavor_id } = request.params as { flavor_id: string }
          const body = request.body as Record<string, { tenant: string }>
          const ctx = contextOf(request)
          const action = actionOf(body)
          if (action === 'addTenantAccess') {
            validateAdd(body)
            const access = await flavors.addAccess(ctx, flavor_id, (body.addTenantAccess as { tenant: string }).tenant)
            return { flavor_access: access.map((a) => ({ flavor_id: a.flavorId, tenant_id: a.tenantId })) }
          }
          if (action === 'removeTenantAccess') {
            validateRemove(body)
            const access = await flavors.removeAccess(ctx, flavor_id, (body.removeTenantAccess as { tenant: string }).tenant)
            return { flavor_access: access.map((a) => ({ flavor_id: a.flavorId, tenant_id: a.tenantId })) }
          }
          throw badRequest(`There is no such action: ${action}`)
        })
      },
    }
  }
}

function checkNumericSpecLengths(specs: Readonly<Record<string, unknown>>): void {
  for (const value of Object.values(specs)) {
    if (typeof value === 'number' && String(value).length > 255) {
      throw badRequest(`Invalid input for field/attribute extra_specs value. Value: ${String(value)}. It must be at most 255 characters long`)
    }
  }
}
