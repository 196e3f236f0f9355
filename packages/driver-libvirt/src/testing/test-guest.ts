/**
 * Test support for the real-libvirt tests and the benchmark: the tiny guest scripts/setup-libvirt.sh builds,
 * an {@link ImageSource} that serves it, the skip rule, cleanup by name prefix, a console-marker wait, and a
 * cross-process lock so that test files of different projects never run more than two guests between them.
 *
 * @internal Not part of the package's public API.
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ComputeError, type ImageMeta, type ImageSource } from '@novum/core'
import { LibvirtClient } from '../protocol/client.js'
import { DomainUndefineFlags } from '../protocol/libvirt-constants.js'

/** Where scripts/setup-libvirt.sh puts the guest. */
export const TEST_GUEST_DIR = process.env['NOVUM_TEST_GUEST_DIR'] ?? '/var/cache/novum-test-guest'
/** What the guest's /init prints on ttyS0 once booted. */
export const GUEST_MARKER = 'NOVUM-GUEST-BOOTED'

/** Image ids of the guest's three parts (an AMI-style image: root disk plus kernel and ramdisk). */
export const TEST_IMAGE_IDS = {
  root: '5e1f0c2a-7b3d-4e8f-9a10-000000000001',
  kernel: '5e1f0c2a-7b3d-4e8f-9a10-000000000002',
  ramdisk: '5e1f0c2a-7b3d-4e8f-9a10-000000000003',
} as const

const FILES: Readonly<Record<string, string>> = {
  [TEST_IMAGE_IDS.root]: 'root.qcow2',
  [TEST_IMAGE_IDS.kernel]: 'vmlinuz',
  [TEST_IMAGE_IDS.ramdisk]: 'initramfs.img',
}

/** The guest's kernel command line: serial console, reboot on panic, quiet. */
export const TEST_GUEST_CMDLINE = 'console=ttyS0 panic=-1 quiet'

/** An {@link ImageSource} that serves the guest's files from {@link TEST_GUEST_DIR} by image id (and counts downloads). */
export function testGuestImageSource(dir = TEST_GUEST_DIR): ImageSource & { readonly downloads: Map<string, number> } {
  const downloads = new Map<string, number>()
  return {
    downloads,
    async download(imageId, destPath) {
      const file = FILES[imageId]
      if (!file) throw new ComputeError('NOT_FOUND', `test image ${imageId} does not exist`)
      downloads.set(imageId, (downloads.get(imageId) ?? 0) + 1)
      await copyFile(join(dir, file), destPath)
    },
  }
}

/** The guest as an image: qcow2 root disk, with `kernel_id`, `ramdisk_id` and `os_command_line`. */
export function testGuestImage(): ImageMeta {
  return {
    id: TEST_IMAGE_IDS.root,
    name: 'novum-test-guest',
    status: 'active',
    diskFormat: 'qcow2',
    containerFormat: 'bare',
    minRamMb: 0,
    minDiskGb: 0,
    size: null,
    properties: { kernel_id: TEST_IMAGE_IDS.kernel, ramdisk_id: TEST_IMAGE_IDS.ramdisk, os_command_line: TEST_GUEST_CMDLINE },
  }
}

/**
 * Why the real-libvirt tests are skipped, or undefined when they run. They may be skipped only with
 * `NOVUM_SKIP_LIBVIRT=1` outside CI; in CI (`CI=true`) that opt-out throws, so a missing libvirtd fails the run.
 */
export function libvirtSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['NOVUM_SKIP_LIBVIRT'] !== '1') return undefined
  if (env['CI'] === 'true') throw new Error('NOVUM_SKIP_LIBVIRT=1 is refused in CI (CI=true): run scripts/setup-libvirt.sh instead')
  return 'NOVUM_SKIP_LIBVIRT=1'
}

