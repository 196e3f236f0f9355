import { requireVersion } from '../microversion.js'
import { lastOf } from '../query.js'
import { authorize, checkAccept, param, queryOf, type PlacementRoutes } from '../route-support.js'
import { GET_USAGES_1_38, GET_USAGES_1_9 } from '../schemas.js'
import { providerNotFound } from './resource-providers.js'

/**
 * Usages (`handlers/usage.py`): a provider's usage per class (every class it has inventory of), and a project's
 * (or project and user's) total usage (1.9), grouped by consumer type with `consumer_count` from 1.38.
 */
export const usageRoutes: PlacementRoutes = (app, { placement, schemas }) => {
  app.get('/resource_providers/:uuid/usages', async (request) => {
    authorize(request, 'placement:resource_providers:usages')
    checkAccept(request)
    const uuid = param(request, 'uuid')
    if (!(await placement.getProvider(uuid))) throw providerNotFound(uuid)
    const { resourceProviderGeneration, usages } = await placement.getProviderUsages(uuid)
    return { resource_provider_generation: resourceProviderGeneration, usages }
  })

  app.get('/usages', async (request) => {
    requireVersion(request, 9)
    authorize(request, 'placement:usages')
    checkAccept(request)
    const minor = request.placementVersion
    const query = queryOf(request)
    schemas.query(minor >= 38 ? GET_USAGES_1_38 : GET_USAGES_1_9, query)
    const projectId = lastOf(query, 'project_id') as string
    const userId = lastOf(query, 'user_id')
    const filter = { projectId, ...(userId !== undefined ? { userId } : {}) }
    if (minor < 38) return { usages: await placement.getUsages(filter) }
    const consumerType = lastOf(query, 'consumer_type')
    const byType = await placement.getUsagesByConsumerType({ ...filter, ...(consumerType !== undefined ? { consumerType } : {}) })
    const usages: Record<string, Record<string, number>> = {}
    for (const [type, u] of Object.entries(byType)) usages[type] = { ...u.usages, consumer_count: u.consumerCount }
    return { usages }
  })
}
