import { isCustomName, isValidResourceClass, STANDARD_TRAITS, type ListProvidersFilter, type PlacementService } from '@novum/core'
import { PLACEMENT_ERROR_CODES, PlacementError, placementBadRequest } from '../errors.js'
import { canonicalUuid, lastOf, parseMemberOf, parseRequired, parseResources } from '../query.js'
import { authorize, bodyOf, checkAccept, noContent, param, providerView, queryOf, requireJson, type PlacementRoutes } from '../route-support.js'
import { GET_RPS_1_0, GET_RPS_1_14, GET_RPS_1_18, GET_RPS_1_3, GET_RPS_1_4, POST_RP, POST_RP_1_14, PUT_RP, PUT_RP_1_14 } from '../schemas.js'

const POLICY = 'placement:resource_providers'

/**
 * The trait names among `names` that do not exist (custom traits nobody created, or names that are not traits);
 * Placement answers `No such trait(s)` for them.
 */
export async function missingTraits(placement: PlacementService, names: readonly string[]): Promise<string[]> {
  // Standard (os-traits) names always exist; only others need a look at the database.
  const others = [...new Set(names)].filter((n) => !STANDARD_TRAITS.has(n))
  if (others.length === 0) return []
  const known = new Set(await placement.listTraits({ names: others }))
  return others.filter((n) => !known.has(n))
}

/** A 404 for an unknown provider, in Placement's words. */
export function providerNotFound(uuid: string, suffix = ''): PlacementError {
  return new PlacementError(404, `No resource provider with uuid ${uuid} found${suffix}`, { code: PLACEMENT_ERROR_CODES.RESOURCE_PROVIDER_NOT_FOUND })
}

/**
 * Resource providers (`handlers/resource_provider.py`): list with filters by microversion (`name`, `uuid`;
 * `member_of` 1.3, repeated 1.24, forbidden 1.32; `resources` 1.4; `in_tree` 1.14; `required` 1.18, forbidden
 * 1.22, `in:` 1.39), create (201 without a body, 200 with the provider from 1.20; `parent_provider_uuid` 1.14),
 * show, update (name; parent 1.14, re-parent and un-parent 1.37), delete (409 while it has allocations or
 * children).
 */
