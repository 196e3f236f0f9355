import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDeploymentEnv, type DeploymentEnv } from '../../deployment-env.test-helper.js'

describe('server group routes (os-server-groups)', () => {
  let env: DeploymentEnv
  beforeAll(async () => {
    env = await createDeploymentEnv({ hosts: [{ host: 'compute-1' }, { host: 'compute-2' }] })
    const ctx = { requestId: 'req-setup', userId: env.admin.userId, projectId: env.admin.projectId, roles: ['admin'], isAdmin: true }
    await env.deployment.api.quotas.update(ctx, env.demo.projectId, { instances: -1, cores: -1, ram: -1, server_groups: -1 })
  })
  afterAll(async () => {
    await env?.close()
  })

  const post = (body: Record<string, unknown>, version: string, token = env.demo.token) => env.compute({ method: 'POST', url: '/v2.1/os-server-groups', token, version, payload: body })
  const boot = async (name: string, group: string, extra: Record<string, unknown> = {}, token = env.demo.token) => {
    const res = await env.compute({
      method: 'POST', url: '/v2.1/servers', token, version: '2.93',
      payload: { server: { name, imageRef: env.imageId, flavorRef: '1', networks: 'none', ...extra }, 'os:scheduler_hints': { group } },
    })
    return res
  }

  describe('POST', () => {
    it.each([
      { version: '2.1', body: { name: 'g', policies: ['anti-affinity'] }, view: { policies: ['anti-affinity'], metadata: {}, members: [] }, absent: ['project_id', 'policy'] },
      { version: '2.13', body: { name: 'g', policies: ['affinity'] }, view: { policies: ['affinity'], metadata: {}, members: [] }, absent: ['policy', 'rules'] },
      { version: '2.15', body: { name: 'g', policies: ['soft-anti-affinity'] }, view: { policies: ['soft-anti-affinity'], members: [] }, absent: ['policy'] },
      { version: '2.64', body: { name: 'g', policy: 'anti-affinity', rules: { max_server_per_host: 3 } }, view: { policy: 'anti-affinity', rules: { max_server_per_host: 3 }, members: [] }, absent: ['policies', 'metadata'] },
      { version: '2.64', body: { name: 'g', policy: 'anti-affinity', rules: { max_server_per_host: '2' } }, view: { policy: 'anti-affinity', rules: { max_server_per_host: 2 } }, absent: ['policies'] },
      { version: '2.64', body: { name: 'g', policy: 'soft-affinity' }, view: { policy: 'soft-affinity', rules: {} }, absent: ['policies'] },
    ])('creates at $version: $body', async ({ version, body, view, absent }) => {
      const res = await post({ server_group: body }, version)
      expect(res.statusCode).toBe(200)
      const group = res.json().server_group
      expect(group).toMatchObject({ name: 'g', ...view })
      expect(group.id).toMatch(/^[0-9a-f-]{36}$/)
      for (const key of absent) expect(group).not.toHaveProperty(key)
      if (version !== '2.1') expect(group).toMatchObject({ project_id: env.demo.projectId, user_id: env.demo.userId })
    })

    it.each([
      { version: '2.14', body: { name: 'g', policies: ['soft-affinity'] }, message: "Invalid input for field/attribute 0. Value: soft-affinity. 'soft-affinity' is not one of ['anti-affinity', 'affinity']" },
      { version: '2.1', body: { name: 'g', policies: ['affinity', 'anti-affinity'] }, message: 'is too long' },
      { version: '2.1', body: { name: 'g', policy: 'affinity' }, message: "'policies' is a required property" },
      { version: '2.64', body: { name: 'g', policies: ['affinity'] }, message: "'policy' is a required property" },
      { version: '2.64', body: { name: 'g', policy: 'affinity', policies: ['affinity'] }, message: "Additional properties are not allowed ('policies' was unexpected)" },
      { version: '2.64', body: { name: 'g', policy: 'affinity', rules: { max_server_per_host: 2 } }, message: 'Only anti-affinity policy supports rules.' },
      { version: '2.64', body: { name: 'g', policy: 'anti-affinity', rules: { max_server_per_host: 0 } }, message: '0 is less than the minimum of 1' },
      { version: '2.64', body: { name: 'g', policy: 'anti-affinity', rules: { other: 1 } }, message: "Additional properties are not allowed ('other' was unexpected)" },
      { version: '2.64', body: { name: '', policy: 'affinity' }, message: 'Invalid input for field/attribute name' },
    ])('refuses at $version: $body', async ({ version, body, message }) => {
      const res = await post({ server_group: body }, version)
      expect(res.statusCode).toBe(400)
      expect(res.json().badRequest.message).toContain(message)
    })

    it('is limited by the server_groups quota (403)', async () => {
      const admin = env.admin.token
      const project = env.deployment.api
      const ctx = { requestId: 'req-quota', userId: env.admin.userId, projectId: env.admin.projectId, roles: ['admin'], isAdmin: true }
      await project.quotas.update(ctx, env.admin.projectId, { server_groups: 1 })
      expect((await post({ server_group: { name: 'first', policy: 'affinity' } }, '2.64', admin)).statusCode).toBe(200)
      const over = await post({ server_group: { name: 'second', policy: 'affinity' } }, '2.64', admin)
      expect(over.statusCode).toBe(403)
      expect(over.json()).toEqual({ forbidden: { code: 403, message: 'Quota exceeded, too many server groups.' } })
      await project.quotas.update(ctx, env.admin.projectId, { server_groups: 10 })
    })
  })

  describe('GET and DELETE', () => {
    it('lists the project’s groups with limit and offset, every project’s for an admin with all_projects', async () => {
      const mine = await env.compute({ method: 'GET', url: '/v2.1/os-server-groups', token: env.demo.token, version: '2.64' })
      expect(mine.statusCode).toBe(200)
      const ids = mine.json().server_groups.map((g: { id: string }) => g.id)
      expect(ids.length).toBeGreaterThanOrEqual(6)
      expect(mine.json().server_groups.every((g: { project_id: string }) => g.project_id === env.demo.projectId)).toBe(true)
      const page = await env.compute({ method: 'GET', url: '/v2.1/os-server-groups?limit=2&offset=1', token: env.demo.token, version: '2.64' })
      expect(page.json().server_groups.map((g: { id: string }) => g.id)).toEqual(ids.slice(1, 3))
      const forbidden = await env.compute({ method: 'GET', url: '/v2.1/os-server-groups?all_projects=True', token: env.demo.token, version: '2.64' })
      expect(forbidden.statusCode).toBe(403)
      const all = await env.compute({ method: 'GET', url: '/v2.1/os-server-groups?all_projects=True', token: env.admin.token, version: '2.64' })
      const projects = new Set(all.json().server_groups.map((g: { project_id: string }) => g.project_id))
      expect([...projects].sort()).toEqual([env.admin.projectId, env.demo.projectId].sort())
      const unknown = await env.compute({ method: 'GET', url: '/v2.1/os-server-groups?bogus=1', token: env.demo.token, version: '2.75' })
      expect(unknown.statusCode).toBe(400)
    })

    it('shows members, hides other projects’ groups, and deletes (members keep running)', async () => {
      const group = (await post({ server_group: { name: 'web', policy: 'anti-affinity' } }, '2.64')).json().server_group
      const created = await boot('member', group.id)
      expect(created.statusCode).toBe(202)
      const id = created.json().server.id as string
      await env.waitForStatus(id, 'ACTIVE')
      const shown = await env.compute({ method: 'GET', url: `/v2.1/os-server-groups/${group.id}`, token: env.demo.token, version: '2.64' })
      expect(shown.json().server_group).toMatchObject({ id: group.id, members: [id] })
      const server = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token, version: '2.71' })
      expect(server.json().server.server_groups).toEqual([group.id])
      const before = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token, version: '2.70' })
      expect(before.json().server).not.toHaveProperty('server_groups')
      const deleted = await env.compute({ method: 'DELETE', url: `/v2.1/os-server-groups/${group.id}`, token: env.demo.token })
      expect(deleted.statusCode).toBe(204)
      const gone = await env.compute({ method: 'GET', url: `/v2.1/os-server-groups/${group.id}`, token: env.demo.token })
      expect(gone.statusCode).toBe(404)
      expect(gone.json().itemNotFound.message).toBe(`Instance group ${group.id} could not be found.`)
      const still = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token, version: '2.71' })
      expect(still.json().server).toMatchObject({ status: 'ACTIVE', server_groups: [] })
    })

    it('refuses another project’s group as a show, a delete and a scheduler hint; an admin sees it', async () => {
      const theirs = (await post({ server_group: { name: 'admins', policy: 'affinity' } }, '2.64', env.admin.token)).json().server_group
      for (const method of ['GET', 'DELETE'] as const) {
        const res = await env.compute({ method, url: `/v2.1/os-server-groups/${theirs.id}`, token: env.demo.token })
        expect(res.statusCode).toBe(404)
      }
      const hint = await boot('sneaky', theirs.id)
      expect(hint.statusCode).toBe(400)
      expect(hint.json().badRequest.message).toBe(`Instance group ${theirs.id} could not be found.`)
      const mine = (await post({ server_group: { name: 'mine', policy: 'affinity' } }, '2.64')).json().server_group
      const byAdmin = await env.compute({ method: 'GET', url: `/v2.1/os-server-groups/${mine.id}`, token: env.admin.token, version: '2.64' })
      expect(byAdmin.json().server_group).toMatchObject({ id: mine.id, project_id: env.demo.projectId })
    })
  })

  describe('placement by policy', () => {
    it('spreads anti-affinity members over hosts and puts the one too many in ERROR with the filter named', async () => {
      const group = (await post({ server_group: { name: 'spread', policy: 'anti-affinity' } }, '2.64')).json().server_group
      const ids: string[] = []
      for (const n of [1, 2, 3]) ids.push((await boot(`spread-${n}`, group.id)).json().server.id)
      const shown = await Promise.all(ids.map((id) => env.waitForStatus(id, 'ACTIVE', 'ERROR')))
      const active = shown.filter((s) => s.status === 'ACTIVE')
      expect(active.map((s) => s['OS-EXT-SRV-ATTR:host']).sort()).toEqual(['compute-1', 'compute-2'])
      const failed = shown.find((s) => s.status === 'ERROR') as unknown as { fault: { message: string } }
      expect(failed.fault.message).toBe('No valid host was found. 0 of 2 hosts: 2 rejected by ServerGroupAntiAffinityFilter (server group ' + group.id + ' (anti-affinity) already has 1 member(s) on the host, max_server_per_host is 1)')
    })

    it('allows max_server_per_host members per host (2.64) and keeps affinity members together', async () => {
      const two = (await post({ server_group: { name: 'two', policy: 'anti-affinity', rules: { max_server_per_host: 2 } } }, '2.64')).json().server_group
      const multi = await boot('two', two.id, { min_count: 4 })
      expect(multi.statusCode).toBe(202)
      const members = (await env.compute({ method: 'GET', url: `/v2.1/os-server-groups/${two.id}`, token: env.demo.token, version: '2.64' })).json().server_group.members as string[]
      expect(members).toHaveLength(4)
      const hosts = (await Promise.all(members.map((id) => env.waitForStatus(id, 'ACTIVE')))).map((s) => s['OS-EXT-SRV-ATTR:host'])
      expect(hosts.filter((h) => h === 'compute-1')).toHaveLength(2)
      expect(hosts.filter((h) => h === 'compute-2')).toHaveLength(2)

      const together = (await post({ server_group: { name: 'together', policy: 'affinity' } }, '2.64')).json().server_group
      const first = (await boot('aff-1', together.id)).json().server.id as string
      const firstHost = (await env.waitForStatus(first, 'ACTIVE'))['OS-EXT-SRV-ATTR:host']
      const second = (await boot('aff-2', together.id)).json().server.id as string
      expect((await env.waitForStatus(second, 'ACTIVE'))['OS-EXT-SRV-ATTR:host']).toBe(firstHost)
    })

    it('is all or nothing through the API: a multi-create that cannot fit leaves every instance in ERROR and nothing claimed', async () => {
      const group = (await post({ server_group: { name: 'three', policy: 'anti-affinity' } }, '2.64')).json().server_group
      const res = await boot('aon', group.id, { min_count: 3, return_reservation_id: true })
      expect(res.statusCode).toBe(202)
      const list = await env.compute({ method: 'GET', url: `/v2.1/servers/detail?reservation_id=${res.json().reservation_id}`, token: env.demo.token, version: '2.93' })
      const ids = list.json().servers.map((s: { id: string }) => s.id) as string[]
      expect(ids).toHaveLength(3)
      const shown = await Promise.all(ids.map((id) => env.waitForStatus(id, 'ERROR')))
      for (const s of shown) expect((s as unknown as { fault: { message: string } }).fault.message).toMatch(/^No valid host was found\. placed 2 of 3 instances before running out of hosts; then 0 of 2 hosts: 2 rejected by ServerGroupAntiAffinityFilter/)
      for (const id of ids) expect((await env.deployment.api.placement.getAllocations(id)).allocations).toEqual({})
    })

    it('counts group members against server_group_members (403)', async () => {
      const ctx = { requestId: 'req-members', userId: env.admin.userId, projectId: env.admin.projectId, roles: ['admin'], isAdmin: true }
      await env.deployment.api.quotas.update(ctx, env.demo.projectId, { server_group_members: 2 })
      const group = (await post({ server_group: { name: 'small', policy: 'soft-affinity' } }, '2.64')).json().server_group
      const over = await boot('small', group.id, { min_count: 3 })
      expect(over.statusCode).toBe(403)
      expect(over.json().forbidden.message).toBe('Quota exceeded, too many servers in group')
      await env.deployment.api.quotas.update(ctx, env.demo.projectId, { server_group_members: 10 })
    })
  })
})
