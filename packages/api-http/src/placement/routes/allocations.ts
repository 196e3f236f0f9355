import type { FastifyRequest } from 'fastify'
import type { ConsumerRecord, PlacementService, PutAllocationsRequest } from '@novum/core'
import { PlacementError, placementBadRequest } from '../errors.js'
import { requireVersion } from '../microversion.js'
import { canonicalUuid, isUuidLike } from '../query.js'
import { authorize, bodyOf, checkAccept, noContent, param, requireJson, type PlacementRoutes } from '../route-support.js'
import {
  ALLOCATION_1_0, ALLOCATION_1_12, ALLOCATION_1_28, ALLOCATION_1_34, ALLOCATION_1_38, ALLOCATION_1_8, POST_ALLOCATIONS_1_13, POST_ALLOCATIONS_1_28,
  POST_ALLOCATIONS_1_34, POST_ALLOCATIONS_1_38,
} from '../schemas.js'

/** Placement's `[placement] incomplete_consumer_project_id` / `_user_id`: the owner of pre-1.8 allocations. */
export const INCOMPLETE_CONSUMER_ID = '00000000-0000-0000-0000-000000000000'

type Resources = Record<string, number>
type AllocationsDict = Record<string, { resources: Resources; generation?: number }>

/** One consumer's allocations as a request body gives them, after the list form (before 1.12) is converted. */
interface ConsumerBody {
  readonly allocations: AllocationsDict
  readonly project_id?: string
  readonly user_id?: string
  readonly consumer_generation?: number | null
  readonly consumer_type?: string
}

function putSchema(minor: number) {
  if (minor >= 38) return ALLOCATION_1_38
  if (minor >= 34) return ALLOCATION_1_34
  if (minor >= 28) return ALLOCATION_1_28
  if (minor >= 12) return ALLOCATION_1_12
  if (minor >= 8) return ALLOCATION_1_8
  return ALLOCATION_1_0
}

function postSchema(minor: number) {
  if (minor >= 38) return POST_ALLOCATIONS_1_38
  if (minor >= 34) return POST_ALLOCATIONS_1_34
  if (minor >= 28) return POST_ALLOCATIONS_1_28
  return POST_ALLOCATIONS_1_13
}

/**
 * Turns validated bodies into core's claims. Below 1.28 the consumer generation is not the client's to give:
 * the current one is read, so the write behaves like Placement's (last writer wins). Below 1.38 a consumer keeps
 * the type it has.
 */
async function toRequests(placement: PlacementService, minor: number, bodies: Readonly<Record<string, ConsumerBody>>): Promise<Record<string, PutAllocationsRequest>> {
  const consumers = Object.keys(bodies)
  const existing = minor < 38 ? await placement.getConsumers(consumers) : new Map<string, ConsumerRecord>()
  const out: Record<string, PutAllocationsRequest> = {}
  for (const [consumer, body] of Object.entries(bodies)) {
    const allocations: Record<string, { resources: Resources }> = {}
    for (const [rp, a] of Object.entries(body.allocations)) allocations[canonicalUuid(rp)] = { resources: a.resources }
    const record = existing.get(consumer)
    let consumerGeneration: number | null
    if (minor >= 28) consumerGeneration = body.consumer_generation ?? null
    else consumerGeneration = record ? (await placement.getAllocations(consumer)).consumerGeneration : null
    const consumerType = minor >= 38 ? body.consumer_type : (record?.consumerType ?? undefined)
    out[consumer] = {
      allocations,
      projectId: body.project_id ?? INCOMPLETE_CONSUMER_ID,
      userId: body.user_id ?? INCOMPLETE_CONSUMER_ID,
      consumerGeneration,
      ...(consumerType ? { consumerType } : {}),
    }
  }
  return out
}

/** The list form of allocations (before 1.12) as the dict form. */
function fromListForm(list: readonly { resource_provider: { uuid: string }; resources: Resources }[]): AllocationsDict {
  const out: AllocationsDict = {}
  for (const a of list) out[a.resource_provider.uuid] = { resources: a.resources }
  return out
}

function consumerUuidOf(request: FastifyRequest): string {
  const raw = param(request, 'consumer_uuid')
  if (!isUuidLike(raw)) throw placementBadRequest(`Malformed consumer_uuid: ${raw}`)
  return canonicalUuid(raw)
}

