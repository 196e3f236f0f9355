import { isCustomName, STANDARD_RESOURCE_CLASSES } from '@novum/core'
import { PlacementError, placementBadRequest } from '../errors.js'
import { requireVersion } from '../microversion.js'
import { authorize, bodyOf, checkAccept, noContent, param, requireJson, type PlacementRouteDeps, type PlacementRoutes } from '../route-support.js'
import { POST_RC } from '../schemas.js'

const POLICY = 'placement:resource_classes'

function classView(name: string): { name: string; links: { rel: string; href: string }[] } {
  return { name, links: [{ rel: 'self', href: `/resource_classes/${name}` }] }
}

/** Every custom class Placement would know: those some inventory or allocation uses, and those declared here. */
async function customClasses(deps: PlacementRouteDeps): Promise<string[]> {
  const inUse = await deps.placement.listCustomResourceClasses()
  return [...new Set([...inUse, ...deps.declaredResourceClasses])].sort()
}

async function exists(deps: PlacementRouteDeps, name: string): Promise<boolean> {
  return STANDARD_RESOURCE_CLASSES.has(name) || deps.declaredResourceClasses.has(name) || (await deps.placement.listCustomResourceClasses()).includes(name)
}

/**
 * Resource classes (`handlers/resource_class.py`, 1.2): the list (standard os-resource-classes, then custom),
 * one class, and creating (POST; bodiless idempotent PUT from 1.7, 201 new / 204 existing) and deleting
 * `CUSTOM_*` classes.
 *
 * NOTE: Novum has no resource class table: a well-formed `CUSTOM_*` class may be used in an inventory without
 * being created first, and a class created through this API but not yet used by any inventory is remembered by
 * this process only (it is gone after a restart). Renaming a class (PUT with a body, 1.2–1.6) is not supported.
 */
export const resourceClassRoutes: PlacementRoutes = (app, deps) => {
  const { schemas } = deps

  app.get('/resource_classes', async (request) => {
    requireVersion(request, 2)
    authorize(request, `${POLICY}:list`)
    checkAccept(request)
    return { resource_classes: [...STANDARD_RESOURCE_CLASSES, ...(await customClasses(deps))].map(classView) }
  })

  app.post('/resource_classes', async (request, reply) => {
    requireVersion(request, 2)
    requireJson(request)
    authorize(request, `${POLICY}:create`)
    const { name } = schemas.body<{ name: string }>(POST_RC, bodyOf(request))
    if (await exists(deps, name)) throw new PlacementError(409, `Conflicting resource class already exists: ${name}`)
    deps.declaredResourceClasses.add(name)
    reply.header('Location', `/resource_classes/${name}`)
    return noContent(reply, 201)
  })

  app.get('/resource_classes/:name', async (request) => {
    requireVersion(request, 2)
    authorize(request, `${POLICY}:show`)
    checkAccept(request)
    const name = param(request, 'name')
    if (!(await exists(deps, name))) throw new PlacementError(404, `No such resource class ${name}.`)
    return classView(name)
  })

  app.put('/resource_classes/:name', async (request, reply) => {
    requireVersion(request, 2)
    authorize(request, `${POLICY}:update`)
    const name = param(request, 'name')
    if (request.placementVersion < 7) {
      requireJson(request)
      schemas.body(POST_RC, bodyOf(request))
      if (!(await exists(deps, name))) throw new PlacementError(404, `No such resource class ${name}.`)
      if (!isCustomName(name)) throw placementBadRequest(`Cannot update standard resource class ${name}`)
      throw new PlacementError(501, 'renaming a resource class is not supported by Novum')
    }
    schemas.body(POST_RC, { name })
    const known = await exists(deps, name)
    if (!known) deps.declaredResourceClasses.add(name)
    reply.header('Location', `/resource_classes/${name}`)
    return noContent(reply, known ? 204 : 201)
  })

  app.delete('/resource_classes/:name', async (request, reply) => {
    requireVersion(request, 2)
    authorize(request, `${POLICY}:delete`)
    const name = param(request, 'name')
    if (!(await exists(deps, name))) throw new PlacementError(404, `No such resource class ${name}.`)
    if (!isCustomName(name)) throw placementBadRequest(`Error in delete resource class: Cannot delete standard resource class ${name}.`)
    if ((await deps.placement.listCustomResourceClasses()).includes(name)) {
      throw new PlacementError(409, `Error in delete resource class: Cannot delete resource class ${name}. Class is in use in inventory.`)
    }
    deps.declaredResourceClasses.delete(name)
    return noContent(reply)
  })
}
