import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { ComputeError, type RequestContext } from '@novum/core'
import type { TokenValidator } from '../common/auth.js'
import { createComputeApp, requireMicroversion, type ComputeRoutesFactory } from './compute-app.js'
import { mv } from './microversion.js'

const PROJECT = '6f1d4e0c2b8a4f3e9d7c5b3a19e8d7c6'
const ctx: RequestContext = { requestId: 'req-x', userId: 'u1', projectId: PROJECT, roles: ['member'], isAdmin: false }

/** A token table: the edge the compute app talks to (the real IdentityService is used by the route tests). */
const tokens: TokenValidator = {
  async validateToken(token) {
    if (token === 'good') return { context: ctx }
    throw new ComputeError('UNAUTHORIZED', 'The request you have made requires authentication.')
  },
}

const testRoutes: ComputeRoutesFactory = ({ schemas }) => {
  const validate = schemas.body({
    type: 'object',
    properties: {
      thing: {
        type: 'object',
        properties: { name: { type: 'string', minLength: 1, maxLength: 255, format: 'name' }, count: { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1 } },
        required: ['name'],
        additionalProperties: false,
      },
    },
    required: ['thing'],
    additionalProperties: false,
  })
  return {
    name: 'test',
    register(app) {
      app.get('/echo', async (request) => ({ version: request.microversion, ctx: request.authContext, id: request.id }))
      app.post('/things', async (request, reply) => {
        validate(request.body)
        return reply.code(202).send({ ok: true })
      })
      app.get('/boom', async () => {
        throw new Error('database exploded')
      })
      app.get('/conflict', async () => {
        throw new ComputeError('CONFLICT', "Cannot 'stop' instance abc while it is in vm_state stopped")
      })
      app.get('/quota', async () => {
        throw new ComputeError('QUOTA', 'Quota exceeded for instances: Requested 1, but already used 10 of 10 instances')
      })
      app.get('/not-impl', async () => {
        throw new ComputeError('NOT_IMPLEMENTED', 'the driver cannot pause')
      })
      app.get('/new-only', async (request) => {
        requireMicroversion(request, mv('2.50'))
        return { ok: true }
      })
    },
  }
}

