import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { appendFile, mkdir, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Subject, type Observable } from 'rxjs'
import {
  CAPABILITY_TRAITS,
  ComputeError,
  isoNow,
  PowerState,
  setHostInventories,
  silentLogger,
  systemClock,
  type Clock,
  type DestroyOptions,
  type ImageMeta,
  type ImageSource,
  type Instance,
  type InstanceDiagnostics,
  type InstanceInfo,
  type HostInventorySettings,
  type Logger,
  type NodeResources,
  type PowerOffOptions,
  type ProviderTreeUpdate,
  type RebootType,
  type SpawnOptions,
  type VirtCapabilities,
  type VirtDriver,
  type VirtEvent,
  type VirtLifecycleTransition,
} from '@novum/core'
import { cgroupLimitLines, detectCgroupLayout, type CgroupLayout, type CpuLimitMode } from './cgroup-layout.js'
import { buildContainerConfig, vifsFromNetworkInfo } from './container-config.js'
import { readHostCapacity, versionNumber } from './host-resources.js'
import { ImageCache } from './image-cache.js'
import { LxcCommandError } from './lxc-command-error.js'
import { isLxcState, LxcTools, type LxcState } from './lxc-tools.js'

/** What {@link LxcDriver} supports beyond the required surface. */
export const LXC_CAPABILITIES: VirtCapabilities = Object.freeze({
  hasImagecache: false,
  supportsPause: true,
  supportsConsoleOutput: true,
  supportsDiagnostics: true,
  supportedImageTypes: ['raw'],
})

/** The LXC file written next to each container's config with what the driver needs to know of the instance. */
interface InstanceRecord {
  readonly uuid: string
  readonly instanceName: string
  readonly vcpus: number
  readonly memoryMb: number
  readonly diskGb: number
  readonly imageId: string
  readonly rootfs: 'image' | 'template'
  readonly createdAt: string
}

