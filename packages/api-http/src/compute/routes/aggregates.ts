import type { Aggregate, AggregateService } from '@novum/core'
import { contextOf } from '../../common/auth.js'
import { badRequest } from '../../common/http-error.js'
import type { JsonSchema } from '../../common/validation.js'
import type { ComputeRoutesFactory } from '../compute-app.js'
import { requireMicroversion } from '../compute-app.js'
import { mv, type Microversion } from '../microversion.js'
import { actionOf } from '../params.js'
import { strtime } from '../views/time.js'

const V2_41 = mv('2.41')
const V2_81 = mv('2.81')

/** Nova `parameter_types.name`: printable, no leading or trailing whitespace. */
const NAME: JsonSchema = { type: 'string', minLength: 1, maxLength: 255, format: 'name' }
/** Nova `parameter_types.name_with_leading_trailing_spaces` (the update schema; the name is stripped afterwards). */
const NAME_WITH_SPACES: JsonSchema = { type: 'string', minLength: 1, maxLength: 255, format: 'name_with_leading_trailing_spaces' }
/** Nova `parameter_types.az_name` or null. */
const AVAILABILITY_ZONE: JsonSchema = { oneOf: [{ type: 'string', minLength: 1, maxLength: 255, format: 'az_name' }, { type: 'null' }] }
/** Nova `parameter_types.fqdn`: a compute service host name. */
const HOST: JsonSchema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' }
/** Nova `parameter_types.metadata_with_null`. */
const METADATA_WITH_NULL: JsonSchema = {
  type: 'object',
  patternProperties: { '^[a-zA-Z0-9-_:. ]{1,255}$': { type: ['string', 'null'], maxLength: 255 } },
  additionalProperties: false,
}

/** Nova `schemas/aggregates.py` `create`. */
const CREATE: JsonSchema = {
  type: 'object',
  properties: {
    aggregate: {
      type: 'object',
      properties: { name: NAME, availability_zone: AVAILABILITY_ZONE },
      required: ['name'],
      additionalProperties: false,
    },
  },
  required: ['aggregate'],
  additionalProperties: false,
}

/** Nova `schemas/aggregates.py` `update`: a name and/or a zone. */
const UPDATE: JsonSchema = {
  type: 'object',
  properties: {
    aggregate: {
      type: 'object',
      properties: { name: NAME_WITH_SPACES, availability_zone: AVAILABILITY_ZONE },
      additionalProperties: false,
      anyOf: [{ required: ['name'] }, { required: ['availability_zone'] }],
    },
  },
  required: ['aggregate'],
  additionalProperties: false,
}

const hostAction = (action: string): JsonSchema => ({
  type: 'object',
  properties: { [action]: { type: 'object', properties: { host: HOST }, required: ['host'], additionalProperties: false } },
  required: [action],
  additionalProperties: false,
})

/** Nova `schemas/aggregates.py` `set_metadata`. */
const SET_METADATA: JsonSchema = {
  type: 'object',
  properties: { set_metadata: { type: 'object', properties: { metadata: METADATA_WITH_NULL }, required: ['metadata'], additionalProperties: false } },
  required: ['set_metadata'],
  additionalProperties: false,
}

/** Nova `schemas/aggregate_images.py` (2.81). */
const CACHE_IMAGES: JsonSchema = {
  type: 'object',
  properties: {
    cache: {
      type: ['array'],
      minItems: 1,
      items: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, additionalProperties: false, required: ['id'] },
    },
  },
  required: ['cache'],
  additionalProperties: false,
}

/** What the aggregate routes call. */
export interface AggregateRouteServices {
  readonly aggregates: AggregateService
}

/**
 * Nova `_marshall_aggregate`: id, name, availability_zone, hosts, metadata, naive timestamps, `deleted` (always
 * false: aggregates are removed, not soft-deleted) and, from 2.41, `uuid`. The create response leaves out `hosts`
 * and `metadata`, as Nova's does.
 */
