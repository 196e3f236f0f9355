import { PlacementService, STANDARD_RESOURCE_CLASSES } from '@novum/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPlacementTestEnv, type PlacementTestEnv } from '../placement-test-env.test-helper.js'

describe('Placement resource classes', () => {
  let env: PlacementTestEnv
  beforeAll(async () => {
    env = await createPlacementTestEnv()
  })
  afterAll(async () => {
    await env.close()
  })

  const names = async (): Promise<string[]> => (await env.call({ url: '/resource_classes', version: '1.2' })).json().resource_classes.map((c: { name: string }) => c.name)
  const error = async (call: Parameters<PlacementTestEnv['call']>[0]): Promise<{ status: number; detail: string }> => {
    const res = await env.call(call)
    const body = res.json<{ errors: { status: number; detail: string }[] }>()
    expect(body.errors[0]?.status).toBe(res.statusCode)
    return body.errors[0] as { status: number; detail: string }
  }

  it('lists the standard classes first, then custom ones in creation order (1.2; 404 before)', async () => {
    expect((await env.call({ url: '/resource_classes', version: '1.1' })).statusCode).toBe(404)
    expect((await env.call({ method: 'POST', url: '/resource_classes', version: '1.2', body: { name: 'CUSTOM_LIST_B' } })).statusCode).toBe(201)
    expect((await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_LIST_A', version: '1.7' })).statusCode).toBe(201)
    const list = await names()
    expect(list.slice(0, STANDARD_RESOURCE_CLASSES.size)).toEqual([...STANDARD_RESOURCE_CLASSES])
    expect(list.slice(STANDARD_RESOURCE_CLASSES.size)).toEqual(['CUSTOM_LIST_B', 'CUSTOM_LIST_A'])
    const one = await env.call({ url: '/resource_classes/VCPU', version: '1.2' })
    expect(one.json()).toEqual({ name: 'VCPU', links: [{ rel: 'self', href: '/resource_classes/VCPU' }] })
    expect((await env.call({ url: '/resource_classes/CUSTOM_LIST_A', version: '1.2' })).statusCode).toBe(200)
    expect(await error({ url: '/resource_classes/CUSTOM_NOPE', version: '1.2' })).toEqual({ status: 404, title: 'Not Found', detail: 'No such resource class CUSTOM_NOPE.', request_id: expect.any(String) })
  })

  it('creates custom classes with POST (1.2) and idempotent PUT (1.7), in the database', async () => {
    const created = await env.call({ method: 'POST', url: '/resource_classes', version: '1.2', body: { name: 'CUSTOM_FPGA_X' } })
    expect(created.statusCode).toBe(201)
    expect(created.headers['location']).toBe('/resource_classes/CUSTOM_FPGA_X')
    expect((await error({ method: 'POST', url: '/resource_classes', version: '1.2', body: { name: 'CUSTOM_FPGA_X' } })).detail).toBe('Conflicting resource class already exists: CUSTOM_FPGA_X')
    expect((await error({ method: 'POST', url: '/resource_classes', version: '1.2', body: { name: 'FPGA_X' } })).status).toBe(400)
    expect((await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_FPGA_Y', version: '1.7' })).statusCode).toBe(201)
    const again = await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_FPGA_Y', version: '1.7' })
    expect(again.statusCode).toBe(204)
    expect(again.headers['location']).toBe('/resource_classes/CUSTOM_FPGA_Y')
    expect((await error({ method: 'PUT', url: '/resource_classes/VCPU', version: '1.7' })).detail).toMatch(/^JSON does not validate/)
    // Not held by this app: another service over the same database sees them.
    expect(await new PlacementService(env.db).listCustomResourceClasses()).toEqual(expect.arrayContaining(['CUSTOM_FPGA_X', 'CUSTOM_FPGA_Y']))
  })

  it('needs a custom class to exist before an inventory names it', async () => {
    const uuid = await env.provider('rc-inventory')
    const put = (inventories: Record<string, { total: number }>, generation: number) =>
      env.call({ method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.26', body: { resource_provider_generation: generation, inventories } })
    const unknown = await error({ method: 'PUT', url: `/resource_providers/${uuid}/inventories`, version: '1.26', body: { resource_provider_generation: 0, inventories: { CUSTOM_GOLD_BAR: { total: 1 } } } })
    expect(unknown).toMatchObject({ status: 400, detail: `Unknown resource class in inventory for resource provider ${uuid}: No such resource class CUSTOM_GOLD_BAR.` })
    const post = await error({ method: 'POST', url: `/resource_providers/${uuid}/inventories`, version: '1.26', body: { resource_class: 'CUSTOM_GOLD_BAR', total: 1 } })
    expect(post).toMatchObject({ status: 400, detail: `Unable to create inventory for resource provider ${uuid}: No such resource class CUSTOM_GOLD_BAR.` })
    expect((await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_GOLD_BAR', version: '1.7' })).statusCode).toBe(201)
    expect((await put({ CUSTOM_GOLD_BAR: { total: 1 } }, 0)).statusCode).toBe(200)
    // allocation candidates: a known custom class is a query like any other; an unknown one is Placement's 400.
    const candidates = await env.call({ url: '/allocation_candidates?resources=CUSTOM_GOLD_BAR:1', version: '1.39' })
    expect(Object.keys(candidates.json().provider_summaries)).toEqual([uuid])
    expect((await error({ url: '/allocation_candidates?resources=CUSTOM_NO_SUCH:1', version: '1.39' })).detail).toBe('Invalid resource class in resources parameter: No such resource class CUSTOM_NO_SUCH.')
  })

  it('deletes unused custom classes; a class in use is a 409, a standard one a 400, an unknown one a 404', async () => {
    expect((await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_IN_USE', version: '1.7' })).statusCode).toBe(201)
    await env.provider('rc-holder', { inventories: { CUSTOM_IN_USE: { total: 2 } } })
    expect(await error({ method: 'DELETE', url: '/resource_classes/CUSTOM_IN_USE', version: '1.2' })).toMatchObject({
      status: 409,
      detail: 'Error in delete resource class: Cannot delete resource class CUSTOM_IN_USE. Class is in use in inventory.',
    })
    expect(await error({ method: 'DELETE', url: '/resource_classes/VCPU', version: '1.2' })).toMatchObject({ status: 400, detail: 'Error in delete resource class: Cannot delete standard resource class VCPU.' })
    expect(await error({ method: 'DELETE', url: '/resource_classes/CUSTOM_NOT_THERE', version: '1.2' })).toMatchObject({ status: 404, detail: 'No such resource class CUSTOM_NOT_THERE.' })
    expect((await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_SHORT_LIVED', version: '1.7' })).statusCode).toBe(201)
    expect((await env.call({ method: 'DELETE', url: '/resource_classes/CUSTOM_SHORT_LIVED', version: '1.2' })).statusCode).toBe(204)
    expect(await names()).not.toContain('CUSTOM_SHORT_LIVED')
    expect(await names()).toContain('CUSTOM_IN_USE')
  })

  it('renames a custom class with PUT and a body before 1.7, inventories included', async () => {
    expect((await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_BEFORE', version: '1.7' })).statusCode).toBe(201)
    const uuid = await env.provider('rc-renamed', { inventories: { CUSTOM_BEFORE: { total: 3 } } })
    const renamed = await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_BEFORE', version: '1.6', body: { name: 'CUSTOM_AFTER' } })
    expect(renamed.statusCode).toBe(200)
    expect(renamed.json()).toEqual({ name: 'CUSTOM_AFTER', links: [{ rel: 'self', href: '/resource_classes/CUSTOM_AFTER' }] })
    const inv = await env.call({ url: `/resource_providers/${uuid}/inventories`, version: '1.6' })
    expect(Object.keys(inv.json().inventories)).toEqual(['CUSTOM_AFTER'])
    expect((await env.call({ url: '/resource_classes/CUSTOM_BEFORE', version: '1.6' })).statusCode).toBe(404)
    expect((await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_OTHER_ONE', version: '1.7' })).statusCode).toBe(201)
    expect(await error({ method: 'PUT', url: '/resource_classes/CUSTOM_AFTER', version: '1.6', body: { name: 'CUSTOM_OTHER_ONE' } })).toMatchObject({ status: 409, detail: 'Resource class already exists: CUSTOM_OTHER_ONE' })
    expect(await error({ method: 'PUT', url: '/resource_classes/VCPU', version: '1.6', body: { name: 'CUSTOM_VCPU' } })).toMatchObject({ status: 400, detail: 'Cannot update standard resource class VCPU' })
    expect(await error({ method: 'PUT', url: '/resource_classes/CUSTOM_NEVER_EXISTED', version: '1.6', body: { name: 'CUSTOM_X' } })).toMatchObject({ status: 404 })
    expect((await error({ method: 'PUT', url: '/resource_classes/CUSTOM_AFTER', version: '1.6', body: { name: 'lower' } })).detail).toMatch(/^JSON does not validate/)
  })
})
