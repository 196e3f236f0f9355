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

  it('lists the standard classes first, then custom ones in use (1.2; 404 before)', async () => {
    expect((await env.call({ url: '/resource_classes', version: '1.1' })).statusCode).toBe(404)
    await env.provider('rc-user', { inventories: { CUSTOM_BAREMETAL_GOLD: { total: 1 } } })
    const list = await names()
    expect(list.slice(0, 3)).toEqual(['VCPU', 'MEMORY_MB', 'DISK_GB'])
    expect(list.at(-1)).toBe('CUSTOM_BAREMETAL_GOLD')
    const one = await env.call({ url: '/resource_classes/VCPU', version: '1.2' })
    expect(one.json()).toEqual({ name: 'VCPU', links: [{ rel: 'self', href: '/resource_classes/VCPU' }] })
    expect((await env.call({ url: '/resource_classes/CUSTOM_NOPE', version: '1.2' })).statusCode).toBe(404)
  })

  it('creates custom classes with POST (1.2) and idempotent PUT (1.7), and deletes unused ones', async () => {
    const created = await env.call({ method: 'POST', url: '/resource_classes', version: '1.2', body: { name: 'CUSTOM_FPGA_X' } })
    expect(created.statusCode).toBe(201)
    expect(created.headers['location']).toBe('/resource_classes/CUSTOM_FPGA_X')
    expect((await env.call({ method: 'POST', url: '/resource_classes', version: '1.2', body: { name: 'CUSTOM_FPGA_X' } })).statusCode).toBe(409)
    expect((await env.call({ method: 'POST', url: '/resource_classes', version: '1.2', body: { name: 'FPGA_X' } })).statusCode).toBe(400)
    expect((await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_FPGA_Y', version: '1.7' })).statusCode).toBe(201)
    expect((await env.call({ method: 'PUT', url: '/resource_classes/CUSTOM_FPGA_Y', version: '1.7' })).statusCode).toBe(204)
    expect((await env.call({ method: 'PUT', url: '/resource_classes/VCPU', version: '1.7' })).statusCode).toBe(400)
    expect(await names()).toEqual(expect.arrayContaining(['CUSTOM_FPGA_X', 'CUSTOM_FPGA_Y']))
    expect((await env.call({ method: 'DELETE', url: '/resource_classes/VCPU', version: '1.2' })).statusCode).toBe(400)
    expect((await env.call({ method: 'DELETE', url: '/resource_classes/CUSTOM_BAREMETAL_GOLD', version: '1.2' })).statusCode).toBe(409)
    expect((await env.call({ method: 'DELETE', url: '/resource_classes/CUSTOM_FPGA_X', version: '1.2' })).statusCode).toBe(204)
    expect(await names()).not.toContain('CUSTOM_FPGA_X')
  })
})
