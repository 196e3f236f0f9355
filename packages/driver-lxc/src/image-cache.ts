import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ComputeError, type ImageSource } from '@novum/core'

const IMAGE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/**
 * The host's cache of image data (Nova's `_base` directory): each image is downloaded once through the
 * {@link ImageSource} into `<dir>/<imageId>` and shared by every container made from it. Concurrent requests for
 * the same image share one download; a failed download leaves nothing behind.
 */
export class ImageCache {
  private readonly inFlight = new Map<string, Promise<string>>()

  constructor(
    /** The cache directory (created on first use). */
    readonly dir: string,
    private readonly source: ImageSource,
  ) {}

  /** The path of the image's data in the cache, downloading it first if needed. */
  async path(imageId: string, options: { readonly signal?: AbortSignal } = {}): Promise<string> {
    if (!IMAGE_ID.test(imageId)) throw new ComputeError('INVALID', `image id "${imageId}" cannot name a cache file`)
    const target = join(this.dir, imageId)
    if (existsSync(target)) return target
    const running = this.inFlight.get(imageId)
    if (running) return running
    const download = this.download(imageId, target, options.signal).finally(() => this.inFlight.delete(imageId))
    this.inFlight.set(imageId, download)
    return download
  }

  /** True when the image's data is in the cache. */
  has(imageId: string): boolean {
    return IMAGE_ID.test(imageId) && existsSync(join(this.dir, imageId))
  }

  /** Removes one image's data from the cache (no error when it is not there). */
  async evict(imageId: string): Promise<void> {
    if (!IMAGE_ID.test(imageId)) return
    await rm(join(this.dir, imageId), { force: true })
  }

  private async download(imageId: string, target: string, signal: AbortSignal | undefined): Promise<string> {
    mkdirSync(this.dir, { recursive: true })
    const partial = `${target}.part-${randomBytes(4).toString('hex')}`
    try {
      await this.source.download(imageId, partial, signal ? { signal } : {})
      const size = (await stat(partial)).size
      if (size === 0) throw new ComputeError('VIRT', `image ${imageId} has no data (0 bytes downloaded)`, { details: { imageId } })
      await rename(partial, target)
      return target
    } finally {
      await rm(partial, { force: true })
    }
  }
}
