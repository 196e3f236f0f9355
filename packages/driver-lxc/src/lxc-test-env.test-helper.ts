/**
 * Shared set-up of the tests that run real LXC containers: where they live, how a crashed run is cleaned up, the
 * busybox rootfs tarball they boot, and the NOVUM_SKIP_LXC opt-out (refused in CI).
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { copyFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ComputeError, type ImageMeta, type ImageSource } from '@novum/core'
import { makeImageMeta } from '@novum/core/testing'
import { destroyContainers } from './destroy-containers.js'
import { LxcTools } from './lxc-tools.js'

/** The root of every lxcpath the package's tests use: fixed, so the next run finds a crashed run's leftovers. */
export const TEST_ROOT = join(tmpdir(), 'novum-lxc-tests')
/** The container name prefix of every test container. */
export const TEST_PREFIX = 'novum-test-'

/**
 * Why the LXC tests may be skipped here, or undefined when they must run. Only `NOVUM_SKIP_LXC=1` outside CI skips
 * them; in CI (`CI=true`) that opt-out throws, so missing LXC fails the run instead of hiding in the skipped count.
 */
export function lxcSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['NOVUM_SKIP_LXC'] !== '1') return undefined
  if (env['CI'] === 'true') throw new Error('NOVUM_SKIP_LXC=1 is refused in CI (CI=true): run scripts/setup-lxc.sh instead')
  return 'NOVUM_SKIP_LXC=1'
}

/** The fixed lxcpath of one test suite. */
export function suiteLxcPath(suite: string): string {
  return join(TEST_ROOT, suite)
}

/** Destroys every test container in the suite's lxcpath and removes the directory (before and after a suite). */
export async function cleanSuite(lxcPath: string): Promise<void> {
  const result = await destroyContainers({ lxcPath, prefix: TEST_PREFIX })
  if (result.failed.length > 0) throw new Error(`could not destroy leftover containers: ${JSON.stringify(result.failed)}`)
  // NOTE: lxc-monitord (started by the drivers' lxc-monitor) would linger ~30 s on the removed lxcpath otherwise.
  if (existsSync(lxcPath)) await new LxcTools({ lxcPath }).run('lxc-monitor', ['-Q'], { allowFailure: true, timeoutMs: 10_000 })
  await rm(lxcPath, { recursive: true, force: true })
}

/** The id of the test image whose data is the busybox rootfs tarball. */
export const BUSYBOX_IMAGE_ID = '0c0ffee0-1a2b-4c3d-8e9f-b05b0c5e1ea1'
/** The id of an image the test image source has no data for (so the template fallback applies). */
export const NO_DATA_IMAGE_ID = '0c0ffee0-1a2b-4c3d-8e9f-00000000da7a'
/** A line the test tarball carries in /etc/novum-image, to tell an image-built rootfs from a template-built one. */
export const IMAGE_MARKER = 'novum busybox test image'

/** The busybox test image: signals set for busybox init (SIGPWR halts; SIGTERM reboots). */
export function busyboxImage(overrides: Partial<ImageMeta> = {}): ImageMeta {
  return makeImageMeta({
    id: BUSYBOX_IMAGE_ID,
    name: 'busybox-rootfs',
    diskFormat: 'raw',
    containerFormat: 'bare',
    size: null,
    properties: { lxc_halt_signal: 'SIGPWR', lxc_reboot_signal: 'SIGTERM' },
    ...overrides,
  })
}

/**
 * Builds (once per machine, cached under {@link TEST_ROOT}) a flat rootfs tarball from LXC's busybox template, with
 * {@link IMAGE_MARKER} in /etc/novum-image. Safe to call from several test files at once.
 */
export async function busyboxTarball(): Promise<string> {
  const images = join(TEST_ROOT, 'images')
  const target = join(images, 'busybox-rootfs.tar.gz')
  if (existsSync(target)) return target
  mkdirSync(images, { recursive: true })
  const scratch = join(images, `scratch-${randomBytes(4).toString('hex')}`)
  const tools = new LxcTools({ lxcPath: scratch, timeoutMs: 120_000 })
  try {
    mkdirSync(scratch, { recursive: true })
    const conf = join(scratch, 'empty.conf')
    await writeFile(conf, 'lxc.net.0.type = empty\n')
    await tools.create('tpl', { template: 'busybox', configFile: conf })
    await writeFile(join(scratch, 'tpl', 'rootfs', 'etc', 'novum-image'), `${IMAGE_MARKER}\n`)
    const partial = `${target}.${randomBytes(4).toString('hex')}`
    await tools.run('tar', ['--numeric-owner', '-czf', partial, '-C', join(scratch, 'tpl', 'rootfs'), '.'], { noLxcPath: true })
    await rename(partial, target)
    return target
  } finally {
    await tools.destroy('tpl', { allowFailure: true }).catch(() => undefined)
    await rm(scratch, { recursive: true, force: true })
  }
}

/** An {@link ImageSource} that serves files from a map of image id → path, and `NOT_FOUND` for any other image. */
export function fileImageSource(files: Readonly<Record<string, string>>): ImageSource & { readonly downloads: string[] } {
  const downloads: string[] = []
  return {
    downloads,
    async download(imageId, destPath) {
      const file = files[imageId]
      if (!file) throw new ComputeError('NOT_FOUND', `image ${imageId} has no data`)
      downloads.push(imageId)
      await copyFile(file, destPath)
    },
  }
}

/** Polls `probe` until it returns a value `accept` takes, at most `attempts` times `intervalMs` apart; returns the last value. */
export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, attempts = 100, intervalMs = 100): Promise<T> {
  let value = await probe()
  for (let i = 1; i < attempts && !accept(value); i++) {
    await new Promise((r) => setTimeout(r, intervalMs))
    value = await probe()
  }
  return value
}
