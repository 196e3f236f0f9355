import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPlacementTestEnv, testUuid, type PlacementTestEnv } from '../placement-test-env.test-helper.js'
import { INCOMPLETE_CONSUMER_ID } from './allocations.js'

describe('Placement allocations', () => {
  let env: PlacementTestEnv
  let rp: string
  beforeAll(async () => {
    env = await createPlacementTestEnv()
    rp = await env.provider('alloc-rp', { inventories: { VCPU: { total: 8 }, MEMORY_MB: { total: 4096 } } })
  })
  afterAll(async () => {
    await env.close()
  })

  const put = (consumer: string, version: string, body: unknown) => env.call({ method: 'PUT', url: `/allocations/${consumer}`, version, body })

  it('claims for a new consumer (generation null, 1.28) and reads it back with generation (1.28) and type (1.38)', async () => {
    const consumer = testUuid()
    const res = await put(consumer, '1.38', {
      allocations: { [rp]: { resources: { VCPU: 2, MEMORY_MB: 512 } } }, project_id: 'proj', user_id: 'user', consumer_generation: null, consumer_type: 'INSTANCE',
    })
    expect(res.statusCode).toBe(204)
    const at38 = await env.call({ url: `/allocations/${consumer}`, version: '1.38' })
    expect(at38.json()).toEqual({
      allocations: { [rp]: { generation: expect.any(Number), resources: { VCPU: 2, MEMORY_MB: 512 } } },
      project_id: 'proj',
      user_id: 'user',
      consumer_generation: 1,
      consumer_type: 'INSTANCE',
    })
    const at12 = await env.call({ url: `/allocations/${consumer}`, version: '1.12' })
    expect(Object.keys(at12.json()).sort()).toEqual(['allocations', 'project_id', 'user_id'])
    const at0 = await env.call({ url: `/allocations/${consumer}` })
    expect(Object.keys(at0.json())).toEqual(['allocations'])
    const none = await env.call({ url: `/allocations/${testUuid()}`, version: '1.38' })
    expect(none.json()).toEqual({ allocations: {} })
    await env.call({ method: 'DELETE', url: `/allocations/${consumer}` })
  })

  it('answers a stale or missing consumer generation with 409 placement.concurrent_update', async () => {
    const consumer = testUuid()
    const body = (gen: number | null, vcpu: number) => ({ allocations: { [rp]: { resources: { VCPU: vcpu } } }, project_id: 'p', user_id: 'u', consumer_generation: gen })
    expect((await put(consumer, '1.28', body(null, 1))).statusCode).toBe(204)
    const asNew = await put(consumer, '1.28', body(null, 2))
    expect(asNew.statusCode).toBe(409)
    expect(asNew.json().errors[0]).toMatchObject({ status: 409, code: 'placement.concurrent_update' })
    const stale = await put(consumer, '1.28', body(5, 2))
    expect(stale.statusCode).toBe(409)
    expect((await put(consumer, '1.28', body(1, 2))).statusCode).toBe(204)
    const missing = await put(consumer, '1.28', { allocations: { [rp]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u' })
    expect(missing.statusCode).toBe(400)
    expect(missing.json().errors[0].detail).toBe("JSON does not validate: 'consumer_generation' is a required property")
    // An empty allocations object (1.28) removes them.
    expect((await put(consumer, '1.28', { allocations: {}, project_id: 'p', user_id: 'u', consumer_generation: 2 })).statusCode).toBe(204)
    expect((await env.call({ url: `/allocations/${consumer}` })).json()).toEqual({ allocations: {} })
  })

  it('keeps a consumer’s type when an older client rewrites its allocations', async () => {
    const consumer = testUuid()
    await put(consumer, '1.38', { allocations: { [rp]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u', consumer_generation: null, consumer_type: 'MIGRATION' })
    expect((await put(consumer, '1.28', { allocations: { [rp]: { resources: { VCPU: 2 } } }, project_id: 'p', user_id: 'u', consumer_generation: 1 })).statusCode).toBe(204)
    expect((await env.call({ url: `/allocations/${consumer}`, version: '1.38' })).json()).toMatchObject({ consumer_type: 'MIGRATION', consumer_generation: 2 })
    const untyped = testUuid()
    await put(untyped, '1.28', { allocations: { [rp]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u', consumer_generation: null })
    expect((await env.call({ url: `/allocations/${untyped}`, version: '1.38' })).json().consumer_type).toBe('unknown')
    await env.call({ method: 'DELETE', url: `/allocations/${consumer}` })
    await env.call({ method: 'DELETE', url: `/allocations/${untyped}` })
  })

  it('takes the list form before 1.12 and fills in the incomplete consumer before 1.8', async () => {
    const consumer = testUuid()
    const res = await put(consumer, '1.0', { allocations: [{ resource_provider: { uuid: rp }, resources: { VCPU: 1 } }] })
    expect(res.statusCode).toBe(204)
    const shown = await env.call({ url: `/allocations/${consumer}`, version: '1.12' })
    expect(shown.json()).toMatchObject({ project_id: INCOMPLETE_CONSUMER_ID, user_id: INCOMPLETE_CONSUMER_ID })
    // Without a consumer generation before 1.28, a rewrite simply replaces them.
    expect((await put(consumer, '1.8', { allocations: [{ resource_provider: { uuid: rp }, resources: { VCPU: 2 } }], project_id: 'p', user_id: 'u' })).statusCode).toBe(204)
    const dict = await put(consumer, '1.8', { allocations: { [rp]: { resources: { VCPU: 2 } } }, project_id: 'p', user_id: 'u' })
    expect(dict.statusCode).toBe(400)
    expect((await put(consumer, '1.12', { allocations: { [rp]: { resources: { VCPU: 3 } } }, project_id: 'p', user_id: 'u' })).statusCode).toBe(204)
    expect((await env.call({ url: `/allocations/${consumer}` })).json().allocations[rp].resources).toEqual({ VCPU: 3 })
    await env.call({ method: 'DELETE', url: `/allocations/${consumer}` })
  })

  it('refuses claims beyond capacity (409), on unknown providers (400) and malformed consumers (400)', async () => {
    const over = await put(testUuid(), '1.39', { allocations: { [rp]: { resources: { VCPU: 9 } } }, project_id: 'p', user_id: 'u', consumer_generation: null, consumer_type: 'INSTANCE' })
    expect(over.statusCode).toBe(409)
    expect(over.json().errors[0]).toMatchObject({ code: 'placement.undefined_code' })
    expect(over.json().errors[0].detail).toContain('exceeds capacity 8')
    const unknown = await put(testUuid(), '1.39', { allocations: { [testUuid()]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u', consumer_generation: null, consumer_type: 'INSTANCE' })
    expect(unknown.statusCode).toBe(400)
    const malformed = await put('not-a-uuid', '1.39', { allocations: {}, project_id: 'p', user_id: 'u', consumer_generation: null, consumer_type: 'INSTANCE' })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.json().errors[0].detail).toBe('Malformed consumer_uuid: not-a-uuid')
    const noType = await put(testUuid(), '1.38', { allocations: { [rp]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u', consumer_generation: null })
    expect(noType.json().errors[0].detail).toBe("JSON does not validate: 'consumer_type' is a required property")
  })

  it('moves allocations between consumers atomically with POST /allocations (1.13)', async () => {
    const instance = testUuid()
    const migration = testUuid()
    await put(instance, '1.28', { allocations: { [rp]: { resources: { VCPU: 4 } } }, project_id: 'p', user_id: 'u', consumer_generation: null })
    expect((await env.call({ method: 'POST', url: '/allocations', version: '1.12', body: {} })).statusCode).toBe(404)
    const res = await env.call({
      method: 'POST', url: '/allocations', version: '1.38',
      body: {
        [migration]: { allocations: { [rp]: { resources: { VCPU: 4 } } }, project_id: 'p', user_id: 'u', consumer_generation: null, consumer_type: 'MIGRATION' },
        [instance]: { allocations: {}, project_id: 'p', user_id: 'u', consumer_generation: 1, consumer_type: 'INSTANCE' },
      },
    })
    expect(res.statusCode).toBe(204)
    expect((await env.call({ url: `/allocations/${migration}`, version: '1.38' })).json()).toMatchObject({ consumer_type: 'MIGRATION', allocations: { [rp]: { resources: { VCPU: 4 } } } })
    expect((await env.call({ url: `/allocations/${instance}` })).json()).toEqual({ allocations: {} })
    await env.call({ method: 'DELETE', url: `/allocations/${migration}` })
  })

  it('lists a provider’s allocations with consumer generations from 1.28', async () => {
    const consumer = testUuid()
    await put(consumer, '1.28', { allocations: { [rp]: { resources: { MEMORY_MB: 128 } } }, project_id: 'p', user_id: 'u', consumer_generation: null })
    const old = await env.call({ url: `/resource_providers/${rp}/allocations`, version: '1.27' })
    expect(old.json().allocations[consumer]).toEqual({ resources: { MEMORY_MB: 128 } })
    const now = await env.call({ url: `/resource_providers/${rp}/allocations`, version: '1.28' })
    expect(now.json().allocations[consumer]).toEqual({ resources: { MEMORY_MB: 128 }, consumer_generation: 1 })
    expect(now.json().resource_provider_generation).toEqual(expect.any(Number))
    expect((await env.call({ url: `/resource_providers/${testUuid()}/allocations` })).statusCode).toBe(404)
  })

  it('deletes a consumer’s allocations (204), and answers 404 when there are none', async () => {
    const consumer = testUuid()
    await put(consumer, '1.28', { allocations: { [rp]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u', consumer_generation: null })
    expect((await env.call({ method: 'DELETE', url: `/allocations/${consumer}` })).statusCode).toBe(204)
    const again = await env.call({ method: 'DELETE', url: `/allocations/${consumer}` })
    expect(again.statusCode).toBe(404)
    expect(again.json().errors[0].detail).toBe(`No allocations for consumer '${consumer}'`)
  })

  it('answers POST /reshaper (1.30) with 501 until core supports reshaping', async () => {
    expect((await env.call({ method: 'POST', url: '/reshaper', version: '1.29', body: {} })).statusCode).toBe(404)
    expect((await env.call({ method: 'POST', url: '/reshaper', version: '1.30', body: {} })).statusCode).toBe(501)
  })
})