/**
 * Allocations (`handlers/allocation.py`): a consumer's (GET; PUT replacing them — list form before 1.12,
 * `project_id`/`user_id` from 1.8, `consumer_generation` from 1.28 (null for a new consumer), `consumer_type`
 * from 1.38; DELETE, 404 when there are none), several consumers' at once (POST, 1.13; an empty `allocations`
 * removes that consumer's), and a provider's (GET). Capacity failures are a 409; a stale consumer or provider
 * generation a 409 `placement.concurrent_update`; an unknown provider a 400.
 */
export const allocationRoutes: PlacementRoutes = (app, { placement, schemas }) => {
  app.get('/allocations/:consumer_uuid', async (request) => {
    authorize(request, 'placement:allocations:list')
    checkAccept(request)
    const minor = request.placementVersion
    const consumer = param(request, 'consumer_uuid')
    const current = await placement.getAllocations(consumer)
    const allocations: Record<string, { generation: number; resources: Record<string, number> }> = {}
    for (const [rp, a] of Object.entries(current.allocations)) allocations[rp] = { generation: a.generation, resources: { ...a.resources } }
    const out: Record<string, unknown> = { allocations }
    if (Object.keys(allocations).length && minor >= 12) {
      out['project_id'] = current.projectId
      out['user_id'] = current.userId
      if (minor >= 28) out['consumer_generation'] = current.consumerGeneration
      if (minor >= 38) out['consumer_type'] = (await placement.getConsumers([consumer])).get(consumer)?.consumerType ?? 'unknown'
    }
    return out
  })

  app.put('/allocations/:consumer_uuid', async (request, reply) => {
    requireJson(request)
    authorize(request, 'placement:allocations:update')
    const minor = request.placementVersion
    const consumer = consumerUuidOf(request)
    const data = schemas.body<Record<string, unknown>>(putSchema(minor), bodyOf(request))
    const body = (minor < 12 ? { ...data, allocations: fromListForm(data['allocations'] as never) } : data) as unknown as ConsumerBody
    const requests = await toRequests(placement, minor, { [consumer]: body })
    await placement.putAllocations(consumer, requests[consumer] as PutAllocationsRequest)
    return noContent(reply)
  })

  app.post('/allocations', async (request, reply) => {
    requireVersion(request, 13)
    requireJson(request)
    authorize(request, 'placement:allocations:manage')
    const minor = request.placementVersion
    const data = schemas.body<Record<string, ConsumerBody>>(postSchema(minor), bodyOf(request))
    const bodies = Object.fromEntries(Object.entries(data).map(([c, b]) => [canonicalUuid(c), b]))
    await placement.postAllocations(await toRequests(placement, minor, bodies))
    return noContent(reply)
  })

  app.delete('/allocations/:consumer_uuid', async (request, reply) => {
    authorize(request, 'placement:allocations:delete')
    const consumer = param(request, 'consumer_uuid')
    if (!(await placement.removeAllocations(consumer))) throw new PlacementError(404, `No allocations for consumer '${consumer}'`)
    return noContent(reply)
  })

  app.get('/resource_providers/:uuid/allocations', async (request) => {
    authorize(request, 'placement:resource_providers:allocations:list')
    checkAccept(request)
    const uuid = param(request, 'uuid')
    if (!(await placement.getProvider(uuid))) throw new PlacementError(404, `Resource provider '${uuid}' not found: No resource provider with uuid ${uuid} found`)
    const { allocations, resourceProviderGeneration } = await placement.getProviderAllocations(uuid)
    const out: Record<string, { resources: Record<string, number>; consumer_generation?: number | null }> = {}
    const records = request.placementVersion >= 28 ? await placement.getConsumers(Object.keys(allocations)) : null
    for (const [consumer, a] of Object.entries(allocations)) {
      out[consumer] = { resources: { ...a.resources }, ...(records ? { consumer_generation: records.get(consumer)?.generation ?? null } : {}) }
    }
    return { allocations: out, resource_provider_generation: resourceProviderGeneration }
  })

  app.post('/reshaper', async (request) => {
    requireVersion(request, 30)
    requireJson(request)
    authorize(request, 'placement:reshaper:reshape')
    throw new PlacementError(501, 'POST /reshaper is not implemented by Novum yet')
  })
}
