/**
 * The reference server with the libvirt driver, driven by the real `openstack` CLI: the tiny test guest (a Debian
 * cloud kernel, a busybox initramfs and a qcow2 root disk, built by scripts/setup-libvirt.sh) is uploaded through
 * the Image API as an AMI-style image, `server create --wait` boots it as a real TCG guest, its console log shows
 * the boot marker, and stop, start, reboot (soft and hard), a guest powering itself off, and delete all work.
 * `virsh` is the oracle for what happened on the hypervisor.
 *
 * It runs one guest, under the machine-wide guest lock the driver-libvirt tests use, with domains named
 * `novume2e-…` (leftovers from a crashed run are removed first). Skipped only with NOVUM_SKIP_LIBVIRT=1 or
 * NOVUM_SKIP_OPENSTACK_CLI=1 outside CI; in CI both opt-outs are refused.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openrcEnv, openstackCliSkipReason, openstackJson, runOpenstack, type OpenstackEnv } from './openstack-cli.js'
import { freePort, sleep } from '../../scripts/bench-api.js'

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const GUEST_DIR = process.env['NOVUM_TEST_GUEST_DIR'] ?? '/var/cache/novum-test-guest'
const MARKER = 'NOVUM-GUEST-BOOTED'
const PREFIX = 'novume2e-'
const LOCK_DIR = '/run/lock/novum-libvirt-guests.d'
const run = promisify(execFile)

function libvirtSkipReason(): string | undefined {
  if (process.env['NOVUM_SKIP_LIBVIRT'] !== '1') return undefined
  if (process.env['CI'] === 'true') throw new Error('NOVUM_SKIP_LIBVIRT=1 is refused in CI (CI=true): run scripts/setup-libvirt.sh instead')
  return 'NOVUM_SKIP_LIBVIRT=1'
}
const skip = libvirtSkipReason() ?? openstackCliSkipReason()

const virsh = async (...args: string[]) => (await run('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' })).stdout.trim()
const count = (text: string, marker: string) => text.split(marker).length - 1


/** The machine-wide lock of the driver-libvirt tests (a directory holding the owner's pid): at most one file boots guests. */
async function acquireGuestLock(): Promise<() => Promise<void>> {
  const deadline = performance.now() + 30 * 60_000
  for (;;) {
    try {
      await mkdir(LOCK_DIR)
      await writeFile(join(LOCK_DIR, 'pid'), `${process.pid}\ne2e libvirt-reference-server\n`)
      return () => rm(LOCK_DIR, { recursive: true, force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const pid = Number((await readFile(join(LOCK_DIR, 'pid'), 'utf8').catch(() => '')).split('\n')[0])
    const state = /^\d+ \(.*\) (\w)/.exec(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''))?.[1]
    const age = await stat(LOCK_DIR).then((s) => Date.now() - s.mtimeMs, () => 0)
    if ((state === undefined || state === 'Z' || state === 'X') && age > 5_000) await rm(LOCK_DIR, { recursive: true, force: true })
    if (performance.now() > deadline) throw new Error(`the libvirt guest lock ${LOCK_DIR} is held by another test run`)
    await sleep(500)
  }
}

async function destroyLeftovers(): Promise<void> {
  for (const name of (await virsh('list', '--all', '--name')).split('\n').filter((n) => n.startsWith(PREFIX))) {
    await virsh('destroy', name).catch(() => '')
    await virsh('undefine', '--managed-save', name).catch(() => '')
  }
}

describe.skipIf(skip !== undefined)('reference server with the libvirt driver, through the openstack CLI (real TCG guest)', () => {
  let server: ChildProcess | undefined
  let dataDir = ''
  let release: (() => Promise<void>) | undefined
  let env: OpenstackEnv
  let output = ''
  const imageIds = { kernel: crypto.randomUUID(), ramdisk: crypto.randomUUID(), root: crypto.randomUUID() }
  let serverId = ''
  let domain = ''

  const serverStatus = async () => (await openstackJson<{ status: string }>(['server', 'show', serverId], env)).status
  const waitStatus = async (want: string, timeoutMs = 180_000) => {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const status = await serverStatus()
      if (status === want) return
      if (status === 'ERROR') throw new Error(`server ${serverId} went to ERROR`)
      if (performance.now() > deadline) throw new Error(`server ${serverId} is ${status}, not ${want}, after ${timeoutMs} ms`)
      await sleep(500)
    }
  }
  const consoleLog = async () => (await runOpenstack(['console', 'log', 'show', serverId], env)).stdout
  const waitMarkers = async (n: number, timeoutMs = 180_000) => {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const text = await consoleLog()
      if (count(text, MARKER) >= n) return text
      if (performance.now() > deadline) throw new Error(`${n} boot marker(s) not on the console after ${timeoutMs} ms:\n${text.slice(-2000)}`)
      await sleep(1000)
    }
  }

  beforeAll(async () => {
    execFileSync('bash', [join(rootDir, 'scripts', 'setup-libvirt.sh')], { stdio: ['ignore', 'inherit', 'inherit'] })
    release = await acquireGuestLock()
    await destroyLeftovers()
    dataDir = await mkdtemp('/var/tmp/novum-e2e-libvirt-')
    await chmod(dataDir, 0o755) // QEMU runs as its own user and must reach the disks under it
    const ports = { identity: await freePort(), compute: await freePort(), image: await freePort(), placement: await freePort() }
    const password = 'e2e-libvirt-secret'
    server = spawn(process.execPath, ['--conditions=@novum/source', '--import', 'tsx', 'examples/reference-server/src/main.ts'], {
      cwd: rootDir,
      env: {
        ...process.env,
        NOVUM_DATA_DIR: dataDir,
        NOVUM_BIND: '127.0.0.1',
        NOVUM_IDENTITY_PORT: String(ports.identity),
        NOVUM_COMPUTE_PORT: String(ports.compute),
        NOVUM_IMAGE_PORT: String(ports.image),
        NOVUM_PLACEMENT_PORT: String(ports.placement),
        NOVUM_ADMIN_PASSWORD: password,
        NOVUM_LOG_LEVEL: 'warn',
        NOVUM_REPORT_INTERVAL: '5',
        NOVUM_COMPUTE_HOST: 'novum-e2e-libvirt',
        NOVUM_DRIVER: 'libvirt',
        NOVUM_DRIVER_NAME_PREFIX: PREFIX,
        NOVUM_DRIVER_NETWORK: 'none',
        NOVUM_DRIVER_SHUTDOWN_RETRY_INTERVAL_SEC: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    server.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    server.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    const deadline = performance.now() + 120_000
    while (!output.includes('Novum reference server ready')) {
      if (server.exitCode !== null) throw new Error(`the reference server exited with ${server.exitCode}:\n${output}`)
      if (performance.now() > deadline) throw new Error(`the reference server did not start within 120 s:\n${output}`)
      await sleep(100)
    }
    env = openrcEnv({ authUrl: `http://127.0.0.1:${ports.identity}/v3`, username: 'admin', password, projectName: 'admin', extra: { OS_COMPUTE_API_VERSION: '2.37' } })
  })

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r))
      server.kill('SIGTERM')
      await Promise.race([exited, sleep(30_000)])
      if (server.exitCode === null) server.kill('SIGKILL')
    }
    await destroyLeftovers().catch(() => undefined)
    // NOTE: until the reference server passes its data directory to the image app, uploads land in the default one.
    for (const id of Object.values(imageIds)) await rm(join(tmpdir(), 'novum-image-data', id), { force: true })
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
    await release?.()
  })

  it('uploads the tiny guest (kernel, ramdisk, qcow2 root disk) with real data through the Image API', async () => {
    const create = (id: string, name: string, file: string, diskFormat: string, containerFormat: string, extra: string[] = []) =>
      openstackJson<{ id: string; status: string; size: number; checksum: string }>(
        ['image', 'create', '--id', id, '--disk-format', diskFormat, '--container-format', containerFormat, '--file', join(GUEST_DIR, file), ...extra, name],
        env,
      )
    const kernel = await create(imageIds.kernel, 'novum-tiny-kernel', 'vmlinuz', 'aki', 'aki')
    const ramdisk = await create(imageIds.ramdisk, 'novum-tiny-ramdisk', 'initramfs.img', 'ari', 'ari')
    await create(imageIds.root, 'novum-tiny', 'root.qcow2', 'qcow2', 'bare', [
      '--property', `kernel_id=${kernel.id}`, '--property', `ramdisk_id=${ramdisk.id}`, '--property', 'os_command_line=console=ttyS0 panic=-1 quiet',
    ])
    const shown = await openstackJson<{ status: string; size: number; checksum: string; properties: Record<string, string> }>(['image', 'show', imageIds.root], env)
    const bytes = await readFile(join(GUEST_DIR, 'root.qcow2'))
    expect(shown).toMatchObject({ status: 'active', size: bytes.length, checksum: createHash('md5').update(bytes).digest('hex') })
    expect(shown.properties).toMatchObject({ kernel_id: imageIds.kernel, ramdisk_id: imageIds.ramdisk })
  })

  it('`server create --wait` boots a real guest: ACTIVE, a running domain whose uuid is the server id', async () => {
    const created = await openstackJson<{ id: string; status: string }>(
      ['server', 'create', '--flavor', 'm1.tiny', '--image', 'novum-tiny', '--nic', 'none', '--wait', 'e2e-libvirt'],
      env,
      { timeoutMs: 240_000 },
    )
    serverId = created.id
    expect(created.status).toBe('ACTIVE')
    domain = await virsh('domname', serverId)
    expect(domain.startsWith(PREFIX)).toBe(true)
    expect(await virsh('domstate', domain)).toBe('running')
    expect(await virsh('domuuid', domain)).toBe(serverId)
  })

  it('`console log show` shows the guest booted from its root disk', async () => {
    const text = await waitMarkers(1)
    expect(text).toContain(MARKER)
    const full = await (async () => {
      const deadline = performance.now() + 60_000
      for (;;) {
        const t = await consoleLog()
        if (t.includes('NOVUM-GUEST-DISK vda:') || performance.now() > deadline) return t
        await sleep(1000)
      }
    })()
    expect(full).toContain('NOVUM-GUEST-DISK vda: NOVUM-ROOT-DISK base image')
  })

  it('stops (SHUTOFF, domain shut off) and starts (ACTIVE, a second boot)', async () => {
    await runOpenstack(['server', 'stop', serverId], env)
    await waitStatus('SHUTOFF')
    expect(await virsh('domstate', domain)).toBe('shut off')
    await runOpenstack(['server', 'start', serverId], env)
    await waitStatus('ACTIVE')
    expect(await virsh('domstate', domain)).toBe('running')
    await waitMarkers(2)
  })

  it('reboots soft and hard: the guest boots again each time', async () => {
    await runOpenstack(['server', 'reboot', '--soft', '--wait', serverId], env, { timeoutMs: 240_000 })
    expect(await serverStatus()).toBe('ACTIVE')
    await waitMarkers(3)
    await runOpenstack(['server', 'reboot', '--hard', '--wait', serverId], env, { timeoutMs: 240_000 })
    expect(await serverStatus()).toBe('ACTIVE')
    await waitMarkers(4)
    expect(await virsh('domstate', domain)).toBe('running')
  })

  it('shows a guest that powered itself off (ACPI, its own poweroff) as SHUTOFF, through the lifecycle event', async () => {
    const deadline = performance.now() + 120_000
    while ((await virsh('domstate', domain)) !== 'shut off') {
      await virsh('shutdown', domain).catch(() => '')
      if (performance.now() > deadline) throw new Error('the guest did not power itself off')
      await sleep(1000)
    }
    await waitStatus('SHUTOFF', 120_000)
  })

  it('`server delete --wait` removes the domain and its disks', async () => {
    await runOpenstack(['server', 'delete', '--wait', serverId], env, { timeoutMs: 240_000 })
    expect((await virsh('list', '--all', '--name')).split('\n')).not.toContain(domain)
    const instances = join(dataDir, 'driver-libvirt', 'instances')
    expect((await readdir(instances)).filter((f) => f !== '_base')).toEqual([])
    expect((await readdir(join(instances, '_base'))).sort()).toEqual(Object.values(imageIds).sort())
  })
})
