/**
 * LxcDriver behaviour beyond the conformance suite, on real containers: image and template root filesystems,
 * cgroup limits, networking on a test bridge, console log, events for changes made outside the driver, failures
 * that carry the tool's stderr, restarts, and the cleanup of a crashed run.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { basename, join } from 'node:path'
import { filter, firstValueFrom, timeout as rxTimeout } from 'rxjs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ComputeError, PowerState, type ImageMeta, type Instance, type VirtEvent, type VirtLifecycleTransition } from '@novum/core'
import { makeInstance } from '@novum/core/testing'
import { destroyContainers } from './destroy-containers.js'
import { LxcCommandError } from './lxc-command-error.js'
import { LxcDriver, type LxcDriverConfig } from './lxc-driver.js'
import {
  BUSYBOX_IMAGE_ID,
  busyboxImage,
  busyboxTarball,
  cleanSuite,
  eventually,
  fileImageSource,
  IMAGE_MARKER,
  lxcSkipReason,
  NO_DATA_IMAGE_ID,
  suiteLxcPath,
  TEST_PREFIX,
} from './lxc-test-env.test-helper.js'
import { LxcTools } from './lxc-tools.js'

const skip = lxcSkipReason()

/** Pids of the lxc-monitor processes watching `lxcPath` (from /proc/<pid>/cmdline). */
function monitorProcessesOf(path: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let cmdline: string[]
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    if (cmdline[0]?.endsWith('lxc-monitor') && cmdline.includes(path)) pids.push(Number(entry))
  }
  return pids
}
const lxcPath = suiteLxcPath('driver')
const NOT_A_TARBALL_ID = '0c0ffee0-1a2b-4c3d-8e9f-0000000bad00'

