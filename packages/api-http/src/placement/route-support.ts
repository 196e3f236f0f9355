import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { PlacementService, ResourceProvider, Inventory } from '@novum/core'
import { contextOf } from '../common/auth.js'
import { normalizeQuery } from '../common/validation.js'
import { PlacementError } from './errors.js'
import type { PlacementQuery } from './query.js'
import type { PlacementSchemas } from './validation.js'

/** What every Placement route module gets. */
export interface PlacementRouteDeps {
  /** Placement over the database (core's `PlacementService`). */
  readonly placement: PlacementService
  /** Request validation, compiled once per schema. */
  readonly schemas: PlacementSchemas
}

/** Registers one family of Placement routes on the app's authenticated scope. */
export type PlacementRoutes = (app: FastifyInstance, deps: PlacementRouteDeps) => void

/**
 * Placement's policy check: every rule defaults to `role:admin` (Zed, `enforce_new_defaults` off), so a caller
 * without the admin role gets a 403 naming the rule.
 */
export function authorize(request: FastifyRequest, rule: string): void {
  if (!contextOf(request).isAdmin) throw new PlacementError(403, `Policy does not allow ${rule} to be performed.`)
}

/**
 * Placement's `require_content('application/json')` (and the handler's content-length check): a body needs a
 * Content-Type, and it must be `application/json`.
 */
export function requireJson(request: FastifyRequest): void {
  const ct = request.headers['content-type']
  const length = Number(request.headers['content-length'] ?? 0)
  if (!ct && length > 0) throw new PlacementError(400, 'content-type header required when content-length > 0')
  const media = (ct ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (media !== 'application/json') throw new PlacementError(415, `The media type ${media || 'None'} is not supported, use application/json`)
}

/** Placement's `check_accept('application/json')`: an explicit Accept that rules out JSON is a 406. */
export function checkAccept(request: FastifyRequest): void {
  const accept = request.headers['accept']
  if (!accept) return
  const ok = accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((x) => x.trim().toLowerCase())
    const q = params.find((p) => p.startsWith('q='))
    if (q !== undefined && Number(q.slice(2)) === 0) return false
    return type === 'application/json' || type === 'application/*' || type === '*/*'
  })
  if (!ok) throw new PlacementError(406, 'Only application/json is provided')
}

/** The request's query string as a multi-dict. */
export function queryOf(request: FastifyRequest): PlacementQuery {
  return normalizeQuery(request.query)
}

/** The JSON body (a missing body is Placement's "Malformed JSON"). */
export function bodyOf(request: FastifyRequest): unknown {
  if (request.body === undefined) throw new PlacementError(400, 'Malformed JSON: Expecting value: line 1 column 1 (char 0)')
  return request.body
}

/** Sends a 204 with no body and no content type. */
export function noContent(reply: FastifyReply, status = 204): FastifyReply {
  return reply.code(status).removeHeader('content-type').send()
}

/** A path parameter. */
export function param(request: FastifyRequest, name: string): string {
  return (request.params as Record<string, string>)[name] as string
}

/** The links of a provider: self, inventories, usages, aggregates (1.1), traits (1.6), allocations (1.11). */
export function providerLinks(uuid: string, minor: number): { rel: string; href: string }[] {
  const self = `/resource_providers/${uuid}`
  const rels = ['inventories', 'usages']
  if (minor >= 1) rels.push('aggregates')
  if (minor >= 6) rels.push('traits')
  if (minor >= 11) rels.push('allocations')
  return [{ rel: 'self', href: self }, ...rels.map((rel) => ({ rel, href: `${self}/${rel}` }))]
}

/** A provider as Placement shows it; parent and root uuids from 1.14. */
export function providerView(rp: ResourceProvider, minor: number): Record<string, unknown> {
  return {
    uuid: rp.uuid,
    name: rp.name,
    generation: rp.generation,
    links: providerLinks(rp.uuid, minor),
    ...(minor >= 14 ? { parent_provider_uuid: rp.parentProviderUuid, root_provider_uuid: rp.rootProviderUuid } : {}),
  }
}

/** One inventory in Placement's field names. */
export function inventoryView(inv: Inventory): Record<string, number> {
  return {
    total: inv.total,
    reserved: inv.reserved,
    min_unit: inv.minUnit,
    max_unit: inv.maxUnit,
    step_size: inv.stepSize,
    allocation_ratio: inv.allocationRatio,
  }
}

/** Placement's inventory defaults, applied to a request record (`INVENTORY_DEFAULTS`). */
export interface InventoryBody {
  readonly total: number
  readonly reserved?: number
  readonly min_unit?: number
  readonly max_unit?: number
  readonly step_size?: number
  readonly allocation_ratio?: number
}

/** A validated inventory record in core's shape. */
export function inventoryInput(body: InventoryBody): { total: number; reserved?: number; minUnit?: number; maxUnit?: number; stepSize?: number; allocationRatio?: number } {
  return {
    total: body.total,
    ...(body.reserved !== undefined ? { reserved: body.reserved } : {}),
    ...(body.min_unit !== undefined ? { minUnit: body.min_unit } : {}),
    ...(body.max_unit !== undefined ? { maxUnit: body.max_unit } : {}),
    ...(body.step_size !== undefined ? { stepSize: body.step_size } : {}),
    ...(body.allocation_ratio !== undefined ? { allocationRatio: body.allocation_ratio } : {}),
  }
}

/**
 * Placement's inventory capacity check (`_validate_inventory_capacity`): before 1.26 the capacity
 * `(total − reserved) × allocation_ratio` must be positive; from 1.26 reserved may equal total.
 */
export function checkInventoryCapacity(providerUuid: string, resourceClass: string, body: InventoryBody, minor: number): void {
  const capacity = (body.total - (body.reserved ?? 0)) * (body.allocation_ratio ?? 1)
  if (minor < 26 ? capacity <= 0 : capacity < 0) {
    const rule = minor < 26 ? 'capacity must be greater than 0' : 'reserved must be less than or equal to total'
    throw new PlacementError(400, `Unable to update inventory for resource provider ${providerUuid}: Invalid inventory for '${resourceClass}' on resource provider '${providerUuid}'. The reserved value is greater than or equal to total. (${rule})`)
  }
}
