import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiTestEnv, type ApiTestEnv } from '../../api-test-env.test-helper.js'

describe('hypervisor, service and availability zone routes', () => {
  let env: ApiTestEnv
  let node1: { serviceUuid: string; nodeUuid: string }
  beforeAll(async () => {
    env = await createApiTestEnv()
    node1 = await env.addComputeHost('compute-1')
    await env.addComputeHost('compute-2')
  })
  afterAll(async () => {
    await env.close()
  })

  describe('os-hypervisors', () => {
    it('is admin only', async () => {
      const res = await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors', token: env.demo.token })
      expect(res.statusCode).toBe(403)
      expect(res.json().forbidden.message).toBe("Policy doesn't allow os_compute_api:os-hypervisors:list to be performed.")
    })

    it('lists with integer ids before 2.53 and uuids after', async () => {
      const old = await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors', token: env.admin.token })
      const list = old.json().hypervisors as Record<string, unknown>[]
      expect(list).toHaveLength(2)
      expect(list[0]).toEqual({ id: expect.any(Number), hypervisor_hostname: 'compute-1', state: 'up', status: 'enabled' })
      const v253 = await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors', token: env.admin.token, version: '2.53' })
      expect(v253.json().hypervisors[0].id).toBe(node1.nodeUuid)
    })

    it('detail: usage fields and a JSON-string cpu_info before 2.28, an object after, and uptime instead from 2.88', async () => {
      const old = (await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors/detail', token: env.admin.token })).json().hypervisors[0]
      expect(old).toMatchObject({ hypervisor_type: 'fake', vcpus: 8, memory_mb: 16384, free_ram_mb: 15872, host_ip: '192.0.2.10' })
      expect(typeof old.cpu_info).toBe('string')
      expect(old.service).toEqual({ id: expect.any(Number), host: 'compute-1', disabled_reason: null })
      const v228 = (await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors/detail', token: env.admin.token, version: '2.28' })).json().hypervisors[0]
      expect(v228.cpu_info).toMatchObject({ arch: 'x86_64' })
      const v288 = (await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors/detail', token: env.admin.token, version: '2.88' })).json().hypervisors[0]
      expect(v288).not.toHaveProperty('vcpus')
      expect(v288).toHaveProperty('uptime', null)
      expect(v288.service.id).toBe(node1.serviceUuid)
    })

    it('pages with limit from 2.33 and rejects paging with a hostname pattern', async () => {
      const page = await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors?limit=1', token: env.admin.token, version: '2.53' })
      expect(page.json().hypervisors).toHaveLength(1)
      expect(page.json().hypervisors_links[0].href).toBe(`http://localhost:80/v2.1/os-hypervisors?limit=1&marker=${node1.nodeUuid}`)
      const both = await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors?limit=1&hypervisor_hostname_pattern=compute', token: env.admin.token, version: '2.53' })
      expect(both.json().badRequest.message).toBe('Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.')
      const withServers = await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors?with_servers=true', token: env.admin.token, version: '2.75' })
      expect(withServers.json().hypervisors[0].servers).toEqual([])
    })

    it('shows one: a uuid from 2.53 (400 otherwise), an integer before (404 otherwise)', async () => {
      const v253 = await env.compute({ method: 'GET', url: `/v2.1/os-hypervisors/${node1.nodeUuid}`, token: env.admin.token, version: '2.53' })
      expect(v253.json().hypervisor.hypervisor_hostname).toBe('compute-1')
      const badUuid = await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors/1', token: env.admin.token, version: '2.53' })
      expect(badUuid.json()).toEqual({ badRequest: { code: 400, message: 'Invalid uuid 1' } })
      const old = (await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors', token: env.admin.token })).json().hypervisors[0].id as number
      const byInt = await env.compute({ method: 'GET', url: `/v2.1/os-hypervisors/${old}`, token: env.admin.token })
      expect(byInt.json().hypervisor.id).toBe(old)
      const notInt = await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors/abc', token: env.admin.token })
      expect(notInt.json()).toEqual({ itemNotFound: { code: 404, message: "Hypervisor with ID 'abc' could not be found." } })
    })

    it('statistics exist up to 2.87', async () => {
      const stats = await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors/statistics', token: env.admin.token })
      expect(stats.json().hypervisor_statistics).toMatchObject({ count: 2, vcpus: 16 })
      expect((await env.compute({ method: 'GET', url: '/v2.1/os-hypervisors/statistics', token: env.admin.token, version: '2.88' })).statusCode).toBe(404)
    })
  })

  describe('os-services', () => {
    it('lists compute services (forced_down from 2.11, uuid ids from 2.53)', async () => {
      const old = await env.compute({ method: 'GET', url: '/v2.1/os-services', token: env.admin.token })
      const s = old.json().services[0]
      expect(s).toMatchObject({ binary: 'nova-compute', host: 'compute-1', zone: 'nova', status: 'enabled', state: 'up', disabled_reason: null })
      expect(s.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/)
      expect(s).not.toHaveProperty('forced_down')
      const v253 = await env.compute({ method: 'GET', url: '/v2.1/os-services?host=compute-2', token: env.admin.token, version: '2.53' })
      expect(v253.json().services).toHaveLength(1)
      expect(v253.json().services[0]).toMatchObject({ host: 'compute-2', forced_down: false, id: expect.stringMatching(/^[0-9a-f-]{36}$/) })
      expect((await env.compute({ method: 'GET', url: '/v2.1/os-services', token: env.demo.token })).statusCode).toBe(403)
    })

    it('disables by uuid from 2.53, and by host/binary before', async () => {
      const res = await env.compute({
        method: 'PUT', url: `/v2.1/os-services/${node1.serviceUuid}`, token: env.admin.token, version: '2.53',
        payload: { status: 'disabled', disabled_reason: 'maintenance' },
      })
      expect(res.statusCode).toBe(200)
      expect(res.json().service).toMatchObject({ status: 'disabled', disabled_reason: 'maintenance' })
      const empty = await env.compute({ method: 'PUT', url: `/v2.1/os-services/${node1.serviceUuid}`, token: env.admin.token, version: '2.53', payload: {} })
      expect(empty.json().badRequest.message).toBe("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
      const legacy = await env.compute({ method: 'PUT', url: '/v2.1/os-services/enable', token: env.admin.token, payload: { host: 'compute-1', binary: 'nova-compute' } })
      expect(legacy.json()).toEqual({ service: { host: 'compute-1', binary: 'nova-compute', status: 'enabled' } })
    })
  })

  describe('os-availability-zone', () => {
    it('lists available zones for everyone; detail is admin only', async () => {
      const res = await env.compute({ method: 'GET', url: '/v2.1/os-availability-zone', token: env.demo.token })
      expect(res.json()).toEqual({ availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }] })
      expect((await env.compute({ method: 'GET', url: '/v2.1/os-availability-zone/detail', token: env.demo.token })).statusCode).toBe(403)
      const detail = await env.compute({ method: 'GET', url: '/v2.1/os-availability-zone/detail', token: env.admin.token })
      const nova = detail.json().availabilityZoneInfo[0]
      expect(nova.zoneName).toBe('nova')
      expect(nova.hosts['compute-1']['nova-compute']).toMatchObject({ available: true, active: true })
    })
  })
})
