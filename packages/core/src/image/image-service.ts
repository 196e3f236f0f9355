import type { Selectable, SelectQueryBuilder } from 'kysely'
import { isUniqueViolation } from '../api/db-errors.js'
import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import type { ImagesTable, NovumDatabase } from '../db/database.js'
import { ComputeError } from '../errors/compute-error.js'
import type { ImageMeta } from '../model/image-meta.js'
import { Policy } from '../policy/policy.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'

/** Glance v2 image visibility. */
export type ImageVisibility = 'public' | 'private' | 'shared' | 'community'

/** Glance v2 image status. */
export type ImageStatus = 'queued' | 'saving' | 'active' | 'killed' | 'deleted' | 'deactivated' | 'uploading' | 'importing'

/** An image record of the embedded Glance. */
export interface Image {
  readonly id: string
  readonly name: string
  readonly status: ImageStatus
  readonly diskFormat: string | null
  readonly containerFormat: string | null
  /** Minimum RAM in MB (`min_ram`). */
  readonly minRamMb: number
  /** Minimum disk in GB (`min_disk`). */
  readonly minDiskGb: number
  /** Size in bytes, or null before data is uploaded. */
  readonly size: number | null
  readonly checksum: string | null
  readonly visibility: ImageVisibility
  /** The owning project. */
  readonly owner: string | null
  readonly protected: boolean
  readonly properties: Readonly<Record<string, string>>
  /** Where the data lives (a path), or null. */
  readonly location: string | null
  readonly createdAt: string
  readonly updatedAt: string | null
}

/** `POST /v2/images` (plus data location, for images registered from a file). */
export interface ImageCreateRequest {
  /** @default a new uuid */
  readonly id?: string
  readonly name: string
  readonly diskFormat?: string | null
  readonly containerFormat?: string | null
  /** @default 0 */
  readonly minRam?: number
  /** @default 0 */
  readonly minDisk?: number
  /** `public` needs admin (`image:publicize_image`). @default 'shared' (Glance's default) */
  readonly visibility?: ImageVisibility
  readonly protected?: boolean
  /** Extra properties (`hw_architecture`, `os_distro`, …). */
  readonly properties?: Readonly<Record<string, string>>
  /** A data path; when given, the image is `active` at once. */
  readonly location?: string | null
  readonly size?: number | null
  readonly checksum?: string | null
}

/** The mutable fields of an image (a reduced `PATCH /v2/images/{id}`). */
export interface ImageUpdate {
  readonly name?: string
  readonly minRam?: number
  readonly minDisk?: number
  readonly visibility?: ImageVisibility
  readonly protected?: boolean
  /** Properties to set; a null value removes the property. */
  readonly properties?: Readonly<Record<string, string | null>>
}

/** Filters of {@link ImageService.list}. */
export interface ImageListFilters {
  readonly name?: string
  readonly status?: ImageStatus
  readonly visibility?: ImageVisibility
  readonly owner?: string
  readonly limit?: number
  /** Id of the last image of the previous page. */
  readonly marker?: string
}

/** The id of the image {@link ImageService.ensureDefaultImage} creates, fixed so that every process agrees. */
export const DEFAULT_IMAGE_ID = '6b4a9c2e-7f0d-4c1a-9e55-0c1a2b3c4d5e'
/** The name of the default image. */
export const DEFAULT_IMAGE_NAME = 'cirros-0.6.2-x86_64-disk'

const VISIBILITIES: ReadonlySet<string> = new Set(['public', 'private', 'shared', 'community'])

type ImageRow = Selectable<ImagesTable>
type ImageQuery = SelectQueryBuilder<NovumDatabase, 'images', ImageRow>

/**
 * Image records of the embedded Glance: what Nova needs of an image (status, formats, minimums, properties),
 * with Glance's visibility rules: a project sees public and community images and its own; an admin sees all.
 * Images it may not see are `NOT_FOUND` ("Image <id> could not be found."), never `FORBIDDEN`.
 */
export class ImageService {
  constructor(
    private readonly db: NovumDb,
    private readonly policy: Policy = new Policy(),
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
  ) {}

