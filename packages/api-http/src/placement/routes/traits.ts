import { ComputeError, isCustomName, STANDARD_TRAITS, type ListTraitsFilter } from '@novum/core'
import { PLACEMENT_ERROR_CODES, PlacementError, placementBadRequest } from '../errors.js'
import { requireVersion } from '../microversion.js'
import { lastOf, parseAssociated } from '../query.js'
import { authorize, bodyOf, checkAccept, noContent, param, queryOf, requireJson, type PlacementRoutes } from '../route-support.js'
import { CUSTOM_RC_PATTERN, LIST_TRAITS_QUERY, SET_TRAITS_FOR_RP } from '../schemas.js'
import { missingTraits, providerNotFound } from './resource-providers.js'

const CUSTOM = new RegExp(CUSTOM_RC_PATTERN)

/**
 * Traits (`handlers/trait.py`, 1.6): the trait list (`name=in:A,B` / `name=startswith:P`, `associated`), one
 * trait (GET 204/404; PUT creates a `CUSTOM_*` one, 201 new / 204 existing; DELETE a custom one, 409 while in
 * use, 400 for a standard one), and a provider's traits (GET, PUT replacing them with a generation check, DELETE).
 */
export const traitRoutes: PlacementRoutes = (app, { placement, schemas }) => {
  app.get('/traits', async (request) => {
    requireVersion(request, 6)
    authorize(request, 'placement:traits:list')
    checkAccept(request)
    const query = queryOf(request)
    schemas.query(LIST_TRAITS_QUERY, query)
    const filter: { -readonly [K in keyof ListTraitsFilter]: ListTraitsFilter[K] } = {}
    const name = lastOf(query, 'name')
    if (name !== undefined) {
      const colon = name.indexOf(':')
      if (colon < 0) {
        throw placementBadRequest(`Badly formatted name parameter. Expected name query string parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "${name}"`)
      }
      const op = name.slice(0, colon)
      const value = name.slice(colon + 1)
      if (op === 'in') filter.names = value.split(',')
      else if (op === 'startswith') filter.startsWith = value
    }
    const associated = lastOf(query, 'associated')
    if (associated !== undefined) filter.associated = parseAssociated(associated)
    return { traits: await placement.listTraits(filter) }
  })

  app.get('/traits/:name', async (request, reply) => {
    requireVersion(request, 6)
    authorize(request, 'placement:traits:show')
    const name = param(request, 'name')
    if ((await missingTraits(placement, [name])).length) throw new PlacementError(404, `No such trait(s): ${name}.`)
    return noContent(reply)
  })

  app.put('/traits/:name', async (request, reply) => {
    requireVersion(request, 6)
    authorize(request, 'placement:traits:update')
    const name = param(request, 'name')
    if (name.length > 255 || !CUSTOM.test(name)) {
      throw placementBadRequest('The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"')
    }
    const outcome = await placement.createTrait(name)
    reply.header('Location', `/traits/${name}`)
    if (request.placementVersion >= 15) reply.header('Cache-Control', 'no-cache').header('Last-Modified', new Date().toUTCString())
    return noContent(reply, outcome === 'created' ? 201 : 204)
  })

  app.delete('/traits/:name', async (request, reply) => {
    requireVersion(request, 6)
    authorize(request, 'placement:traits:delete')
    const name = param(request, 'name')
    if ((await missingTraits(placement, [name])).length) throw new PlacementError(404, `No such trait(s): ${name}.`)
    if (STANDARD_TRAITS.has(name) || !isCustomName(name)) throw placementBadRequest(`Cannot delete standard trait ${name}.`)
    try {
      await placement.deleteTrait(name)
    } catch (err) {
      if (ComputeError.is(err, 'CONFLICT')) throw new PlacementError(409, `The trait ${name} is in use by a resource provider.`)
      throw err
    }
    return noContent(reply)
  })

  app.get('/resource_providers/:uuid/traits', async (request) => {
    requireVersion(request, 6)
    authorize(request, 'placement:resource_providers:traits:list')
    checkAccept(request)
    const uuid = param(request, 'uuid')
    if (!(await placement.getProvider(uuid))) throw providerNotFound(uuid)
    const { traits, resourceProviderGeneration } = await placement.getTraits(uuid)
    return { traits, resource_provider_generation: resourceProviderGeneration }
  })

  app.put('/resource_providers/:uuid/traits', async (request) => {
    requireVersion(request, 6)
    requireJson(request)
    authorize(request, 'placement:resource_providers:traits:update')
    const uuid = param(request, 'uuid')
    const data = schemas.body<{ traits: string[]; resource_provider_generation: number }>(SET_TRAITS_FOR_RP, bodyOf(request))
    const rp = await placement.getProvider(uuid)
    if (!rp) throw providerNotFound(uuid)
    if (rp.generation !== data.resource_provider_generation) {
      throw new PlacementError(409, "Resource provider's generation already changed. Please update the generation and try again.", { code: PLACEMENT_ERROR_CODES.CONCURRENT_UPDATE })
    }
    const missing = await missingTraits(placement, data.traits)
    if (missing.length) throw placementBadRequest(`No such trait ${missing.join(', ')}`)
    const result = await placement.setTraits(uuid, data.resource_provider_generation, data.traits)
    return { traits: result.traits, resource_provider_generation: result.resourceProviderGeneration }
  })

  app.delete('/resource_providers/:uuid/traits', async (request, reply) => {
    requireVersion(request, 6)
    authorize(request, 'placement:resource_providers:traits:delete')
    const uuid = param(request, 'uuid')
    const rp = await placement.getProvider(uuid)
    if (!rp) throw providerNotFound(uuid)
    await placement.deleteTraits(uuid, rp.generation)
    return noContent(reply)
  })
}
