/**
 * The reference server with the LXC driver (`NOVUM_DRIVER=lxc`), driven by Debian's real `openstack` CLI: a server
 * created with `--nic none --wait` is a real running container, and console log, stop, start, reboot (soft and
 * hard), pause, unpause and delete act on that container. The image has no data, so the driver builds the root
 * filesystem with LXC's busybox template (NOVUM_DRIVER_TEMPLATE=busybox).
 *
 * Needs LXC (scripts/setup-lxc.sh, run here when the tools are missing) and the openstack CLI. In CI (CI=true) both
 * are required; outside CI, NOVUM_SKIP_LXC=1 or NOVUM_SKIP_OPENSTACK_CLI=1 skip the file.
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openstackCliSkipReason, openstackJson, runOpenstack, type OpenstackEnv } from './openstack-cli.js'
import { startServerProcess, type ServerProcess } from './reference-server-process.js'

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// NOTE: a fixed lxcpath and prefix, so a crashed run's containers are found and destroyed at the next start.
const LXC_PATH = join(tmpdir(), 'novum-lxc-e2e', 'lxc')
const PREFIX = 'novum-e2e-'
const COMPUTE_HOST = 'lxc-e2e'

function lxcSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['NOVUM_SKIP_LXC'] !== '1') return undefined
  if (env['CI'] === 'true') throw new Error('NOVUM_SKIP_LXC=1 is refused in CI (CI=true): run scripts/setup-lxc.sh instead')
  return 'NOVUM_SKIP_LXC=1'
}
const skip = openstackCliSkipReason() ?? lxcSkipReason()

/** Runs an lxc tool against the test's lxcpath; resolves with its output whatever the exit code. */
function lxc(tool: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(tool, ['-P', LXC_PATH, ...args], { timeout: 60_000, env: { ...process.env, LC_ALL: 'C' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      res({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })
}
const stateOf = async (name: string): Promise<string> => {
  const r = await lxc('lxc-info', '-n', name, '-s', '-H')
  return r.code === 0 ? r.stdout.trim() : `absent (${r.stderr.trim()})`
}
const pidOf = async (name: string): Promise<string> => (await lxc('lxc-info', '-n', name, '-p', '-H')).stdout.trim()

function ensureLxc(): void {
  const present = () =>
    spawnSync('sh', ['-c', 'command -v lxc-create && command -v busybox'], { stdio: 'ignore' }).status === 0 && existsSync('/usr/share/lxc/templates/lxc-busybox')
  if (present()) return
  const r = spawnSync('bash', [join(rootDir, 'scripts/setup-lxc.sh')], { stdio: 'inherit', timeout: 900_000 })
  if (r.status !== 0 || !present()) throw new Error(`scripts/setup-lxc.sh failed (exit ${r.status ?? r.signal}): LXC is needed for this test`)
}

/** Destroys every container with the test's prefix (a crashed run's too) and removes the lxcpath. */
async function destroyLeftovers(): Promise<void> {
  if (!existsSync(LXC_PATH)) return
  const names = (await lxc('lxc-ls', '-1', '--filter', `^${PREFIX}`)).stdout.split(/\s+/).filter(Boolean)
  await Promise.all(names.map((name) => lxc('lxc-destroy', '-n', name, '-f')))
  const left = (await lxc('lxc-ls', '-1', '--filter', `^${PREFIX}`)).stdout.trim()
  if (left) throw new Error(`could not destroy leftover containers: ${left}`)
  await lxc('lxc-monitor', '-Q')
  rmSync(LXC_PATH, { recursive: true, force: true })
}

interface ServerShow {
  id: string
  name: string
  status: string
  'OS-EXT-SRV-ATTR:host'?: string
  'OS-EXT-STS:vm_state'?: string
  'OS-EXT-STS:power_state'?: string | number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `server show` until the status is `want` (stop, start and pause have no `--wait` in this CLI). */
async function waitStatus(env: OpenstackEnv, name: string, want: string, timeoutMs = 120_000): Promise<ServerShow> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const s = await openstackJson<ServerShow>(['server', 'show', name], env)
    if (s.status === want) return s
    if (s.status === 'ERROR' || Date.now() > deadline) throw new Error(`server ${name} is ${s.status}, not ${want}: ${JSON.stringify(s)}`)
    await sleep(200)
  }
}

/** Polls `lxc-info` until the container is in `want` (or the attempts run out); returns the last state. */
async function waitContainer(name: string, want: string, attempts = 300): Promise<string> {
  let state = await stateOf(name)
  for (let i = 1; i < attempts && state !== want; i++) {
    await sleep(100)
    state = await stateOf(name)
  }
  return state
}

describe.skipIf(skip !== undefined)('reference server with the LXC driver, driven by the openstack CLI', () => {
  let server: ServerProcess | undefined
  let env: OpenstackEnv
  let container = ''
  const name = 'lxc-1'

  beforeAll(async () => {
    ensureLxc()
    await destroyLeftovers()
    mkdirSync(LXC_PATH, { recursive: true })
    server = await startServerProcess({
      env: {
        NOVUM_DRIVER: 'lxc',
        NOVUM_COMPUTE_HOST: COMPUTE_HOST,
        NOVUM_DRIVER_LXC_PATH: LXC_PATH,
        NOVUM_DRIVER_NAME_PREFIX: PREFIX,
        NOVUM_DRIVER_TEMPLATE: 'busybox',
        NOVUM_REPORT_INTERVAL: '2',
      },
      readyTimeoutMs: 120_000,
    })
    // `--nic none` needs microversion 2.37.
    env = { ...server.env, OS_COMPUTE_API_VERSION: '2.37' }
  }, 300_000)

  afterAll(async () => {
    await server?.destroy()
    await destroyLeftovers()
  }, 300_000)

  it('reports the LXC host as a hypervisor', async () => {
    const hypervisors = await openstackJson<{ 'Hypervisor Hostname': string; 'Hypervisor Type': string; State: string }[]>(['hypervisor', 'list'], env)
    expect(hypervisors).toEqual([expect.objectContaining({ 'Hypervisor Hostname': COMPUTE_HOST, 'Hypervisor Type': 'lxc' })])
  })

  it('creates a server with --nic none --wait: a real container runs, with the flavor as its memory limit', async () => {
    const images = await openstackJson<{ ID: string }[]>(['image', 'list'], env)
    const created = await openstackJson<ServerShow>(['server', 'create', '--flavor', 'm1.tiny', '--image', images[0]!.ID, '--nic', 'none', '--wait', name], env, {
      timeoutMs: 300_000,
    })
    expect(created.status).toBe('ACTIVE')
    expect(created['OS-EXT-SRV-ATTR:host']).toBe(COMPUTE_HOST)
    container = `${PREFIX}${created.id}`
    expect(await stateOf(container)).toBe('RUNNING')
    expect(readdirSync(LXC_PATH)).toContain(container)
    const hostname = await lxc('lxc-attach', '-n', container, '--', 'hostname')
    expect(hostname.stdout.trim()).toBe(name)
    const memory = await lxc('lxc-cgroup', '-n', container, 'memory.limit_in_bytes')
    const memoryMax = memory.code === 0 ? memory : await lxc('lxc-cgroup', '-n', container, 'memory.max')
    expect(memoryMax.stdout.trim()).toBe(String(512 * 1024 * 1024))
  })

  it("shows the container's console log", async () => {
    let log = ''
    for (let i = 0; i < 100 && !log.includes('Please press Enter'); i++) {
      log = (await runOpenstack(['console', 'log', 'show', name], env)).stdout
      if (!log.includes('Please press Enter')) await sleep(200)
    }
    expect(log).toContain('Please press Enter to activate this console.')
  })

  it('stops the container, and starts it again', async () => {
    await runOpenstack(['server', 'stop', name], env)
    const stopped = await waitStatus(env, name, 'SHUTOFF')
    expect(stopped['OS-EXT-STS:vm_state']).toBe('stopped')
    expect(await stateOf(container)).toBe('STOPPED')
    await runOpenstack(['server', 'start', name], env)
    await waitStatus(env, name, 'ACTIVE')
    expect(await stateOf(container)).toBe('RUNNING')
  })

  it.each(['--soft', '--hard'])('reboots the container (%s)', async (kind) => {
    const before = await pidOf(container)
    await runOpenstack(['server', 'reboot', kind, '--wait', name], env, { timeoutMs: 300_000 })
    const shown = await waitStatus(env, name, 'ACTIVE')
    expect(shown['OS-EXT-STS:vm_state']).toBe('active')
    expect(await waitContainer(container, 'RUNNING')).toBe('RUNNING')
    expect(await pidOf(container)).not.toBe(before)
  })

  it('pauses the container (frozen), and unpauses it', async () => {
    await runOpenstack(['server', 'pause', name], env)
    const paused = await waitStatus(env, name, 'PAUSED')
    expect(paused['OS-EXT-STS:vm_state']).toBe('paused')
    expect(await stateOf(container)).toBe('FROZEN')
    await runOpenstack(['server', 'unpause', name], env)
    await waitStatus(env, name, 'ACTIVE')
    expect(await stateOf(container)).toBe('RUNNING')
  })

  it('deletes the server and its container', async () => {
    await runOpenstack(['server', 'delete', '--wait', name], env, { timeoutMs: 300_000 })
    const list = await openstackJson<{ Name: string }[]>(['server', 'list'], env)
    expect(list.map((s) => s.Name)).not.toContain(name)
    expect(await stateOf(container)).toMatch(/^absent/)
    expect(existsSync(join(LXC_PATH, container))).toBe(false)
  })
})
