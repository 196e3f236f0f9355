import { mkdirSync } from 'node:fs'
import { copyFile, access } from 'node:fs/promises'
import { join } from 'node:path'
import { ComputeError, type DriverFactory, type ImageSource, type Logger, type VirtDriver } from '@novum/core'
import { FakeVirtDriver } from '@novum/core/testing'
import { fakeDelaysFor, type MultiNodeOptions } from './config.js'

/** The directory a compute agent owns: its driver's state (the fake driver's guests, a real driver's files). */
export function agentDataDir(options: Pick<MultiNodeOptions, 'dataDir'>, host: string): string {
  return join(options.dataDir, 'agents', host)
}

/** Where the fake driver of `host` keeps its guests, so a restarted agent finds them again. */
export function fakeStatePath(options: Pick<MultiNodeOptions, 'dataDir'>, host: string): string {
  return join(agentDataDir(options, host), 'fake-driver.json')
}

/**
 * Image data for compute agents with a real driver: `<image-dir>/<image id>`. A compute agent has no database
 * handle, and Novum's Image API does not serve image data yet, so the deployment shares a directory instead (one
 * machine, or a shared mount).
 */
export function directoryImageSource(imageDir: string | null): ImageSource {
  return {
    async download(imageId, destPath) {
      if (!imageDir) throw new ComputeError('NOT_FOUND', `image ${imageId} has no data: start the deployment with --image-dir <dir> holding <dir>/${imageId}`)
      const source = join(imageDir, imageId)
      try {
        await access(source)
      } catch {
        throw new ComputeError('NOT_FOUND', `image ${imageId} has no data in ${imageDir}`, { details: { imageId } })
      }
      await copyFile(source, destPath)
    },
  }
}

/**
 * The driver of one compute agent, from configuration alone: `fake` is core's {@link FakeVirtDriver} with its
 * state in the agent's data directory and the `--fake-delay` latencies of this host; any other name is a driver
 * package (`libvirt` → `@novum/driver-libvirt`, or a full package name) whose `createDriver` export builds it.
 */
export async function createAgentDriver(options: MultiNodeOptions, host: string, logger: Logger): Promise<VirtDriver> {
  const dataDir = agentDataDir(options, host)
  mkdirSync(dataDir, { recursive: true })
  if (options.driver === 'fake') {
    const delayMs = fakeDelaysFor(options.fakeDelays, host)
    return new FakeVirtDriver({
      hostname: host,
      vcpus: options.hostVcpus,
      memoryMb: options.hostMemoryMb,
      localGb: options.hostDiskGb,
      statePath: fakeStatePath(options, host),
      ...(Object.keys(delayMs).length > 0 ? { delayMs } : {}),
    })
  }
  const pkg = options.driver.includes('/') ? options.driver : `@novum/driver-${options.driver}`
  let mod: { createDriver?: DriverFactory }
  try {
    // The in-tree drivers are named literally so bundlers and type checkers see them; any other package is loaded by name.
    mod =
      pkg === '@novum/driver-libvirt' ? ((await import('@novum/driver-libvirt')) as { createDriver?: DriverFactory })
      : pkg === '@novum/driver-lxc' ? ((await import('@novum/driver-lxc')) as { createDriver?: DriverFactory })
      : ((await import(pkg)) as { createDriver?: DriverFactory })
  } catch (err) {
    throw new ComputeError('INVALID', `unknown driver "${options.driver}": cannot load ${pkg} (${(err as Error).message})`, { cause: err })
  }
  if (typeof mod.createDriver !== 'function') throw new ComputeError('INVALID', `${pkg} has no createDriver export`)
  const driverDir = join(dataDir, `driver-${options.driver.replace(/[^A-Za-z0-9_.-]/g, '_')}`)
  mkdirSync(driverDir, { recursive: true })
  return mod.createDriver({ hostname: host, dataDir: driverDir, images: directoryImageSource(options.imageDir), logger: logger.child({ driver: options.driver }), settings: options.driverSettings })
}
