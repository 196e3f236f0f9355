import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { negotiatePlacementVersion, requestedPlacementVersion } from './microversion.js'
import { createPlacementTestEnv, type PlacementTestEnv } from './placement-test-env.test-helper.js'

describe('Placement microversions', () => {
  describe(requestedPlacementVersion.name, () => {
    it.each([
      [{}, undefined],
      [{ 'openstack-api-version': 'placement 1.20' }, '1.20'],
      [{ 'openstack-api-version': 'compute 2.60, placement 1.10' }, '1.10'],
      [{ 'openstack-api-version': 'placement 1.10, placement 1.12' }, '1.12'],
      [{ 'openstack-api-version': 'compute 2.60' }, undefined],
      [{ 'openstack-api-version': 'PLACEMENT latest' }, 'latest'],
    ])('%j → %s', (headers, want) => {
      expect(requestedPlacementVersion(headers)).toBe(want)
    })
  })

  describe(negotiatePlacementVersion.name, () => {
    it.each([
      [undefined, 0],
      ['latest', 39],
      ['1.0', 0],
      ['1.39', 39],
      ['1.05', 5],
    ])('%s → 1.%i', (requested, minor) => {
      expect(negotiatePlacementVersion(requested)).toBe(minor)
    })

    it.each([
      ['1.40', 406],
      ['2.0', 406],
      ['1.x', 400],
      ['1', 400],
      ['abc', 400],
    ])('%s → %i', (requested, status) => {
      expect(() => negotiatePlacementVersion(requested)).toThrow(expect.objectContaining({ statusCode: status }))
    })
  })
})

describe('Placement app', () => {
  let env: PlacementTestEnv
  beforeAll(async () => {
    env = await createPlacementTestEnv()
  })
  afterAll(async () => {
    await env.close()
  })

  describe('GET /', () => {
    it('serves the version document without a token and echoes the negotiated version', async () => {
      const res = await env.call({ url: '/', token: null, version: 'latest' })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ versions: [{ id: 'v1.0', max_version: '1.39', min_version: '1.0', status: 'CURRENT', links: [{ rel: 'self', href: '' }] }] })
      expect(res.headers['openstack-api-version']).toBe('placement 1.39')
      expect(res.headers['vary']).toBe('openstack-api-version')
      expect(res.headers['cache-control']).toBe('no-cache')
      const plain = await env.call({ url: '/', token: null })
      expect(plain.headers['openstack-api-version']).toBe('placement 1.0')
      expect(plain.headers['cache-control']).toBeUndefined()
    })

    it('answers an unsupported version with 406 naming the range, as osc-placement negotiation expects', async () => {
      const res = await env.call({ url: '/', token: null, version: '1.40' })
      expect(res.statusCode).toBe(406)
      const [error] = res.json().errors
      expect(error).toMatchObject({ status: 406, title: 'Not Acceptable', max_version: '1.39', min_version: '1.0' })
      expect(error.detail).toBe('Invalid microversion: Unacceptable version header: 1.40')
      expect(error.request_id).toBe(res.headers['x-openstack-request-id'])
      expect(error.code).toBeUndefined()
      expect(res.headers['openstack-api-version']).toBeUndefined()
    })

    it('answers a malformed version with 400', async () => {
      const res = await env.call({ url: '/', token: null, version: '1.x' })
      expect(res.statusCode).toBe(400)
      expect(res.json().errors[0]).toMatchObject({ status: 400, title: 'Bad Request', detail: 'Invalid microversion: invalid version string: 1.x' })
    })
  })

  describe('authentication and policy', () => {
    it('requires a token everywhere but the root, in the Placement error format', async () => {
      const res = await env.call({ url: '/resource_providers', token: null, version: '1.39' })
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toMatch(/^Keystone uri=/)
      const [error] = res.json().errors
      expect(error).toMatchObject({ status: 401, title: 'Unauthorized', detail: 'The request you have made requires authentication.' })
      expect(error.request_id).toMatch(/^req-/)
      const unknown = await env.call({ url: '/no/such/thing', token: null })
      expect(unknown.statusCode).toBe(401)
    })

    it('refuses a non-admin with 403 naming the policy rule', async () => {
      const res = await env.call({ url: '/resource_providers', token: env.demo.token, version: '1.39' })
      expect(res.statusCode).toBe(403)
      expect(res.json().errors[0]).toMatchObject({
        status: 403,
        title: 'Forbidden',
        detail: 'Policy does not allow placement:resource_providers:list to be performed.',
        code: 'placement.undefined_code',
      })
    })
  })

  describe('errors', () => {
    it('adds the error code from 1.23 only', async () => {
      const at22 = await env.call({ url: '/resource_providers/00000000-0000-4000-8000-ffffffffffff', version: '1.22' })
      expect(at22.statusCode).toBe(404)
      expect(at22.json().errors[0].code).toBeUndefined()
      expect(at22.headers['openstack-api-version']).toBe('placement 1.22')
      const at23 = await env.call({ url: '/resource_providers/00000000-0000-4000-8000-ffffffffffff', version: '1.23' })
      expect(at23.json().errors[0]).toMatchObject({ status: 404, code: 'placement.resource_provider.not_found' })
    })

    it('answers an unknown path with 404 and a known path with an unknown method with 405 and Allow', async () => {
      const missing = await env.call({ url: '/nope', version: '1.39' })
      expect(missing.statusCode).toBe(404)
      expect(missing.json().errors[0]).toMatchObject({ status: 404, title: 'Not Found', code: 'placement.undefined_code' })
      const patch = await env.call({ method: 'PATCH', url: '/resource_providers', version: '1.39' })
      expect(patch.statusCode).toBe(405)
      expect(patch.headers['allow']).toBe('GET, POST')
      expect(patch.json().errors[0]).toMatchObject({ status: 405, title: 'Method Not Allowed' })
    })

    it('requires application/json bodies (415) and honours Accept (406)', async () => {
      const noType = await env.servers.placement.inject({
        method: 'POST',
        url: '/resource_providers',
        headers: { 'x-auth-token': env.admin.token, 'content-type': 'text/plain' },
        payload: '{"name": "x"}',
      })
      expect(noType.statusCode).toBe(415)
      expect(noType.json().errors[0].detail).toBe('The media type text/plain is not supported, use application/json')
      const html = await env.call({ url: '/resource_providers', headers: { accept: 'text/html' } })
      expect(html.statusCode).toBe(406)
      expect(html.json().errors[0].detail).toBe('Only application/json is provided')
      const any = await env.call({ url: '/resource_providers', headers: { accept: 'text/html, */*;q=0.1' } })
      expect(any.statusCode).toBe(200)
    })

    it('reports schema violations as "JSON does not validate"', async () => {
      const res = await env.call({ method: 'POST', url: '/resource_providers', version: '1.39', body: { nom: 'x' } })
      expect(res.statusCode).toBe(400)
      expect(res.json().errors[0].detail).toBe("JSON does not validate: 'name' is a required property")
    })

    it('sends Last-Modified and Cache-Control on GETs from 1.15', async () => {
      const at14 = await env.call({ url: '/resource_providers', version: '1.14' })
      expect(at14.headers['last-modified']).toBeUndefined()
      const at15 = await env.call({ url: '/resource_providers', version: '1.15' })
      expect(at15.headers['cache-control']).toBe('no-cache')
      expect(Date.parse(at15.headers['last-modified'] as string)).not.toBeNaN()
    })
  })
})