  /** Registers an image owned by the caller's project. */
  async create(ctx: RequestContext, req: ImageCreateRequest): Promise<Image> {
    this.policy.authorize(ctx, 'image:add_image')
    const visibility = req.visibility ?? 'shared'
    if (!VISIBILITIES.has(visibility)) throw new ComputeError('INVALID', `Invalid visibility value: ${String(visibility)}`)
    if (visibility === 'public') this.policy.authorize(ctx, 'image:publicize_image')
    if (typeof req.name !== 'string' || req.name.length > 255) throw new ComputeError('INVALID', 'image name must be a string of at most 255 characters')
    for (const [field, v] of [['min_ram', req.minRam], ['min_disk', req.minDisk]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new ComputeError('INVALID', `${field} must be a non-negative integer`)
    }
    const id = req.id ?? crypto.randomUUID()
    const now = isoNow(this.clock)
    try {
      await this.db
        .insertInto('images')
        .values({
          id,
          name: req.name,
          status: req.location ? 'active' : 'queued',
          disk_format: req.diskFormat ?? null,
          container_format: req.containerFormat ?? null,
          min_ram: req.minRam ?? 0,
          min_disk: req.minDisk ?? 0,
          size: req.size ?? null,
          checksum: req.checksum ?? null,
          visibility,
          owner: ctx.projectId,
          protected: req.protected ? 1 : 0,
          properties: JSON.stringify(req.properties ?? {}),
          location: req.location ?? null,
          created_at: now,
          updated_at: null,
        })
        .execute()
    } catch (err) {
      if (isUniqueViolation(err)) throw new ComputeError('CONFLICT', `Image with identifier ${id} already exists!`, { cause: err })
      throw err
    }
    this.logger.info({ req_id: ctx.requestId, imageId: id }, 'image created')
    return this.get(ctx, id)
  }

  /** Images visible to the caller, newest first. */
  async list(ctx: RequestContext, filters: ImageListFilters = {}): Promise<Image[]> {
    this.policy.authorize(ctx, 'image:get_images')
    let q = this.db.selectFrom('images').selectAll().where('status', '!=', 'deleted')
    q = this.visibleTo(ctx, q)
    if (filters.name !== undefined) q = q.where('name', '=', filters.name)
    if (filters.status !== undefined) q = q.where('status', '=', filters.status)
    if (filters.visibility !== undefined) q = q.where('visibility', '=', filters.visibility)
    if (filters.owner !== undefined) q = q.where('owner', '=', filters.owner)
    let rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute()
    if (filters.marker !== undefined) {
      const at = rows.findIndex((r) => r.id === filters.marker)
      if (at < 0) throw new ComputeError('INVALID', `marker [${filters.marker}] not found`)
      rows = rows.slice(at + 1)
    }
    if (filters.limit !== undefined) rows = rows.slice(0, filters.limit)
    return rows.map(imageFromRow)
  }

  /** One visible image; otherwise `NOT_FOUND` "Image <id> could not be found.". */
  async get(ctx: RequestContext, id: string): Promise<Image> {
    this.policy.authorize(ctx, 'image:get_image')
    const row = await this.visibleTo(ctx, this.db.selectFrom('images').selectAll().where('id', '=', id).where('status', '!=', 'deleted')).executeTakeFirst()
    if (!row) throw new ComputeError('NOT_FOUND', `Image ${id} could not be found.`, { details: { imageId: id } })
    return imageFromRow(row)
  }

  /** Changes an image's mutable fields (owner or admin). */
  async update(ctx: RequestContext, id: string, changes: ImageUpdate): Promise<Image> {
    const image = await this.get(ctx, id)
    this.requireOwner(ctx, image)
    if (changes.visibility !== undefined && !VISIBILITIES.has(changes.visibility)) throw new ComputeError('INVALID', `Invalid visibility value: ${String(changes.visibility)}`)
    if (changes.visibility === 'public') this.policy.authorize(ctx, 'image:publicize_image')
    const properties: Record<string, string> = { ...image.properties }
    for (const [k, v] of Object.entries(changes.properties ?? {})) {
      if (v === null) delete properties[k]
      else properties[k] = v
    }
    await this.db
      .updateTable('images')
      .set({
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.minRam !== undefined ? { min_ram: changes.minRam } : {}),
        ...(changes.minDisk !== undefined ? { min_disk: changes.minDisk } : {}),
        ...(changes.visibility !== undefined ? { visibility: changes.visibility } : {}),
        ...(changes.protected !== undefined ? { protected: changes.protected ? 1 : 0 } : {}),
        properties: JSON.stringify(properties),
        updated_at: isoNow(this.clock),
      })
      .where('id', '=', id)
      .execute()
    return this.get(ctx, id)
  }

