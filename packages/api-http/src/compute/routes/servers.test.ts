import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_IMAGE_ID } from '@novum/core'
import { createApiTestEnv, type ApiTestEnv } from '../../api-test-env.test-helper.js'

const IMAGE = DEFAULT_IMAGE_ID

describe('server routes', () => {
  let env: ApiTestEnv
  beforeAll(async () => {
    env = await createApiTestEnv()
  })
  afterAll(async () => {
    await env.close()
  })

  const create = (token: string, server: Record<string, unknown>, version?: string, extra: Record<string, unknown> = {}) =>
    env.compute({ method: 'POST', url: '/v2.1/servers', token, ...(version ? { version } : {}), payload: { server, ...extra } })

  const boot = async (name: string, token = env.demo.token): Promise<string> => {
    const res = await create(token, { name, imageRef: IMAGE, flavorRef: '1' })
    expect(res.statusCode).toBe(202)
    return res.json().server.id as string
  }

  describe('POST /servers', () => {
    it('answers 202 with id, links, adminPass and Location (2.1, no networks)', async () => {
      const res = await create(env.demo.token, { name: 'web-1', imageRef: IMAGE, flavorRef: '1' })
      expect(res.statusCode).toBe(202)
      const server = res.json().server
      expect(server.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(server.adminPass).toMatch(/^[A-Za-z0-9]{12}$/)
      expect(server['OS-DCF:diskConfig']).toBe('MANUAL')
      expect(server.security_groups).toEqual([{ name: 'default' }])
      expect(server.links).toEqual([
        { rel: 'self', href: `http://localhost:80/v2.1/servers/${server.id}` },
        { rel: 'bookmark', href: `http://localhost:80/servers/${server.id}` },
      ])
      expect(res.headers.location).toBe(`http://localhost:80/v2.1/servers/${server.id}`)
      expect(res.headers['openstack-api-version']).toBe('compute 2.1')
    })

    it('accepts a flavor href, string counts and user data', async () => {
      const res = await create(env.demo.token, {
        name: 'href', imageRef: IMAGE, flavorRef: 'http://nova/flavors/1', min_count: '1', max_count: '1', user_data: Buffer.from('#!/bin/sh').toString('base64'),
      })
      expect(res.statusCode).toBe(202)
    })

    it('requires networks from 2.37 and accepts none/auto', async () => {
      const missing = await create(env.demo.token, { name: 'n', imageRef: IMAGE, flavorRef: '1' }, '2.37')
      expect(missing.statusCode).toBe(400)
      expect(missing.json().badRequest.message).toBe(
        `Invalid input for field/attribute server. Value: {'name': 'n', 'imageRef': '${IMAGE}', 'flavorRef': '1'}. 'networks' is a required property`,
      )
      for (const networks of ['none', 'auto']) {
        expect((await create(env.demo.token, { name: 'n', imageRef: IMAGE, flavorRef: '1', networks }, '2.37')).statusCode).toBe(202)
      }
      const bad = await create(env.demo.token, { name: 'n', imageRef: IMAGE, flavorRef: '1', networks: 'autoo' }, '2.37')
      expect(bad.statusCode).toBe(400)
      expect(bad.json().badRequest.message).toBe("Invalid input for field/attribute networks. Value: autoo. 'autoo' is not one of ['none', 'auto']")
    })

    it.each([
      [{ name: 'x'.repeat(256), imageRef: IMAGE, flavorRef: '1' }, `Invalid input for field/attribute name. Value: ${'x'.repeat(256)}. '${'x'.repeat(256)}' is too long`],
      [{ name: 'a', imageRef: IMAGE, flavorRef: '1', color: 'red' }, "Additional properties are not allowed ('color' was unexpected)"],
      [{ name: 'a', imageRef: 'not-a-uuid', flavorRef: '1' }, "Invalid input for field/attribute imageRef. Value: not-a-uuid. 'not-a-uuid' is not a 'uuid'"],
      [{ name: 'a', imageRef: IMAGE, flavorRef: '1', min_count: 0 }, 'Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1'],
      [{ name: 'a', imageRef: IMAGE, flavorRef: '1', min_count: 3, max_count: 2 }, 'min_count must be <= max_count'],
      [{ name: 'a', flavorRef: '1' }, 'Missing imageRef attribute'],
      [{ name: 'a', imageRef: IMAGE, flavorRef: '99' }, 'Invalid flavorRef provided.'],
      [{ name: 'a', imageRef: IMAGE, flavorRef: '1', key_name: 'nokey' }, 'Invalid key_name provided.'],
      [{ name: 'a', imageRef: IMAGE, flavorRef: '1', metadata: { 'bad key!': 'v' } }, "Invalid input for field/attribute metadata. Value: {'bad key!': 'v'}. 'bad key!' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"],
      [{ name: 'a', imageRef: IMAGE, flavorRef: '1', description: 'd' }, "Additional properties are not allowed ('description' was unexpected)"],
    ])('rejects %j with a 400 naming the problem', async (server, message) => {
      const res = await create(env.demo.token, server)
      expect(res.statusCode).toBe(400)
      const body = res.json()
      expect(Object.keys(body)).toEqual(['badRequest'])
      expect(body.badRequest.message.endsWith(message) || body.badRequest.message === message).toBe(true)
    })

    it('an unknown image is a 400', async () => {
      const res = await create(env.demo.token, { name: 'a', imageRef: '00000000-0000-4000-8000-000000000000', flavorRef: '1' })
      expect(res.statusCode).toBe(400)
      expect(res.json().badRequest.code).toBe(400)
    })

    it('stores description from 2.19 and the name as description before', async () => {
      const res = await create(env.demo.token, { name: 'described', imageRef: IMAGE, flavorRef: '1', description: 'my box' }, '2.19')
      expect(res.statusCode).toBe(202)
      const show = await env.compute({ method: 'GET', url: `/v2.1/servers/${res.json().server.id}`, token: env.demo.token, version: '2.19' })
      expect(show.json().server.description).toBe('my box')
      const old = await boot('old-style')
      const oldShow = await env.compute({ method: 'GET', url: `/v2.1/servers/${old}`, token: env.demo.token, version: '2.19' })
      expect(oldShow.json().server.description).toBe('old-style')
    })

    it('multi-create makes max_count servers with one reservation and return_reservation_id returns it', async () => {
      const res = await create(env.other.token, { name: 'batch', imageRef: IMAGE, flavorRef: '1', min_count: 2, max_count: 3, return_reservation_id: true })
      expect(res.statusCode).toBe(202)
      const reservation = res.json().reservation_id as string
      expect(reservation).toMatch(/^r-[a-z0-9]{8}$/)
      const list = await env.compute({ method: 'GET', url: '/v2.1/servers/detail', token: env.other.token, version: '2.3' })
      const batch = list.json().servers.filter((s: Record<string, unknown>) => s.name === 'batch')
      expect(batch).toHaveLength(3)
    })

    it('over quota is a 403 forbidden with Nova wording', async () => {
      const res = await create(env.other.token, { name: 'too-many', imageRef: IMAGE, flavorRef: '1', min_count: 8 })
      expect(res.statusCode).toBe(403)
      expect(res.json()).toEqual({ forbidden: { code: 403, message: 'Quota exceeded for instances: Requested 8, but already used 3 of 10 instances' } })
    })
  })

  describe('GET /servers/{id}', () => {
    let id: string
    beforeAll(async () => {
      id = await boot('shown')
    })

    it('shows the 2.1 detail view with a flavor link and the image', async () => {
      const res = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token })
      expect(res.statusCode).toBe(200)
      const s = res.json().server
      expect(s).toMatchObject({
        id,
        name: 'shown',
        status: 'BUILD',
        tenant_id: env.demo.projectId,
        user_id: env.demo.userId,
        metadata: {},
        hostId: '',
        addresses: {},
        accessIPv4: '',
        accessIPv6: '',
        progress: 0,
        'OS-EXT-STS:vm_state': 'building',
        'OS-EXT-STS:task_state': 'scheduling',
        'OS-EXT-STS:power_state': 0,
        'OS-SRV-USG:launched_at': null,
        'os-extended-volumes:volumes_attached': [],
        flavor: { id: '1', links: [{ rel: 'bookmark', href: 'http://localhost:80/flavors/1' }] },
        image: { id: IMAGE, links: [{ rel: 'bookmark', href: `http://localhost:80/images/${IMAGE}` }] },
      })
      expect(s.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      expect(s).not.toHaveProperty('OS-EXT-SRV-ATTR:host')
      expect(s).not.toHaveProperty('locked')
    })

    it('embeds the flavor from 2.47 and adds later fields', async () => {
      const res = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token, version: '2.93' })
      const s = res.json().server
      expect(s.flavor).toEqual({ vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, original_name: 'm1.tiny', extra_specs: {} })
      expect(s.locked).toBe(false)
      expect(s.locked_reason).toBeNull()
      expect(s.tags).toEqual([])
      expect(s.trusted_image_certificates).toBeNull()
      expect(s['OS-EXT-SRV-ATTR:hostname']).toBe('shown')
    })

    it('admins see OS-EXT-SRV-ATTR and a hostId once the server has a host', async () => {
      await env.markActive(id, 'compute-1')
      const res = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.admin.token, version: '2.3' })
      const s = res.json().server
      expect(s.status).toBe('ACTIVE')
      expect(s['OS-EXT-SRV-ATTR:host']).toBe('compute-1')
      expect(s['OS-EXT-SRV-ATTR:hypervisor_hostname']).toBe('compute-1')
      expect(s['OS-EXT-SRV-ATTR:instance_name']).toMatch(/^instance-/)
      expect(s['OS-EXT-SRV-ATTR:reservation_id']).toMatch(/^r-/)
      expect(s.hostId).toBe(createHash('sha224').update(env.demo.projectId + 'compute-1').digest('hex'))
      expect(s['OS-SRV-USG:launched_at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/)
    })

    it("another project's server is a 404 itemNotFound", async () => {
      const res = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.other.token })
      expect(res.statusCode).toBe(404)
      expect(res.json()).toEqual({ itemNotFound: { code: 404, message: `Instance ${id} could not be found.` } })
    })

    it('uses the project form of links when the URL has the project', async () => {
      const res = await env.compute({ method: 'GET', url: `/v2.1/${env.demo.projectId}/servers/${id}`, token: env.demo.token })
      expect(res.statusCode).toBe(200)
      expect(res.json().server.links[0].href).toBe(`http://localhost:80/v2.1/${env.demo.projectId}/servers/${id}`)
    })

    it('GET /servers/{id}/ips is empty without a network service', async () => {
      const res = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/ips`, token: env.demo.token })
      expect(res.json()).toEqual({ addresses: {} })
      const net = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/ips/private`, token: env.demo.token })
      expect(net.statusCode).toBe(404)
      expect(net.json().itemNotFound.message).toBe('Instance is not a member of specified network')
    })
  })

  describe('GET /servers and /servers/detail', () => {
    let project: string
    let token: string
    const names = ['alpha', 'beta', 'gamma']
    beforeAll(async () => {
      const user = env.services.identity
      const p = await user.createProject({ name: 'lister' })
      const u = await user.createUser({ name: 'lister', password: 'pw', defaultProjectId: p.id })
      await user.assignRole(u.id, p.id, 'member')
      token = (await user.authenticate({ userName: 'lister', password: 'pw', project: { name: 'lister' } })).token
      project = p.id
      for (const n of names) await boot(n, token)
    })

    it('lists id, name and links, newest first', async () => {
      const res = await env.compute({ method: 'GET', url: '/v2.1/servers', token })
      expect(res.statusCode).toBe(200)
      const servers = res.json().servers as { id: string; name: string; links: unknown[] }[]
      expect(servers.map((s) => s.name)).toEqual(['gamma', 'beta', 'alpha'])
      expect(Object.keys(servers[0] as object)).toEqual(['id', 'name', 'links'])
      expect(res.json()).not.toHaveProperty('servers_links')
    })

    it('pages with limit and marker and adds a next link', async () => {
      const first = await env.compute({ method: 'GET', url: '/v2.1/servers?limit=2', token })
      const body = first.json()
      expect(body.servers).toHaveLength(2)
      const last = body.servers[1].id as string
      expect(body.servers_links).toEqual([{ rel: 'next', href: `http://localhost:80/v2.1/servers?limit=2&marker=${last}` }])
      const second = await env.compute({ method: 'GET', url: `/v2.1/servers?limit=2&marker=${last}`, token })
      expect(second.json().servers.map((s: { name: string }) => s.name)).toEqual(['alpha'])
      const badMarker = await env.compute({ method: 'GET', url: '/v2.1/servers?marker=nope', token })
      expect(badMarker.statusCode).toBe(400)
      expect(badMarker.json().badRequest.message).toBe('marker [nope] not found')
    })

    it('filters by name regex and status; an invalid status is 400 from 2.38 and empty before', async () => {
      const byName = await env.compute({ method: 'GET', url: '/v2.1/servers?name=^b', token })
      expect(byName.json().servers.map((s: { name: string }) => s.name)).toEqual(['beta'])
      const building = await env.compute({ method: 'GET', url: '/v2.1/servers?status=BUILD', token })
      expect(building.json().servers).toHaveLength(3)
      const active = await env.compute({ method: 'GET', url: '/v2.1/servers?status=ACTIVE', token })
      expect(active.json().servers).toHaveLength(0)
      const bad = await env.compute({ method: 'GET', url: '/v2.1/servers?status=BOGUS', token, version: '2.38' })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().badRequest.message).toBe('Invalid status value')
      const old = await env.compute({ method: 'GET', url: '/v2.1/servers?status=BOGUS', token, version: '2.37' })
      expect(old.json()).toEqual({ servers: [] })
    })

    it('detail shows full servers; changes-since is validated', async () => {
      const res = await env.compute({ method: 'GET', url: '/v2.1/servers/detail', token, version: '2.47' })
      const servers = res.json().servers as Record<string, unknown>[]
      expect(servers).toHaveLength(3)
      expect(servers[0]).toHaveProperty('OS-EXT-STS:vm_state', 'building')
      expect(servers[0]).toHaveProperty('flavor.original_name', 'm1.tiny')
      const bad = await env.compute({ method: 'GET', url: '/v2.1/servers/detail?changes-since=yesterday', token })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().badRequest.message).toBe("Invalid input for query parameters changes-since. Value: yesterday. 'yesterday' is not a 'date-time'")
      const since = await env.compute({ method: 'GET', url: '/v2.1/servers/detail?changes-since=2000-01-01T00:00:00Z', token })
      expect(since.json().servers).toHaveLength(3)
    })

    it('unknown query parameters are ignored before 2.75 and rejected from 2.75', async () => {
      expect((await env.compute({ method: 'GET', url: '/v2.1/servers?foo=1', token, version: '2.74' })).statusCode).toBe(200)
      const strict = await env.compute({ method: 'GET', url: '/v2.1/servers?foo=1', token, version: '2.75' })
      expect(strict.statusCode).toBe(400)
      // jsonschema's wording when the schema also has patternProperties (Nova's `^_`).
      expect(strict.json().badRequest.message).toBe("'foo' does not match any of the regexes: '^_'")
      const joined = await env.compute({ method: 'GET', url: '/v2.1/servers?metadata=x', token })
      expect(joined.statusCode).toBe(400)
      expect(joined.json().badRequest.message).toBe('Invalid filter field: metadata.')
    })

    it('all_tenants is admin only; admins can narrow to a project', async () => {
      const denied = await env.compute({ method: 'GET', url: '/v2.1/servers?all_tenants=1', token })
      expect(denied.statusCode).toBe(403)
      expect(denied.json().forbidden.message).toBe("Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.")
      const all = await env.compute({ method: 'GET', url: `/v2.1/servers?all_tenants=True&project_id=${project}`, token: env.admin.token })
      expect(all.json().servers.map((s: { name: string }) => s.name)).toEqual(['gamma', 'beta', 'alpha'])
      const own = await env.compute({ method: 'GET', url: '/v2.1/servers', token: env.admin.token })
      expect(own.json().servers).toEqual([])
    })
  })

  describe('PUT /servers/{id}', () => {
    it('renames; the response is reduced before 2.75 and full from 2.75', async () => {
      const id = await boot('before-rename')
      const res = await env.compute({ method: 'PUT', url: `/v2.1/servers/${id}`, token: env.demo.token, payload: { server: { name: 'renamed' } } })
      expect(res.statusCode).toBe(200)
      expect(res.json().server.name).toBe('renamed')
      expect(res.json().server).not.toHaveProperty('OS-EXT-STS:vm_state')
      const full = await env.compute({ method: 'PUT', url: `/v2.1/servers/${id}`, token: env.demo.token, version: '2.75', payload: { server: { description: 'd' } } })
      expect(full.json().server).toHaveProperty('OS-EXT-STS:vm_state', 'building')
      expect(full.json().server.description).toBe('d')
      const bad = await env.compute({ method: 'PUT', url: `/v2.1/servers/${id}`, token: env.demo.token, payload: { server: { description: 'd' } } })
      expect(bad.statusCode).toBe(400)
    })
  })

  describe('DELETE /servers/{id}', () => {
    it('answers 204; the server is gone', async () => {
      const id = await boot('doomed')
      const res = await env.compute({ method: 'DELETE', url: `/v2.1/servers/${id}`, token: env.demo.token })
      expect(res.statusCode).toBe(204)
      expect(res.body).toBe('')
      expect((await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token })).statusCode).toBe(404)
    })
  })

  describe('POST /servers/{id}/action', () => {
    let id: string
    beforeAll(async () => {
      await env.addComputeHost('compute-1')
      id = await boot('acted')
    })
    const act = (body: unknown, version?: string) =>
      env.compute({ method: 'POST', url: `/v2.1/servers/${id}/action`, token: env.demo.token, ...(version ? { version } : {}), payload: body as Record<string, unknown> })

    it('os-stop on a server without a host is a 409 "not ready"', async () => {
      const res = await act({ 'os-stop': null }, '2.93')
      expect(res.statusCode).toBe(409)
      expect(res.json()).toEqual({ conflictingRequest: { code: 409, message: `Instance ${id} is not ready` } })
      expect(res.headers['openstack-api-version']).toBe('compute 2.93')
      expect(res.headers.vary).toBe('OpenStack-API-Version, X-OpenStack-Nova-API-Version')
    })

    it('os-start on an active server is a 409 naming the vm_state', async () => {
      await env.markActive(id, 'compute-1')
      const res = await act({ 'os-start': null })
      expect(res.statusCode).toBe(409)
      expect(res.json()).toEqual({ conflictingRequest: { code: 409, message: `Cannot 'start' instance ${id} while it is in vm_state active` } })
    })

    it('os-stop, os-start and reboot answer 202 and set the task state', async () => {
      await env.markActive(id, 'compute-1')
      const stop = await act({ 'os-stop': null })
      expect(stop.statusCode).toBe(202)
      expect(stop.body).toBe('')
      const shown = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token })
      expect(shown.json().server['OS-EXT-STS:task_state']).toBe('powering-off')
      const again = await act({ 'os-stop': null })
      expect(again.statusCode).toBe(409)
      expect(again.json().conflictingRequest.message).toBe(`Cannot 'stop' instance ${id} while it is in task_state powering-off`)
      await env.markActive(id, 'compute-1')
      expect((await act({ reboot: { type: 'hard' } })).statusCode).toBe(202)
      const rebooting = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token })
      expect(rebooting.json().server.status).toBe('HARD_REBOOT')
    })

    it('pause, unpause, suspend and resume answer 202 with no body and set the task state', async () => {
      const steps = [
        { body: { pause: null }, from: 'active', task: 'pausing', status: 'ACTIVE' },
        { body: { unpause: null }, from: 'paused', task: 'unpausing', status: 'PAUSED' },
        { body: { suspend: null }, from: 'active', task: 'suspending', status: 'ACTIVE' },
        { body: { resume: null }, from: 'suspended', task: 'resuming', status: 'SUSPENDED' },
      ]
      for (const step of steps) {
        await env.markActive(id, 'compute-1')
        await env.db.updateTable('instances').set({ vm_state: step.from }).where('uuid', '=', id).execute()
        const res = await act(step.body)
        expect(res.statusCode).toBe(202)
        expect(res.body).toBe('')
        const shown = (await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token })).json().server
        expect([shown['OS-EXT-STS:vm_state'], shown['OS-EXT-STS:task_state'], shown.status]).toEqual([step.from, step.task, step.status])
      }
      const actions = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions`, token: env.demo.token })
      expect(actions.json().instanceActions.slice(0, 4).map((a: { action: string }) => a.action)).toEqual(['resume', 'suspend', 'unpause', 'pause'])
    })

    it.each([
      [{ pause: null }, 'stopped', `Cannot 'pause' instance %s while it is in vm_state stopped`],
      [{ unpause: null }, 'active', `Cannot 'unpause' instance %s while it is in vm_state active`],
      [{ suspend: null }, 'paused', `Cannot 'suspend' instance %s while it is in vm_state paused`],
      [{ resume: null }, 'active', `Cannot 'resume' instance %s while it is in vm_state active`],
    ])('%j on a server in vm_state %s is a 409 with Nova\'s wording', async (body, vmState, message) => {
      await env.markActive(id, 'compute-1')
      await env.db.updateTable('instances').set({ vm_state: vmState }).where('uuid', '=', id).execute()
      const res = await act(body)
      expect(res.statusCode).toBe(409)
      expect(res.json()).toEqual({ conflictingRequest: { code: 409, message: message.replace('%s', id) } })
    })

    it("pause on another project's server, or an unknown one, is a 404", async () => {
      await env.markActive(id, 'compute-1')
      const other = await env.compute({ method: 'POST', url: `/v2.1/servers/${id}/action`, token: env.other.token, payload: { pause: null } })
      expect(other.statusCode).toBe(404)
      expect(other.json()).toEqual({ itemNotFound: { code: 404, message: `Instance ${id} could not be found.` } })
      const missing = await env.compute({ method: 'POST', url: '/v2.1/servers/00000000-0000-4000-8000-000000000000/action', token: env.demo.token, payload: { suspend: null } })
      expect(missing.statusCode).toBe(404)
    })

    it.each([
      [{ 'os-getConsoleOutput': { length: -2 } }, 'Invalid input for field/attribute length. Value: -2. -2 is less than the minimum of -1'],
      [{ 'os-getConsoleOutput': { length: '-3' } }, 'Invalid input for field/attribute length. Value: -3. -3 is less than the minimum of -1'],
      [{ 'os-getConsoleOutput': { length: 'ten' } }, "Invalid input for field/attribute length. Value: ten. 'ten' does not match '^-?[0-9]+$'"],
      [{ 'os-getConsoleOutput': { length: 1.5 } }, "Invalid input for field/attribute length. Value: 1.5. 1.5 is not of type 'integer', 'string', 'null'"],
      [{ 'os-getConsoleOutput': { length: true } }, "Invalid input for field/attribute length. Value: True. True is not of type 'integer', 'string', 'null'"],
      [{ 'os-getConsoleOutput': { lines: 5 } }, "Invalid input for field/attribute os-getConsoleOutput. Value: {'lines': 5}. Additional properties are not allowed ('lines' was unexpected)"],
      [{ 'os-getConsoleOutput': null }, "Invalid input for field/attribute os-getConsoleOutput. Value: None. None is not of type 'object'"],
    ])('os-getConsoleOutput %j is a 400: %s', async (body, message) => {
      const res = await act(body)
      expect(res.statusCode).toBe(400)
      expect(res.json()).toEqual({ badRequest: { code: 400, message } })
    })

    it('os-getConsoleOutput on a server without a host is a 409 "not ready"', async () => {
      await env.db.updateTable('instances').set({ host: null, node: null }).where('uuid', '=', id).execute()
      const res = await act({ 'os-getConsoleOutput': {} })
      expect(res.statusCode).toBe(409)
      expect(res.json()).toEqual({ conflictingRequest: { code: 409, message: `Instance ${id} is not ready` } })
    })

    it('lock makes the server locked (2.73 reason) and unlock clears it', async () => {
      const lock = await act({ lock: { locked_reason: 'maintenance' } }, '2.73')
      expect(lock.statusCode).toBe(202)
      const shown = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token, version: '2.73' })
      expect(shown.json().server.locked).toBe(true)
      expect(shown.json().server.locked_reason).toBe('maintenance')
      expect((await act({ unlock: null })).statusCode).toBe(202)
    })

    it.each([
      [{ reboot: { type: 'WARM' } }, 400, "Invalid input for field/attribute type. Value: WARM. 'WARM' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"],
      [{ reboot: {} }, 400, "Invalid input for field/attribute reboot. Value: {}. 'type' is a required property"],
      [{ 'os-stop': null, 'os-start': null }, 400, 'Malformed request body'],
      [{ dance: null }, 400, 'There is no such action: dance'],
      [{ rescue: null }, 501, "The 'rescue' action is not implemented by this deployment yet."],
    ])('%j → %i', async (body, status, message) => {
      const res = await act(body)
      expect(res.statusCode).toBe(status)
      const fault = Object.values(res.json())[0] as { code: number; message: string }
      expect(fault).toEqual({ code: status, message })
    })

    it('os-resetState is admin only', async () => {
      const denied = await act({ 'os-resetState': { state: 'error' } })
      expect(denied.statusCode).toBe(403)
      const ok = await env.compute({ method: 'POST', url: `/v2.1/servers/${id}/action`, token: env.admin.token, payload: { 'os-resetState': { state: 'error' } } })
      expect(ok.statusCode).toBe(202)
      const shown = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token })
      expect(shown.json().server.status).toBe('ERROR')
    })
  })

  describe('os-instance-actions', () => {
    it('lists the create action and shows it; admins see event tracebacks', async () => {
      const id = await boot('tracked')
      const list = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions`, token: env.demo.token })
      expect(list.statusCode).toBe(200)
      const actions = list.json().instanceActions as Record<string, unknown>[]
      expect(actions).toHaveLength(1)
      expect(actions[0]).toMatchObject({ action: 'create', instance_uuid: id, user_id: env.demo.userId, project_id: env.demo.projectId, message: null })
      expect(actions[0]).not.toHaveProperty('updated_at')
      const requestId = actions[0]?.request_id as string
      expect(requestId).toMatch(/^req-/)
      const paged = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions?limit=1`, token: env.demo.token, version: '2.58' })
      expect(paged.json().instanceActions[0]).toHaveProperty('updated_at')
      expect(paged.json().links[0].rel).toBe('next')

      const userShow = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions/${requestId}`, token: env.demo.token })
      expect(userShow.json().instanceAction).not.toHaveProperty('events')
      const userShow251 = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions/${requestId}`, token: env.demo.token, version: '2.51' })
      expect(userShow251.json().instanceAction.events).toEqual([])
      const adminShow = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions/${requestId}`, token: env.admin.token, version: '2.84' })
      expect(adminShow.json().instanceAction.request_id).toBe(requestId)
      const missing = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions/req-nope`, token: env.demo.token })
      expect(missing.statusCode).toBe(404)
      expect(missing.json().itemNotFound.message).toBe('Action req-nope not found')
    })
  })
})
