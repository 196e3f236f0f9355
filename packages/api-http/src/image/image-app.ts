import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ComputeError, type Image, type ImageService, type ImageStatus, type ImageVisibility } from '@novum/core'
import { contextOf, createAuthHook, type TokenValidator } from '../common/auth.js'
import { createBaseApp, type LoggingOptions } from '../common/base-app.js'
import { baseUrl } from '../common/base-url.js'
import type { ResolvedError } from '../common/error-status.js'
import { badRequest, HttpError } from '../common/http-error.js'
import { TokenCache } from '../common/token-cache.js'
import { keystoneErrorBody } from '../identity/identity-errors.js'
import { STATUS_TEXT } from '../common/status-text.js'
import { registerImageUploadRoutes } from './image-upload-routes.js'

/** Glance Zed's image API versions, newest first (`GET /`). */
const GLANCE_VERSIONS: readonly string[] = ['2.16', '2.15', '2.14', '2.13', '2.12', '2.11', '2.10', '2.9', '2.8', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0']

/** Glance's default and largest page sizes (`limit_param_default`, `api_limit_max`). */
const DEFAULT_PAGE = 25
const MAX_PAGE = 1000

/**
 * Glance's error body (webob's JSON rendering of an HTTP exception): `{"message", "code": "404 Not Found", "title"}`.
 * A 401 from the auth filter uses keystonemiddleware's `{"error": {…}}` body instead.
 */
export function glanceErrorBody(error: Pick<ResolvedError, 'statusCode' | 'message'>): unknown {
  if (error.statusCode === 401) return keystoneErrorBody(error)
  const title = STATUS_TEXT[error.statusCode] ?? 'Error'
  return { message: error.message, code: `${error.statusCode} ${title}`, title }
}

/** Glance timestamps have no fractional seconds: `2026-11-22T18:33:52Z`. */
function glanceTime(iso: string | null): string | null {
  return iso === null ? null : iso.replace(/\.\d+Z$/, 'Z')
}

/**
 * Glance v2's image JSON: the core fields, then every extra property flattened into the object, then the links
 * (`self`, `file`, `schema`), as `GET /v2/images/{id}` returns it.
 */
export function glanceImageView(image: Image): Record<string, unknown> {
  return {
    ...image.properties,
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected,
    os_hidden: false,
    checksum: image.checksum,
    os_hash_algo: null,
    os_hash_value: null,
    owner: image.owner,
    size: image.size,
    virtual_size: null,
    min_ram: image.minRamMb,
    min_disk: image.minDiskGb,
    disk_format: image.diskFormat,
    container_format: image.containerFormat,
    tags: [],
    created_at: glanceTime(image.createdAt),
    updated_at: glanceTime(image.updatedAt ?? image.createdAt),
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
  }
}

/** Options of {@link createImageApp}. */
export interface ImageAppOptions extends LoggingOptions {
  readonly images: ImageService
  readonly tokens: TokenValidator
  /** Shared with the other apps so a revoked token is forgotten at once. */
  readonly tokenCache?: TokenCache
  /** The public identity URL for `WWW-Authenticate`, or a function deriving it from the request. */
  readonly identityUri: string | ((request: FastifyRequest) => string)
  /** Glance `public_endpoint`; links use the request's Host otherwise. */
  readonly publicUrl?: string
  /** Where uploaded image data is stored (Glance `filesystem_store_datadir`). @default `<os.tmpdir()>/novum-image-data` (tests and demos only) */
  readonly dataDir?: string
}

const STATUSES: ReadonlySet<string> = new Set(['queued', 'saving', 'active', 'killed', 'deleted', 'deactivated', 'uploading', 'importing'])
const VISIBILITIES: ReadonlySet<string> = new Set(['public', 'private', 'shared', 'community'])

function single(query: Record<string, unknown>, key: string): string | undefined {
  const v = query[key]
  if (v === undefined) return undefined
  return Array.isArray(v) ? String(v[v.length - 1]) : String(v)
}

/**
 * The Image API (Glance v2 subset, port 9292): `GET /` (300 with the version list), `GET /versions`,
 * `GET /v2/images` (paged with `limit`/`marker`, filters `name`, `status`, `visibility`, `owner`) and
 * `GET /v2/images/{id}`, plus `POST /v2/images` and the data routes `PUT`/`GET /v2/images/{id}/file`
 * ({@link registerImageUploadRoutes}), behind `X-Auth-Token`.
 */
export function createImageApp(options: ImageAppOptions): FastifyInstance {
  const app = createBaseApp({ ...options, errorBody: glanceErrorBody })
  const cache = options.tokenCache ?? new TokenCache()
  const versions = (request: FastifyRequest) => {
    const href = `${baseUrl(request, options.publicUrl)}/v2/`
    return {
      versions: GLANCE_VERSIONS.map((v, i) => ({ id: `v${v}`, status: i === 0 ? 'CURRENT' : 'SUPPORTED', links: [{ rel: 'self', href }] })),
    }
  }
  app.get('/', async (request, reply) => reply.code(300).send(versions(request)))
  app.get('/versions', async (request) => versions(request))

  const auth = createAuthHook({ validator: options.tokens, cache, identityUri: options.identityUri })
  void app.register(async (v2) => {
    v2.addHook('onRequest', auth)
    registerImageUploadRoutes(v2, { images: options.images, ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}) })
    v2.get('/v2/images', async (request) => {
      const query = (request.query ?? {}) as Record<string, unknown>
      const limitRaw = single(query, 'limit')
      let limit = DEFAULT_PAGE
      if (limitRaw !== undefined) {
        if (!/^\d+$/.test(limitRaw)) throw badRequest('limit param must be an integer')
        limit = Math.min(Number(limitRaw), MAX_PAGE)
      }
      const status = single(query, 'status')
      if (status !== undefined && !STATUSES.has(status)) throw badRequest(`Invalid status value: ${status}`)
      const visibility = single(query, 'visibility')
      if (visibility !== undefined && visibility !== 'all' && !VISIBILITIES.has(visibility)) throw badRequest(`Invalid visibility value: ${visibility}`)
      const name = single(query, 'name')
      const owner = single(query, 'owner')
      const marker = single(query, 'marker')
      const images = await options.images.list(contextOf(request), {
        limit,
        ...(name !== undefined ? { name } : {}),
        ...(status !== undefined ? { status: status as ImageStatus } : {}),
        ...(visibility !== undefined && visibility !== 'all' ? { visibility: visibility as ImageVisibility } : {}),
        ...(owner !== undefined ? { owner } : {}),
        ...(marker !== undefined ? { marker } : {}),
      })
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(query)) {
        if (k === 'marker') continue
        for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item))
      }
      const firstQuery = params.toString()
      const body: Record<string, unknown> = {
        images: images.map(glanceImageView),
        first: firstQuery ? `/v2/images?${firstQuery}` : '/v2/images',
        schema: '/v2/schemas/images',
      }
      const last = images[images.length - 1]
      if (last && images.length === limit) {
        params.set('marker', last.id)
        body.next = `/v2/images?${params.toString()}`
      }
      return body
    })
    v2.get('/v2/images/:image_id', async (request) => {
      const { image_id } = request.params as { image_id: string }
      try {
        return glanceImageView(await options.images.get(contextOf(request), image_id))
      } catch (err) {
        if (ComputeError.is(err, 'NOT_FOUND')) throw new HttpError(404, `No image found with ID ${image_id}`)
        throw err
      }
    })
  })
  return app
}
