import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_IMAGE_ID } from '@novum/core'
import { createApiTestEnv, type ApiTestEnv } from '../../api-test-env.test-helper.js'

describe('limits and quota-set routes', () => {
  let env: ApiTestEnv
  beforeAll(async () => {
    env = await createApiTestEnv()
    const res = await env.compute({
      method: 'POST', url: '/v2.1/servers', token: env.demo.token,
      payload: { server: { name: 'counted', imageRef: DEFAULT_IMAGE_ID, flavorRef: '2', min_count: 2 } },
    })
    expect(res.statusCode).toBe(202)
  })
  afterAll(async () => {
    await env.close()
  })

  it('GET /limits counts usage and drops keys by microversion', async () => {
    const old = await env.compute({ method: 'GET', url: '/v2.1/limits', token: env.demo.token })
    expect(old.statusCode).toBe(200)
    const absolute = old.json().limits.absolute
    expect(old.json().limits.rate).toEqual([])
    expect(absolute).toMatchObject({
      maxTotalInstances: 10, maxTotalCores: 20, maxTotalRAMSize: 51200, maxServerMeta: 128, maxTotalKeypairs: 100,
      maxServerGroups: 10, maxServerGroupMembers: 10, maxImageMeta: 128, maxPersonality: 5, maxPersonalitySize: 10240,
      totalInstancesUsed: 2, totalCoresUsed: 2, totalRAMUsed: 4096, totalServerGroupsUsed: 0,
    })
    expect(absolute).toHaveProperty('maxSecurityGroups')
    const v236 = (await env.compute({ method: 'GET', url: '/v2.1/limits', token: env.demo.token, version: '2.36' })).json().limits.absolute
    expect(v236).not.toHaveProperty('maxSecurityGroups')
    expect(v236).not.toHaveProperty('totalFloatingIpsUsed')
    expect(v236).toHaveProperty('maxImageMeta')
    const v257 = (await env.compute({ method: 'GET', url: '/v2.1/limits', token: env.demo.token, version: '2.57' })).json().limits.absolute
    expect(Object.keys(v257).sort()).toEqual([
      'maxServerGroupMembers', 'maxServerGroups', 'maxServerMeta', 'maxTotalCores', 'maxTotalInstances', 'maxTotalKeypairs', 'maxTotalRAMSize',
      'totalCoresUsed', 'totalInstancesUsed', 'totalRAMUsed', 'totalServerGroupsUsed',
    ])
  })

  it("GET /limits?tenant_id= is for admins", async () => {
    const denied = await env.compute({ method: 'GET', url: `/v2.1/limits?tenant_id=${env.other.projectId}`, token: env.demo.token })
    expect(denied.statusCode).toBe(403)
    const admin = await env.compute({ method: 'GET', url: `/v2.1/limits?tenant_id=${env.demo.projectId}`, token: env.admin.token })
    expect(admin.json().limits.absolute.totalInstancesUsed).toBe(2)
  })

  it('GET /os-quota-sets/{id} shows limits with id first; network keys only up to 2.35', async () => {
    const res = await env.compute({ method: 'GET', url: `/v2.1/os-quota-sets/${env.demo.projectId}`, token: env.demo.token })
    const set = res.json().quota_set
    expect(Object.keys(set)[0]).toBe('id')
    expect(set).toMatchObject({ id: env.demo.projectId, instances: 10, cores: 20, ram: 51200, key_pairs: 100, injected_files: 5 })
    expect(set).toHaveProperty('floating_ips')
    const v257 = (await env.compute({ method: 'GET', url: `/v2.1/os-quota-sets/${env.demo.projectId}`, token: env.demo.token, version: '2.57' })).json().quota_set
    expect(Object.keys(v257)).toEqual(['id', 'instances', 'cores', 'ram', 'metadata_items', 'key_pairs', 'server_groups', 'server_group_members'])
    const foreign = await env.compute({ method: 'GET', url: `/v2.1/os-quota-sets/${env.other.projectId}`, token: env.demo.token })
    expect(foreign.statusCode).toBe(403)
  })

  it('detail and defaults', async () => {
    const detail = (await env.compute({ method: 'GET', url: `/v2.1/os-quota-sets/${env.demo.projectId}/detail`, token: env.demo.token, version: '2.57' })).json().quota_set
    expect(detail.instances).toEqual({ limit: 10, in_use: 2, reserved: 0 })
    expect(detail.ram).toEqual({ limit: 51200, in_use: 4096, reserved: 0 })
    const defaults = (await env.compute({ method: 'GET', url: `/v2.1/os-quota-sets/${env.demo.projectId}/defaults`, token: env.demo.token, version: '2.57' })).json()
    expect(defaults.quota_set).toMatchObject({ id: env.demo.projectId, instances: 10 })
  })

  it('PUT updates (admin), refusing limits below usage unless forced; DELETE reverts (202)', async () => {
    const url = `/v2.1/os-quota-sets/${env.demo.projectId}`
    const denied = await env.compute({ method: 'PUT', url, token: env.demo.token, payload: { quota_set: { instances: 5 } } })
    expect(denied.statusCode).toBe(403)
    const below = await env.compute({ method: 'PUT', url, token: env.admin.token, payload: { quota_set: { instances: 1 } } })
    expect(below.json()).toEqual({ badRequest: { code: 400, message: 'Quota limit 1 for instances must be greater than or equal to already used and reserved 2.' } })
    const forced = await env.compute({ method: 'PUT', url, token: env.admin.token, payload: { quota_set: { instances: '1', force: 'True' } } })
    expect(forced.statusCode).toBe(200)
    expect(forced.json().quota_set).not.toHaveProperty('id')
    expect(forced.json().quota_set.instances).toBe(1)
    const full = await env.compute({
      method: 'POST', url: '/v2.1/servers', token: env.demo.token, payload: { server: { name: 'over', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1' } },
    })
    expect(full.statusCode).toBe(403)
    const badKey = await env.compute({ method: 'PUT', url, token: env.admin.token, version: '2.57', payload: { quota_set: { injected_files: 1 } } })
    expect(badKey.statusCode).toBe(400)
    const networks = await env.compute({ method: 'PUT', url, token: env.admin.token, payload: { quota_set: { networks: 1 } } })
    expect(networks.json().badRequest.message).toBe('The networks quota has been removed')
    const reset = await env.compute({ method: 'DELETE', url, token: env.admin.token })
    expect(reset.statusCode).toBe(202)
    const after = await env.compute({ method: 'GET', url, token: env.demo.token })
    expect(after.json().quota_set.instances).toBe(10)
  })
})