describe.skipIf(skip !== undefined)('LxcDriver on real containers', () => {
  let tarball = ''
  let badTarball = ''
  const drivers: LxcDriver[] = []
  const guests: { driver: LxcDriver; instance: Instance }[] = []

  /** A driver on the suite's lxcpath; closed in afterAll. */
  const driverWith = async (config: Partial<LxcDriverConfig> = {}): Promise<LxcDriver> => {
    const driver = new LxcDriver({
      hostname: 'lxc-test',
      lxcPath,
      namePrefix: TEST_PREFIX,
      images: fileImageSource({ [BUSYBOX_IMAGE_ID]: tarball, [NOT_A_TARBALL_ID]: badTarball }),
      pollIntervalMs: 0,
      stoppedEventDelayMs: 200,
      softRebootTimeoutSec: 20,
      ...config,
    })
    await driver.init()
    drivers.push(driver)
    return driver
  }
  const newInstance = (flavor: Partial<Instance['flavor']> = {}): Instance => {
    const uuid = crypto.randomUUID()
    return makeInstance({ uuid, hostname: `Test Host ${uuid.slice(0, 4)}`, flavor: { vcpus: 1, memoryMb: 128, rootGb: 1, ...flavor } })
  }
  const boot = async (driver: LxcDriver, options: { image?: ImageMeta; flavor?: Partial<Instance['flavor']>; powerOn?: boolean } = {}): Promise<Instance> => {
    const instance = newInstance(options.flavor)
    guests.push({ driver, instance })
    await driver.spawn(instance, options.image ?? busyboxImage(), options.powerOn === undefined ? {} : { powerOn: options.powerOn })
    return instance
  }
  const run = async (driver: LxcDriver, instance: Instance, ...command: string[]): Promise<string> =>
    (await driver.tools.attach(driver.containerName(instance), command)).stdout.trim()
  const nextEvent = (driver: LxcDriver, uuid: string, transitions: readonly VirtLifecycleTransition[]): Promise<VirtEvent> =>
    firstValueFrom(driver.events().pipe(filter((e) => e.instanceUuid === uuid && transitions.includes(e.transition)), rxTimeout(60_000)))
  const failureOf = async (promise: Promise<unknown>): Promise<unknown> =>
    promise.then(
      () => null,
      (err: unknown) => err,
    )

  beforeAll(async () => {
    await cleanSuite(lxcPath)
    tarball = await busyboxTarball()
    await mkdir(lxcPath, { recursive: true })
    badTarball = join(lxcPath, 'not-a-tarball')
    await writeFile(badTarball, 'this is not a tar archive\n')
  }, 300_000)

  afterEach(async () => {
    await Promise.allSettled(guests.splice(0).map(({ driver, instance }) => driver.destroy(instance)))
  }, 120_000)

  afterAll(async () => {
    await Promise.allSettled(drivers.map((d) => d.close()))
    await cleanSuite(lxcPath)
  }, 300_000)

  describe('.spawn from an image', () => {
    it('extracts the image tarball (downloaded once for concurrent spawns) and names the host after the instance', async () => {
      const images = fileImageSource({ [BUSYBOX_IMAGE_ID]: tarball })
      const driver = await driverWith({ images, imageCacheDir: join(lxcPath, `.cache-${randomBytes(3).toString('hex')}`) })
      const [a, b] = await Promise.all([boot(driver), boot(driver)])
      expect(images.downloads).toEqual([BUSYBOX_IMAGE_ID])
      expect(await run(driver, a!, 'cat', '/etc/novum-image')).toBe(IMAGE_MARKER)
      expect(await run(driver, a!, 'hostname')).toBe(`test-host-${a!.uuid.slice(0, 4)}`)
      expect((await driver.getInfo(b!)).state).toBe(PowerState.RUNNING)
    })

    it('turns the flavor into cgroup limits: memory, CPU shares and CPU quota', async () => {
      const driver = await driverWith({ cpuLimit: 'both' })
      const layout = driver.cgroupLayout!
      const instance = await boot(driver, { flavor: { vcpus: 2, memoryMb: 96 } })
      const read = async (key: string): Promise<string> => (await driver.tools.run('lxc-cgroup', ['-n', driver.containerName(instance), key])).stdout.trim()
      expect(layout.memory).not.toBeNull()
      expect(layout.cpu).not.toBeNull()
      if (layout.memory === 'v1') expect(await read('memory.limit_in_bytes')).toBe(String(96 * 1024 * 1024))
      else expect(await read('memory.max')).toBe(String(96 * 1024 * 1024))
      if (layout.cpu === 'v1') {
        expect(await read('cpu.shares')).toBe('2048')
        expect(await read('cpu.cfs_quota_us')).toBe('200000')
        expect(await read('cpu.cfs_period_us')).toBe('100000')
      } else {
        expect(await read('cpu.weight')).toBe('200')
        expect(await read('cpu.max')).toBe('200000 100000')
      }
    })

    it('gives a container without vifs no network device but loopback', async () => {
      const driver = await driverWith()
      const instance = await boot(driver)
      expect((await run(driver, instance, 'ls', '/sys/class/net')).split(/\s+/)).toEqual(['lo'])
    })

    it('falls back to the configured template for an image without data', async () => {
      const driver = await driverWith({ template: 'busybox' })
      const instance = await boot(driver, { image: busyboxImage({ id: NO_DATA_IMAGE_ID }) })
      expect((await driver.getInfo(instance)).state).toBe(PowerState.RUNNING)
      const marker = await driver.tools.attach(driver.containerName(instance), ['cat', '/etc/novum-image'], { allowFailure: true })
      expect(marker.exitCode).not.toBe(0)
      expect(await run(driver, instance, 'hostname')).toBe(`test-host-${instance.uuid.slice(0, 4)}`)
    })

    it('fails, leaving nothing, for an image without data when no template is configured', async () => {
      const driver = await driverWith()
      const instance = newInstance()
      const err = await failureOf(driver.spawn(instance, busyboxImage({ id: NO_DATA_IMAGE_ID }), {}))
      expect(ComputeError.is(err, 'VIRT')).toBe(true)
      expect((err as Error).message).toContain('no data')
      expect(await driver.instanceExists(instance)).toBe(false)
      expect(existsSync(driver.containerDir(instance))).toBe(false)
    })

    it("fails with tar's stderr for image data that is not a tarball, leaving nothing", async () => {
      const driver = await driverWith()
      const instance = newInstance()
      const err = await failureOf(driver.spawn(instance, busyboxImage({ id: NOT_A_TARBALL_ID }), {}))
      expect(err).toBeInstanceOf(LxcCommandError)
      const failure = (err as LxcCommandError).failure
      expect(failure.command).toBe('tar')
      expect(failure.exitCode).not.toBe(0)
      expect(failure.stderr.length).toBeGreaterThan(0)
      expect((err as LxcCommandError).details).toMatchObject({ command: 'tar', stderr: failure.stderr })
      expect(await driver.instanceExists(instance)).toBe(false)
      expect(existsSync(driver.containerDir(instance))).toBe(false)
    })

    it("fails with lxc-start's error when the guest's init cannot run, leaving nothing", async () => {
      const driver = await driverWith()
      const instance = newInstance()
      const err = await failureOf(driver.spawn(instance, busyboxImage({ properties: { lxc_init_cmd: '/no/such/init' } }), {}))
      expect(LxcCommandError.isCommandFailure(err)).toBe(true)
      const details = (err as LxcCommandError).details ?? {}
      expect(['lxc-start', 'lxc-wait']).toContain(details['command'])
      expect(String(details['stderr']).length).toBeGreaterThan(0)
      expect(await driver.instanceExists(instance)).toBe(false)
      expect(existsSync(driver.containerDir(instance))).toBe(false)
    })

    it('refuses to create an instance that already exists', async () => {
      const driver = await driverWith()
      const instance = await boot(driver)
      const err = await failureOf(driver.spawn(instance, busyboxImage(), {}))
      expect(ComputeError.is(err, 'VIRT')).toBe(true)
      expect((await driver.getInfo(instance)).state).toBe(PowerState.RUNNING)
    })
  })

  describe('networking', () => {
    const bridge = `nvt${randomBytes(3).toString('hex')}`
    const tools = new LxcTools({ lxcPath })

    beforeAll(async () => {
      // NOTE: an isolated bridge with no uplink and no address: nothing can leave the machine through it.
      await tools.run('ip', ['link', 'add', bridge, 'type', 'bridge'], { noLxcPath: true })
      await tools.run('ip', ['link', 'set', bridge, 'up'], { noLxcPath: true })
    })

    afterAll(async () => {
      await tools.run('ip', ['link', 'del', bridge], { noLxcPath: true, allowFailure: true })
    })

    it("plugs a veth into the vif's bridge with the vif's MAC, and unplugs it on destroy", async () => {
      const driver = await driverWith()
      const instance = newInstance()
      const vif = { id: crypto.randomUUID(), address: 'fa:16:3e:12:34:56', networkId: 'net-1', bridge }
      guests.push({ driver, instance })
      await driver.spawn(instance, busyboxImage(), { networkInfo: [vif] })
      expect(await run(driver, instance, 'cat', '/sys/class/net/eth0/address')).toBe(vif.address)
      const tap = `tap${vif.id.slice(0, 11)}`
      expect(basename(readlinkSync(`/sys/class/net/${tap}/master`))).toBe(bridge)
      await driver.destroy(instance)
      expect(existsSync(`/sys/class/net/${tap}`)).toBe(false)
    })

    it('rejects a vif without a bridge when no default bridge is configured, leaving nothing', async () => {
      const driver = await driverWith()
      const instance = newInstance()
      const err = await failureOf(driver.spawn(instance, busyboxImage(), { networkInfo: [{ id: crypto.randomUUID(), address: 'fa:16:3e:00:00:01', networkId: 'net-1' }] }))
      expect(ComputeError.is(err, 'INVALID')).toBe(true)
      expect(await driver.instanceExists(instance)).toBe(false)
    })
  })

  describe('.getConsoleOutput', () => {
    it("serves the console log and keeps earlier boots' output across a hard reboot", async () => {
      const driver = await driverWith()
      const instance = await boot(driver)
      const prompt = 'Please press Enter to activate this console.'
      const first = await eventually(() => driver.getConsoleOutput(instance), (o) => o.includes(prompt))
      expect(first).toContain(prompt)
      await driver.reboot(instance, 'HARD')
      const count = (o: string) => o.split(prompt).length - 1
      const second = await eventually(() => driver.getConsoleOutput(instance), (o) => count(o) >= 2)
      expect(count(second)).toBeGreaterThanOrEqual(2)
    })

    it('throws NOT_FOUND for an unknown instance', async () => {
      const driver = await driverWith()
      expect(ComputeError.is(await failureOf(driver.getConsoleOutput(newInstance())), 'NOT_FOUND')).toBe(true)
    })
  })

  describe('power', () => {
    it('powers off a paused container, and powers it on again', async () => {
      const driver = await driverWith()
      const instance = await boot(driver)
      await driver.pause(instance)
      await driver.powerOff(instance, { timeoutSec: 10 })
      expect((await driver.getInfo(instance)).state).toBe(PowerState.SHUTDOWN)
      await driver.powerOn(instance)
      expect((await driver.getInfo(instance)).state).toBe(PowerState.RUNNING)
    })

    it('falls back to a hard reboot when the guest ignores the reboot signal', async () => {
      const driver = await driverWith({ softRebootTimeoutSec: 2 })
      // NOTE: busybox init ignores SIGINT (its inittab has no ctrlaltdel entry).
      const instance = await boot(driver, { image: busyboxImage({ properties: { lxc_reboot_signal: 'SIGINT', lxc_halt_signal: 'SIGPWR' } }) })
      const before = (await driver.getInstanceDiagnostics(instance))['pid']
      await driver.reboot(instance, 'SOFT')
      const after = await driver.getInstanceDiagnostics(instance)
      expect(after.state).toBe('running')
      expect(after['pid']).not.toBe(before)
    })

    it('rejects pausing a stopped container with a VIRT error', async () => {
      const driver = await driverWith()
      const instance = await boot(driver, { powerOn: false })
      expect(ComputeError.is(await failureOf(driver.pause(instance)), 'VIRT')).toBe(true)
    })

    it('keeps containers running across a restart of the driver', async () => {
      const first = await driverWith()
      const instance = await boot(first)
      await first.close()
      const second = await driverWith()
      expect((await second.getInfo(instance)).state).toBe(PowerState.RUNNING)
      expect(await second.listInstanceUuids()).toContain(instance.uuid)
      guests.push({ driver: second, instance })
    })
  })

  describe('.events for changes made outside the driver', () => {
    it('reports a container killed from outside as STOPPED (lxc-monitor)', async () => {
      const driver = await driverWith({ monitor: true })
      const instance = await boot(driver)
      const stopped = nextEvent(driver, instance.uuid, ['STOPPED'])
      await driver.tools.stop(driver.containerName(instance), { kill: true })
      await expect(stopped).resolves.toMatchObject({ kind: 'lifecycle', instanceUuid: instance.uuid, transition: 'STOPPED' })
      expect((await driver.getInfo(instance)).state).toBe(PowerState.SHUTDOWN)
    })

    it('reports an outside freeze and thaw as PAUSED and RESUMED (lxc-monitor)', async () => {
      const driver = await driverWith({ monitor: true })
      const instance = await boot(driver)
      const name = driver.containerName(instance)
      const paused = nextEvent(driver, instance.uuid, ['PAUSED'])
      await driver.tools.freeze(name)
      await expect(paused).resolves.toMatchObject({ transition: 'PAUSED' })
      const resumed = nextEvent(driver, instance.uuid, ['RESUMED', 'STARTED'])
      await driver.tools.unfreeze(name)
      await expect(resumed).resolves.toMatchObject({ transition: 'RESUMED' })
    })

    it('reports outside changes through the state poll when lxc-monitor is off', async () => {
      const driver = await driverWith({ monitor: false, pollIntervalMs: 200 })
      const instance = await boot(driver)
      const stopped = nextEvent(driver, instance.uuid, ['STOPPED'])
      await driver.tools.stop(driver.containerName(instance), { kill: true })
      await expect(stopped).resolves.toMatchObject({ transition: 'STOPPED' })
      const started = nextEvent(driver, instance.uuid, ['STARTED'])
      await driver.tools.start(driver.containerName(instance))
      await expect(started).resolves.toMatchObject({ transition: 'STARTED' })
    })

    it("reports no STOPPED for the stop inside the driver's own soft reboot", async () => {
      const driver = await driverWith({ monitor: true, stoppedEventDelayMs: 0 })
      const instance = await boot(driver)
      const seen: string[] = []
      const subscription = driver.events().subscribe((e) => {
        if (e.instanceUuid === instance.uuid) seen.push(e.transition)
      })
      try {
        await driver.reboot(instance, 'SOFT')
        const paused = nextEvent(driver, instance.uuid, ['PAUSED'])
        await driver.pause(instance)
        await paused
        expect(seen).toEqual(['PAUSED'])
      } finally {
        subscription.unsubscribe()
      }
    })
  })

  describe('host', () => {
    it('reports the host as an lxc hypervisor with exe guests', async () => {
      const driver = await driverWith()
      const r = await driver.getAvailableResource('lxc-test')
      expect(r.hypervisorType).toBe('lxc')
      expect(r.hypervisorVersion).toBeGreaterThanOrEqual(1_000_000)
      expect(r.vcpus).toBe(os.availableParallelism())
      expect(r.supportedInstances.some(([, hv, mode]) => hv === 'lxc' && mode === 'exe')).toBe(true)
      expect(ComputeError.is(await failureOf(driver.getAvailableResource('other-node')), 'NOT_FOUND')).toBe(true)
    })

    it('lists only containers with its name prefix', async () => {
      const driver = await driverWith()
      const instance = await boot(driver, { powerOn: false })
      const conf = join(lxcPath, '.other.conf')
      await writeFile(conf, 'lxc.net.0.type = empty\n')
      await driver.tools.create('other-container', { template: 'none', configFile: conf })
      try {
        expect(await driver.listInstanceUuids()).toEqual([instance.uuid])
      } finally {
        await driver.tools.destroy('other-container')
      }
    })
  })

  describe('LxcTools', () => {
    it('kills a command that outlives its timeout and says so', async () => {
      const tools = new LxcTools({ lxcPath })
      const err = await failureOf(tools.run('lxc-wait', ['-n', `${TEST_PREFIX}never`, '-s', 'RUNNING', '-t', '60'], { timeoutMs: 300 }))
      expect(err).toBeInstanceOf(LxcCommandError)
      expect((err as LxcCommandError).failure).toMatchObject({ command: 'lxc-wait', timedOut: true, exitCode: null })
    })

    it("carries the tool's exit code and stderr in the error", async () => {
      const tools = new LxcTools({ lxcPath })
      const err = await failureOf(tools.freeze(`${TEST_PREFIX}missing`, 'cannot pause'))
      expect(err).toBeInstanceOf(LxcCommandError)
      const failure = (err as LxcCommandError).failure
      expect(failure.command).toBe('lxc-freeze')
      expect(failure.exitCode).toBe(1)
      expect(failure.stderr).toContain(`${TEST_PREFIX}missing`)
      expect((err as Error).message).toContain('cannot pause: lxc-freeze')
      expect((err as Error).message).toContain(failure.stderr)
    })
  })

  describe('a run killed mid-way', () => {
    it('leaves no lxc-monitor behind, and its containers are gone after the next run cleans up', async () => {
      const killedPath = join(lxcPath, 'killed-run')
      await mkdir(killedPath, { recursive: true })
      const script = join(killedPath, 'run.mts')
      const source = new URL('./index.ts', import.meta.url).pathname
      await writeFile(
        script,
        [
          `import { LxcDriver } from ${JSON.stringify(source)}`,
          `const driver = new LxcDriver({ hostname: 'killed', lxcPath: ${JSON.stringify(killedPath)}, namePrefix: ${JSON.stringify(TEST_PREFIX)}, template: 'busybox' })`,
          'await driver.init()',
          `const flavor = { vcpus: 1, memoryMb: 64, rootGb: 1, ephemeralGb: 0, extraSpecs: {} }`,
          `const image = { id: 'no-data', properties: {} }`,
          `const guest = () => ({ uuid: crypto.randomUUID(), hostname: 'killed', displayName: 'killed', instanceName: 'killed', flavor })`,
          `await Promise.all([0, 1].map(() => driver.spawn(guest() as never, image as never, {})))`,
          `process.stdout.write('ready\\n')`,
          'setInterval(() => {}, 1000)',
        ].join('\n'),
      )
      const child = spawn(process.execPath, ['--conditions=@novum/source', '--import', 'tsx', script], {
        cwd: new URL('..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      child.stdout!.on('data', (b: Buffer) => (output += b.toString()))
      child.stderr!.on('data', (b: Buffer) => (output += b.toString()))
      const exited = new Promise<void>((r) => child.once('exit', () => r()))
      const ready = await eventually(async () => output, (o) => o.includes('ready') || child.exitCode !== null, 600)
      expect(ready).toContain('ready')
      child.kill('SIGKILL')
      await exited
      const tools = new LxcTools({ lxcPath: killedPath })
      const left = await tools.listStates(`^${TEST_PREFIX}`)
      expect([...left.values()]).toEqual(['RUNNING', 'RUNNING'])
      expect(await eventually(async () => monitorProcessesOf(killedPath), (pids) => pids.length === 0)).toEqual([])
      // The next run starts by destroying what is left:
      await cleanSuite(killedPath)
      expect(existsSync(killedPath)).toBe(false)
      for (const name of left.keys()) expect(await tools.state(name)).toBeNull()
    })
  })

  describe('destroyContainers', () => {
    it("removes a crashed run's containers (running or not) and directories, and nothing else", async () => {
      const crashed = join(lxcPath, 'crashed-run')
      const tools = new LxcTools({ lxcPath: crashed })
      await mkdir(crashed, { recursive: true })
      const conf = join(crashed, 'empty.conf')
      await writeFile(conf, 'lxc.net.0.type = empty\n')
      for (const name of [`${TEST_PREFIX}a`, `${TEST_PREFIX}b`, 'keep-me']) await tools.create(name, { template: 'busybox', configFile: conf })
      await tools.start(`${TEST_PREFIX}a`)
      await mkdir(join(crashed, `${TEST_PREFIX}half-made`))
      try {
        const result = await destroyContainers({ lxcPath: crashed, prefix: TEST_PREFIX })
        expect(result).toEqual({ destroyed: [`${TEST_PREFIX}a`, `${TEST_PREFIX}b`], failed: [] })
        expect(await tools.list()).toEqual(['keep-me'])
        expect(existsSync(join(crashed, `${TEST_PREFIX}half-made`))).toBe(false)
      } finally {
        await tools.destroy('keep-me', { force: true, allowFailure: true })
      }
    })
  })
})
