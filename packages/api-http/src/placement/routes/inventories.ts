import { ComputeError, isValidResourceClass, type Inventory, type PlacementService } from '@novum/core'
import { PLACEMENT_ERROR_CODES, PlacementError, placementBadRequest } from '../errors.js'
import { requireVersion } from '../microversion.js'
import {
  authorize, bodyOf, checkAccept, checkInventoryCapacity, inventoryInput, inventoryView, noContent, param, requireJson, type InventoryBody,
  type PlacementRoutes,
} from '../route-support.js'
import { POST_INVENTORY, PUT_INVENTORIES, PUT_INVENTORY } from '../schemas.js'
import { providerNotFound } from './resource-providers.js'

const POLICY = 'placement:resource_providers:inventories'

/** The provider's inventories and generation, or Placement's 404. */
async function inventoriesOf(placement: PlacementService, uuid: string): Promise<{ generation: number; inventories: Readonly<Record<string, Inventory>> }> {
  if (!(await placement.getProvider(uuid))) throw providerNotFound(uuid)
  const inv = await placement.getInventories(uuid)
  return { generation: inv.resourceProviderGeneration, inventories: inv.inventories }
}

function inventoriesView(generation: number, inventories: Readonly<Record<string, Inventory>>): Record<string, unknown> {
  return { resource_provider_generation: generation, inventories: Object.fromEntries(Object.entries(inventories).map(([rc, inv]) => [rc, inventoryView(inv)])) }
}

function assertClass(uuid: string, rc: string): void {
  if (!isValidResourceClass(rc)) throw placementBadRequest(`Unknown resource class in inventory for resource provider ${uuid}: No such resource class ${rc}.`)
}

/** The custom class core found missing (a `CUSTOM_*` name never created), or undefined for any other error. */
function unknownClassOf(err: unknown): string | undefined {
  if (!ComputeError.is(err, 'INVALID') || err.details?.['reason'] !== 'unknown_resource_class') return undefined
  const rc = err.details['resourceClass']
  return typeof rc === 'string' ? rc : undefined
}

/** Runs an inventory write, turning core's "no such resource class" into Placement's 400 with `prefix`. */
async function withKnownClasses<T>(prefix: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    const rc = unknownClassOf(err)
    if (rc !== undefined) throw placementBadRequest(`${prefix}: No such resource class ${rc}.`)
    throw err
  }
}

/**
 * Inventories (`handlers/inventory.py`): all of a provider's (GET, PUT replacing all with the provider
 * generation, DELETE all from 1.5, POST one), one class's (GET, PUT, DELETE). A stale generation is a 409
 * `placement.concurrent_update`; shrinking or removing a class below its usage is a 409
 * `placement.inventory.inuse`; before 1.26 reserved must leave a positive capacity; a custom class that was
 * never created (`/resource_classes`) is a 400 "No such resource class".
 */