/** Configuration of {@link LxcDriver}. */
export interface LxcDriverConfig extends HostInventorySettings {
  /** The compute host and its single node (hypervisor hostname). */
  readonly hostname: string
  /** This host's lxcpath: every container lives in `<lxcPath>/<namePrefix><uuid>`. Created at `init`. */
  readonly lxcPath: string
  /** Where image data is fetched from (a rootfs tarball per image). */
  readonly images?: ImageSource
  /** The image cache directory. @default `<lxcPath>/.image-cache` */
  readonly imageCacheDir?: string
  /**
   * The LXC template (e.g. `busybox`) that builds the root filesystem when an image has no data (the image source
   * answers `NOT_FOUND`) or no image source is configured. Unset: such a spawn fails.
   */
  readonly template?: string
  /** Arguments given to the template after `--`. */
  readonly templateArgs?: readonly string[]
  /** The prefix of every container name; cleanup and listing go by it. @default 'novum-' */
  readonly namePrefix?: string
  /** Timeout of one short lxc command (info, freeze, start, …), in ms. @default 30000 */
  readonly commandTimeoutMs?: number
  /** Timeout of creating a root filesystem (template run or tar extraction), in ms. @default 300000 */
  readonly createTimeoutMs?: number
  /** How long a start may take to reach RUNNING, in s. @default 30 */
  readonly startTimeoutSec?: number
  /** How long a SOFT reboot waits for the guest's init before falling back to HARD (Nova `wait_soft_reboot_seconds`). @default 120 */
  readonly softRebootTimeoutSec?: number
  /** How vCPUs become a CPU limit. @default 'shares' */
  readonly cpuLimit?: CpuLimitMode
  /** Write the flavor's RAM as a memory limit. @default true */
  readonly memoryLimit?: boolean
  /** The host's cgroup layout; detected at `init` when unset. */
  readonly cgroupLayout?: CgroupLayout
  /** Bridge for vifs that name none. The driver never creates bridges nor NAT (no lxc-net). */
  readonly bridge?: string
  /** Files included by image-mode containers. @default ['/usr/share/lxc/config/common.conf'] when it exists */
  readonly includes?: readonly string[]
  /** Raw lines appended to every container's config. */
  readonly extraConfig?: readonly string[]
  /** Watch state changes with `lxc-monitor` (besides polling). @default true */
  readonly monitor?: boolean
  /** Interval of the state poll that backs up lxc-monitor, in ms (0 disables it). @default 10000 */
  readonly pollIntervalMs?: number
  /**
   * How long a STOPPED (or CRASHED) state seen outside the driver's own operations must last before it is reported,
   * in ms; a guest rebooting from inside is back to RUNNING by then (Nova's libvirt driver waits 15 s). @default 15000
   */
  readonly stoppedEventDelayMs?: number
  /** Bytes of console log `getConsoleOutput` returns at most (the tail). @default 102400 */
  readonly maxConsoleBytes?: number
  /** The address `getHostIpAddr` and `getAvailableResource` report. @default the first non-internal IPv4, else 127.0.0.1 */
  readonly hostIp?: string
  readonly clock?: Clock
  readonly logger?: Logger
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const COMMON_CONF = '/usr/share/lxc/config/common.conf'
const RECORD_FILE = 'novum-instance.json'
const CONSOLE_FILE = 'console.log'
const CONSOLE_HISTORY_FILE = 'console-history.log'
const START_LOG_FILE = 'lxc-start.log'
const SHORT_EVENT_DELAY_MS = 200

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The power state Nova reports for each LXC state (a stopping guest still runs, as libvirt's SHUTDOWN state). */
export function powerStateOf(state: LxcState): PowerState {
  switch (state) {
    case 'RUNNING':
    case 'STARTING':
    case 'STOPPING':
    case 'THAWED':
    case 'FREEZING':
      return PowerState.RUNNING
    case 'FROZEN':
      return PowerState.PAUSED
    case 'STOPPED':
      return PowerState.SHUTDOWN
    case 'ABORTING':
      return PowerState.CRASHED
  }
}

const TRANSITION_FOR: Partial<Record<PowerState, VirtLifecycleTransition>> = {
  [PowerState.RUNNING]: 'STARTED',
  [PowerState.SHUTDOWN]: 'STOPPED',
  [PowerState.PAUSED]: 'PAUSED',
  [PowerState.CRASHED]: 'CRASHED',
}

/**
 * A Novum {@link VirtDriver} that runs instances as LXC system containers through LXC's own tools (`lxc-create`,
 * `lxc-start`, `lxc-stop`, `lxc-attach`, `lxc-freeze`, `lxc-unfreeze`, `lxc-info`, `lxc-destroy`, `lxc-wait`,
 * `lxc-ls`, `lxc-monitor`). One driver manages one compute host, whose containers live in its own lxcpath and are
 * named `<namePrefix><instance uuid>`.
 *
 * - **Root filesystem**: the image's data, a flat rootfs tarball (tar, gzip, xz or zstd), downloaded once through
 *   the {@link ImageSource} into the image cache and extracted per container; or, when the image has no data, the
 *   configured LXC {@link LxcDriverConfig.template} (e.g. `busybox`).
 * - **Limits**: the flavor's RAM and vCPUs become cgroup settings for the host's layout (v1, cgroup2 or hybrid):
 *   see {@link cgroupLimitLines}. The root disk size is not enforced (directory-backed rootfs).
 * - **Network**: none (`lxc.net.0.type = empty`), or one veth per vif on a bridge that already exists. Nothing
 *   reaches outside the machine unless the deployment's bridge does: the driver never starts lxc-net or NAT.
 * - **Power**: power off is the guest's halt signal with a timeout, then a kill; SOFT reboot is `lxc-stop -r`
 *   (falling back to HARD); HARD reboot is kill + start; pause is a cgroup freeze.
 * - **Events**: each operation reports the transition it caused; changes made outside the driver (a guest halting
 *   itself) come from `lxc-monitor` and a periodic `lxc-ls` poll, re-checked with `lxc-info` before they are
 *   reported, with a STOPPED reported only after {@link LxcDriverConfig.stoppedEventDelayMs}.
 *
 * Every command runs with a timeout; a failed command throws an {@link LxcCommandError} (`ComputeError('VIRT')`)
 * carrying the tool's stderr. Containers keep running across `close()` and a restart of the compute service.
 *
 * @example
 * ```ts
 * const driver = new LxcDriver({ hostname: 'compute-1', lxcPath: '/var/lib/novum/lxc', images, template: 'busybox' })
 * await driver.init()
 * await driver.spawn(instance, image, {})
 * (await driver.getInfo(instance)).state // PowerState.RUNNING
 * ```
 */
export class LxcDriver implements VirtDriver {
  /** {@inheritDoc VirtDriver.capabilities} */
  readonly capabilities: VirtCapabilities = LXC_CAPABILITIES
  /** The host (and node) name. */
  readonly hostname: string
  /** The lxcpath of this host. */
  readonly lxcPath: string
  /** The container name prefix. */
  readonly namePrefix: string
  /** The command runner (exposed for tests and tools that want the same timeouts and errors). */
  readonly tools: LxcTools
  private readonly config: LxcDriverConfig
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly imageCache: ImageCache | null
  private readonly eventSubject = new Subject<VirtEvent>()
  /** Last power state reported (or observed as a baseline) per instance uuid. */
  private readonly known = new Map<string, PowerState>()
  /** Operations in flight per instance uuid: outside changes are not reported meanwhile. */
  private readonly busy = new Map<string, number>()
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>()
  private layout: CgroupLayout | null = null
  private version = '0'
  private monitorProcess: ChildProcess | null = null
  private monitorRestart: ReturnType<typeof setTimeout> | null = null
  private pollTimer: ReturnType<typeof setInterval> | null = null
  private polling = false
  private initialised = false
  private closed = false

  constructor(config: LxcDriverConfig) {
    this.config = config
    this.hostname = config.hostname
    this.lxcPath = config.lxcPath
    this.namePrefix = config.namePrefix ?? 'novum-'
    this.clock = config.clock ?? systemClock
    this.logger = (config.logger ?? silentLogger).child({ driver: 'lxc', host: config.hostname })
    this.tools = new LxcTools({ lxcPath: config.lxcPath, timeoutMs: config.commandTimeoutMs ?? 30_000, logger: this.logger })
    this.imageCache = config.images ? new ImageCache(config.imageCacheDir ?? join(config.lxcPath, '.image-cache'), config.images) : null
  }

  /** The container name of an instance: `<namePrefix><uuid>`. */
  containerName(instance: Pick<Instance, 'uuid'>): string {
    return `${this.namePrefix}${instance.uuid}`
  }

  /** The directory of an instance's container (`<lxcPath>/<name>`): config, rootfs, console log. */
  containerDir(instance: Pick<Instance, 'uuid'>): string {
    return join(this.lxcPath, this.containerName(instance))
  }

  /** The cgroup layout in use (detected at init). */
  get cgroupLayout(): CgroupLayout | null {
    return this.layout
  }

  // --- host ---------------------------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.init} Checks the tools, creates the lxcpath, detects cgroups and starts watching. */
  async init(): Promise<void> {
    if (this.closed) throw new ComputeError('VIRT', `lxc driver for host ${this.hostname} is closed`)
    if (this.initialised) return
    this.version = await this.tools.version()
    mkdirSync(this.lxcPath, { recursive: true })
    this.layout = this.config.cgroupLayout ?? detectCgroupLayout()
    if (this.layout.memory === null) this.logger.warn('no memory cgroup controller on this host: flavors get no memory limit')
    if (this.layout.cpu === null) this.logger.warn('no cpu cgroup controller on this host: flavors get no CPU limit')
    for (const [name, state] of await this.tools.listStates(this.nameFilter())) {
      const uuid = this.uuidOf(name)
      if (uuid) this.known.set(uuid, powerStateOf(state))
    }
    this.initialised = true
    if (this.config.monitor ?? true) this.startMonitor()
    const pollMs = this.config.pollIntervalMs ?? 10_000
    if (pollMs > 0) {
      this.pollTimer = setInterval(() => void this.poll(), pollMs)
      this.pollTimer.unref()
    }
    this.logger.info(`lxc driver ready: lxc ${this.version}, lxcpath ${this.lxcPath}, cgroups ${this.layout.kind} (memory ${this.layout.memory ?? 'none'}, cpu ${this.layout.cpu ?? 'none'})`)
  }

  /** {@inheritDoc VirtDriver.close} Stops watching; the containers keep running. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.initialised = false
    if (this.pollTimer) clearInterval(this.pollTimer)
    if (this.monitorRestart) clearTimeout(this.monitorRestart)
    for (const timer of this.pending.values()) clearTimeout(timer)
    this.pending.clear()
    const monitor = this.monitorProcess
    this.monitorProcess = null
    if (monitor && monitor.exitCode === null && monitor.signalCode === null) {
      const exited = new Promise<void>((resolve) => monitor.once('exit', () => resolve()))
      // NOTE: closing stdin makes the watchdog kill lxc-monitor; the shell then exits with it.
      monitor.stdin?.end()
      const fallback = setTimeout(() => monitor.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(fallback)
    }
    this.eventSubject.complete()
  }

  /** {@inheritDoc VirtDriver.getAvailableNodes} */
  async getAvailableNodes(): Promise<readonly string[]> {
    this.assertReady()
    return [this.hostname]
  }

  /** {@inheritDoc VirtDriver.getAvailableResource} Host capacity from /proc/meminfo, the CPU count and the lxcpath's filesystem. */
  async getAvailableResource(nodename: string): Promise<NodeResources> {
    this.assertReady()
    this.assertNode(nodename)
    const host = readHostCapacity(this.lxcPath)
    let vcpusUsed = 0
    let memoryMbUsed = 0
    for (const record of await this.records()) {
      vcpusUsed += record.vcpus
      memoryMbUsed += record.memoryMb
    }
    return {
      vcpus: host.vcpus,
      memoryMb: host.memoryMb,
      localGb: host.diskTotalGb,
      vcpusUsed,
      memoryMbUsed,
      localGbUsed: host.diskUsedGb,
      hypervisorType: 'lxc',
      hypervisorVersion: versionNumber(this.version),
      hypervisorHostname: this.hostname,
      cpuInfo: { arch: host.arch, model: host.cpuModel, vendor: cpuVendor(host.cpuModel), topology: { sockets: 1, cores: host.vcpus, threads: 1 }, features: [] },
      diskAvailableLeast: host.diskFreeGb,
      supportedInstances: [[host.arch, 'lxc', 'exe']],
      hostIp: this.hostIp(),
    }
  }

  /** {@inheritDoc VirtDriver.updateProviderTree} */
  async updateProviderTree(nodename: string, tree: ProviderTreeUpdate): Promise<void> {
    this.assertReady()
    this.assertNode(nodename)
    const host = readHostCapacity(this.lxcPath)
    setHostInventories(tree, { vcpus: host.vcpus, memoryMb: host.memoryMb, diskGb: Math.max(1, host.diskTotalGb) }, this.config)
    const traits = new Set(tree.traits)
    for (const [flag, trait] of Object.entries(CAPABILITY_TRAITS) as [keyof VirtCapabilities, string][]) {
      if (this.capabilities[flag] === true) traits.add(trait)
      else traits.delete(trait)
    }
    for (const format of this.capabilities.supportedImageTypes ?? []) traits.add(`COMPUTE_IMAGE_TYPE_${format.toUpperCase()}`)
    tree.traits = [...traits].sort()
  }

  /** {@inheritDoc VirtDriver.getHostIpAddr} */
  async getHostIpAddr(): Promise<string | null> {
    return this.hostIp()
  }

  /** {@inheritDoc VirtDriver.getHostUptime} */
  async getHostUptime(): Promise<string> {
    return `up ${Math.floor(os.uptime())} s`
  }

  // --- inventory ----------------------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.getInfo} */
  async getInfo(instance: Instance): Promise<InstanceInfo> {
    this.assertReady()
    const state = await this.stateOf(instance)
    return { state: powerStateOf(state), internalId: this.containerName(instance) }
  }

  /** {@inheritDoc VirtDriver.instanceExists} */
  async instanceExists(instance: Instance): Promise<boolean> {
    this.assertReady()
    return (await this.tools.state(this.containerName(instance))) !== null
  }

  /** {@inheritDoc VirtDriver.listInstanceUuids} The containers of this lxcpath with the name prefix (`lxc-ls`). */
  async listInstanceUuids(): Promise<readonly string[]> {
    this.assertReady()
    const names = await this.tools.list(this.nameFilter())
    return names.map((n) => this.uuidOf(n)).filter((u): u is string => u !== null)
  }

  // --- lifecycle ----------------------------------------------------------------------------------

  /**
   * {@inheritDoc VirtDriver.spawn} Builds the root filesystem (image tarball or template), writes the config
   * (hostname, network, console log, cgroup limits) and starts the container unless `powerOn` is false.
   */
  async spawn(instance: Instance, image: ImageMeta, options: SpawnOptions): Promise<void> {
    this.assertReady()
    const name = this.containerName(instance)
    const dir = this.containerDir(instance)
    const context = `cannot spawn instance ${instance.uuid}`
    await this.withOperation(instance.uuid, async () => {
      // NOTE: a defined container is a directory with a config in the lxcpath; checking the directory saves an
      // lxc-info run, and lxc-create refuses an existing container anyway.
      if (existsSync(dir)) {
        throw new ComputeError('VIRT', `${context}: container ${name} already exists in ${this.lxcPath}`, { details: { instanceUuid: instance.uuid, container: name } })
      }
      const vifs = vifsFromNetworkInfo(options.networkInfo, this.config.bridge)
      const tarball = await this.imageData(image, options.signal)
      const mode = tarball === null ? 'template' : 'image'
      const signal = options.signal
      let created = false
      try {
        const config = buildContainerConfig({
          containerDir: dir,
          hostname: instance.hostname || instance.displayName || instance.uuid,
          mode,
          vifs,
          cgroupLines: cgroupLimitLines(this.layout!, instance.flavor, { cpuLimit: this.config.cpuLimit ?? 'shares', memoryLimit: this.config.memoryLimit ?? true }),
          consoleLogFile: join(dir, CONSOLE_FILE),
          includes: this.config.includes ?? (existsSync(COMMON_CONF) ? [COMMON_CONF] : []),
          ...imageSettings(image),
          ...(this.config.extraConfig ? { extraLines: this.config.extraConfig } : {}),
        })
        const configFile = join(this.lxcPath, `.${name}.conf`)
        await writeFile(configFile, config, { mode: 0o600 })
        try {
          created = true
          if (tarball !== null) {
            const rootfs = join(dir, 'rootfs')
            await mkdir(rootfs, { recursive: true, mode: 0o755 })
            await this.tools.run('tar', ['--numeric-owner', '-xpf', tarball, '-C', rootfs], {
              noLxcPath: true,
              timeoutMs: this.config.createTimeoutMs ?? 300_000,
              context: `${context}: cannot extract image ${image.id}`,
              ...(signal ? { signal } : {}),
            })
            await this.tools.create(name, { template: 'none', configFile, context, ...(signal ? { signal } : {}) })
          } else {
            await this.tools.create(name, {
              template: this.config.template!,
              configFile,
              ...(this.config.templateArgs ? { templateArgs: this.config.templateArgs } : {}),
              timeoutMs: this.config.createTimeoutMs ?? 300_000,
              context,
              ...(signal ? { signal } : {}),
            })
            // NOTE: the template writes its own lxc.uts.name (the container name) after ours; the last one wins.
            await appendFile(join(dir, 'config'), `lxc.uts.name = ${config.match(/^lxc\.uts\.name = (.*)$/m)?.[1] ?? 'novum'}\n`)
          }
        } finally {
          await rm(configFile, { force: true })
        }
        const record: InstanceRecord = {
          uuid: instance.uuid,
          instanceName: instance.instanceName,
          vcpus: instance.flavor.vcpus,
          memoryMb: instance.flavor.memoryMb,
          diskGb: instance.flavor.rootGb + instance.flavor.ephemeralGb,
          imageId: image.id,
          rootfs: mode,
          createdAt: isoNow(this.clock),
        }
        await writeFile(join(dir, RECORD_FILE), `${JSON.stringify(record)}\n`)
        if (options.powerOn ?? true) {
          await this.startContainer(name, dir, context)
          this.report(instance.uuid, PowerState.RUNNING)
        } else {
          this.known.set(instance.uuid, PowerState.SHUTDOWN)
        }
      } catch (err) {
        if (created || existsSync(dir)) await this.removeContainer(name, dir).catch((e: unknown) => this.logger.warn({ err: e }, `cleanup of failed container ${name} failed`))
        this.known.delete(instance.uuid)
        throw err
      }
    })
  }

  /** {@inheritDoc VirtDriver.destroy} Kills and removes the container and its files; succeeds when it is already gone. */
  async destroy(instance: Instance, _options: DestroyOptions = {}): Promise<void> {
    this.assertReady()
    await this.withOperation(instance.uuid, () => this.removeContainer(this.containerName(instance), this.containerDir(instance)))
    this.known.delete(instance.uuid)
  }

  /** {@inheritDoc VirtDriver.cleanup} */
  async cleanup(instance: Instance, options: DestroyOptions = {}): Promise<void> {
    await this.destroy(instance, options)
  }

  /** {@inheritDoc VirtDriver.reboot} SOFT: the guest's reboot signal (`lxc-stop -r`), falling back to HARD; HARD: kill and start. */
  async reboot(instance: Instance, type: RebootType): Promise<void> {
    this.assertReady()
    const name = this.containerName(instance)
    const dir = this.containerDir(instance)
    const context = `cannot reboot instance ${instance.uuid}`
    await this.withOperation(instance.uuid, async () => {
      const state = await this.stateOf(instance)
      if (type === 'SOFT' && state === 'RUNNING') {
        const timeoutSec = this.config.softRebootTimeoutSec ?? 120
        try {
          await this.tools.stop(name, { reboot: true, timeoutSec, context })
          await this.tools.wait(name, 'RUNNING', this.config.startTimeoutSec ?? 30, context)
          this.report(instance.uuid, PowerState.RUNNING)
          return
        } catch (err) {
          this.logger.warn({ err, instance_uuid: instance.uuid }, `soft reboot of ${instance.uuid} failed, rebooting hard: ${(err as Error).message}`)
        }
      }
      const now = await this.tools.state(name)
      if (now === null) throw new ComputeError('NOT_FOUND', `${context}: container ${name} does not exist`, { details: { instanceUuid: instance.uuid } })
      if (now === 'FROZEN') await this.tools.unfreeze(name, context)
      if (now !== 'STOPPED') await this.tools.stop(name, { kill: true, context })
      await this.startContainer(name, dir, context)
      this.report(instance.uuid, PowerState.RUNNING)
    })
  }

  /** {@inheritDoc VirtDriver.powerOff} The halt signal with `timeoutSec` (default 60) before a kill; 0 kills at once. */
  async powerOff(instance: Instance, options: PowerOffOptions = {}): Promise<void> {
    this.assertReady()
    const name = this.containerName(instance)
    const context = `cannot power off instance ${instance.uuid}`
    await this.withOperation(instance.uuid, async () => {
      const state = await this.stateOf(instance)
      if (state === 'STOPPED') {
        this.report(instance.uuid, PowerState.SHUTDOWN)
        return
      }
      const timeoutSec = Math.max(0, Math.floor(options.timeoutSec ?? 60))
      if (timeoutSec === 0) {
        await this.tools.stop(name, { kill: true, context })
      } else {
        // NOTE: a frozen guest cannot handle its halt signal; thaw it so the graceful path has a chance.
        if (state === 'FROZEN' || state === 'FREEZING') await this.tools.unfreeze(name, context)
        await this.tools.stop(name, { timeoutSec, context })
      }
      this.report(instance.uuid, PowerState.SHUTDOWN)
    })
  }

  /** {@inheritDoc VirtDriver.powerOn} Starts a stopped container (a paused one is thawed; a running one is left alone). */
  async powerOn(instance: Instance): Promise<void> {
    this.assertReady()
    const name = this.containerName(instance)
    const context = `cannot power on instance ${instance.uuid}`
    await this.withOperation(instance.uuid, async () => {
      const state = await this.stateOf(instance)
      if (state === 'FROZEN') {
        await this.tools.unfreeze(name, context)
        this.report(instance.uuid, PowerState.RUNNING, 'RESUMED')
        return
      }
      if (state === 'STOPPED' || state === 'ABORTING') await this.startContainer(name, this.containerDir(instance), context)
      this.report(instance.uuid, PowerState.RUNNING)
    })
  }

  /** {@inheritDoc VirtDriver.pause} Freezes the container's cgroup (`lxc-freeze`). */
  async pause(instance: Instance): Promise<void> {
    this.assertReady()
    await this.withOperation(instance.uuid, async () => {
      const state = await this.stateOf(instance)
      if (state !== 'RUNNING' && state !== 'FROZEN') {
        throw new ComputeError('VIRT', `cannot pause instance ${instance.uuid}: its container is ${state}`, { details: { instanceUuid: instance.uuid, state } })
      }
      await this.tools.freeze(this.containerName(instance), `cannot pause instance ${instance.uuid}`)
      this.report(instance.uuid, PowerState.PAUSED)
    })
  }

  /** {@inheritDoc VirtDriver.unpause} Thaws the container (`lxc-unfreeze`). */
  async unpause(instance: Instance): Promise<void> {
    this.assertReady()
    await this.withOperation(instance.uuid, async () => {
      const state = await this.stateOf(instance)
      if (state !== 'FROZEN' && state !== 'FREEZING') {
        throw new ComputeError('VIRT', `cannot unpause instance ${instance.uuid}: its container is ${state}`, { details: { instanceUuid: instance.uuid, state } })
      }
      await this.tools.unfreeze(this.containerName(instance), `cannot unpause instance ${instance.uuid}`)
      this.report(instance.uuid, PowerState.RUNNING, 'RESUMED')
    })
  }

  /** {@inheritDoc VirtDriver.resumeStateOnHostBoot} Starts the container again if it is not running. */
  async resumeStateOnHostBoot(instance: Instance): Promise<void> {
    await this.powerOn(instance)
  }

  // --- consoles and diagnostics -------------------------------------------------------------------

  /**
   * {@inheritDoc VirtDriver.getConsoleOutput} The container's console log (`lxc.console.logfile`), with the output
   * of earlier boots the driver started, at most {@link LxcDriverConfig.maxConsoleBytes} (the tail).
   */
  async getConsoleOutput(instance: Instance): Promise<string> {
    this.assertReady()
    await this.stateOf(instance)
    const dir = this.containerDir(instance)
    const max = this.config.maxConsoleBytes ?? 102_400
    const parts = await Promise.all([tail(join(dir, CONSOLE_HISTORY_FILE), max), tail(join(dir, CONSOLE_FILE), max)])
    const all = Buffer.concat(parts)
    return all.subarray(Math.max(0, all.length - max)).toString('utf8')
  }

  /** {@inheritDoc VirtDriver.getInstanceDiagnostics} State, CPU time and memory use from `lxc-info`. */
  async getInstanceDiagnostics(instance: Instance): Promise<InstanceDiagnostics> {
    this.assertReady()
    const name = this.containerName(instance)
    const r = await this.tools.run('lxc-info', ['-n', name], { allowFailure: true })
    if (r.exitCode !== 0) {
      if (/doesn't exist/.test(r.stderr)) throw this.notFound(instance)
      throw new LxcCommandError({ command: 'lxc-info', args: ['-P', this.lxcPath, '-n', name], exitCode: r.exitCode, stderr: r.stderr.trim(), timedOut: false, durationMs: r.durationMs })
    }
    const field = (label: string): string | undefined => new RegExp(`^${label}:\\s+(.+)$`, 'm').exec(r.stdout)?.[1]?.trim()
    const record = await this.record(instance)
    const state = (field('State') ?? 'STOPPED') as LxcState
    const memory = /^([\d.]+)\s*(KiB|MiB|GiB|bytes)$/.exec(field('Memory use') ?? '')
    const memoryUsedMb = memory ? Number(memory[1]) * ({ bytes: 1 / 1024 ** 2, KiB: 1 / 1024, MiB: 1, GiB: 1024 } as Record<string, number>)[memory[2]!]! : undefined
    const cpu = /^([\d.]+) seconds$/.exec(field('CPU use') ?? '')
    const pid = field('PID')
    return {
      state: state.toLowerCase(),
      driver: 'lxc',
      hypervisor: 'lxc',
      hypervisorOs: 'linux',
      configDrive: false,
      ...(record ? { numCpus: record.vcpus, memoryMb: record.memoryMb } : {}),
      ...(cpu ? { cpuTimeSec: Number(cpu[1]) } : {}),
      ...(memoryUsedMb !== undefined ? { memoryUsedMb: Math.round(memoryUsedMb * 100) / 100 } : {}),
      ...(pid ? { pid: Number(pid) } : {}),
      ...(pid ? { uptimeSec: await processUptimeSec(Number(pid)) } : {}),
    }
  }

  // --- events -------------------------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.events} */
  events(): Observable<VirtEvent> {
    return this.eventSubject.asObservable()
  }

  // --- internals: containers ----------------------------------------------------------------------

  private async startContainer(name: string, dir: string, context: string): Promise<void> {
    await this.keepConsoleHistory(dir)
    try {
      await this.tools.start(name, { logFile: join(dir, START_LOG_FILE), timeoutMs: (this.config.startTimeoutSec ?? 30) * 1000, context })
    } catch (err) {
      // NOTE: lxc-start's own stderr is terse ("The container failed to start"); the reason is in its log file.
      const log = await readFile(join(dir, START_LOG_FILE), 'utf8').catch(() => '')
      if (err instanceof LxcCommandError && log.trim()) {
        throw new LxcCommandError({ ...err.failure, stderr: `${err.failure.stderr}\n${log.trim().split('\n').slice(-20).join('\n')}` }, { context, cause: err })
      }
      throw err
    }
    await this.tools.wait(name, 'RUNNING', this.config.startTimeoutSec ?? 30, context)
  }

  /** Kills and destroys a container (no error when it does not exist) and removes whatever is left of its directory. */
  private async removeContainer(name: string, dir: string): Promise<void> {
    const r = await this.tools.destroy(name, { force: true, allowFailure: true })
    if (r.exitCode !== 0 && !/doesn't exist|does not exist/.test(r.stderr) && (await this.tools.state(name)) !== null) {
      throw new LxcCommandError({ command: 'lxc-destroy', args: ['-P', this.lxcPath, '-n', name, '-f'], exitCode: r.exitCode, stderr: r.stderr.trim(), timedOut: false, durationMs: r.durationMs })
    }
    await rm(dir, { recursive: true, force: true })
  }

  private async imageData(image: ImageMeta, signal: AbortSignal | undefined): Promise<string | null> {
    if (this.imageCache) {
      try {
        return await this.imageCache.path(image.id, signal ? { signal } : {})
      } catch (err) {
        if (!ComputeError.is(err, 'NOT_FOUND')) throw err
        if (!this.config.template) {
          throw new ComputeError('VIRT', `image ${image.id} has no data (${err.message}) and no LXC template is configured for images without data`, {
            cause: err,
            details: { imageId: image.id },
          })
        }
        this.logger.debug(`image ${image.id} has no data: using the ${this.config.template} template`)
      }
    }
    if (!this.config.template) {
      throw new ComputeError('VIRT', `image ${image.id} has no data source and no LXC template is configured for images without data`, { details: { imageId: image.id } })
    }
    return null
  }

  private async keepConsoleHistory(dir: string): Promise<void> {
    const current = join(dir, CONSOLE_FILE)
    const size = await stat(current).then((s) => s.size, () => 0)
    if (size === 0) return
    const max = this.config.maxConsoleBytes ?? 102_400
    const history = join(dir, CONSOLE_HISTORY_FILE)
    await appendFile(history, await tail(current, max))
    await truncate(current, 0).catch(() => undefined)
    const historySize = await stat(history).then((s) => s.size, () => 0)
    if (historySize > 2 * max) await writeFile(history, await tail(history, max))
  }

  private async stateOf(instance: Instance): Promise<LxcState> {
    const state = await this.tools.state(this.containerName(instance))
    if (state === null) throw this.notFound(instance)
    return state
  }

  private async records(): Promise<InstanceRecord[]> {
    const entries = await readdir(this.lxcPath).catch(() => [] as string[])
    const records = await Promise.all(
      entries.filter((e) => this.uuidOf(e) !== null).map((e) => readFile(join(this.lxcPath, e, RECORD_FILE), 'utf8').then((t) => JSON.parse(t) as InstanceRecord, () => null)),
    )
    return records.filter((r): r is InstanceRecord => r !== null)
  }

  private async record(instance: Instance): Promise<InstanceRecord | null> {
    return readFile(join(this.containerDir(instance), RECORD_FILE), 'utf8').then((t) => JSON.parse(t) as InstanceRecord, () => null)
  }

  // --- internals: events --------------------------------------------------------------------------

  private async withOperation<T>(uuid: string, operation: () => Promise<T>): Promise<T> {
    this.busy.set(uuid, (this.busy.get(uuid) ?? 0) + 1)
    const timer = this.pending.get(uuid)
    if (timer) {
      clearTimeout(timer)
      this.pending.delete(uuid)
    }
    try {
      return await operation()
    } finally {
      const n = (this.busy.get(uuid) ?? 1) - 1
      if (n <= 0) this.busy.delete(uuid)
      else this.busy.set(uuid, n)
    }
  }

  /** Records the instance's power state and emits the transition when it changed (or `transition` is forced). */
  private report(uuid: string, state: PowerState, transition?: VirtLifecycleTransition): void {
    const previous = this.known.get(uuid)
    this.known.set(uuid, state)
    if (this.closed) return
    if (previous === state && transition === undefined) return
    const t = transition ?? TRANSITION_FOR[state]
    if (t) this.eventSubject.next({ kind: 'lifecycle', instanceUuid: uuid, transition: t, timestamp: isoNow(this.clock) })
  }

  /** Schedules a re-check of a container that lxc-monitor or the poll saw change outside the driver's operations. */
  private schedule(uuid: string, seen: LxcState): void {
    if (this.closed || this.busy.has(uuid)) return
    const power = powerStateOf(seen)
    const delay = power === PowerState.SHUTDOWN || power === PowerState.CRASHED ? (this.config.stoppedEventDelayMs ?? 15_000) : SHORT_EVENT_DELAY_MS
    const existing = this.pending.get(uuid)
    if (existing) clearTimeout(existing)
    const timer = setTimeout(() => {
      this.pending.delete(uuid)
      void this.reconcile(uuid)
    }, delay)
    timer.unref()
    this.pending.set(uuid, timer)
  }

  private async reconcile(uuid: string): Promise<void> {
    if (this.closed || this.busy.has(uuid)) return
    let state: LxcState | null
    try {
      state = await this.tools.state(`${this.namePrefix}${uuid}`)
    } catch (err) {
      this.logger.warn({ err, instance_uuid: uuid }, `cannot read the state of instance ${uuid}: ${(err as Error).message}`)
      return
    }
    // NOTE: an operation that started while lxc-info ran reports its own outcome.
    if (this.closed || this.busy.has(uuid)) return
    if (state === null) {
      this.known.delete(uuid)
      return
    }
    const power = powerStateOf(state)
    const previous = this.known.get(uuid)
    if (previous === undefined) {
      this.known.set(uuid, power)
      return
    }
    if (previous !== power) {
      this.logger.info({ instance_uuid: uuid }, `container of instance ${uuid} is ${state} (changed outside the driver)`)
      this.report(uuid, power, previous === PowerState.PAUSED && power === PowerState.RUNNING ? 'RESUMED' : undefined)
    }
  }

  private startMonitor(): void {
    if (this.closed) return
    // NOTE: a watchdog shell ties lxc-monitor's life to our stdin pipe: when this process dies (even by SIGKILL) the
    // pipe closes and the monitor is killed, so a crashed compute service or test run leaves no lxc-monitor behind.
    // (A background job's stdin is /dev/null in sh, hence the copy of stdin on fd 3.)
    const script = 'exec 3<&0; lxc-monitor -P "$1" -n "$2" & m=$!; (read _ <&3; kill $m 2>/dev/null) & w=$!; wait $m; s=$?; kill $w 2>/dev/null; exit $s'
    const child = spawn('sh', ['-c', script, 'lxc-monitor', this.lxcPath, `${escapeRegex(this.namePrefix)}.*`], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    })
    this.monitorProcess = child
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      const m = /^'(.+)' changed state to \[([A-Z]+)\]$/.exec(line.trim())
      if (!m) return
      const uuid = this.uuidOf(m[1]!)
      const state = m[2]!
      if (uuid && isLxcState(state)) this.schedule(uuid, state)
    })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000)
    })
    child.on('error', (err) => this.logger.warn({ err }, `lxc-monitor could not run: ${err.message}; relying on the state poll`))
    child.stdin!.on('error', () => undefined)
    child.on('exit', (code, signal) => {
      lines.close()
      child.stdin?.destroy()
      if (this.closed || this.monitorProcess !== child) return
      this.monitorProcess = null
      this.logger.warn(`lxc-monitor exited (${code ?? signal}): ${stderr.trim()}; restarting it in 1 s`)
      this.monitorRestart = setTimeout(() => this.startMonitor(), 1000)
      this.monitorRestart.unref()
    })
  }

  private async poll(): Promise<void> {
    if (this.closed || this.polling) return
    this.polling = true
    try {
      const states = await this.tools.listStates(this.nameFilter())
      const seen = new Set<string>()
      for (const [name, state] of states) {
        const uuid = this.uuidOf(name)
        if (!uuid) continue
        seen.add(uuid)
        if (this.busy.has(uuid) || this.pending.has(uuid)) continue
        const previous = this.known.get(uuid)
        if (previous === undefined) this.known.set(uuid, powerStateOf(state))
        else if (previous !== powerStateOf(state)) this.schedule(uuid, state)
      }
      for (const uuid of [...this.known.keys()]) if (!seen.has(uuid) && !this.busy.has(uuid)) this.known.delete(uuid)
    } catch (err) {
      this.logger.warn({ err }, `state poll of ${this.lxcPath} failed: ${(err as Error).message}`)
    } finally {
      this.polling = false
    }
  }

  // --- internals: helpers -------------------------------------------------------------------------

  private nameFilter(): string {
    return `^${escapeRegex(this.namePrefix)}`
  }

  private uuidOf(name: string): string | null {
    if (!name.startsWith(this.namePrefix)) return null
    const uuid = name.slice(this.namePrefix.length)
    return UUID.test(uuid) ? uuid : null
  }

  private hostIp(): string {
    if (this.config.hostIp) return this.config.hostIp
    for (const addresses of Object.values(os.networkInterfaces())) {
      for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
    }
    return '127.0.0.1'
  }

  private notFound(instance: Instance): ComputeError {
    return new ComputeError('NOT_FOUND', `instance ${instance.uuid} could not be found on lxc host ${this.hostname}`, {
      details: { instanceUuid: instance.uuid, container: this.containerName(instance) },
    })
  }

  private assertReady(): void {
    if (!this.initialised) {
      throw new ComputeError('VIRT', `lxc driver for host ${this.hostname} is ${this.closed ? 'closed' : 'not initialised (call init() first)'}`)
    }
  }

  private assertNode(nodename: string): void {
    if (nodename !== this.hostname) {
      throw new ComputeError('NOT_FOUND', `node ${nodename} is not managed by lxc host ${this.hostname}`, { details: { nodename } })
    }
  }
}