export function aggregateView(aggregate: Aggregate, version: Microversion, options: { readonly withMembers?: boolean } = {}): Record<string, unknown> {
  const withMembers = options.withMembers ?? true
  return {
    id: aggregate.id,
    name: aggregate.name,
    availability_zone: aggregate.availabilityZone,
    ...(withMembers ? { hosts: [...aggregate.hosts], metadata: { ...aggregate.metadata } } : {}),
    created_at: strtime(aggregate.createdAt),
    updated_at: strtime(aggregate.updatedAt),
    deleted: false,
    deleted_at: null,
    ...(version >= V2_41 ? { uuid: aggregate.uuid } : {}),
  }
}

/**
 * Host aggregates (`aggregates.py`, admin): list, create (200), show, update (name, zone), delete (200, no body),
 * and the `add_host`, `remove_host` and `set_metadata` actions, each answering with the aggregate. From 2.81,
 * `POST /os-aggregates/{id}/images` validates its body, the policy and the aggregate, then answers 501: Novum's
 * drivers have no image pre-cache.
 */
export function aggregateRoutes(services: AggregateRouteServices): ComputeRoutesFactory {
  return ({ schemas }) => {
    const validateCreate = schemas.body(CREATE)
    const validateUpdate = schemas.body(UPDATE)
    const validateAddHost = schemas.body(hostAction('add_host'))
    const validateRemoveHost = schemas.body(hostAction('remove_host'))
    const validateSetMetadata = schemas.body(SET_METADATA)
    const validateCacheImages = schemas.body(CACHE_IMAGES)
    const { aggregates } = services
    return {
      name: 'aggregates',
      register(app) {
        app.get('/os-aggregates', async (request) => {
          const list = await aggregates.list(contextOf(request))
          return { aggregates: list.map((a) => aggregateView(a, request.microversion)) }
        })
        app.post('/os-aggregates', async (request) => {
          validateCreate(request.body)
          const body = (request.body as { aggregate: { name: string; availability_zone?: string | null } }).aggregate
          const created = await aggregates.create(contextOf(request), {
            name: body.name,
            ...(body.availability_zone !== undefined ? { availabilityZone: body.availability_zone } : {}),
          })
          return { aggregate: aggregateView(created, request.microversion, { withMembers: false }) }
        })
        app.get('/os-aggregates/:id', async (request) => {
          const { id } = request.params as { id: string }
          return { aggregate: aggregateView(await aggregates.get(contextOf(request), id), request.microversion) }
        })
        app.put('/os-aggregates/:id', async (request) => {
          validateUpdate(request.body)
          const { id } = request.params as { id: string }
          const body = (request.body as { aggregate: { name?: string; availability_zone?: string | null } }).aggregate
          const updated = await aggregates.update(contextOf(request), id, {
            ...(body.name !== undefined ? { name: body.name.trim() } : {}),
            ...(body.availability_zone !== undefined ? { availabilityZone: body.availability_zone } : {}),
          })
          return { aggregate: aggregateView(updated, request.microversion) }
        })
        app.delete('/os-aggregates/:id', async (request, reply) => {
          const { id } = request.params as { id: string }
          await aggregates.delete(contextOf(request), id)
          return reply.code(200).send()
        })
        app.post('/os-aggregates/:id/action', async (request) => {
          const { id } = request.params as { id: string }
          const action = actionOf(request.body)
          const ctx = contextOf(request)
          let aggregate: Aggregate
          switch (action) {
            case 'add_host':
              validateAddHost(request.body)
              aggregate = await aggregates.addHost(ctx, id, (request.body as { add_host: { host: string } }).add_host.host)
              break
            case 'remove_host':
              validateRemoveHost(request.body)
              aggregate = await aggregates.removeHost(ctx, id, (request.body as { remove_host: { host: string } }).remove_host.host)
              break
            case 'set_metadata':
              validateSetMetadata(request.body)
              aggregate = await aggregates.setMetadata(ctx, id, (request.body as { set_metadata: { metadata: Record<string, string | null> } }).set_metadata.metadata)
              break
            default:
              throw badRequest(`There is no such action: ${action}`)
          }
          return { aggregate: aggregateView(aggregate, request.microversion) }
        })
        app.post('/os-aggregates/:id/images', async (request) => {
          requireMicroversion(request, V2_81)
          validateCacheImages(request.body)
          const { id } = request.params as { id: string }
          const images = (request.body as { cache: { id: string }[] }).cache.map((c) => c.id)
          return aggregates.cacheImages(contextOf(request), id, images)
        })
      },
    }
  }
}
