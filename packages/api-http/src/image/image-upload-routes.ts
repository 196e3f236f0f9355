import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FastifyInstance } from 'fastify'
import { ComputeError, type ImageService, type ImageVisibility } from '@novum/core'
import { contextOf } from '../common/auth.js'
import { badRequest, conflict, forbidden, HttpError } from '../common/http-error.js'
import { glanceImageView } from './image-app.js'

/** Where uploads go when {@link ImageUploadRoutesOptions.dataDir} is not set: fine for tests and demos only. */
export const DEFAULT_IMAGE_DATA_DIR = join(tmpdir(), 'novum-image-data')

/** Options of {@link registerImageUploadRoutes}. */
export interface ImageUploadRoutesOptions {
  readonly images: ImageService
  /**
   * The directory image data is stored in, one file per image id (Glance's `filesystem_store_datadir`).
   * @default {@link DEFAULT_IMAGE_DATA_DIR}
   */
  readonly dataDir?: string
}

const DISK_FORMATS = new Set(['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'])
const CONTAINER_FORMATS = new Set(['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'])
const VISIBILITIES = new Set(['public', 'private', 'shared', 'community'])
const READ_ONLY = new Set([
  'status', 'size', 'virtual_size', 'checksum', 'os_hash_algo', 'os_hash_value', 'created_at', 'updated_at', 'owner', 'locations', 'direct_url',
  'self', 'file', 'schema',
])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Glance v2's image creation and data routes, registered inside the authenticated `/v2` scope of the image app:
 *
 * - `POST /v2/images`: a `queued` image record (core fields, plus every other string-valued key as a property);
 * - `PUT /v2/images/{id}/file`: streams `application/octet-stream` data into the data directory, then records its
 *   location, size and MD5 checksum with `ImageService.setData` (the image becomes `active`); 204;
 * - `GET /v2/images/{id}/file`: streams the data back (with `Content-MD5`), or 204 when the image has none.
 *
 * This is what `openstack image create --file` calls.
 */
export function registerImageUploadRoutes(v2: FastifyInstance, options: ImageUploadRoutesOptions): void {
  const dataDir = options.dataDir ?? DEFAULT_IMAGE_DATA_DIR
  // Image data is streamed as it comes, never buffered (and not subject to the JSON body limit).
  v2.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload))

  v2.post('/v2/images', async (request, reply) => {
    const body = request.body
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be a JSON object')
    const b = body as Record<string, unknown>
    for (const key of Object.keys(b)) if (READ_ONLY.has(key)) throw forbidden(`Attribute '${key}' is read-only.`)
    const str = (key: string): string | undefined => {
      const v = b[key]
      if (v === undefined || v === null) return undefined
      if (typeof v !== 'string') throw badRequest(`Invalid value for ${key}: must be a string`)
      return v
    }
    const int = (key: string): number | undefined => {
      const v = b[key]
      if (v === undefined) return undefined
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw badRequest(`Invalid value for ${key}: must be a non-negative integer`)
      return v
    }
    const diskFormat = str('disk_format')
    if (diskFormat !== undefined && !DISK_FORMATS.has(diskFormat)) throw badRequest(`Invalid value '${diskFormat}' for disk_format`)
    const containerFormat = str('container_format')
    if (containerFormat !== undefined && !CONTAINER_FORMATS.has(containerFormat)) throw badRequest(`Invalid value '${containerFormat}' for container_format`)
    const visibility = str('visibility')
    if (visibility !== undefined && !VISIBILITIES.has(visibility)) throw badRequest(`Invalid visibility value: ${visibility}`)
    const id = str('id')
    if (id !== undefined && !UUID.test(id)) throw badRequest(`Invalid value '${id}' for id: not a UUID`)
    if (b['protected'] !== undefined && typeof b['protected'] !== 'boolean') throw badRequest('Invalid value for protected: must be a boolean')
    const properties: Record<string, string> = {}
    const core = new Set(['id', 'name', 'disk_format', 'container_format', 'visibility', 'protected', 'min_ram', 'min_disk', 'tags', 'os_hidden'])
    for (const [key, value] of Object.entries(b)) {
      if (core.has(key)) continue
      if (typeof value !== 'string') throw badRequest(`Invalid value for property ${key}: must be a string`)
      properties[key] = value
    }
    const minRam = int('min_ram')
    const minDisk = int('min_disk')
    const image = await options.images.create(contextOf(request), {
      name: str('name') ?? '',
      ...(id !== undefined ? { id } : {}),
      ...(diskFormat !== undefined ? { diskFormat } : {}),
      ...(containerFormat !== undefined ? { containerFormat } : {}),
      ...(visibility !== undefined ? { visibility: visibility as ImageVisibility } : {}),
      ...(b['protected'] !== undefined ? { protected: b['protected'] as boolean } : {}),
      ...(minRam !== undefined ? { minRam } : {}),
      ...(minDisk !== undefined ? { minDisk } : {}),
      properties,
    })
    return reply.code(201).send(glanceImageView(image))
  })

  v2.put('/v2/images/:image_id/file', async (request, reply) => {
    const { image_id } = request.params as { image_id: string }
    const ctx = contextOf(request)
    const contentType = request.headers['content-type'] ?? ''
    if (!/^application\/octet-stream\b/i.test(contentType)) throw new HttpError(415, `Content-Type must be application/octet-stream, not ${contentType || 'none'}`)
    const image = await found(image_id, () => options.images.get(ctx, image_id))
    if (image.status !== 'queued') throw conflict(`Image status transition from ${image.status} to saving is not allowed`)
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    const path = join(dataDir, image_id)
    const partial = `${path}.part-${randomBytes(4).toString('hex')}`
    const md5 = createHash('md5')
    let size = 0
    try {
      await pipeline(
        request.body as Readable,
        new Transform({
          transform(chunk: Buffer, _encoding, done) {
            md5.update(chunk)
            size += chunk.length
            done(null, chunk)
          },
        }),
        createWriteStream(partial, { mode: 0o600 }),
      )
      await rename(partial, path)
      await options.images.setData(ctx, image_id, { location: path, size, checksum: md5.digest('hex') })
    } catch (err) {
      await rm(partial, { force: true })
      throw err
    }
    return reply.code(204).send()
  })

  v2.get('/v2/images/:image_id/file', async (request, reply) => {
    const { image_id } = request.params as { image_id: string }
    const image = await found(image_id, () => options.images.get(contextOf(request), image_id))
    if (!image.location) return reply.code(204).send()
    const size = await stat(image.location).then(
      (s) => s.size,
      () => null,
    )
    if (size === null) throw new HttpError(404, `Image ${image_id} has no data: its file is gone`)
    reply.header('content-type', 'application/octet-stream').header('content-length', String(size))
    if (image.checksum) reply.header('content-md5', image.checksum)
    return reply.send(createReadStream(image.location))
  })
}

async function found<T>(imageId: string, get: () => Promise<T>): Promise<T> {
  try {
    return await get()
  } catch (err) {
    if (ComputeError.is(err, 'NOT_FOUND')) throw new HttpError(404, `No image found with ID ${imageId}`)
    throw err
  }
}