describe('createComputeApp', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    app = createComputeApp({ tokens, identityUri: 'http://keystone:5000', routes: [testRoutes] })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
  })

  const authed = { 'x-auth-token': 'good' }

  describe('version documents', () => {
    it('GET / lists v2.0 and v2.1 without a token', async () => {
      const res = await app.inject({ method: 'GET', url: '/', headers: { host: 'nova:8774' } })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({
        versions: [
          { id: 'v2.0', status: 'SUPPORTED', version: '', min_version: '', updated: '2011-01-21T11:33:21Z', links: [{ rel: 'self', href: 'http://nova:8774/v2/' }] },
          { id: 'v2.1', status: 'CURRENT', version: '2.93', min_version: '2.1', updated: '2013-07-23T11:33:21Z', links: [{ rel: 'self', href: 'http://nova:8774/v2.1/' }] },
        ],
      })
    })

    it.each(['/v2.1', '/v2.1/'])('GET %s is the single v2.1 document', async (url) => {
      const res = await app.inject({ method: 'GET', url, headers: { host: 'nova:8774' } })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({
        version: {
          id: 'v2.1',
          status: 'CURRENT',
          version: '2.93',
          min_version: '2.1',
          updated: '2013-07-23T11:33:21Z',
          links: [
            { rel: 'self', href: 'http://nova:8774/v2.1/' },
            { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
          ],
          'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
        },
      })
    })

    it('GET /v2.1/{project_id}/ needs a token and answers the same document', async () => {
      expect((await app.inject({ method: 'GET', url: `/v2.1/${PROJECT}/` })).statusCode).toBe(401)
      const res = await app.inject({ method: 'GET', url: `/v2.1/${PROJECT}`, headers: authed })
      expect(res.statusCode).toBe(200)
      expect(res.json().version.id).toBe('v2.1')
    })

    it('any other root path is a 300 with choices', async () => {
      const res = await app.inject({ method: 'GET', url: '/foo', headers: { host: 'nova:8774' } })
      expect(res.statusCode).toBe(300)
      expect(res.json().choices.map((c: { id: string }) => c.id)).toEqual(['v2.0', 'v2.1'])
      expect(res.json().choices[1].links[0].href).toBe('http://nova:8774/v2.1/foo')
    })
  })

  describe('microversion negotiation', () => {
    it('no header means 2.1, echoed with Vary', async () => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/echo', headers: authed })
      expect(res.statusCode).toBe(200)
      expect(res.json().version).toBe(2001)
      expect(res.headers['openstack-api-version']).toBe('compute 2.1')
      expect(res.headers['x-openstack-nova-api-version']).toBe('2.1')
      expect(res.headers.vary).toBe('OpenStack-API-Version, X-OpenStack-Nova-API-Version')
    })

    it.each([
      [{ 'openstack-api-version': 'compute 2.53' }, 2053, '2.53'],
      [{ 'openstack-api-version': 'compute latest' }, 2093, '2.93'],
      [{ 'x-openstack-nova-api-version': '2.26' }, 2026, '2.26'],
      [{ 'openstack-api-version': 'placement 1.10, compute 2.60' }, 2060, '2.60'],
      [{ 'openstack-api-version': 'compute 2.70', 'x-openstack-nova-api-version': '2.3' }, 2070, '2.70'],
      [{ 'openstack-api-version': 'placement 1.10', 'x-openstack-nova-api-version': '2.3' }, 2003, '2.3'],
    ])('%j → %s', async (headers, version, echoed) => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/echo', headers: { ...authed, ...headers } })
      expect(res.statusCode).toBe(200)
      expect(res.json().version).toBe(version)
      expect(res.headers['openstack-api-version']).toBe(`compute ${echoed}`)
      expect(res.headers['x-openstack-nova-api-version']).toBe(echoed)
    })

    it.each(['2', 'abc', '2.01', '2.x', '02.1'])('malformed %s is a 400 badRequest', async (v) => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/echo', headers: { ...authed, 'openstack-api-version': `compute ${v}` } })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toEqual({ badRequest: { code: 400, message: `API Version String ${v} is of invalid format. Must be of format MajorNum.MinorNum.` } })
      expect(res.headers['openstack-api-version']).toBeUndefined()
    })

    it.each(['2.94', '3.0', '2.0', '1.1'])('out of range %s is a 406 computeFault', async (v) => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/echo', headers: { ...authed, 'x-openstack-nova-api-version': v } })
      expect(res.statusCode).toBe(406)
      expect(res.json()).toEqual({ computeFault: { code: 406, message: `Version ${v} is not supported by the API. Minimum is 2.1 and maximum is 2.93.` } })
    })

    it('a method missing at this microversion is a 404 that still echoes the version', async () => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/new-only', headers: { ...authed, 'openstack-api-version': 'compute 2.49' } })
      expect(res.statusCode).toBe(404)
      expect(res.json()).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } })
      expect(res.headers['openstack-api-version']).toBe('compute 2.49')
      const ok = await app.inject({ method: 'GET', url: '/v2.1/new-only', headers: { ...authed, 'openstack-api-version': 'compute 2.50' } })
      expect(ok.statusCode).toBe(200)
    })
  })

  describe('faults', () => {
    it('maps ComputeError codes to Nova fault names, with version headers', async () => {
      const conflict = await app.inject({ method: 'GET', url: '/v2.1/conflict', headers: { ...authed, 'openstack-api-version': 'compute 2.93' } })
      expect(conflict.statusCode).toBe(409)
      expect(conflict.json()).toEqual({ conflictingRequest: { code: 409, message: "Cannot 'stop' instance abc while it is in vm_state stopped" } })
      expect(conflict.headers['openstack-api-version']).toBe('compute 2.93')
      expect(conflict.headers['content-type']).toMatch(/^application\/json/)
      const quota = await app.inject({ method: 'GET', url: '/v2.1/quota', headers: authed })
      expect(quota.statusCode).toBe(403)
      expect(Object.keys(quota.json())).toEqual(['forbidden'])
      const ni = await app.inject({ method: 'GET', url: '/v2.1/not-impl', headers: authed })
      expect(ni.statusCode).toBe(501)
      expect(ni.json()).toEqual({ notImplemented: { code: 501, message: 'the driver cannot pause' } })
    })

    it('an unexpected error is a 500 that does not leak its message', async () => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/boom', headers: authed })
      expect(res.statusCode).toBe(500)
      const body = res.json()
      expect(body.computeFault.code).toBe(500)
      expect(body.computeFault.message).toMatch(/^Unexpected API Error\. Please report this/)
      expect(body.computeFault.message).not.toContain('database exploded')
    })

    it('unknown paths under /v2.1 are itemNotFound', async () => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/nothing-here', headers: authed })
      expect(res.statusCode).toBe(404)
      expect(res.json()).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } })
    })
  })

  describe('request bodies', () => {
    const post = (payload: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      app.inject({ method: 'POST', url: '/v2.1/things', headers: { ...authed, ...headers }, payload })

    it('malformed JSON is a 400 naming the problem', async () => {
      const res = await post('{"thing": {"name": "a",}}')
      expect(res.statusCode).toBe(400)
      expect(res.json().badRequest.message).toMatch(/^Malformed request body: .*JSON/)
      expect(res.headers['openstack-api-version']).toBe('compute 2.1')
    })

    it('a whitespace body is malformed, as in Nova', async () => {
      const res = await post('  ')
      expect(res.statusCode).toBe(400)
      expect(res.json().badRequest.message).toMatch(/^Malformed request body: /)
    })

    it('an empty body is "no body", rejected by the schema with the field name', async () => {
      const res = await post('')
      expect(res.statusCode).toBe(400)
      expect(res.json()).toEqual({ badRequest: { code: 400, message: "None is not of type 'object'" } })
    })

    it('text/plain and no content type are parsed as JSON, like Nova', async () => {
      expect((await post('{"thing": {"name": "a"}}', { 'content-type': 'text/plain' })).statusCode).toBe(202)
      const res = await app.inject({ method: 'POST', url: '/v2.1/things', headers: authed, payload: Buffer.from('{"thing": {"name": "a"}}') })
      expect(res.statusCode).toBe(202)
    })

    it('another media type is a 415 badMediaType', async () => {
      const res = await post('<thing/>', { 'content-type': 'application/xml' })
      expect(res.statusCode).toBe(415)
      expect(res.json()).toEqual({ badMediaType: { code: 415, message: 'Unsupported Content-Type' } })
    })

    it.each([
      [{ thing: { name: 'x'.repeat(256) } }, `Invalid input for field/attribute name. Value: ${'x'.repeat(256)}. '${'x'.repeat(256)}' is too long`],
      [{ thing: {} }, "Invalid input for field/attribute thing. Value: {}. 'name' is a required property"],
      [{ thing: { name: 'a', extra: 1 } }, "Invalid input for field/attribute thing. Value: {'name': 'a', 'extra': 1}. Additional properties are not allowed ('extra' was unexpected)"],
      [{ thing: { name: ' a' } }, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."],
      [{ thing: { name: 'a', count: '0' } }, "Invalid input for field/attribute count. Value: 0. 0 is less than the minimum of 1"],
      [{ thing: { name: 'a', count: 0 } }, 'Invalid input for field/attribute count. Value: 0. 0 is less than the minimum of 1'],
      [{ thing: { name: 7 } }, "Invalid input for field/attribute name. Value: 7. 7 is not of type 'string'"],
      [{}, "'thing' is a required property"],
    ])('%j is rejected with Nova\'s message', async (body, message) => {
      const res = await post(JSON.stringify(body))
      expect(res.statusCode).toBe(400)
      expect(res.json()).toEqual({ badRequest: { code: 400, message } })
    })

    it('a body over the size limit is a 413 overLimit', async () => {
      const res = await post(JSON.stringify({ thing: { name: 'a', pad: 'x'.repeat(200_000) } }))
      expect(res.statusCode).toBe(413)
      expect(res.json().overLimit.code).toBe(413)
    })
  })

  describe('request ids', () => {
    it('every response carries the same req-<uuid> in both headers, and the context carries it too', async () => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/echo', headers: { ...authed, 'x-openstack-request-id': 'req-ignored' } })
      const id = res.headers['x-openstack-request-id']
      expect(id).toMatch(/^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      expect(res.headers['x-compute-request-id']).toBe(id)
      expect(res.json().id).toBe(id)
      expect(res.json().ctx.requestId).toBe(id)
    })

    it('an unknown path under /v2.1 needs a token first, as behind keystonemiddleware', async () => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/nothing-here' })
      expect(res.statusCode).toBe(401)
    })

    it.each(['/', '/v2.1/nothing', '/v2.1/echo'])('%s without a token still has request ids', async (url) => {
      const res = await app.inject({ method: 'GET', url })
      expect(res.headers['x-openstack-request-id']).toMatch(/^req-/)
      expect(res.headers['x-compute-request-id']).toBe(res.headers['x-openstack-request-id'])
    })
  })

  describe('authentication', () => {
    it.each([{}, { 'x-auth-token': 'bad' }])('%j is a 401 with a Keystone challenge', async (headers) => {
      const res = await app.inject({ method: 'GET', url: '/v2.1/echo', headers })
      expect(res.statusCode).toBe(401)
      expect(res.json()).toEqual({ unauthorized: { code: 401, message: 'The request you have made requires authentication.' } })
      expect(res.headers['www-authenticate']).toBe('Keystone uri="http://keystone:5000"')
    })

    it('routes are served with and without the project in the URL', async () => {
      const res = await app.inject({ method: 'GET', url: `/v2.1/${PROJECT}/echo`, headers: authed })
      expect(res.statusCode).toBe(200)
      expect(res.json().ctx.projectId).toBe(PROJECT)
    })

    it("a URL project that is not the token's is a 400", async () => {
      const other = '0123456789abcdef0123456789abcdef'
      const res = await app.inject({ method: 'GET', url: `/v2.1/${other}/echo`, headers: authed })
      expect(res.statusCode).toBe(400)
      expect(res.json().badRequest.message).toBe(`Malformed request URL: URL's project_id '${other}' doesn't match Context's project_id '${PROJECT}'`)
    })
  })
})
