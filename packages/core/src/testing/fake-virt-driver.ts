import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { Subject, type Observable } from 'rxjs'
import { ComputeError } from '../errors/compute-error.js'
import type { ImageMeta } from '../model/image-meta.js'
import type { Instance } from '../model/instance.js'
import { PowerState, POWER_STATE_NAMES } from '../model/states.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import {
  CAPABILITY_TRAITS,
  type DestroyOptions,
  type InstanceDiagnostics,
  type InstanceInfo,
  type NodeResources,
  type PowerOffOptions,
  type ProviderTreeUpdate,
  type RebootType,
  type SnapshotTarget,
  type SpawnOptions,
  type VirtCapabilities,
  type VirtDriver,
} from '../virt/virt-driver.js'
import { setHostInventories, type HostInventorySettings } from '../virt/host-inventory.js'
import type { VirtEvent, VirtLifecycleTransition } from '../virt/virt-event.js'

/** The operations of {@link FakeVirtDriver} that the failure and delay hooks can target. */
export type FakeVirtOperation =
  | 'spawn'
  | 'destroy'
  | 'reboot'
  | 'powerOff'
  | 'powerOn'
  | 'pause'
  | 'unpause'
  | 'suspend'
  | 'resume'
  | 'rescue'
  | 'unrescue'
  | 'snapshot'

/** What {@link FakeVirtDriver} advertises unless its config overrides it (Nova's fake driver supports nearly everything). */
export const FAKE_VIRT_CAPABILITIES: VirtCapabilities = Object.freeze({
  hasImagecache: false,
  supportsPause: true,
  supportsSuspend: true,
  supportsRescue: true,
  supportsSnapshot: true,
  supportsConsoleOutput: true,
  supportsDiagnostics: true,
  supportsSetAdminPassword: true,
  supportsTriggerCrashDump: true,
  supportsDeviceTagging: true,
  supportsMultiattach: true,
  supportsTrustedCerts: true,
  supportedImageTypes: ['raw', 'qcow2', 'iso', 'ami', 'ari', 'aki'],
})

/** Configuration of {@link FakeVirtDriver}. */
export interface FakeVirtDriverConfig extends HostInventorySettings {
  /** The compute host and its single node (hypervisor hostname). */
  readonly hostname: string
  /** Host CPUs. @default 32 */
  readonly vcpus?: number
  /** Host memory in MB. @default 131072 */
  readonly memoryMb?: number
  /** Local disk in GB. @default 2000 */
  readonly localGb?: number
  /** @default 'fake' */
  readonly hypervisorType?: string
  /** @default 1000 */
  readonly hypervisorVersion?: number
  /** @default [['x86_64', 'fake', 'hvm']] */
  readonly supportedInstances?: readonly (readonly [string, string, string])[]
  /** The host address reported by `getHostIpAddr`. @default '127.0.0.1' */
  readonly hostIp?: string
  /** Capabilities merged over {@link FAKE_VIRT_CAPABILITIES} (set a flag to false to hide a feature). */
  readonly capabilities?: Partial<VirtCapabilities>
  /**
   * Makes `spawn` fail for matching instances: return true (a generic message) or the message to throw as
   * `ComputeError('VIRT')`. No guest is left behind.
   */
  readonly failSpawnFor?: (instance: Instance) => boolean | string
  /** Makes any operation fail for matching calls, like {@link FakeVirtDriverConfig.failSpawnFor}. */
  readonly failOperation?: (operation: FakeVirtOperation, instance: Instance) => boolean | string
  /** Artificial latency per operation in ms (none by default). */
  readonly delayMs?: Partial<Record<FakeVirtOperation, number>>
  /** The time source of event timestamps and uptimes. @default systemClock */
  readonly clock?: Clock
  /**
   * A JSON file that keeps the guests across restarts (the reference server's simulated hosts survive a restart
   * of the server, as real guests survive a restart of nova-compute). Written after each change, read by `init`.
   * @default none: guests live in memory only
   */
  readonly statePath?: string
}

/** A guest as the fake hypervisor keeps it. */
export interface FakeGuest {
  readonly uuid: string
  readonly instanceName: string
  readonly powerState: PowerState
  readonly rescued: boolean
  readonly vcpus: number
  readonly memoryMb: number
  readonly diskGb: number
  readonly imageId: string
  /** Epoch ms of the last start. */
  readonly startedAt: number
  readonly consoleLog: readonly string[]
  readonly adminPassword: string | null
}