/** Destroys and undefines every domain whose name starts with `prefix` (leftovers of a crashed run); returns their names. */
export async function destroyDomainsWithPrefix(prefix: string, options: { readonly uri?: string; readonly socketPath?: string } = {}): Promise<string[]> {
  if (prefix.length < 3) throw new Error(`refusing to clean up by the short prefix "${prefix}"`)
  const client = await LibvirtClient.connect({ uri: options.uri ?? 'qemu:///system', ...(options.socketPath ? { socketPath: options.socketPath } : {}) })
  const removed: string[] = []
  try {
    const { domains } = await client.call('CONNECT_LIST_ALL_DOMAINS', { need_results: 1, flags: 0 })
    for (const dom of domains.filter((d) => d.name.startsWith(prefix))) {
      await client.call('DOMAIN_DESTROY', { dom }).catch(() => undefined)
      await client.call('DOMAIN_UNDEFINE_FLAGS', { dom, flags: DomainUndefineFlags.MANAGED_SAVE | DomainUndefineFlags.SNAPSHOTS_METADATA | DomainUndefineFlags.NVRAM }).catch(() => undefined)
      removed.push(dom.name)
    }
    const { nets } = await client.call('CONNECT_LIST_ALL_NETWORKS', { need_results: 1, flags: 0 })
    for (const net of nets.filter((n) => n.name.startsWith(prefix))) {
      await client.call('NETWORK_DESTROY', { net }).catch(() => undefined)
      await client.call('NETWORK_UNDEFINE', { net }).catch(() => undefined)
      removed.push(`network ${net.name}`)
    }
  } finally {
    await client.close()
  }
  return removed
}

/** How often `marker` occurs in `text`. */
export function countOccurrences(text: string, marker: string): number {
  let n = 0
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + marker.length)) n++
  return n
}

/**
 * Polls `read` (a console log) until `marker` occurs at least `count` times; rejects with the log's tail after
 * `timeoutMs`. Resolves with the text it saw.
 */
export async function waitForConsole(read: () => Promise<string>, marker: string, options: { readonly count?: number; readonly timeoutMs?: number } = {}): Promise<string> {
  const count = options.count ?? 1
  const timeoutMs = options.timeoutMs ?? 120_000
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const text = await read().catch(() => '')
    if (countOccurrences(text, marker) >= count) return text
    if (performance.now() > deadline) throw new Error(`"${marker}" did not appear ${count} time(s) within ${timeoutMs} ms; console ends with:\n${text.slice(-2000)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Runs `virsh -c <uri> <args>` (the oracle of the tests) and resolves with its stdout. */
export function virsh(args: readonly string[], uri = 'qemu:///system'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('virsh', ['-q', '-c', uri, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`virsh ${args.join(' ')} failed: ${stderr.trim() || error.message}`))
      else resolve(stdout)
    })
  })
}

const LOCK_DIR = '/run/lock/novum-libvirt-guests.d'

async function ownerAlive(): Promise<boolean> {
  const pid = Number((await readFile(join(LOCK_DIR, 'pid'), 'utf8').catch(() => '')).trim())
  if (!Number.isInteger(pid) || pid <= 0) return false
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  const state = /^\d+ \(.*\) (\w)/.exec(stat)?.[1]
  return state !== undefined && state !== 'Z' && state !== 'X'
}

/**
 * Takes the machine-wide lock under which one test file (or the benchmark) may run its guests, at most two at a
 * time, so files of different vitest projects never add up to more. The lock is a directory holding the owner's
 * pid; a lock whose owner is dead (or a zombie) is taken over. Resolves with the release function.
 */
export async function acquireGuestLock(options: { readonly timeoutMs?: number; readonly holder?: string } = {}): Promise<() => Promise<void>> {
  const deadline = performance.now() + (options.timeoutMs ?? 30 * 60_000)
  for (;;) {
    try {
      await mkdir(LOCK_DIR)
      await writeFile(join(LOCK_DIR, 'pid'), `${process.pid}\n${options.holder ?? ''}\n`)
      return async () => {
        await rm(LOCK_DIR, { recursive: true, force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const age = await stat(LOCK_DIR).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    )
    // A lock without a pid file for more than a few seconds was left by a process that died while taking it.
    if (!(await ownerAlive()) && age > 5_000) await rm(LOCK_DIR, { recursive: true, force: true })
    if (performance.now() > deadline) throw new Error(`the libvirt guest lock ${LOCK_DIR} is held by another test run`)
    await new Promise((r) => setTimeout(r, 500))
  }
}
