import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdminContext } from '@novum/core'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiTestEnv, type ApiTestEnv } from '../api-test-env.test-helper.js'
import { createImageApp } from './image-app.js'

describe('image app: POST /v2/images and the image data routes', () => {
  let env: ApiTestEnv
  let app: FastifyInstance
  let dataDir: string
  beforeAll(async () => {
    env = await createApiTestEnv()
    dataDir = await mkdtemp(join(tmpdir(), 'novum-image-data-test-'))
    app = createImageApp({ images: env.services.images, tokens: env.services.identity, identityUri: 'http://keystone:5000', dataDir })
  })
  afterAll(async () => {
    await app.close()
    await env.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  const request = (method: 'GET' | 'POST' | 'PUT', url: string, token: string, body?: unknown, contentType = 'application/json') =>
    app.inject({
      method,
      url,
      headers: { 'x-auth-token': token, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body === undefined ? {} : { payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    })

  it('creates a queued image with its properties, uploads its data (active, size, md5) and serves it back', async () => {
    const created = await request('POST', '/v2/images', env.demo.token, {
      name: 'tiny-root',
      disk_format: 'qcow2',
      container_format: 'bare',
      min_disk: 1,
      kernel_id: '5e1f0c2a-7b3d-4e8f-9a10-000000000002',
      os_command_line: 'console=ttyS0',
    })
    expect(created.statusCode).toBe(201)
    const image = created.json()
    expect(image).toMatchObject({ name: 'tiny-root', status: 'queued', disk_format: 'qcow2', min_disk: 1, size: null, kernel_id: '5e1f0c2a-7b3d-4e8f-9a10-000000000002', os_command_line: 'console=ttyS0' })

    const data = Buffer.concat([Buffer.from('QFI\xfb'), Buffer.alloc(300_000, 7)])
    const put = await request('PUT', `/v2/images/${image.id}/file`, env.demo.token, data, 'application/octet-stream')
    expect(put.statusCode).toBe(204)
    const md5 = createHash('md5').update(data).digest('hex')
    const shown = (await request('GET', `/v2/images/${image.id}`, env.demo.token)).json()
    expect(shown).toMatchObject({ status: 'active', size: data.length, checksum: md5 })
    expect(await readdir(dataDir)).toEqual([image.id])
    expect((await env.services.images.get(createAdminContext(), image.id)).location).toBe(join(dataDir, image.id))

    const back = await request('GET', `/v2/images/${image.id}/file`, env.demo.token)
    expect(back.statusCode).toBe(200)
    expect(back.headers['content-md5']).toBe(md5)
    expect(back.rawPayload.equals(data)).toBe(true)
    expect((await readFile(join(dataDir, image.id))).equals(data)).toBe(true)
  })

  it('refuses a second upload (409) and data for an image it cannot see (404)', async () => {
    const image = (await request('POST', '/v2/images', env.demo.token, { name: 'once', disk_format: 'raw', container_format: 'bare' })).json()
    expect((await request('PUT', `/v2/images/${image.id}/file`, env.demo.token, Buffer.from('a'), 'application/octet-stream')).statusCode).toBe(204)
    const again = await request('PUT', `/v2/images/${image.id}/file`, env.demo.token, Buffer.from('b'), 'application/octet-stream')
    expect(again.statusCode).toBe(409)
    expect(again.json()).toMatchObject({ code: '409 Conflict', message: 'Image status transition from active to saving is not allowed' })
    const hidden = await request('PUT', `/v2/images/${image.id}/file`, env.other.token, Buffer.from('c'), 'application/octet-stream')
    expect(hidden.statusCode).toBe(404)
    expect(hidden.json().message).toBe(`No image found with ID ${image.id}`)
  })

  it('answers 204 for an image without data, and 415 for data that is not octet-stream', async () => {
    const image = (await request('POST', '/v2/images', env.demo.token, { name: 'empty' })).json()
    expect((await request('GET', `/v2/images/${image.id}/file`, env.demo.token)).statusCode).toBe(204)
    expect((await request('PUT', `/v2/images/${image.id}/file`, env.demo.token, 'data', 'application/x-tar')).statusCode).toBe(415)
  })

  it.each([
    { body: { name: 'x', status: 'active' }, status: 403, message: "Attribute 'status' is read-only." },
    { body: { name: 'x', disk_format: 'exe' }, status: 400, message: "Invalid value 'exe' for disk_format" },
    { body: { name: 'x', min_ram: -1 }, status: 400, message: 'Invalid value for min_ram: must be a non-negative integer' },
    { body: { name: 'x', hw_vif_model: 3 }, status: 400, message: 'Invalid value for property hw_vif_model: must be a string' },
    { body: { name: 'x', id: 'not-a-uuid' }, status: 400, message: "Invalid value 'not-a-uuid' for id: not a UUID" },
  ])('POST refuses $body with $status', async ({ body, status, message }) => {
    const res = await request('POST', '/v2/images', env.demo.token, body)
    expect(res.statusCode).toBe(status)
    expect(res.json().message).toBe(message)
  })

  it('needs a token', async () => {
    const res = await app.inject({ method: 'POST', url: '/v2/images', headers: { 'content-type': 'application/json' }, payload: '{}' })
    expect(res.statusCode).toBe(401)
  })
})