type MutableGuest = { -readonly [K in keyof FakeGuest]: FakeGuest[K] } & { consoleLog: string[] }

const TRANSITION_FOR: Partial<Record<PowerState, VirtLifecycleTransition>> = {
  [PowerState.RUNNING]: 'STARTED',
  [PowerState.SHUTDOWN]: 'STOPPED',
  [PowerState.PAUSED]: 'PAUSED',
  [PowerState.SUSPENDED]: 'SUSPENDED',
  [PowerState.CRASHED]: 'CRASHED',
}

/**
 * What a fake guest's serial console shows while it boots: a few kernel and cloud-init lines, then the login
 * prompt, so `openstack console log show` has something to show. Deterministic (no clock, no randomness).
 */
function bootLines(instance: Instance): string[] {
  const disk = instance.flavor.rootGb
  return [
    '[    0.000000] Linux version 6.1.0-novum-fake (builder@novum) #1 SMP PREEMPT_DYNAMIC',
    '[    0.000000] Command line: root=/dev/vda1 ro console=tty0 console=ttyS0,115200n8',
    `[    0.000000] Memory: ${instance.flavor.memoryMb * 1024}K available, ${instance.flavor.vcpus} vCPU(s)`,
    `[    0.612004] virtio_blk virtio1: [vda] ${disk * 2_097_152} 512-byte logical blocks (${disk} GiB)`,
    '[    1.204117] EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.',
    `[    2.318730] cloud-init[412]: Cloud-init v. 22.4.2 running 'init' on ${instance.instanceName}.`,
    `[    3.002559] cloud-init[412]: Set hostname to ${instance.hostname}.`,
    '',
    `${instance.hostname} login:`,
  ]
}

/**
 * Nova's fake driver: a hypervisor in memory. Guests are records with a power state; every operation changes
 * the record, emits the lifecycle event a real hypervisor would, and returns at once (no artificial delay
 * unless {@link FakeVirtDriverConfig.delayMs} asks for one). Resource usage is computed from its guests.
 *
 * It implements the required surface plus pause, suspend, rescue, snapshot, console output, diagnostics,
 * admin password and crash dump, all declared in {@link FakeVirtDriver.capabilities}. Tests can make
 * operations fail ({@link FakeVirtDriverConfig.failSpawnFor}, {@link FakeVirtDriverConfig.failOperation}) and
 * simulate a guest changing state on its own ({@link FakeVirtDriver.simulatePowerChange}).
 *
 * @example
 * ```ts
 * const driver = new FakeVirtDriver({ hostname: 'compute-1', failSpawnFor: (i) => i.displayName === 'doomed' })
 * await driver.init()
 * await driver.spawn(instance, image, {})
 * (await driver.getInfo(instance)).state // PowerState.RUNNING
 * ```
 */
export class FakeVirtDriver implements VirtDriver {
  /** {@inheritDoc VirtDriver.capabilities} */
  readonly capabilities: VirtCapabilities
  /** The host (and node) name. */
  readonly hostname: string
  private readonly config: FakeVirtDriverConfig
  private readonly clock: Clock
  private readonly guests = new Map<string, MutableGuest>()
  private readonly eventSubject = new Subject<VirtEvent>()
  private initialised = false
  private closed = false
  private bootedAt = 0
  private saveScheduled = false
  private failSpawn: ((instance: Instance) => boolean | string) | undefined

  constructor(config: FakeVirtDriverConfig) {
    this.config = config
    this.hostname = config.hostname
    this.clock = config.clock ?? systemClock
    this.capabilities = Object.freeze({ ...FAKE_VIRT_CAPABILITIES, ...config.capabilities })
    this.failSpawn = config.failSpawnFor
  }

  // --- test helpers -------------------------------------------------------------------------------

  /** A snapshot of one guest, or undefined. */
  guest(uuid: string): FakeGuest | undefined {
    const g = this.guests.get(uuid)
    return g ? { ...g, consoleLog: [...g.consoleLog] } : undefined
  }

  /** Every guest, as snapshots. */
  listGuests(): FakeGuest[] {
    return [...this.guests.keys()].map((uuid) => this.guest(uuid)!)
  }