export const resourceProviderRoutes: PlacementRoutes = (app, { placement, schemas }) => {
  app.get('/resource_providers', async (request) => {
    authorize(request, `${POLICY}:list`)
    checkAccept(request)
    const minor = request.placementVersion
    const query = queryOf(request)
    schemas.query(minor >= 18 ? GET_RPS_1_18 : minor >= 14 ? GET_RPS_1_14 : minor >= 4 ? GET_RPS_1_4 : minor >= 3 ? GET_RPS_1_3 : GET_RPS_1_0, query)
    const filter: { -readonly [K in keyof ListProvidersFilter]: ListProvidersFilter[K] } = {}
    const name = lastOf(query, 'name')
    if (name !== undefined) filter.name = name
    const uuid = lastOf(query, 'uuid')
    if (uuid !== undefined) filter.uuid = canonicalUuid(uuid)
    if (query['member_of']) {
      const aggs = parseMemberOf(query['member_of'], minor)
      filter.memberOf = aggs.memberOf
      filter.forbiddenAggregates = aggs.forbidden
    }
    if (query['required']) {
      const traits = parseRequired(query['required'], minor)
      const missing = await missingTraits(placement, [...traits.required, ...traits.anyOf.flat(), ...traits.forbidden])
      if (missing.length) throw placementBadRequest(`Invalid trait(s) in "required" parameter: No such trait(s): ${missing.join(', ')}.`)
      filter.requiredTraits = traits.required
      filter.anyTraits = traits.anyOf
      filter.forbiddenTraits = traits.forbidden
    }
    const inTree = lastOf(query, 'in_tree')
    if (inTree !== undefined) {
      // A list filtered by an unknown provider's tree is simply empty.
      if (!(await placement.getProvider(canonicalUuid(inTree)))) return { resource_providers: [] }
      filter.inTree = canonicalUuid(inTree)
    }
    const resources = lastOf(query, 'resources')
    if (resources !== undefined) {
      const wanted = parseResources(resources)
      for (const rc of Object.keys(wanted)) {
        if (!isValidResourceClass(rc) || (isCustomName(rc) && !(await placement.hasResourceClass(rc)))) {
          throw placementBadRequest(`Invalid resource class in resources parameter: No such resource class ${rc}.`)
        }
      }
      filter.resources = wanted
    }
    const providers = await placement.listProviders(filter)
    return { resource_providers: providers.map((rp) => providerView(rp, minor)) }
  })

  app.post('/resource_providers', async (request, reply) => {
    requireJson(request)
    authorize(request, `${POLICY}:create`)
    const minor = request.placementVersion
    const data = schemas.body<{ name: string; uuid?: string; parent_provider_uuid?: string | null }>(minor >= 14 ? POST_RP_1_14 : POST_RP, bodyOf(request))
    const uuid = data.uuid ? canonicalUuid(data.uuid) : crypto.randomUUID()
    const parent = data.parent_provider_uuid ? canonicalUuid(data.parent_provider_uuid) : null
    if (parent !== null && !(await placement.getProvider(parent))) {
      throw placementBadRequest(`Unable to create resource provider "${data.name}", ${uuid}: parent provider UUID does not exist.`)
    }
    const rp = await placement.createProvider({ name: data.name, uuid, parentProviderUuid: parent })
    reply.header('Location', `/resource_providers/${rp.uuid}`)
    if (minor >= 20) return providerView(rp, minor)
    return noContent(reply, 201)
  })

  app.get('/resource_providers/:uuid', async (request) => {
    authorize(request, `${POLICY}:show`)
    checkAccept(request)
    const uuid = param(request, 'uuid')
    const rp = await placement.getProvider(uuid)
    if (!rp) throw providerNotFound(uuid)
    return providerView(rp, request.placementVersion)
  })

  app.put('/resource_providers/:uuid', async (request) => {
    requireJson(request)
    authorize(request, `${POLICY}:update`)
    const minor = request.placementVersion
    const uuid = param(request, 'uuid')
    const rp = await placement.getProvider(uuid)
    if (!rp) throw providerNotFound(uuid)
    const data = schemas.body<{ name: string; parent_provider_uuid?: string | null }>(minor >= 14 ? PUT_RP_1_14 : PUT_RP, bodyOf(request))
    let parent: string | null | undefined
    if (data.parent_provider_uuid !== undefined) {
      const wanted = data.parent_provider_uuid === null ? null : canonicalUuid(data.parent_provider_uuid)
      if (wanted !== rp.parentProviderUuid) {
        if (minor < 37 && rp.parentProviderUuid !== null) {
          const what = wanted === null ? 'un-parenting' : 're-parenting'
          throw placementBadRequest(`Unable to save resource provider ${uuid}: Object action update failed because: ${what} a provider is not currently allowed.`)
        }
        if (wanted !== null && (wanted === uuid || !(await placement.getProvider(wanted)))) {
          const why = wanted === uuid ? 'creating loop in the provider tree is not allowed.' : 'parent provider UUID does not exist.'
          throw placementBadRequest(`Unable to save resource provider ${uuid}: Object action update failed because: ${why}`)
        }
        parent = wanted
      }
    }
    const updated = await placement.updateProvider(uuid, { name: data.name, ...(parent !== undefined ? { parentProviderUuid: parent } : {}) })
    return providerView(updated, minor)
  })

  app.delete('/resource_providers/:uuid', async (request, reply) => {
    authorize(request, `${POLICY}:delete`)
    const uuid = param(request, 'uuid')
    if (!(await placement.getProvider(uuid))) throw providerNotFound(uuid, ' for delete')
    await placement.deleteProvider(uuid)
    return noContent(reply)
  })
}