export const inventoryRoutes: PlacementRoutes = (app, { placement, schemas }) => {
  app.get('/resource_providers/:uuid/inventories', async (request) => {
    authorize(request, `${POLICY}:list`)
    checkAccept(request)
    const { generation, inventories } = await inventoriesOf(placement, param(request, 'uuid'))
    return inventoriesView(generation, inventories)
  })

  app.put('/resource_providers/:uuid/inventories', async (request) => {
    requireJson(request)
    authorize(request, `${POLICY}:update`)
    const uuid = param(request, 'uuid')
    if (!(await placement.getProvider(uuid))) throw providerNotFound(uuid)
    const data = schemas.body<{ resource_provider_generation: number; inventories: Record<string, InventoryBody> }>(PUT_INVENTORIES, bodyOf(request))
    for (const [rc, inv] of Object.entries(data.inventories)) {
      assertClass(uuid, rc)
      checkInventoryCapacity(uuid, rc, inv, request.placementVersion)
    }
    const input = Object.fromEntries(Object.entries(data.inventories).map(([rc, inv]) => [rc, inventoryInput(inv)]))
    const result = await withKnownClasses(`Unknown resource class in inventory for resource provider ${uuid}`, () => placement.setInventories(uuid, data.resource_provider_generation, input))
    return inventoriesView(result.resourceProviderGeneration, result.inventories)
  })

  app.delete('/resource_providers/:uuid/inventories', async (request, reply) => {
    requireVersion(request, 5, 405)
    authorize(request, `${POLICY}:delete`)
    const uuid = param(request, 'uuid')
    const { generation } = await inventoriesOf(placement, uuid)
    await placement.setInventories(uuid, generation, {})
    return noContent(reply)
  })

  app.post('/resource_providers/:uuid/inventories', async (request, reply) => {
    requireJson(request)
    authorize(request, `${POLICY}:create`)
    const uuid = param(request, 'uuid')
    const current = await inventoriesOf(placement, uuid)
    const data = schemas.body<InventoryBody & { resource_class: string; resource_provider_generation?: number }>(POST_INVENTORY, bodyOf(request))
    const rc = data.resource_class
    if (!isValidResourceClass(rc)) throw placementBadRequest(`Unable to create inventory for resource provider ${uuid}: No such resource class ${rc}.`)
    checkInventoryCapacity(uuid, rc, data, request.placementVersion)
    if (current.inventories[rc]) {
      throw new PlacementError(409, `Update conflict: Inventory for '${rc}' on resource provider '${uuid}' already exists.`, { code: PLACEMENT_ERROR_CODES.CONCURRENT_UPDATE })
    }
    const result = await withKnownClasses(`Unable to create inventory for resource provider ${uuid}`, () =>
      placement.setInventory(uuid, data.resource_provider_generation ?? current.generation, rc, inventoryInput(data)),
    )
    reply.code(201).header('Location', `/resource_providers/${uuid}/inventories/${rc}`)
    return { ...inventoryView(result.inventories[rc] as Inventory), resource_provider_generation: result.resourceProviderGeneration }
  })

  app.get('/resource_providers/:uuid/inventories/:resource_class', async (request) => {
    authorize(request, `${POLICY}:show`)
    checkAccept(request)
    const uuid = param(request, 'uuid')
    const rc = param(request, 'resource_class')
    const { generation, inventories } = await inventoriesOf(placement, uuid)
    const inv = inventories[rc]
    if (!inv) throw new PlacementError(404, `No inventory of class ${rc} for ${uuid}`)
    return { ...inventoryView(inv), resource_provider_generation: generation }
  })

  app.put('/resource_providers/:uuid/inventories/:resource_class', async (request) => {
    requireJson(request)
    authorize(request, `${POLICY}:update`)
    const uuid = param(request, 'uuid')
    const rc = param(request, 'resource_class')
    const current = await inventoriesOf(placement, uuid)
    const data = schemas.body<InventoryBody & { resource_provider_generation: number }>(PUT_INVENTORY, bodyOf(request))
    if (data.resource_provider_generation !== current.generation) {
      throw new PlacementError(409, 'resource provider generation conflict', { code: PLACEMENT_ERROR_CODES.CONCURRENT_UPDATE })
    }
    assertClass(uuid, rc)
    checkInventoryCapacity(uuid, rc, data, request.placementVersion)
    if (!current.inventories[rc]) {
      throw placementBadRequest(`No inventory record with resource class for resource provider ${uuid}: No inventory of class ${rc} found.`)
    }
    const result = await placement.setInventory(uuid, data.resource_provider_generation, rc, inventoryInput(data))
    return { ...inventoryView(result.inventories[rc] as Inventory), resource_provider_generation: result.resourceProviderGeneration }
  })

  app.delete('/resource_providers/:uuid/inventories/:resource_class', async (request, reply) => {
    authorize(request, `${POLICY}:delete`)
    const uuid = param(request, 'uuid')
    const rc = param(request, 'resource_class')
    const current = await inventoriesOf(placement, uuid)
    if (!current.inventories[rc]) throw new PlacementError(404, `No inventory of class ${rc} found for delete`)
    await placement.deleteInventory(uuid, current.generation, rc)
    return noContent(reply)
  })
}
