import { randomBytes } from 'node:crypto'
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ComputeError, type ImageSource, type Logger } from '@novum/core'
import type { QemuImg } from './qemu-img.js'

/** A cached image file and what qemu-img found in it. */
export interface CachedImage {
  readonly path: string
  /** The detected format (`qcow2`, `raw`, …); null for kernels and ramdisks, which are not disk images. */
  readonly format: string | null
  readonly virtualSizeBytes: number
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/**
 * The host's cache of image data (Nova's `_base` directory): each image is downloaded once through the
 * {@link ImageSource} into `<dir>/<image id>`, by way of a temporary file renamed into place, so a crash never
 * leaves a half image that looks whole. Concurrent requests for one image share the download. Files are
 * world-readable, because QEMU runs as its own user.
 */
export class ImageCache {
  private readonly inFlight = new Map<string, Promise<CachedImage>>()
  /** What qemu-img said of each cached disk image: cached files never change, so it is asked once. */
  private readonly inspected = new Map<string, CachedImage>()

  constructor(
    readonly dir: string,
    private readonly images: ImageSource | undefined,
    private readonly qemuImg: QemuImg,
    private readonly logger: Logger,
  ) {}

  /** The path an image is (or will be) cached at. */
  pathOf(imageId: string): string {
    if (!SAFE_ID.test(imageId)) throw new ComputeError('INVALID', `image id "${imageId}" cannot name a cache file`)
    return join(this.dir, imageId)
  }

  /**
   * Returns the cached image, downloading it first when needed. `kind` `disk` inspects the data with qemu-img;
   * `kernel` and `ramdisk` are kept as they are.
   */
  async fetch(imageId: string, kind: 'disk' | 'kernel' | 'ramdisk', options: { readonly signal?: AbortSignal } = {}): Promise<CachedImage> {
    const key = `${kind}:${imageId}`
    const known = this.inspected.get(key)
    // NOTE: one stat keeps the memo honest if someone removed the cached file behind our back.
    if (known && (await stat(known.path).then((s) => s.isFile(), () => false))) return known
    let running = this.inFlight.get(key)
    if (!running) {
      running = this.doFetch(imageId, kind, options.signal)
        .then((image) => {
          this.inspected.set(key, image)
          return image
        })
        .finally(() => this.inFlight.delete(key))
      this.inFlight.set(key, running)
    }
    return running
  }

  private async doFetch(imageId: string, kind: 'disk' | 'kernel' | 'ramdisk', signal: AbortSignal | undefined): Promise<CachedImage> {
    const path = this.pathOf(imageId)
    const present = await stat(path).then(
      (s) => s.isFile(),
      () => false,
    )
    if (!present) {
      if (!this.images) throw new ComputeError('INVALID', `no image source is configured: cannot download image ${imageId}`)
      await mkdir(this.dir, { recursive: true, mode: 0o755 })
      const partial = `${path}.part-${randomBytes(4).toString('hex')}`
      const started = performance.now()
      try {
        await this.images.download(imageId, partial, signal ? { signal } : {})
        await chmod(partial, 0o644)
        await rename(partial, path)
      } catch (err) {
        await rm(partial, { force: true })
        throw err
      }
      this.logger.info({ imageId, ms: Math.round(performance.now() - started) }, `cached image ${imageId} (${kind})`)
    }
    if (kind !== 'disk') return { path, format: null, virtualSizeBytes: (await stat(path)).size }
    const info = await this.qemuImg.info(path)
    if (info.backingFile) throw new ComputeError('INVALID', `image ${imageId} has a backing file (${info.backingFile}); refusing to boot it`)
    return { path, format: info.format, virtualSizeBytes: info.virtualSizeBytes }
  }
}
