import type { Logger } from '../util/logger.js'
import type { VirtDriver } from './virt-driver.js'

/**
 * Where a driver gets image data from (Nova's drivers download from Glance). The all-in-one reference server
 * reads the embedded image store; a multi-host deployment would fetch over the Image API.
 */
export interface ImageSource {
  /** Writes the data of image `imageId` to `destPath`; throws `ComputeError('NOT_FOUND')` when it has none. */
  download(imageId: string, destPath: string, options?: { readonly signal?: AbortSignal }): Promise<void>
}

/** What a deployment hands a driver package's {@link DriverFactory}. */
export interface DriverFactoryOptions {
  /** The compute host (and node) name. */
  readonly hostname: string
  /** A directory the driver may own (instance files, image cache, console logs). */
  readonly dataDir: string
  readonly images: ImageSource
  readonly logger: Logger
  /** Driver-specific settings, as strings (from flags or `NOVUM_DRIVER_<KEY>` environment variables). */
  readonly settings: Readonly<Record<string, string>>
}

/**
 * How a deployment makes a driver from configuration alone: each driver package exports one as `createDriver`,
 * so `--driver libvirt` needs no code change in the server.
 */
export type DriverFactory = (options: DriverFactoryOptions) => VirtDriver