/** The image properties that tune an image-mode container: `lxc_init_cmd`, `lxc_halt_signal`, `lxc_reboot_signal`. */
function imageSettings(image: ImageMeta): { initCmd?: string; haltSignal?: string; rebootSignal?: string } {
  const p = image.properties
  return {
    ...(p['lxc_init_cmd'] ? { initCmd: p['lxc_init_cmd'] } : {}),
    ...(p['lxc_halt_signal'] ? { haltSignal: p['lxc_halt_signal'] } : {}),
    ...(p['lxc_reboot_signal'] ? { rebootSignal: p['lxc_reboot_signal'] } : {}),
  }
}

function cpuVendor(model: string): string {
  if (/amd/i.test(model)) return 'AMD'
  if (/intel/i.test(model)) return 'Intel'
  return 'unknown'
}

/** The last `max` bytes of a file (empty when it does not exist). */
async function tail(path: string, max: number): Promise<Buffer> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch {
    return Buffer.alloc(0)
  }
  try {
    const { size } = await handle.stat()
    const length = Math.min(size, max)
    const buffer = Buffer.alloc(length)
    await handle.read(buffer, 0, length, size - length)
    return buffer
  } finally {
    await handle.close()
  }
}

/** Seconds since a process started, from /proc (0 when it cannot be read). */
async function processUptimeSec(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const startTicks = Number(fields[19])
    const uptime = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0])
    // NOTE: USER_HZ is 100 on every Linux architecture Node supports.
    return Math.max(0, Math.floor(uptime - startTicks / 100))
  } catch {
    return 0
  }
}