  /** Replaces the spawn failure hook at run time (undefined to stop failing). */
  setFailSpawnFor(predicate: ((instance: Instance) => boolean | string) | undefined): void {
    this.failSpawn = predicate
  }

  /**
   * Changes a guest's power state as if it happened inside the guest or hypervisor (the guest shut itself down,
   * crashed, …) and emits the matching lifecycle event, unless `silent` (an event the hypervisor lost).
   * Throws `NOT_FOUND` for an unknown guest.
   */
  simulatePowerChange(uuid: string, state: PowerState, options: { readonly silent?: boolean } = {}): void {
    const guest = this.guests.get(uuid)
    if (!guest) throw new ComputeError('NOT_FOUND', `instance ${uuid} could not be found on fake host ${this.hostname}`, { details: { instanceUuid: uuid } })
    if (options.silent) guest.powerState = state
    else this.setPower(guest, state)
  }

  // --- host ---------------------------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.init} */
  async init(): Promise<void> {
    if (this.closed) throw new ComputeError('VIRT', `fake driver for host ${this.hostname} is closed`)
    if (this.config.statePath && !this.initialised) this.loadState(this.config.statePath)
    this.initialised = true
    this.bootedAt = this.clock.now()
  }

  /** {@inheritDoc VirtDriver.close} */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.initialised = false
    if (this.config.statePath && this.saveScheduled) this.saveState(this.config.statePath)
    this.eventSubject.complete()
  }

  /** {@inheritDoc VirtDriver.getAvailableNodes} */
  async getAvailableNodes(): Promise<readonly string[]> {
    this.assertReady()
    return [this.hostname]
  }

  /** {@inheritDoc VirtDriver.getAvailableResource} */
  async getAvailableResource(nodename: string): Promise<NodeResources> {
    this.assertReady()
    this.assertNode(nodename)
    let vcpusUsed = 0
    let memoryMbUsed = 0
    let localGbUsed = 0
    for (const g of this.guests.values()) {
      vcpusUsed += g.vcpus
      memoryMbUsed += g.memoryMb
      localGbUsed += g.diskGb
    }
    const localGb = this.config.localGb ?? 2000
    return {
      vcpus: this.config.vcpus ?? 32,
      memoryMb: this.config.memoryMb ?? 131_072,
      localGb,
      vcpusUsed,
      memoryMbUsed,
      localGbUsed,
      hypervisorType: this.config.hypervisorType ?? 'fake',
      hypervisorVersion: this.config.hypervisorVersion ?? 1000,
      hypervisorHostname: this.hostname,
      cpuInfo: { arch: 'x86_64', model: 'fake', vendor: 'fake', topology: { sockets: 1, cores: this.config.vcpus ?? 32, threads: 1 }, features: [] },
      diskAvailableLeast: Math.max(0, localGb - localGbUsed),
      supportedInstances: this.config.supportedInstances ?? [['x86_64', 'fake', 'hvm']],
      hostIp: this.config.hostIp ?? '127.0.0.1',
    }
  }

  /** {@inheritDoc VirtDriver.updateProviderTree} */
  async updateProviderTree(nodename: string, tree: ProviderTreeUpdate): Promise<void> {
    this.assertReady()
    this.assertNode(nodename)
    const vcpus = this.config.vcpus ?? 32
    const memoryMb = this.config.memoryMb ?? 131_072
    const localGb = this.config.localGb ?? 2000
    setHostInventories(tree, { vcpus, memoryMb, diskGb: localGb }, this.config)
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
    return this.config.hostIp ?? '127.0.0.1'
  }

  /** {@inheritDoc VirtDriver.getHostUptime} */
  async getHostUptime(): Promise<string> {
    const seconds = Math.floor((this.clock.now() - this.bootedAt) / 1000)
    return `up ${seconds} s, ${this.guests.size} guest(s)`
  }

  // --- inventory ----------------------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.getInfo} */
  async getInfo(instance: Instance): Promise<InstanceInfo> {
    this.assertReady()
    const g = this.find(instance)
    return { state: g.powerState, internalId: g.instanceName }
  }

  /** {@inheritDoc VirtDriver.instanceExists} */
  async instanceExists(instance: Instance): Promise<boolean> {
    this.assertReady()
    return this.guests.has(instance.uuid)
  }

  /** {@inheritDoc VirtDriver.listInstanceUuids} */
  async listInstanceUuids(): Promise<readonly string[]> {
    this.assertReady()
    return [...this.guests.keys()]
  }

  // --- lifecycle ----------------------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.spawn} */
  async spawn(instance: Instance, image: ImageMeta, options: SpawnOptions): Promise<void> {
    this.assertReady()
    await this.delay('spawn', options.signal)
    if (this.guests.has(instance.uuid)) {
      throw new ComputeError('VIRT', `instance ${instance.uuid} already exists on fake host ${this.hostname}`, { details: { instanceUuid: instance.uuid } })
    }
    const spawnFailure = this.failSpawn?.(instance)
    if (spawnFailure) throw this.failure('spawn', instance, spawnFailure)
    this.maybeFail('spawn', instance)
    const powerOn = options.powerOn ?? true
    const guest: MutableGuest = {
      uuid: instance.uuid,
      instanceName: instance.instanceName,
      powerState: powerOn ? PowerState.RUNNING : PowerState.SHUTDOWN,
      rescued: false,
      vcpus: instance.flavor.vcpus,
      memoryMb: instance.flavor.memoryMb,
      diskGb: instance.flavor.rootGb + instance.flavor.ephemeralGb,
      imageId: image.id,
      startedAt: this.clock.now(),
      consoleLog: [`fake console of ${instance.instanceName} (${instance.uuid})`, `booting image ${image.id} (${image.diskFormat})`],
      adminPassword: options.adminPassword ?? null,
    }
    this.guests.set(instance.uuid, guest)
    if (powerOn) {
      guest.consoleLog.push(...bootLines(instance))
      this.emit(instance.uuid, 'STARTED')
    }
  }

  /** {@inheritDoc VirtDriver.destroy} */
  async destroy(instance: Instance, options: DestroyOptions = {}): Promise<void> {
    this.assertReady()
    await this.delay('destroy', options.signal)
    if (!this.guests.has(instance.uuid)) return
    this.maybeFail('destroy', instance)
    this.guests.delete(instance.uuid)
    this.persist()
  }

  /** {@inheritDoc VirtDriver.cleanup} */
  async cleanup(instance: Instance): Promise<void> {
    this.assertReady()
    this.guests.delete(instance.uuid)
    this.persist()
  }

  /** {@inheritDoc VirtDriver.reboot} */
  async reboot(instance: Instance, type: RebootType): Promise<void> {
    this.assertReady()
    await this.delay('reboot')
    const g = this.find(instance)
    this.maybeFail('reboot', instance)
    if (type === 'SOFT' && g.powerState !== PowerState.RUNNING) {
      throw new ComputeError('VIRT', `cannot soft reboot instance ${instance.uuid}: it is ${POWER_STATE_NAMES[g.powerState]}`, { details: { instanceUuid: instance.uuid } })
    }
    g.consoleLog.push(type === 'SOFT' ? 'reboot: acpi restart' : 'reboot: reset', ...bootLines(instance))
    g.startedAt = this.clock.now()
    if (g.powerState !== PowerState.RUNNING) this.setPower(g, PowerState.RUNNING)
  }

  /** {@inheritDoc VirtDriver.powerOff} */
  async powerOff(instance: Instance, _options?: PowerOffOptions): Promise<void> {
    this.assertReady()
    await this.delay('powerOff')
    const g = this.find(instance)
    this.maybeFail('powerOff', instance)
    g.consoleLog.push('reboot: power down')
    this.setPower(g, PowerState.SHUTDOWN)
  }

  /** {@inheritDoc VirtDriver.powerOn} */
  async powerOn(instance: Instance): Promise<void> {
    this.assertReady()
    await this.delay('powerOn')
    const g = this.find(instance)
    this.maybeFail('powerOn', instance)
    g.startedAt = this.clock.now()
    if (g.powerState !== PowerState.RUNNING) g.consoleLog.push(...bootLines(instance))
    this.setPower(g, PowerState.RUNNING)
  }

  /** {@inheritDoc VirtDriver.pause} */
  async pause(instance: Instance): Promise<void> {
    await this.transition('pause', instance, [PowerState.RUNNING], PowerState.PAUSED)
  }

  /** {@inheritDoc VirtDriver.unpause} */
  async unpause(instance: Instance): Promise<void> {
    await this.transition('unpause', instance, [PowerState.PAUSED], PowerState.RUNNING, 'RESUMED')
  }

  /** {@inheritDoc VirtDriver.suspend} */
  async suspend(instance: Instance): Promise<void> {
    await this.transition('suspend', instance, [PowerState.RUNNING, PowerState.PAUSED], PowerState.SUSPENDED)
  }

  /** {@inheritDoc VirtDriver.resume} */
  async resume(instance: Instance): Promise<void> {
    await this.transition('resume', instance, [PowerState.SUSPENDED], PowerState.RUNNING, 'RESUMED')
  }

  /** {@inheritDoc VirtDriver.resumeStateOnHostBoot} */
  async resumeStateOnHostBoot(instance: Instance): Promise<void> {
    this.assertReady()
    const g = this.find(instance)
    if (g.powerState !== PowerState.RUNNING) this.setPower(g, PowerState.RUNNING)
  }

  /** {@inheritDoc VirtDriver.rescue} */
  async rescue(instance: Instance, rescueImage: ImageMeta, rescuePassword: string | null): Promise<void> {
    this.assertReady()
    await this.delay('rescue')
    const g = this.find(instance)
    this.maybeFail('rescue', instance)
    g.rescued = true
    g.adminPassword = rescuePassword
    g.consoleLog.push(`rescue: booting ${rescueImage.id} with the original disk attached`)
    g.startedAt = this.clock.now()
    this.setPower(g, PowerState.RUNNING, true)
  }

  /** {@inheritDoc VirtDriver.unrescue} */
  async unrescue(instance: Instance): Promise<void> {
    this.assertReady()
    await this.delay('unrescue')
    const g = this.find(instance)
    this.maybeFail('unrescue', instance)
    if (!g.rescued) throw new ComputeError('VIRT', `instance ${instance.uuid} is not in rescue mode`, { details: { instanceUuid: instance.uuid } })
    g.rescued = false
    g.consoleLog.push('unrescue: booting the original disk')
    this.setPower(g, PowerState.RUNNING, true)
  }

  /** {@inheritDoc VirtDriver.setAdminPassword} */
  async setAdminPassword(instance: Instance, newPassword: string): Promise<void> {
    this.assertReady()
    const g = this.find(instance)
    if (g.powerState !== PowerState.RUNNING) {
      throw new ComputeError('VIRT', `cannot set the admin password of instance ${instance.uuid}: it is ${POWER_STATE_NAMES[g.powerState]}`)
    }
    g.adminPassword = newPassword
  }

  /** {@inheritDoc VirtDriver.triggerCrashDump} */
  async triggerCrashDump(instance: Instance): Promise<void> {
    this.assertReady()
    const g = this.find(instance)
    g.consoleLog.push('NMI received: dumping')
  }

  /** {@inheritDoc VirtDriver.snapshot} */
  async snapshot(instance: Instance, target: SnapshotTarget): Promise<void> {
    this.assertReady()
    await this.delay('snapshot')
    const g = this.find(instance)
    this.maybeFail('snapshot', instance)
    await target.updateTaskState('image_pending_upload')
    await target.updateTaskState('image_uploading')
    const data = new TextEncoder().encode(`fake snapshot of ${g.instanceName} from image ${g.imageId}\n`)
    await target.upload(data, { diskFormat: 'raw', containerFormat: 'bare' })
  }

  // --- consoles and diagnostics -------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.getConsoleOutput} */
  async getConsoleOutput(instance: Instance): Promise<string> {
    this.assertReady()
    return `${this.find(instance).consoleLog.join('\n')}\n`
  }

  /** {@inheritDoc VirtDriver.getInstanceDiagnostics} */
  async getInstanceDiagnostics(instance: Instance): Promise<InstanceDiagnostics> {
    this.assertReady()
    const g = this.find(instance)
    return {
      state: POWER_STATE_NAMES[g.powerState],
      driver: 'fake',
      uptimeSec: g.powerState === PowerState.RUNNING ? Math.floor((this.clock.now() - g.startedAt) / 1000) : 0,
      numCpus: g.vcpus,
      memoryMb: g.memoryMb,
      hypervisor: this.config.hypervisorType ?? 'fake',
      configDrive: false,
    }
  }

  // --- events -------------------------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.events} */
  events(): Observable<VirtEvent> {
    return this.eventSubject.asObservable()
  }

  // --- internals ----------------------------------------------------------------------------------

  private async transition(op: FakeVirtOperation, instance: Instance, from: readonly PowerState[], to: PowerState, transition?: VirtLifecycleTransition): Promise<void> {
    this.assertReady()
    await this.delay(op)
    const g = this.find(instance)
    this.maybeFail(op, instance)
    if (!from.includes(g.powerState)) {
      throw new ComputeError('VIRT', `cannot ${op} instance ${instance.uuid}: it is ${POWER_STATE_NAMES[g.powerState]}`, {
        details: { instanceUuid: instance.uuid, powerState: g.powerState },
      })
    }
    g.powerState = to
    this.emit(g.uuid, transition ?? TRANSITION_FOR[to]!)
  }

  private setPower(g: MutableGuest, state: PowerState, force = false): void {
    if (g.powerState === state && !force) return
    g.powerState = state
    const transition = TRANSITION_FOR[state]
    if (transition) this.emit(g.uuid, transition)
  }

  private loadState(path: string): void {
    if (!existsSync(path)) return
    let saved: unknown
    try {
      saved = JSON.parse(readFileSync(path, 'utf8'))
    } catch (err) {
      throw new ComputeError('VIRT', `fake driver state file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err })
    }
    if (!Array.isArray(saved)) throw new ComputeError('VIRT', `fake driver state file ${path} does not hold a list of guests`)
    for (const g of saved as MutableGuest[]) this.guests.set(g.uuid, { ...g, consoleLog: [...(g.consoleLog ?? [])] })
  }

  private saveState(path: string): void {
    this.saveScheduled = false
    const tmp = `${path}.tmp`
    writeFileSync(tmp, JSON.stringify([...this.guests.values()]))
    renameSync(tmp, path)
  }

  /** Coalesces the writes of the next 50 ms into one; {@link FakeVirtDriver.close} writes what is pending. */
  private persist(): void {
    const path = this.config.statePath
    if (!path || this.saveScheduled) return
    this.saveScheduled = true
    setTimeout(() => {
      if (this.saveScheduled && !this.closed) this.saveState(path)
    }, 50).unref()
  }

  private emit(instanceUuid: string, transition: VirtLifecycleTransition): void {
    this.persist()
    if (this.closed) return
    this.eventSubject.next({ kind: 'lifecycle', instanceUuid, transition, timestamp: isoNow(this.clock) })
  }

  private find(instance: Instance): MutableGuest {
    const g = this.guests.get(instance.uuid)
    if (!g) {
      throw new ComputeError('NOT_FOUND', `instance ${instance.uuid} could not be found on fake host ${this.hostname}`, { details: { instanceUuid: instance.uuid } })
    }
    return g
  }

  private maybeFail(op: FakeVirtOperation, instance: Instance): void {
    const result = this.config.failOperation?.(op, instance)
    if (result) throw this.failure(op, instance, result)
  }

  private failure(op: FakeVirtOperation, instance: Instance, result: true | string): ComputeError {
    const message = typeof result === 'string' ? result : `fake ${op} failure for instance ${instance.uuid} on host ${this.hostname}`
    return new ComputeError('VIRT', message, { details: { instanceUuid: instance.uuid, operation: op, host: this.hostname } })
  }

  private async delay(op: FakeVirtOperation, signal?: AbortSignal): Promise<void> {
    const ms = this.config.delayMs?.[op]
    if (!ms) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms)
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer)
          reject(new ComputeError('VIRT', `fake ${op} aborted`, { cause: signal.reason }))
        },
        { once: true },
      )
    })
  }

  private assertReady(): void {
    if (!this.initialised) {
      throw new ComputeError('VIRT', `fake driver for host ${this.hostname} is ${this.closed ? 'closed' : 'not initialised (call init() first)'}`)
    }
  }

  private assertNode(nodename: string): void {
    if (nodename !== this.hostname) {
      throw new ComputeError('NOT_FOUND', `node ${nodename} is not managed by fake host ${this.hostname}`, { details: { nodename } })
    }
  }
}
