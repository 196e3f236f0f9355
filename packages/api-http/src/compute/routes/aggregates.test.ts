import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDeploymentEnv, type DeploymentEnv } from '../../deployment-env.test-helper.js'

const NAIVE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/

describe('aggregate routes (os-aggregates)', () => {
  let env: DeploymentEnv
  beforeAll(async () => {
    env = await createDeploymentEnv({ hosts: [{ host: 'compute-1' }, { host: 'compute-2' }] })
  })
  afterAll(async () => {
    await env?.close()
  })

  type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'
  const call = (method: Method, path: string, payload?: unknown, version = '2.1', token = env.admin.token) =>
    env.compute({ method, url: `/v2.1/os-aggregates${path}`, token, version, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) })
  const action = (id: number | string, body: unknown, version = '2.1', token = env.admin.token) => call('POST', `/${id}/action`, body, version, token)
  const create = async (name: string, zone?: string) => {
    const res = await call('POST', '', { aggregate: { name, ...(zone ? { availability_zone: zone } : {}) } }, '2.41')
    expect(res.statusCode).toBe(200)
    return res.json().aggregate as { id: number; uuid: string; name: string }
  }
  const providerAggregates = async (host: string): Promise<string[]> => {
    const node = await env.db.selectFrom('compute_nodes').select('uuid').where('host', '=', host).executeTakeFirstOrThrow()
    const res = await env.servers.placement.inject({
      method: 'GET',
      url: `/resource_providers/${node.uuid}/aggregates`,
      headers: { 'x-auth-token': env.admin.token, 'openstack-api-version': 'placement 1.19' },
    })
    expect(res.statusCode).toBe(200)
    return res.json().aggregates as string[]
  }

  describe('POST and GET', () => {
    it('creates (200) without hosts and metadata in the answer; uuid from 2.41', async () => {
      const res = await call('POST', '', { aggregate: { name: 'agg-a', availability_zone: 'zone-a' } })
      expect(res.statusCode).toBe(200)
      const agg = res.json().aggregate
      expect(Object.keys(agg).sort()).toEqual(['availability_zone', 'created_at', 'deleted', 'deleted_at', 'id', 'name', 'updated_at'])
      expect(agg).toMatchObject({ name: 'agg-a', availability_zone: 'zone-a', deleted: false, deleted_at: null, updated_at: null })
      expect(agg.created_at).toMatch(NAIVE_TIME)
      const v241 = await call('POST', '', { aggregate: { name: 'agg-b', availability_zone: null } }, '2.41')
      expect(v241.json().aggregate).toMatchObject({ name: 'agg-b', availability_zone: null })
      expect(v241.json().aggregate.uuid).toMatch(/^[0-9a-f-]{36}$/)
    })

    it('lists and shows with hosts, metadata and the 2.41 uuid', async () => {
      const list = await call('GET', '')
      expect(list.statusCode).toBe(200)
      const listed = list.json().aggregates as Record<string, unknown>[]
      expect(listed.map((a) => a.name)).toEqual(['agg-a', 'agg-b'])
      expect(listed[0]).toMatchObject({ hosts: [], metadata: { availability_zone: 'zone-a' } })
      expect(listed[0]).not.toHaveProperty('uuid')
      const shown = await call('GET', `/${String(listed[0]?.id)}`, undefined, '2.41')
      expect(shown.statusCode).toBe(200)
      expect(Object.keys(shown.json().aggregate).sort()).toEqual(['availability_zone', 'created_at', 'deleted', 'deleted_at', 'hosts', 'id', 'metadata', 'name', 'updated_at', 'uuid'])
      expect((await call('GET', '', undefined, '2.41')).json().aggregates[1].uuid).toMatch(/^[0-9a-f-]{36}$/)
    })

    it.each([
      { body: {}, message: "'aggregate' is a required property" },
      { body: { aggregate: {} }, message: "'name' is a required property" },
      { body: { aggregate: { name: '' } }, message: 'Invalid input for field/attribute name' },
      { body: { aggregate: { name: ' lead' } }, message: "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace." },
      { body: { aggregate: { name: 'x'.repeat(256) } }, message: 'is too long' },
      { body: { aggregate: { name: 'z', availability_zone: 'a:b' } }, message: 'Invalid input for field/attribute availability_zone' },
      { body: { aggregate: { name: 'z', availability_zone: '' } }, message: 'Invalid input for field/attribute availability_zone' },
      { body: { aggregate: { name: 'z', availability_zone: 'internal' } }, message: 'Cannot create aggregate z. Reason: Availability zone internal is reserved for internal services.' },
      { body: { aggregate: { name: 'z', extra: 1 } }, message: "Additional properties are not allowed ('extra' was unexpected)" },
      { body: { aggregate: { name: 42 } }, message: "42 is not of type 'string'" },
      { body: [], message: "[] is not of type 'object'" },
    ])('refuses $body with 400', async ({ body, message }) => {
      const res = await call('POST', '', body)
      expect(res.statusCode).toBe(400)
      expect(res.json().badRequest.message).toContain(message)
    })

    it('refuses a taken name with 409, an unparsable body with 400', async () => {
      const dup = await call('POST', '', { aggregate: { name: 'agg-a' } })
      expect(dup.statusCode).toBe(409)
      expect(dup.json()).toEqual({ conflictingRequest: { code: 409, message: 'Aggregate agg-a already exists.' } })
      const garbage = await env.compute({ method: 'POST', url: '/v2.1/os-aggregates', token: env.admin.token, headers: { 'content-type': 'application/json' }, payload: '{"aggregate":' })
      expect(garbage.statusCode).toBe(400)
      expect(garbage.json().badRequest.message).toMatch(/^Malformed request body/)
    })

    it.each([
      { path: '/abc', status: 400, message: 'Invalid input received: id must be an integer' },
      { path: '/1.5', status: 400, message: 'Invalid input received: id must be an integer' },
      { path: '/987654', status: 404, message: 'Aggregate 987654 could not be found.' },
      { path: '/-3', status: 404, message: 'Aggregate -3 could not be found.' },
      { path: '/99999999999999999999999', status: 404, message: 'Aggregate 99999999999999999999999 could not be found.' },
    ])('GET $path → $status', async ({ path, status, message }) => {
      const res = await call('GET', path)
      expect(res.statusCode).toBe(status)
      expect(Object.values(res.json())[0]).toEqual({ code: status, message })
    })
  })

  describe('PUT and DELETE', () => {
    it('renames (a name with edge spaces is stripped) and changes the zone', async () => {
      const agg = await create('to-update')
      const res = await call('PUT', `/${agg.id}`, { aggregate: { name: '  updated ' } }, '2.41')
      expect(res.statusCode).toBe(200)
      expect(res.json().aggregate).toMatchObject({ id: agg.id, name: 'updated', uuid: agg.uuid, hosts: [], metadata: {} })
      expect(res.json().aggregate.updated_at).toMatch(NAIVE_TIME)
      const zoned = await call('PUT', `/${agg.id}`, { aggregate: { availability_zone: 'zone-u' } })
      expect(zoned.json().aggregate).toMatchObject({ name: 'updated', availability_zone: 'zone-u', metadata: { availability_zone: 'zone-u' } })
    })

    it.each([
      { body: { aggregate: {} }, status: 400, message: "'name' is a required property" },
      { body: { aggregate: { name: '   ' } }, status: 400, message: "An invalid 'name' value was provided" },
      { body: { aggregate: { availability_zone: null } }, status: 400, message: 'Reason: Aggregate updated does not support empty named availability zone.' },
      { body: { aggregate: { name: 'agg-a' } }, status: 409, message: 'Aggregate agg-a already exists.' },
      { body: { updated: {} }, status: 400, message: "'aggregate' is a required property" },
    ])('PUT $body → $status', async ({ body, status, message }) => {
      const agg = ((await call('GET', '')).json().aggregates as { id: number; name: string }[]).find((a) => a.name === 'updated')
      const res = await call('PUT', `/${agg?.id}`, body)
      expect(res.statusCode).toBe(status)
      expect((Object.values(res.json())[0] as { message: string }).message).toContain(message)
    })

    it('PUT on an unknown or malformed id is 404 / 400', async () => {
      expect((await call('PUT', '/987654', { aggregate: { name: 'x' } })).statusCode).toBe(404)
      expect((await call('PUT', '/x', { aggregate: { name: 'x' } })).statusCode).toBe(400)
    })

    it('deletes an empty aggregate with 200 and no body; a non-empty one is a 400', async () => {
      const agg = await create('to-delete')
      expect((await action(agg.id, { add_host: { host: 'compute-2' } })).statusCode).toBe(200)
      const busy = await call('DELETE', `/${agg.id}`)
      expect(busy.statusCode).toBe(400)
      expect(busy.json().badRequest.message).toBe(`Cannot remove host from aggregate ${agg.id}. Reason: Host aggregate is not empty.`)
      expect((await action(agg.id, { remove_host: { host: 'compute-2' } })).statusCode).toBe(200)
      const res = await call('DELETE', `/${agg.id}`)
      expect(res.statusCode).toBe(200)
      expect(res.body).toBe('')
      expect((await call('GET', `/${agg.id}`)).statusCode).toBe(404)
      expect((await call('DELETE', `/${agg.id}`)).statusCode).toBe(404)
      expect((await call('DELETE', '/nope')).statusCode).toBe(400)
    })
  })

  describe('POST /os-aggregates/{id}/action', () => {
    let zone: { id: number; uuid: string }
    beforeAll(async () => {
      zone = await create('zone-1-agg', 'az1')
    })

    it('add_host mirrors the host into its Placement provider; the zone appears in os-availability-zone', async () => {
      const res = await action(zone.id, { add_host: { host: 'compute-1' } }, '2.41')
      expect(res.statusCode).toBe(200)
      expect(res.json().aggregate).toMatchObject({ id: zone.id, uuid: zone.uuid, hosts: ['compute-1'], availability_zone: 'az1' })
      expect(await providerAggregates('compute-1')).toEqual([zone.uuid])
      expect(await providerAggregates('compute-2')).toEqual([])
      const zones = await env.compute({ method: 'GET', url: '/v2.1/os-availability-zone', token: env.demo.token })
      expect(zones.json().availabilityZoneInfo.map((z: { zoneName: string }) => z.zoneName).sort()).toEqual(['az1', 'nova'])
    })

    it('a boot into az1 lands on the aggregate’s host', async () => {
      const res = await env.compute({
        method: 'POST', url: '/v2.1/servers', token: env.admin.token, version: '2.93',
        payload: { server: { name: 'in-az1', imageRef: env.imageId, flavorRef: '1', networks: 'none', availability_zone: 'az1' } },
      })
      expect(res.statusCode).toBe(202)
      const server = await env.waitForStatus(res.json().server.id as string, 'ACTIVE', 'ERROR')
      expect(server).toMatchObject({ status: 'ACTIVE', 'OS-EXT-SRV-ATTR:host': 'compute-1', 'OS-EXT-AZ:availability_zone': 'az1' })
      const gone = await env.compute({ method: 'DELETE', url: `/v2.1/servers/${String(server.id)}`, token: env.admin.token })
      expect(gone.statusCode).toBe(204)
    })

    it('set_metadata sets keys and deletes those set to null', async () => {
      const set = await action(zone.id, { set_metadata: { metadata: { ssd: 'true', 'trait:CUSTOM_X': 'required' } } })
      expect(set.statusCode).toBe(200)
      expect(set.json().aggregate.metadata).toEqual({ availability_zone: 'az1', ssd: 'true', 'trait:CUSTOM_X': 'required' })
      const unset = await action(zone.id, { set_metadata: { metadata: { 'trait:CUSTOM_X': null, never: null } } })
      expect(unset.json().aggregate.metadata).toEqual({ availability_zone: 'az1', ssd: 'true' })
    })

    it.each([
      { body: {}, status: 400, message: 'Malformed request body' },
      { body: { add_host: { host: 'a' }, remove_host: { host: 'a' } }, status: 400, message: 'Malformed request body' },
      { body: { explode: {} }, status: 400, message: 'There is no such action: explode' },
      { body: { add_host: {} }, status: 400, message: "'host' is a required property" },
      { body: { add_host: { host: 'bad host!' } }, status: 400, message: 'Invalid input for field/attribute host' },
      { body: { add_host: { host: '' } }, status: 400, message: 'Invalid input for field/attribute host' },
      { body: { add_host: { host: 'compute-1', extra: 1 } }, status: 400, message: "Additional properties are not allowed ('extra' was unexpected)" },
      { body: { add_host: 'compute-1' }, status: 400, message: "'compute-1' is not of type 'object'" },
      { body: { add_host: { host: 'ghost' } }, status: 404, message: 'Compute host ghost could not be found.' },
      { body: { add_host: { host: 'compute-1' } }, status: 409, message: 'already has host compute-1.' },
      { body: { remove_host: { host: 'ghost' } }, status: 404, message: 'Cannot remove host ghost in aggregate' },
      { body: { remove_host: { host: 'compute-2' } }, status: 404, message: 'Cannot remove host compute-2 in aggregate' },
      { body: { set_metadata: {} }, status: 400, message: "'metadata' is a required property" },
      { body: { set_metadata: { metadata: { 'bad/key': 'v' } } }, status: 400, message: "'bad/key' does not match any of the regexes" },
      { body: { set_metadata: { metadata: { k: 'v'.repeat(256) } } }, status: 400, message: 'is too long' },
      { body: { set_metadata: { metadata: { k: 1 } } }, status: 400, message: "1 is not of type 'string', 'null'" },
      { body: { set_metadata: { metadata: { availability_zone: null } } }, status: 400, message: 'does not support empty named availability zone' },
    ])('$body → $status', async ({ body, status, message }) => {
      const res = await action(zone.id, body)
      expect(res.statusCode).toBe(status)
      expect((Object.values(res.json())[0] as { message: string }).message).toContain(message)
    })

    it('refuses with 409 to put a host into a second zone, and with 400 to move a zone onto a host of another', async () => {
      const other = await create('zone-2-agg', 'az2')
      const add = await action(other.id, { add_host: { host: 'compute-1' } })
      expect(add.statusCode).toBe(409)
      expect(add.json().conflictingRequest.message).toBe(`Cannot add host to aggregate ${other.id}. Reason: One or more hosts already in availability zone(s) ['az1'].`)
      const plain = await create('plain-agg')
      expect((await action(plain.id, { add_host: { host: 'compute-1' } })).statusCode).toBe(200)
      expect((await providerAggregates('compute-1')).sort()).toEqual([zone.uuid, plain.uuid].sort())
      const move = await action(plain.id, { set_metadata: { metadata: { availability_zone: 'az2' } } })
      expect(move.statusCode).toBe(400)
      expect(move.json().badRequest.message).toBe(`Cannot update metadata of aggregate ${plain.id}. Reason: One or more hosts already in availability zone(s) ['az1'].`)
      expect((await action(plain.id, { remove_host: { host: 'compute-1' } })).statusCode).toBe(200)
      expect(await providerAggregates('compute-1')).toEqual([zone.uuid])
    })

    it('remove_host takes the host out of the Placement aggregate too', async () => {
      const res = await action(zone.id, { remove_host: { host: 'compute-1' } }, '2.41')
      expect(res.statusCode).toBe(200)
      expect(res.json().aggregate).toMatchObject({ hosts: [], uuid: zone.uuid })
      expect(await providerAggregates('compute-1')).toEqual([])
    })

    it('answers 400 for a malformed id, 404 for an unknown one', async () => {
      expect((await action('abc', { add_host: { host: 'compute-1' } })).statusCode).toBe(400)
      expect((await action(987654, { add_host: { host: 'compute-1' } })).statusCode).toBe(404)
      expect((await action(987654, { set_metadata: { metadata: {} } })).statusCode).toBe(404)
      const remove = await action(987654, { remove_host: { host: 'compute-1' } })
      expect(remove.json()).toEqual({ itemNotFound: { code: 404, message: 'Cannot remove host compute-1 in aggregate 987654' } })
    })
  })

  describe('POST /os-aggregates/{id}/images (2.81)', () => {
    const image = '7b4f4d72-6a9f-4b2c-9c51-2b5d1c3d1f00'
    it.each([
      { version: '2.80', body: { cache: [{ id: image }] }, status: 404 },
      { version: '2.81', body: {}, status: 400 },
      { version: '2.81', body: { cache: [] }, status: 400 },
      { version: '2.81', body: { cache: [{ id: 'not-a-uuid' }] }, status: 400 },
      { version: '2.81', body: { cache: [{ id: image }, { id: image }] }, status: 400 },
      { version: '2.81', body: { cache: [{ id: image }] }, status: 501 },
    ])('at $version with $body → $status', async ({ version, body, status }) => {
      const agg = ((await call('GET', '')).json().aggregates as { id: number }[])[0]
      const res = await call('POST', `/${agg?.id}/images`, body, version)
      expect(res.statusCode).toBe(status)
      if (status === 501) expect(res.json().notImplemented.message).toContain('Image pre-caching is not supported')
    })
  })

  describe('robustness: bad input is never a 500', () => {
    const value = fc.oneof(fc.jsonValue(), fc.constantFrom('', ' ', 'compute-1', 'compute-2', 'az1', 'internal', 'a:b', 'x'.repeat(300), null))
    const aggregateBody = fc.dictionary(fc.constantFrom('name', 'availability_zone', 'extra'), value)
    const actionBody = fc.oneof(
      fc.record({ add_host: fc.oneof(fc.dictionary(fc.constantFrom('host', 'other'), value), value) }),
      fc.record({ remove_host: fc.oneof(fc.dictionary(fc.constantFrom('host', 'other'), value), value) }),
      fc.record({ set_metadata: fc.oneof(fc.record({ metadata: fc.oneof(fc.dictionary(fc.string(), value), value) }), value) }),
      fc.jsonValue(),
    )
    const id = fc.oneof(fc.constantFrom('1', '2', '0', '-1', '1e3', '%20', 'abc', '99999999999999999999', '2147483648'), fc.integer().map(String))

    it('arbitrary bodies and ids on every aggregate route answer 200 or a 4xx fault', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            aggregateBody.map((aggregate) => ({ method: 'POST' as const, path: '', body: { aggregate } as unknown })),
            fc.tuple(id, fc.oneof(aggregateBody.map((aggregate) => ({ aggregate }) as unknown), fc.jsonValue())).map(([i, body]) => ({ method: 'PUT' as const, path: `/${i}`, body })),
            fc.tuple(id, actionBody).map(([i, body]) => ({ method: 'POST' as const, path: `/${i}/action`, body: body as unknown })),
            id.map((i) => ({ method: 'GET' as const, path: `/${i}`, body: undefined as unknown })),
          ),
          fc.constantFrom(env.admin.token, env.demo.token),
          async ({ method, path, body }, token) => {
            const res = await env.compute({
              method, url: `/v2.1/os-aggregates${path}`, token, version: '2.41',
              ...(body !== undefined ? { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
            })
            expect(res.statusCode).toBeLessThan(500)
            if (res.statusCode >= 400) expect((Object.values(res.json() as Record<string, { code?: number }>)[0])?.code).toBe(res.statusCode)
          },
        ),
        { numRuns: 300 },
      )
      // Whatever the run created, it leaves no host anywhere in a half-mirrored state.
      const list = (await call('GET', '', undefined, '2.41')).json().aggregates as { uuid: string; hosts: string[] }[]
      for (const host of ['compute-1', 'compute-2']) {
        expect((await providerAggregates(host)).sort()).toEqual(list.filter((a) => a.hosts.includes(host)).map((a) => a.uuid).sort())
      }
    })
  })

  describe('policy', () => {
    it.each([
      { method: 'GET', path: '', rule: 'index' },
      { method: 'POST', path: '', body: { aggregate: { name: 'mine' } }, rule: 'create' },
      { method: 'GET', path: '/1', rule: 'show' },
      { method: 'PUT', path: '/1', body: { aggregate: { name: 'mine' } }, rule: 'update' },
      { method: 'DELETE', path: '/1', rule: 'delete' },
      { method: 'POST', path: '/1/action', body: { add_host: { host: 'compute-1' } }, rule: 'add_host' },
      { method: 'POST', path: '/1/action', body: { remove_host: { host: 'compute-1' } }, rule: 'remove_host' },
      { method: 'POST', path: '/1/action', body: { set_metadata: { metadata: {} } }, rule: 'set_metadata' },
    ] as const)('$method $path is admin only (os-aggregates:$rule)', async ({ method, path, rule, ...rest }) => {
      const body = 'body' in rest ? rest.body : undefined
      const res = await call(method, path, body, '2.1', env.demo.token)
      expect(res.statusCode).toBe(403)
      expect(res.json()).toEqual({ forbidden: { code: 403, message: `Policy doesn't allow os_compute_api:os-aggregates:${rule} to be performed.` } })
    })

    it('needs a token', async () => {
      const res = await env.compute({ method: 'GET', url: '/v2.1/os-aggregates' })
      expect(res.statusCode).toBe(401)
    })
  })
})
