import { PLACEMENT_ERROR_CODES, PlacementError } from '../errors.js'
import { requireVersion } from '../microversion.js'
import { canonicalUuid } from '../query.js'
import { authorize, bodyOf, checkAccept, param, requireJson, type PlacementRoutes } from '../route-support.js'
import { PUT_AGGREGATES_1_1, PUT_AGGREGATES_1_19 } from '../schemas.js'
import { providerNotFound } from './resource-providers.js'

const POLICY = 'placement:resource_providers:aggregates'

/**
 * Provider aggregates (`handlers/aggregate.py`, 1.1): GET and PUT (a bare list before 1.19; from 1.19 an object
 * with `resource_provider_generation`, checked, and the generation in every answer).
 */
export const aggregateRoutes: PlacementRoutes = (app, { placement, schemas }) => {
  app.get('/resource_providers/:uuid/aggregates', async (request) => {
    requireVersion(request, 1)
    authorize(request, `${POLICY}:list`)
    checkAccept(request)
    const uuid = param(request, 'uuid')
    if (!(await placement.getProvider(uuid))) throw providerNotFound(uuid)
    const { aggregates, resourceProviderGeneration } = await placement.getAggregates(uuid)
    return { aggregates, ...(request.placementVersion >= 19 ? { resource_provider_generation: resourceProviderGeneration } : {}) }
  })

  app.put('/resource_providers/:uuid/aggregates', async (request) => {
    requireVersion(request, 1)
    requireJson(request)
    authorize(request, `${POLICY}:update`)
    const minor = request.placementVersion
    const uuid = param(request, 'uuid')
    const rp = await placement.getProvider(uuid)
    if (!rp) throw providerNotFound(uuid)
    let aggregates: string[]
    let generation = rp.generation
    if (minor >= 19) {
      const data = schemas.body<{ aggregates: string[]; resource_provider_generation: number }>(PUT_AGGREGATES_1_19, bodyOf(request))
      if (data.resource_provider_generation !== rp.generation) {
        throw new PlacementError(409, "Resource provider's generation already changed. Please update the generation and try again.", { code: PLACEMENT_ERROR_CODES.CONCURRENT_UPDATE })
      }
      aggregates = data.aggregates
      generation = data.resource_provider_generation
    } else {
      aggregates = schemas.body<string[]>(PUT_AGGREGATES_1_1, bodyOf(request))
    }
    // NOTE: before 1.19 Placement neither checks nor bumps the generation here; Novum always bumps it, so the
    // candidates cache (keyed by generation) sees the change.
    const result = await placement.setAggregates(uuid, generation, aggregates.map(canonicalUuid))
    return { aggregates: result.aggregates, ...(minor >= 19 ? { resource_provider_generation: result.resourceProviderGeneration } : {}) }
  })
}