  /** Records where an image's data lives and makes it `active` (the end of an upload or import). */
  async setData(ctx: RequestContext, id: string, data: { readonly location: string; readonly size: number; readonly checksum?: string | null }): Promise<Image> {
    const image = await this.get(ctx, id)
    this.requireOwner(ctx, image)
    if (image.status !== 'queued' && image.status !== 'saving') throw new ComputeError('CONFLICT', `Image status transition from ${image.status} to active is not allowed`)
    await this.db
      .updateTable('images')
      .set({ location: data.location, size: data.size, checksum: data.checksum ?? null, status: 'active', updated_at: isoNow(this.clock) })
      .where('id', '=', id)
      .execute()
    return this.get(ctx, id)
  }

  /** Deletes an image (owner or admin); a protected image is `FORBIDDEN`. */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const image = await this.get(ctx, id)
    this.policy.authorize(ctx, 'image:delete_image', { projectId: image.owner })
    if (image.protected) throw new ComputeError('FORBIDDEN', `Image ${id} is protected and cannot be deleted.`)
    await this.db.deleteFrom('images').where('id', '=', id).execute()
  }

  /** What compute and the scheduler need of an image. */
  toImageMeta(image: Image): ImageMeta {
    return {
      id: image.id,
      name: image.name,
      status: image.status,
      diskFormat: image.diskFormat ?? '',
      containerFormat: image.containerFormat ?? '',
      minRamMb: image.minRamMb,
      minDiskGb: image.minDiskGb,
      size: image.size,
      properties: image.properties,
    }
  }

  /**
   * Creates the default public, active image ({@link DEFAULT_IMAGE_NAME}, qcow2/bare, `min_disk` 0) if it is
   * missing, and returns it. Idempotent, and safe when two processes race.
   */
  async ensureDefaultImage(): Promise<Image> {
    const existing = await this.db.selectFrom('images').selectAll().where('id', '=', DEFAULT_IMAGE_ID).executeTakeFirst()
    if (existing) return imageFromRow(existing)
    try {
      await this.db
        .insertInto('images')
        .values({
          id: DEFAULT_IMAGE_ID,
          name: DEFAULT_IMAGE_NAME,
          status: 'active',
          disk_format: 'qcow2',
          container_format: 'bare',
          min_ram: 0,
          min_disk: 0,
          size: 21430272,
          checksum: null,
          visibility: 'public',
          owner: null,
          protected: 0,
          properties: JSON.stringify({ os_distro: 'cirros' }),
          location: null,
          created_at: isoNow(this.clock),
          updated_at: null,
        })
        .execute()
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
    }
    return imageFromRow(await this.db.selectFrom('images').selectAll().where('id', '=', DEFAULT_IMAGE_ID).executeTakeFirstOrThrow())
  }

  private visibleTo(ctx: RequestContext, q: ImageQuery): ImageQuery {
    if (ctx.isAdmin) return q
    const projectId = ctx.projectId
    return q.where((eb) =>
      projectId
        ? eb.or([eb('visibility', 'in', ['public', 'community']), eb('owner', '=', projectId)])
        : eb('visibility', 'in', ['public', 'community']),
    )
  }

  private requireOwner(ctx: RequestContext, image: Image): void {
    if (!ctx.isAdmin && image.owner !== ctx.projectId) {
      throw new ComputeError('FORBIDDEN', `You are not permitted to modify image ${image.id}.`)
    }
  }
}

/** Converts an `images` row to an {@link Image}. */
export function imageFromRow(row: ImageRow): Image {
  return {
    id: row.id,
    name: row.name,
    status: row.status as ImageStatus,
    diskFormat: row.disk_format,
    containerFormat: row.container_format,
    minRamMb: row.min_ram,
    minDiskGb: row.min_disk,
    size: row.size === null ? null : Number(row.size),
    checksum: row.checksum,
    visibility: row.visibility as ImageVisibility,
    owner: row.owner,
    protected: row.protected === 1,
    properties: JSON.parse(row.properties) as Record<string, string>,
    location: row.location,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
