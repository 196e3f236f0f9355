import { ComputeError, isCustomName } from '@novum/core'
import { PlacementError, placementBadRequest } from '../errors.js'
import { requireVersion } from '../microversion.js'
import { authorize, bodyOf, checkAccept, noContent, param, requireJson, type PlacementRoutes } from '../route-support.js'
import { POST_RC } from '../schemas.js'

const POLICY = 'placement:resource_classes'

function classView(name: string): { name: string; links: { rel: string; href: string }[] } {
  return { name, links: [{ rel: 'self', href: `/resource_classes/${name}` }] }
}

function noSuchClass(name: string): PlacementError {
  return new PlacementError(404, `No such resource class ${name}.`)
}

/**
 * Resource classes (`handlers/resource_class.py`, 1.2), stored in the `resource_classes` table: the list
 * (standard os-resource-classes, then custom ones in creation order), one class, creating (POST; bodiless
 * idempotent PUT from 1.7, 201 new / 204 existing), renaming (PUT with a body, 1.2–1.6) and deleting `CUSTOM_*`
 * classes. Deleting a standard class is a 400, a class some inventory uses a 409.
 */
export const resourceClassRoutes: PlacementRoutes = (app, { placement, schemas }) => {
  app.get('/resource_classes', async (request) => {
    requireVersion(request, 2)
    authorize(request, `${POLICY}:list`)
    checkAccept(request)
    return { resource_classes: (await placement.listResourceClasses()).map(classView) }
  })

  app.post('/resource_classes', async (request, reply) => {
    requireVersion(request, 2)
    requireJson(request)
    authorize(request, `${POLICY}:create`)
    const { name } = schemas.body<{ name: string }>(POST_RC, bodyOf(request))
    if ((await placement.createResourceClass(name)) === 'exists') throw new PlacementError(409, `Conflicting resource class already exists: ${name}`)
    reply.header('Location', `/resource_classes/${name}`)
    return noContent(reply, 201)
  })

  app.get('/resource_classes/:name', async (request) => {
    requireVersion(request, 2)
    authorize(request, `${POLICY}:show`)
    checkAccept(request)
    const name = param(request, 'name')
    if (!(await placement.hasResourceClass(name))) throw noSuchClass(name)
    return classView(name)
  })

  app.put('/resource_classes/:name', async (request, reply) => {
    requireVersion(request, 2)
    authorize(request, `${POLICY}:update`)
    const name = param(request, 'name')
    if (request.placementVersion < 7) {
      requireJson(request)
      const { name: newName } = schemas.body<{ name: string }>(POST_RC, bodyOf(request))
      if (!(await placement.hasResourceClass(name))) throw noSuchClass(name)
      if (!isCustomName(name)) throw placementBadRequest(`Cannot update standard resource class ${name}`)
      try {
        await placement.renameResourceClass(name, newName)
      } catch (err) {
        if (ComputeError.is(err, 'CONFLICT')) throw new PlacementError(409, `Resource class already exists: ${newName}`)
        if (ComputeError.is(err, 'NOT_FOUND')) throw noSuchClass(name)
        throw err
      }
      return classView(newName)
    }
    // Placement validates the name from the path with the body schema.
    schemas.body(POST_RC, { name })
    const created = (await placement.createResourceClass(name)) === 'created'
    reply.header('Location', `/resource_classes/${name}`)
    return noContent(reply, created ? 201 : 204)
  })

  app.delete('/resource_classes/:name', async (request, reply) => {
    requireVersion(request, 2)
    authorize(request, `${POLICY}:delete`)
    const name = param(request, 'name')
    if (!(await placement.hasResourceClass(name))) throw noSuchClass(name)
    if (!isCustomName(name)) throw placementBadRequest(`Error in delete resource class: Cannot delete standard resource class ${name}.`)
    try {
      await placement.deleteResourceClass(name)
    } catch (err) {
      if (ComputeError.is(err, 'CONFLICT')) throw new PlacementError(409, `Error in delete resource class: Cannot delete resource class ${name}. Class is in use in inventory.`)
      if (ComputeError.is(err, 'NOT_FOUND')) throw noSuchClass(name)
      throw err
    }
    return noContent(reply)
  })
}
