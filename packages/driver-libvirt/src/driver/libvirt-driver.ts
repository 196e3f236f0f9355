import { createReadStream } from 'node:fs'
import { chmod, mkdir, open, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises'
import { networkInterfaces, uptime } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { Subject, type Observable } from 'rxjs'
import {
  CAPABILITY_TRAITS, ComputeError, isoNow, PowerState, POWER_STATE_NAMES, setHostInventories, silentLogger, systemClock, type Clock, type DestroyOptions, type Flavor,
  type ImageMeta, type ImageSource, type Instance, type InstanceDiagnostics, type InstanceInfo, type HostInventorySettings, type Logger, type MigrateData,
  type NodeResources, type PowerOffOptions, type ProviderTreeUpdate, type RebootType, type SnapshotTarget, type SpawnOptions, type VirtCapabilities,
  type VirtDriver, type VirtEvent, type VirtLifecycleTransition, type VolumeAttachment,
} from '@novum/core'
import { LibvirtClient } from '../protocol/client.js'
import type { RemoteNonnullDomain, RemoteNonnullNetwork } from '../protocol/generated/remote-protocol.js'
import { VirErrorCode } from '../protocol/generated/virterror.js'
import {
  DomainAffect, DomainEventId, DomainEventSuspendedDetail, DomainEventType, DomainSaveFlags, DomainShutdownFlags,
  DomainState, DomainUndefineFlags, DomainXmlFlags,
} from '../protocol/libvirt-constants.js'
import { LibvirtError } from '../protocol/libvirt-error.js'
import {
  buildDiskXml, buildDomainXml, buildIsolatedNetworkXml, buildXml, networkForwardMode, parseDomainXml, parseXml, type DiskSpec, type DomainSpec,
  type InterfaceSpec,
} from './domain-xml.js'
import { ImageCache } from './image-cache.js'
import { writeQcow2Overlay } from './qcow2.js'
import { QemuImg } from './qemu-img.js'
import { uuidFromBytes, uuidToBytes } from './uuid.js'

/** An isolated libvirt network the driver plugs guests into. */
export interface LibvirtNetworkConfig {
  /** The libvirt network's name. */
  readonly name: string
  /**
   * Creates (defines and starts) the network when it does not exist: a bridge with an address and DHCP, and no
   * `<forward>`, so guests reach the host and each other, never the outside.
   */
  readonly create?: {
    readonly bridge: string
    readonly address: string
    /** @default '255.255.255.0' */
    readonly netmask?: string
    readonly dhcpStart: string
    readonly dhcpEnd: string
  }
}

/** Configuration of {@link LibvirtDriver}. */
export interface LibvirtDriverConfig extends HostInventorySettings {
  /** A directory the driver owns on this host: one sub-directory per instance (disks, console log). */
  readonly instancesPath: string
  /** Where base images are cached (Nova's `_base`). @default `<instancesPath>/_base` */
  readonly imageCachePath?: string
  /** Where image data comes from (the image service). Required to spawn. */
  readonly images?: ImageSource
  /** The hypervisor URI, opened through the daemon. @default 'qemu:///system' */
  readonly uri?: string
  /** The daemon's read-write unix socket. @default '/run/libvirt/libvirt-sock' */
  readonly socketPath?: string
  /** The host and node name. @default libvirt's hostname (`CONNECT_GET_HOSTNAME`) */
  readonly hostname?: string
  /** `qemu` (TCG, works everywhere) or `kvm` (needs VT-x/AMD-V). @default 'qemu' */
  readonly domainType?: 'qemu' | 'kvm'
  /** The QEMU machine type. @default 'pc' */
  readonly machineType?: string
  /**
   * Prefix of the domain names this driver manages: domains are named `<prefix><instance name>` and their uuid is
   * the instance's; domains without the prefix are never touched or counted. @default 'novum-'
   */
  readonly namePrefix?: string
  /**
   * Guest networking: `'none'` (no NIC) or an isolated libvirt network. A network with a `<forward>` (NAT, route,
   * bridge to the outside) is refused. @default 'none'
   */
  readonly network?: 'none' | LibvirtNetworkConfig
  /** The kernel command line for images with a `kernel_id` but no `os_command_line`. @default 'root=/dev/vda console=tty0 console=ttyS0' */
  readonly defaultKernelCmdline?: string
  /** How long a soft reboot waits for the guest to shut down before it reboots it hard. @default 120 */
  readonly softRebootTimeoutSec?: number
  /** Seconds between repeated ACPI shutdown requests (a guest still booting misses the first). @default 5 */
  readonly shutdownRetryIntervalSec?: number
  /** How long a volume detach waits for the guest to release the device. @default 30 */
  readonly detachTimeoutSec?: number
  /** The last bytes of the console log {@link LibvirtDriver.getConsoleOutput} returns (Nova: 100 KiB). @default 102400 */
  readonly consoleOutputMaxBytes?: number
  /** The format snapshots are uploaded in. @default 'qcow2' */
  readonly snapshotImageFormat?: 'qcow2' | 'raw'
  /** The `qemu-img` executable. @default 'qemu-img' */
  readonly qemuImgPath?: string
  /** Keepalive interval of the libvirt connection in ms (0 = off). @default 5000 */
  readonly keepAliveIntervalMs?: number
  readonly logger?: Logger
  /** The time source of event timestamps. @default systemClock */
  readonly clock?: Clock
}

/** What {@link LibvirtDriver} supports beyond the required surface. */
export const LIBVIRT_CAPABILITIES: VirtCapabilities = Object.freeze({
  hasImagecache: false,
  supportsPause: true,
  supportsSuspend: true,
  supportsSnapshot: true,
  supportsResize: true,
  supportsMigrateToSameHost: true,
  supportsAttachVolume: true,
  supportsConsoleOutput: true,
  supportsDiagnostics: true,
  supportsTriggerCrashDump: true,
  supportedImageTypes: ['qcow2', 'raw', 'ami', 'aki', 'ari'],
})

/** Nova's `LIBVIRT_POWER_STATE`: libvirt's domain state → the power state Nova records. */
export const POWER_STATE_OF_DOMAIN_STATE: Readonly<Record<number, PowerState>> = {
  [DomainState.NOSTATE]: PowerState.NOSTATE,
  [DomainState.RUNNING]: PowerState.RUNNING,
  [DomainState.BLOCKED]: PowerState.RUNNING,
  [DomainState.PAUSED]: PowerState.PAUSED,
  // NOTE: as Nova: "being shut down" is still running.
  [DomainState.SHUTDOWN]: PowerState.RUNNING,
  [DomainState.SHUTOFF]: PowerState.SHUTDOWN,
  [DomainState.CRASHED]: PowerState.CRASHED,
  [DomainState.PMSUSPENDED]: PowerState.SUSPENDED,
}

/**
 * The lifecycle transition of a libvirt lifecycle event (Nova `host.py` `_event_lifecycle_callback`), or undefined
 * for events that change no power state (defined, undefined, shutdown-requested).
 */
export function transitionOfLifecycleEvent(event: number, detail: number): VirtLifecycleTransition | undefined {
  switch (event) {
    case DomainEventType.STARTED:
      return 'STARTED'
    case DomainEventType.STOPPED:
      return 'STOPPED'
    case DomainEventType.SUSPENDED:
      if (detail === DomainEventSuspendedDetail.POSTCOPY) return 'POSTCOPY_STARTED'
      if (detail === DomainEventSuspendedDetail.MIGRATED) return 'MIGRATION_COMPLETED'
      return 'PAUSED'
    case DomainEventType.RESUMED:
      return 'RESUMED'
    case DomainEventType.PMSUSPENDED:
      return 'SUSPENDED'
    case DomainEventType.CRASHED:
      return 'CRASHED'
    default:
      return undefined
  }
}

const GIB = 1024 ** 3
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const isNoDomain = (err: unknown) => LibvirtError.hasCode(err, VirErrorCode.VIR_ERR_NO_DOMAIN)
const isNotRunning = (err: unknown) => LibvirtError.hasCode(err, VirErrorCode.VIR_ERR_OPERATION_INVALID)

/**
 * A {@link VirtDriver} for QEMU through libvirt, spoken to over libvirt's own RPC protocol ({@link LibvirtClient}):
 * no native addon and no `virsh` process per call.
 *
 * Each instance becomes a persistent domain named `<namePrefix><instance name>` whose uuid is the instance's, with:
 * - a root disk that is a qcow2 overlay on the image, cached once per host in `_base` (qemu-img checks that the
 *   image's data is the format it claims); AMI-style images with `kernel_id`/`ramdisk_id` boot that kernel directly;
 * - the serial console logged to `<instancesPath>/<uuid>/console.log` (the console output);
 * - no NIC, or one on an isolated libvirt network (never NAT);
 * - Novum metadata (flavor, owner, image) in `<metadata>`.
 *
 * Power off is ACPI first, repeated until `timeoutSec`, then destroy; soft reboot is an ACPI shutdown and a start
 * (falling back to hard); hard reboot is destroy and start; pause is suspend; suspend is managed save. libvirt's
 * lifecycle events become {@link VirtEvent}s, so a guest that powers itself off is seen as SHUTDOWN. If libvirtd
 * restarts, the next call reconnects and the event callback is registered again.
 *
 * @example
 * ```ts
 * const driver = new LibvirtDriver({ instancesPath: '/var/lib/novum/instances', images, network: 'none' })
 * await driver.init()
 * await driver.spawn(instance, image, {})
 * (await driver.getInfo(instance)).state // PowerState.RUNNING
 * ```
 */
export class LibvirtDriver implements VirtDriver {
  /** {@inheritDoc VirtDriver.capabilities} */
  readonly capabilities: VirtCapabilities = LIBVIRT_CAPABILITIES
  private readonly config: LibvirtDriverConfig
  private readonly logger: Logger
  private readonly clock: Clock
  private readonly qemuImg: QemuImg
  private readonly imageCache: ImageCache
  private readonly eventSubject = new Subject<VirtEvent>()
  private readonly prefix: string
  private client: LibvirtClient | undefined
  private connecting: Promise<LibvirtClient> | undefined
  private callbackId: number | undefined
  private nodeName: string | undefined
  private capabilitiesXml: string | undefined
  private initialised = false
  private closed = false
  private reconnectTimer: NodeJS.Timeout | undefined

  constructor(config: LibvirtDriverConfig) {
    this.config = { ...config, instancesPath: resolve(config.instancesPath) }
    this.logger = config.logger ?? silentLogger
    this.clock = config.clock ?? systemClock
    this.prefix = config.namePrefix ?? 'novum-'
    if (!/^[A-Za-z0-9_.-]*$/.test(this.prefix)) throw new ComputeError('INVALID', `name prefix "${this.prefix}" may hold only letters, digits, '.', '_' and '-'`)
    this.qemuImg = new QemuImg(config.qemuImgPath)
    this.imageCache = new ImageCache(config.imageCachePath ?? join(this.config.instancesPath, '_base'), config.images, this.qemuImg, this.logger)
  }

  /** The prefix of the domain names this driver manages. */
  get namePrefix(): string {
    return this.prefix
  }

  /** The domain name of an instance. */
  domainName(instance: Pick<Instance, 'instanceName'>): string {
    return `${this.prefix}${instance.instanceName}`
  }

  /** The directory holding an instance's disks and console log. */
  instanceDir(instance: Pick<Instance, 'uuid'>): string {
    return join(this.config.instancesPath, instance.uuid)
  }

  // --- host ---------------------------------------------------------------------------------------

  /**
   * {@inheritDoc VirtDriver.init}
   *
   * Connects, creates the instance and cache directories, prepares the network, and registers for lifecycle events.
   */
  async init(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    if (this.closed) throw new ComputeError('VIRT', 'the libvirt driver is closed')
    if (this.initialised) return
    await this.ensureDir(this.config.instancesPath)
    await this.ensureDir(this.imageCache.dir)
    await this.warnIfUnreachable(this.config.instancesPath)
    options.signal?.throwIfAborted()
    const client = await this.connection()
    this.capabilitiesXml = (await client.call('CONNECT_GET_CAPABILITIES')).capabilities
    this.nodeName = this.config.hostname ?? (await client.call('CONNECT_GET_HOSTNAME')).hostname
    if (this.config.network && this.config.network !== 'none') await this.ensureNetwork(client, this.config.network)
    this.initialised = true
  }

  /** {@inheritDoc VirtDriver.close} */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.initialised = false
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    const client = this.client
    this.client = undefined
    if (client?.isOpen) {
      if (this.callbackId !== undefined) {
        await client.call('CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY', { callbackID: this.callbackId }).catch(() => undefined)
      }
      await client.close()
    }
    this.eventSubject.complete()
  }

  /** {@inheritDoc VirtDriver.getAvailableNodes} */
  async getAvailableNodes(): Promise<readonly string[]> {
    this.assertReady()
    return [this.nodeName!]
  }

  /**
   * {@inheritDoc VirtDriver.getAvailableResource}
   *
   * CPUs and memory from the node's info; disk from the file system of `instancesPath`. Used vCPUs and memory are
   * those of the domains this driver manages (defined ones, running or not), used disk is the file system's.
   */
  async getAvailableResource(nodename: string): Promise<NodeResources> {
    this.assertReady()
    this.assertNode(nodename)
    const client = await this.connection()
    const [node, version, type, disk, usage] = await Promise.all([
      client.call('NODE_GET_INFO'),
      client.call('CONNECT_GET_VERSION'),
      client.call('CONNECT_GET_TYPE'),
      this.diskStats(),
      this.guestUsage(client),
    ])
    const caps = this.parseCapabilities()
    return {
      vcpus: node.cpus,
      memoryMb: Math.floor(Number(node.memory) / 1024),
      localGb: disk.totalGb,
      vcpusUsed: usage.vcpus,
      memoryMbUsed: usage.memoryMb,
      localGbUsed: disk.usedGb,
      hypervisorType: type.type,
      hypervisorVersion: Number(version.hv_ver),
      hypervisorHostname: this.nodeName!,
      cpuInfo: {
        arch: caps.arch ?? node.model,
        model: caps.cpuModel ?? node.model,
        vendor: caps.cpuVendor ?? 'unknown',
        topology: { sockets: node.sockets, cores: node.cores, threads: node.threads },
        features: caps.cpuFeatures,
      },
      diskAvailableLeast: disk.freeGb,
      supportedInstances: caps.supportedInstances,
      ...(hostIp() ? { hostIp: hostIp()! } : {}),
    }
  }

  /** {@inheritDoc VirtDriver.updateProviderTree} */
  async updateProviderTree(nodename: string, tree: ProviderTreeUpdate): Promise<void> {
    this.assertReady()
    this.assertNode(nodename)
    const client = await this.connection()
    const node = await client.call('NODE_GET_INFO')
    const disk = await this.diskStats()
    const memoryMb = Math.floor(Number(node.memory) / 1024)
    setHostInventories(tree, { vcpus: node.cpus, memoryMb, diskGb: Math.max(1, disk.totalGb) }, this.config)
    const traits = new Set(tree.traits)
    for (const [flag, trait] of Object.entries(CAPABILITY_TRAITS) as [keyof VirtCapabilities, string][]) {
      if (this.capabilities[flag] === true) traits.add(trait)
      else traits.delete(trait)
    }
    for (const format of this.capabilities.supportedImageTypes ?? []) traits.add(`COMPUTE_IMAGE_TYPE_${format.toUpperCase()}`)
    for (const trait of ['COMPUTE_STORAGE_BUS_VIRTIO', 'COMPUTE_NET_VIF_MODEL_VIRTIO', 'COMPUTE_GRAPHICS_MODEL_NONE']) traits.add(trait)
    tree.traits = [...traits].sort()
  }

  /** {@inheritDoc VirtDriver.getHostIpAddr} */
  async getHostIpAddr(): Promise<string | null> {
    return hostIp()
  }

  /** {@inheritDoc VirtDriver.getHostUptime} */
  async getHostUptime(): Promise<string> {
    const s = Math.floor(uptime())
    return `up ${Math.floor(s / 86400)} days, ${Math.floor((s % 86400) / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`
  }

  // --- inventory ----------------------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.getInfo} */
  async getInfo(instance: Instance): Promise<InstanceInfo> {
    this.assertReady()
    const dom = await this.requireDomain(instance)
    const { state } = await this.domainState(dom)
    return { state: POWER_STATE_OF_DOMAIN_STATE[state] ?? PowerState.NOSTATE, internalId: dom.name }
  }

  /** {@inheritDoc VirtDriver.instanceExists} */
  async instanceExists(instance: Instance): Promise<boolean> {
    this.assertReady()
    return (await this.findDomain(instance)) !== null
  }

  /** {@inheritDoc VirtDriver.listInstanceUuids} */
  async listInstanceUuids(): Promise<readonly string[]> {
    this.assertReady()
    return (await this.ownDomains(await this.connection())).map((d) => uuidFromBytes(d.uuid))
  }

  // --- lifecycle ----------------------------------------------------------------------------------

  /**
   * {@inheritDoc VirtDriver.spawn}
   *
   * Fetches the image (and its kernel and ramdisk) into the cache, creates the overlay root disk (and an ephemeral
   * disk when the flavor has one), defines the domain and, unless `powerOn` is false, starts it. On failure the
   * domain and the instance directory are removed again.
   */
  async spawn(instance: Instance, image: ImageMeta, options: SpawnOptions): Promise<void> {
    this.assertReady()
    const signal = options.signal
    const client = await this.connection()
    if (await this.findDomain(instance)) {
      throw new ComputeError('VIRT', `instance ${instance.uuid} already exists on ${this.nodeName} as domain ${this.domainName(instance)}`, { details: { instanceUuid: instance.uuid } })
    }
    const dir = this.instanceDir(instance)
    let defined: RemoteNonnullDomain | undefined
    const log = this.logger.child({ instance_uuid: instance.uuid })
    let disksReady: Promise<void> | undefined
    try {
      await this.ensureDir(dir)
      const prepared = await this.prepareDomain(instance, image, options, dir, signal)
      disksReady = prepared.disksReady
      signal?.throwIfAborted()
      // NOTE: the disks are created while libvirt defines the domain; only the start needs them.
      const [define] = await Promise.allSettled([client.call('DOMAIN_DEFINE_XML_FLAGS', { xml: prepared.xml, flags: 0 }), disksReady])
      if (define.status === 'fulfilled') defined = define.value.dom
      else throw define.reason
      await disksReady
      if (options.powerOn ?? true) {
        signal?.throwIfAborted()
        await client.call('DOMAIN_CREATE', { dom: defined })
      }
      log.info(`spawned domain ${defined.name} (${options.powerOn ?? true ? 'running' : 'defined'})`)
    } catch (err) {
      log.warn({ err }, `spawn of ${instance.uuid} failed: ${(err as Error).message}; cleaning up`)
      if (defined) await this.removeDomain(client, defined).catch(() => undefined)
      await disksReady?.catch(() => undefined)
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
      throw this.wrap(err, `spawn of instance ${instance.uuid}`)
    }
  }

  /** {@inheritDoc VirtDriver.destroy} */
  async destroy(instance: Instance, options: DestroyOptions = {}): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.findDomain(instance)
    if (dom) await this.removeDomain(client, dom)
    if (options.destroyDisks ?? true) await rm(this.instanceDir(instance), { recursive: true, force: true })
  }

  /** {@inheritDoc VirtDriver.cleanup} */
  async cleanup(instance: Instance, options: DestroyOptions = {}): Promise<void> {
    await this.destroy(instance, options)
  }

  /**
   * {@inheritDoc VirtDriver.reboot}
   *
   * SOFT: an ACPI shutdown (repeated every `shutdownRetryIntervalSec`), then a start once the guest is off; a guest
   * that is not running or does not shut down within `softRebootTimeoutSec` is rebooted hard. HARD: destroy (any
   * managed-save state is discarded) and start.
   */
  async reboot(instance: Instance, type: RebootType): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    if (type === 'SOFT') {
      const { state } = await this.domainState(dom)
      if (state === DomainState.RUNNING || state === DomainState.BLOCKED) {
        if (await this.acpiShutdown(dom, (this.config.softRebootTimeoutSec ?? 120) * 1000, this.retryIntervalMs())) {
          await this.call(`start domain ${dom.name}`, () => client.call('DOMAIN_CREATE', { dom }))
          return
        }
        this.logger.warn({ instance_uuid: instance.uuid }, `domain ${dom.name} did not shut down for a soft reboot; rebooting it hard`)
      }
    }
    await this.forceOff(dom)
    if (await this.hasManagedSave(dom)) await client.call('DOMAIN_MANAGED_SAVE_REMOVE', { dom, flags: 0 })
    await this.call(`start domain ${dom.name}`, () => client.call('DOMAIN_CREATE', { dom }))
  }

  /**
   * {@inheritDoc VirtDriver.powerOff}
   *
   * ACPI shutdown, repeated every `retryIntervalSec` until `timeoutSec` has passed, then destroy. A paused guest
   * cannot react to ACPI and is destroyed at once.
   */
  async powerOff(instance: Instance, options: PowerOffOptions = {}): Promise<void> {
    this.assertReady()
    const dom = await this.requireDomain(instance)
    const { state } = await this.domainState(dom)
    if (state === DomainState.SHUTOFF) return
    const timeoutMs = (options.timeoutSec ?? 60) * 1000
    if (timeoutMs > 0 && state !== DomainState.PAUSED) {
      const retryMs = options.retryIntervalSec !== undefined ? options.retryIntervalSec * 1000 : this.retryIntervalMs()
      if (await this.acpiShutdown(dom, timeoutMs, retryMs)) return
      this.logger.info({ instance_uuid: instance.uuid }, `domain ${dom.name} ignored ACPI shutdown for ${timeoutMs / 1000} s; destroying it`)
    }
    await this.forceOff(dom)
  }

  /** {@inheritDoc VirtDriver.powerOn} */
  async powerOn(instance: Instance): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    const { state } = await this.domainState(dom)
    if (state === DomainState.RUNNING || state === DomainState.BLOCKED) return
    if (state === DomainState.PAUSED) {
      await this.call(`resume domain ${dom.name}`, () => client.call('DOMAIN_RESUME', { dom }))
      return
    }
    await this.call(`start domain ${dom.name}`, () => client.call('DOMAIN_CREATE', { dom }))
  }

  /** {@inheritDoc VirtDriver.pause} */
  async pause(instance: Instance): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    await this.call(`pause domain ${dom.name}`, () => client.call('DOMAIN_SUSPEND', { dom }))
  }

  /** {@inheritDoc VirtDriver.unpause} */
  async unpause(instance: Instance): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    await this.call(`unpause domain ${dom.name}`, () => client.call('DOMAIN_RESUME', { dom }))
  }

  /** {@inheritDoc VirtDriver.suspend} Saves the guest's memory to disk (libvirt managed save); the domain is then shut off. */
  async suspend(instance: Instance): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    await this.call(`suspend domain ${dom.name}`, () => client.call('DOMAIN_MANAGED_SAVE', { dom, flags: DomainSaveFlags.RUNNING }))
  }

  /** {@inheritDoc VirtDriver.resume} Starts the domain, which restores the managed-save state. */
  async resume(instance: Instance): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    if (!(await this.hasManagedSave(dom))) throw new ComputeError('VIRT', `instance ${instance.uuid} is not suspended (domain ${dom.name} has no saved state)`)
    await this.call(`resume domain ${dom.name}`, () => client.call('DOMAIN_CREATE', { dom }))
  }

  /** {@inheritDoc VirtDriver.resumeStateOnHostBoot} */
  async resumeStateOnHostBoot(instance: Instance): Promise<void> {
    await this.powerOn(instance)
  }

  /** {@inheritDoc VirtDriver.triggerCrashDump} Injects an NMI. */
  async triggerCrashDump(instance: Instance): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    await this.call(`inject NMI into ${dom.name}`, () => client.call('DOMAIN_INJECT_NMI', { dom, flags: 0 }))
  }

  /**
   * {@inheritDoc VirtDriver.snapshot}
   *
   * A cold snapshot, as Nova's libvirt driver takes one when live snapshots are off: a running or paused guest is
   * saved (managed save), the root disk is flattened with `qemu-img convert`, the guest is restored, and the image
   * is uploaded through the target.
   */
  async snapshot(instance: Instance, target: SnapshotTarget): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    await target.updateTaskState('image_pending_upload')
    const parsed = parseDomainXml((await client.call('DOMAIN_GET_XML_DESC', { dom, flags: DomainXmlFlags.INACTIVE })).xml)
    const root = parsed.disks.find((d) => d.device !== 'cdrom')
    if (!root) throw new ComputeError('VIRT', `domain ${dom.name} has no disk to snapshot`)
    const { state } = await this.domainState(dom)
    const wasActive = state === DomainState.RUNNING || state === DomainState.BLOCKED || state === DomainState.PAUSED
    const format = this.config.snapshotImageFormat ?? 'qcow2'
    const file = join(this.instanceDir(instance), `snapshot-${target.imageId}.${format}`)
    try {
      if (wasActive) {
        await this.call(`save domain ${dom.name}`, () =>
          client.call('DOMAIN_MANAGED_SAVE', { dom, flags: state === DomainState.PAUSED ? DomainSaveFlags.PAUSED : DomainSaveFlags.RUNNING }),
        )
      }
      try {
        await this.qemuImg.convert(root.path, file, format)
      } finally {
        if (wasActive) await this.call(`restore domain ${dom.name}`, () => client.call('DOMAIN_CREATE', { dom }))
      }
      await target.updateTaskState('image_uploading')
      await target.upload(createReadStream(file), { diskFormat: format, containerFormat: 'bare' })
    } finally {
      await rm(file, { force: true })
    }
  }

  // --- resize (same host) -------------------------------------------------------------------------

  /**
   * {@inheritDoc VirtDriver.migrateDiskAndPowerOff}
   *
   * Only a resize on this host is supported: the guest is powered off and its definition kept for a revert.
   */
  async migrateDiskAndPowerOff(instance: Instance, destHost: string, flavor: Flavor, options: PowerOffOptions = {}): Promise<MigrateData> {
    this.assertReady()
    if (destHost !== this.nodeName) {
      throw new ComputeError('VIRT', `the libvirt driver resizes only on the same host: ${this.nodeName} cannot move instance ${instance.uuid} to ${destHost}`)
    }
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    const xml = (await client.call('DOMAIN_GET_XML_DESC', { dom, flags: DomainXmlFlags.INACTIVE })).xml
    const current = parseDomainXml(xml)
    const oldRootGb = current.metadata.rootGb ?? instance.flavor.rootGb
    if (flavor.rootGb > 0 && flavor.rootGb < oldRootGb) {
      throw new ComputeError('INVALID', `cannot shrink the root disk of instance ${instance.uuid} from ${oldRootGb} GB to ${flavor.rootGb} GB`)
    }
    await writeFile(join(this.instanceDir(instance), 'domain.xml.resize'), xml)
    await this.powerOff(instance, options)
    return { sameHost: true, oldFlavorId: current.metadata.flavorId ?? null, newFlavor: flavor }
  }

  /**
   * {@inheritDoc VirtDriver.finishMigration}
   *
   * Redefines the domain with the new flavor (from `diskInfo.newFlavor`, else the instance's flavor): memory,
   * vCPUs and metadata, and grows the root disk when the flavor's is larger.
   */
  async finishMigration(instance: Instance, _image: ImageMeta, diskInfo: MigrateData, options: { readonly resizeInstance: boolean; readonly powerOn: boolean }): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    const flavor = (diskInfo['newFlavor'] as Flavor | undefined) ?? instance.flavor
    const xml = (await client.call('DOMAIN_GET_XML_DESC', { dom, flags: DomainXmlFlags.INACTIVE })).xml
    const current = parseDomainXml(xml)
    if (options.resizeInstance) {
      const root = current.disks.find((d) => d.device !== 'cdrom')
      if (root && flavor.rootGb > 0) {
        const info = await this.qemuImg.info(root.path)
        if (flavor.rootGb * GIB > info.virtualSizeBytes) await this.qemuImg.resize(root.path, flavor.rootGb * GIB)
      }
    }
    await client.call('DOMAIN_DEFINE_XML_FLAGS', { xml: resizeDomainXml(xml, flavor), flags: 0 })
    if (options.powerOn) await this.powerOn(instance)
  }

  /** {@inheritDoc VirtDriver.confirmMigration} */
  async confirmMigration(instance: Instance): Promise<void> {
    await rm(join(this.instanceDir(instance), 'domain.xml.resize'), { force: true })
  }

  /** {@inheritDoc VirtDriver.finishRevertMigration} Restores the definition saved before the resize. */
  async finishRevertMigration(instance: Instance, options: { readonly powerOn: boolean }): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const saved = join(this.instanceDir(instance), 'domain.xml.resize')
    const xml = await readFile(saved, 'utf8').catch(() => null)
    if (xml === null) throw new ComputeError('VIRT', `instance ${instance.uuid} has no definition saved from before its resize`)
    const dom = await this.requireDomain(instance)
    const { state } = await this.domainState(dom)
    if (state !== DomainState.SHUTOFF) await this.forceOff(dom)
    await client.call('DOMAIN_DEFINE_XML_FLAGS', { xml, flags: 0 })
    await rm(saved, { force: true })
    if (options.powerOn) await this.powerOn(instance)
  }

  // --- devices ------------------------------------------------------------------------------------

  /**
   * {@inheritDoc VirtDriver.attachVolume}
   *
   * Attaches a file-backed volume: `connectionInfo.path` (or `data.device_path`) is the file, `format` (or
   * `data.format`) its format (default raw). The disk goes into the persistent definition and, if the guest runs,
   * is hot-plugged.
   */
  async attachVolume(instance: Instance, attachment: VolumeAttachment): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    const xml = buildDiskXml(volumeDisk(attachment))
    await this.call(`attach volume ${attachment.volumeId} to ${dom.name}`, async () => client.call('DOMAIN_ATTACH_DEVICE_FLAGS', { dom, xml, flags: await this.affectFlags(dom) }))
  }

  /**
   * {@inheritDoc VirtDriver.detachVolume}
   *
   * Removes the disk from the definition and, if the guest runs, unplugs it and waits (up to `detachTimeoutSec`)
   * until the guest has let it go.
   */
  async detachVolume(instance: Instance, attachment: VolumeAttachment): Promise<void> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    const disk = volumeDisk(attachment)
    const flags = await this.affectFlags(dom)
    await this.call(`detach volume ${attachment.volumeId} from ${dom.name}`, () => client.call('DOMAIN_DETACH_DEVICE_FLAGS', { dom, xml: buildDiskXml(disk), flags }))
    if ((flags & DomainAffect.LIVE) === 0) return
    const deadline = performance.now() + (this.config.detachTimeoutSec ?? 30) * 1000
    for (;;) {
      const live = parseDomainXml((await client.call('DOMAIN_GET_XML_DESC', { dom, flags: 0 })).xml)
      if (!live.disks.some((d) => d.target === disk.target)) return
      if (performance.now() > deadline) {
        throw new ComputeError('VIRT', `the guest of instance ${instance.uuid} did not release ${disk.target} within ${this.config.detachTimeoutSec ?? 30} s`)
      }
      await sleep(200)
    }
  }

  // --- consoles and diagnostics -------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.getConsoleOutput} The last `consoleOutputMaxBytes` of the serial console log. */
  async getConsoleOutput(instance: Instance): Promise<string> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    const xml = (await client.call('DOMAIN_GET_XML_DESC', { dom, flags: 0 })).xml
    const path = parseDomainXml(xml).consoleLogPath ?? join(this.instanceDir(instance), 'console.log')
    const max = this.config.consoleOutputMaxBytes ?? 100 * 1024
    let handle
    try {
      handle = await open(path, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ''
      throw this.wrap(err, `reading the console log of ${instance.uuid}`)
    }
    try {
      const { size } = await handle.stat()
      const length = Math.min(size, max)
      const buffer = Buffer.alloc(length)
      await handle.read(buffer, 0, length, size - length)
      return buffer.toString('utf8')
    } finally {
      await handle.close()
    }
  }

  /** {@inheritDoc VirtDriver.getInstanceDiagnostics} */
  async getInstanceDiagnostics(instance: Instance): Promise<InstanceDiagnostics> {
    this.assertReady()
    const client = await this.connection()
    const dom = await this.requireDomain(instance)
    const info = await client.call('DOMAIN_GET_INFO', { dom })
    const parsed = parseDomainXml((await client.call('DOMAIN_GET_XML_DESC', { dom, flags: 0 })).xml)
    const powerState = POWER_STATE_OF_DOMAIN_STATE[info.state] ?? PowerState.NOSTATE
    return {
      state: POWER_STATE_NAMES[powerState],
      driver: 'libvirt',
      hypervisor: parsed.type,
      hypervisorOs: 'linux',
      numCpus: info.nrVirtCpu,
      memoryMb: Math.floor(Number(info.maxMem) / 1024),
      numDisks: parsed.disks.length,
      numNics: parsed.interfaces.length,
      cpuTimeNs: Number(info.cpuTime),
      memoryDetails: { maximum: Math.floor(Number(info.maxMem) / 1024), used: Math.floor(Number(info.memory) / 1024) },
      configDrive: false,
    }
  }

  // --- events -------------------------------------------------------------------------------------

  /** {@inheritDoc VirtDriver.events} */
  events(): Observable<VirtEvent> {
    return this.eventSubject.asObservable()
  }

  // --- internals: connection ----------------------------------------------------------------------

  /** The open connection, (re)connecting and (re)registering the lifecycle callback when needed. */
  private connection(): Promise<LibvirtClient> {
    if (this.closed) return Promise.reject(new ComputeError('VIRT', 'the libvirt driver is closed'))
    if (this.client?.isOpen) return Promise.resolve(this.client)
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  private async connect(): Promise<LibvirtClient> {
    const client = await LibvirtClient.connect({
      uri: this.config.uri ?? 'qemu:///system',
      ...(this.config.socketPath ? { socketPath: this.config.socketPath } : {}),
      keepAliveIntervalMs: this.config.keepAliveIntervalMs ?? 5000,
      logger: this.logger,
    })
    client.onMessage('DOMAIN_EVENT_CALLBACK_LIFECYCLE', ({ callbackID, msg }) => {
      if (callbackID !== this.callbackId) return
      if (!msg.dom.name.startsWith(this.prefix)) return
      const transition = transitionOfLifecycleEvent(msg.event, msg.detail)
      if (!transition || this.closed) return
      this.eventSubject.next({ kind: 'lifecycle', instanceUuid: uuidFromBytes(msg.dom.uuid), transition, timestamp: isoNow(this.clock) })
    })
    try {
      this.callbackId = (await client.call('CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY', { eventID: DomainEventId.LIFECYCLE, dom: null })).callbackID
    } catch (err) {
      await client.close()
      throw err
    }
    client.onClose((error) => {
      if (this.closed || !error) return
      this.logger.warn({ err: error }, `lost the libvirt connection: ${error.message}; reconnecting`)
      this.scheduleReconnect(1000)
    })
    this.client = client
    return client
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.closed || this.reconnectTimer) return
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      this.connection().then(
        () => this.logger.info('reconnected to libvirt'),
        (err: unknown) => {
          this.logger.warn({ err }, `reconnecting to libvirt failed: ${(err as Error).message}`)
          this.scheduleReconnect(Math.min(delayMs * 2, 30_000))
        },
      )
    }, delayMs)
    this.reconnectTimer.unref()
  }

  // --- internals: domains -------------------------------------------------------------------------

  private async findDomain(instance: Instance): Promise<RemoteNonnullDomain | null> {
    const client = await this.connection()
    try {
      const { dom } = await client.call('DOMAIN_LOOKUP_BY_UUID', { uuid: uuidToBytes(instance.uuid) })
      return dom.name.startsWith(this.prefix) ? dom : null
    } catch (err) {
      if (isNoDomain(err)) return null
      throw err
    }
  }

  private async requireDomain(instance: Instance): Promise<RemoteNonnullDomain> {
    const dom = await this.findDomain(instance)
    if (!dom) {
      throw new ComputeError('NOT_FOUND', `instance ${instance.uuid} could not be found on ${this.nodeName} (no domain ${this.domainName(instance)})`, {
        details: { instanceUuid: instance.uuid },
      })
    }
    return dom
  }

  private async domainState(dom: RemoteNonnullDomain): Promise<{ state: number; reason: number }> {
    const client = await this.connection()
    try {
      return await client.call('DOMAIN_GET_STATE', { dom, flags: 0 })
    } catch (err) {
      if (isNoDomain(err)) throw new ComputeError('NOT_FOUND', `domain ${dom.name} disappeared`, { cause: err })
      throw err
    }
  }

  private async hasManagedSave(dom: RemoteNonnullDomain): Promise<boolean> {
    const client = await this.connection()
    return (await client.call('DOMAIN_HAS_MANAGED_SAVE_IMAGE', { dom, flags: 0 })).result === 1
  }

  private async affectFlags(dom: RemoteNonnullDomain): Promise<number> {
    const { state } = await this.domainState(dom)
    return state === DomainState.SHUTOFF ? DomainAffect.CONFIG : DomainAffect.CONFIG | DomainAffect.LIVE
  }

  private async ownDomains(client: LibvirtClient): Promise<RemoteNonnullDomain[]> {
    const { domains } = await client.call('CONNECT_LIST_ALL_DOMAINS', { need_results: 1, flags: 0 })
    return domains.filter((d) => d.name.startsWith(this.prefix))
  }

  /** Destroys (if running) and undefines a domain, with its managed-save image and snapshot metadata. */
  private async removeDomain(client: LibvirtClient, dom: RemoteNonnullDomain): Promise<void> {
    await this.forceOff(dom)
    try {
      await client.call('DOMAIN_UNDEFINE_FLAGS', {
        dom,
        flags: DomainUndefineFlags.MANAGED_SAVE | DomainUndefineFlags.SNAPSHOTS_METADATA | DomainUndefineFlags.NVRAM | DomainUndefineFlags.CHECKPOINTS_METADATA,
      })
    } catch (err) {
      if (!isNoDomain(err)) throw this.wrap(err, `undefining domain ${dom.name}`)
    }
  }

  /** Destroys a running domain; a domain that is not running or gone is fine. */
  private async forceOff(dom: RemoteNonnullDomain): Promise<void> {
    const client = await this.connection()
    try {
      await client.call('DOMAIN_DESTROY', { dom })
    } catch (err) {
      if (!isNoDomain(err) && !isNotRunning(err)) throw this.wrap(err, `destroying domain ${dom.name}`)
    }
  }

  /** Sends ACPI shutdown every `retryMs` until the domain is off; true when it went off within `timeoutMs`. */
  private async acpiShutdown(dom: RemoteNonnullDomain, timeoutMs: number, retryMs: number): Promise<boolean> {
    const client = await this.connection()
    const deadline = performance.now() + timeoutMs
    let nextRequest = 0
    for (;;) {
      const now = performance.now()
      const { state } = await this.domainState(dom)
      if (state === DomainState.SHUTOFF || state === DomainState.CRASHED) return true
      if (now >= deadline) return false
      if (now >= nextRequest) {
        try {
          await client.call('DOMAIN_SHUTDOWN_FLAGS', { dom, flags: DomainShutdownFlags.ACPI_POWER_BTN })
        } catch (err) {
          if (!isNotRunning(err)) throw this.wrap(err, `shutting down domain ${dom.name}`)
        }
        nextRequest = now + Math.max(retryMs, 250)
      }
      await sleep(Math.min(100, Math.max(0, deadline - performance.now())))
    }
  }

  private retryIntervalMs(): number {
    return (this.config.shutdownRetryIntervalSec ?? 5) * 1000
  }

  /** Fetches the images, starts creating the disks (`disksReady`), and builds the domain XML. */
  private async prepareDomain(instance: Instance, image: ImageMeta, options: SpawnOptions, dir: string, signal: AbortSignal | undefined): Promise<{ xml: string; disksReady: Promise<void> }> {
    const diskFormat = image.diskFormat.toLowerCase()
    if (!['qcow2', 'raw', 'ami'].includes(diskFormat)) {
      throw new ComputeError('INVALID', `image ${image.id} has disk_format "${image.diskFormat}"; the libvirt driver boots qcow2, raw and ami images`)
    }
    const base = await this.imageCache.fetch(image.id, 'disk', signal ? { signal } : {})
    const claimed = diskFormat === 'ami' ? 'raw' : diskFormat
    if (base.format !== claimed) {
      throw new ComputeError('INVALID', `image ${image.id} claims disk_format ${image.diskFormat} but its data is ${base.format}`)
    }
    const flavor = instance.flavor
    if (flavor.rootGb > 0 && flavor.rootGb * GIB < base.virtualSizeBytes) {
      throw new ComputeError('INVALID', `flavor ${flavor.name}'s disk (${flavor.rootGb} GB) is too small for image ${image.id} (${Math.ceil(base.virtualSizeBytes / GIB)} GB)`)
    }
    const rootPath = join(dir, 'disk')
    // NOTE: written in-process (what qemu-img create writes, checked by qemu-img in the tests): no process per spawn.
    const rootSize = flavor.rootGb > 0 ? flavor.rootGb * GIB : Math.ceil(base.virtualSizeBytes / 512) * 512
    const creating = [writeQcow2Overlay(rootPath, { virtualSizeBytes: rootSize, backingFile: base.path, backingFormat: base.format! })]
    const disks: DiskSpec[] = [{ path: rootPath, format: 'qcow2', target: 'vda' }]
    if (flavor.ephemeralGb > 0) {
      const eph = join(dir, 'disk.eph0')
      creating.push(this.qemuImg.create(eph, 'qcow2', flavor.ephemeralGb * GIB))
      disks.push({ path: eph, format: 'qcow2', target: 'vdb' })
    }
    const disksReady = Promise.all(creating).then(() => undefined)
    // NOTE: whoever returns early must still wait for (and ignore) the disks being made.
    disksReady.catch(() => undefined)
    for (const bdm of options.blockDevices ?? []) disks.push(volumeDisk(bdm))
    let kernel: string | undefined
    let initrd: string | undefined
    const kernelId = image.properties['kernel_id']
    const ramdiskId = image.properties['ramdisk_id']
    try {
      if (kernelId) kernel = (await this.imageCache.fetch(kernelId, 'kernel', signal ? { signal } : {})).path
      if (ramdiskId) initrd = (await this.imageCache.fetch(ramdiskId, 'ramdisk', signal ? { signal } : {})).path
    } catch (err) {
      await disksReady.catch(() => undefined)
      throw err
    }
    const interfaces: InterfaceSpec[] = []
    const network = this.config.network
    if (instance.networks !== 'none' && network && network !== 'none') {
      const vifs = options.networkInfo ?? []
      if (vifs.length === 0) interfaces.push({ network: network.name })
      for (const vif of vifs) interfaces.push({ network: network.name, ...(vif.address ? { mac: vif.address } : {}) })
    }
    const spec: DomainSpec = {
      name: this.domainName(instance),
      uuid: instance.uuid,
      type: this.config.domainType ?? 'qemu',
      memoryMb: flavor.memoryMb,
      vcpus: flavor.vcpus,
      machine: image.properties['hw_machine_type'] ?? this.config.machineType ?? 'pc',
      ...(kernel ? { kernel, cmdline: image.properties['os_command_line'] ?? this.config.defaultKernelCmdline ?? 'root=/dev/vda console=tty0 console=ttyS0' } : {}),
      ...(kernel && initrd ? { initrd } : {}),
      disks,
      interfaces,
      consoleLogPath: join(dir, 'console.log'),
      metadata: {
        displayName: instance.displayName,
        flavorId: flavor.id,
        flavorName: flavor.name,
        memoryMb: flavor.memoryMb,
        vcpus: flavor.vcpus,
        rootGb: flavor.rootGb,
        ephemeralGb: flavor.ephemeralGb,
        imageId: image.id,
        projectId: instance.projectId,
        userId: instance.userId,
        createdAt: isoNow(this.clock),
      },
    }
    return { xml: buildDomainXml(spec), disksReady }
  }

  // --- internals: host ----------------------------------------------------------------------------

  private async ensureNetwork(client: LibvirtClient, network: LibvirtNetworkConfig): Promise<void> {
    let net: RemoteNonnullNetwork | undefined
    try {
      net = (await client.call('NETWORK_LOOKUP_BY_NAME', { name: network.name })).net
    } catch (err) {
      if (!LibvirtError.hasCode(err, VirErrorCode.VIR_ERR_NO_NETWORK)) throw err
    }
    if (!net) {
      if (!network.create) throw new ComputeError('INVALID', `libvirt network ${network.name} does not exist (give network.create to have the driver create it)`)
      net = (await client.call('NETWORK_DEFINE_XML', { xml: buildIsolatedNetworkXml({ name: network.name, ...network.create }) })).net
      this.logger.info(`defined isolated libvirt network ${network.name}`)
    }
    const xml = (await client.call('NETWORK_GET_XML_DESC', { net, flags: 0 })).xml
    const forward = networkForwardMode(xml)
    if (forward !== null) {
      throw new ComputeError('INVALID', `refusing libvirt network ${network.name}: it forwards (mode ${forward}) to the outside; use an isolated network (no <forward>)`)
    }
    if ((await client.call('NETWORK_IS_ACTIVE', { net })).active !== 1) await client.call('NETWORK_CREATE', { net })
  }

  private async ensureDir(path: string): Promise<void> {
    await mkdir(path, { recursive: true, mode: 0o755 })
    const s = await stat(path)
    if ((s.mode & 0o005) !== 0o005) await chmod(path, (s.mode & 0o777) | 0o755)
  }

  /** QEMU runs as its own user: warn when a parent of the instances path keeps it out. */
  private async warnIfUnreachable(path: string): Promise<void> {
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      const s = await stat(dir).catch(() => null)
      if (s && (s.mode & 0o001) === 0) {
        this.logger.warn(`${dir} is not searchable by other users (mode ${(s.mode & 0o777).toString(8)}): QEMU, which runs as its own user, may not reach the disks under ${path}`)
        return
      }
      if (dir === dirname(dir)) return
    }
  }

  private async diskStats(): Promise<{ totalGb: number; usedGb: number; freeGb: number }> {
    const s = await statfs(this.config.instancesPath)
    const total = s.blocks * s.bsize
    const free = s.bavail * s.bsize
    return { totalGb: Math.floor(total / GIB), usedGb: Math.max(0, Math.ceil((total - s.bfree * s.bsize) / GIB)), freeGb: Math.floor(free / GIB) }
  }

  private async guestUsage(client: LibvirtClient): Promise<{ vcpus: number; memoryMb: number }> {
    let vcpus = 0
    let memoryKib = 0
    for (const dom of await this.ownDomains(client)) {
      try {
        const info = await client.call('DOMAIN_GET_INFO', { dom })
        vcpus += info.nrVirtCpu
        memoryKib += Number(info.maxMem)
      } catch (err) {
        if (!isNoDomain(err)) throw err
      }
    }
    return { vcpus, memoryMb: Math.floor(memoryKib / 1024) }
  }

  private parseCapabilities(): { arch?: string; cpuModel?: string; cpuVendor?: string; cpuFeatures: string[]; supportedInstances: [string, string, string][] } {
    const caps = (parseXml(this.capabilitiesXml ?? '<capabilities/>').capabilities ?? {}) as Record<string, unknown>
    const host = (caps['host'] ?? {}) as Record<string, unknown>
    const cpu = (host['cpu'] ?? {}) as Record<string, unknown>
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
    const features = ([] as unknown[]).concat(cpu['feature'] ?? []).map((f) => str((f as Record<string, unknown>)['@_name'])).filter((f): f is string => !!f)
    const supported: [string, string, string][] = []
    for (const g of ([] as unknown[]).concat(caps['guest'] ?? [])) {
      const guest = g as Record<string, unknown>
      const osType = str(guest['os_type']) ?? 'hvm'
      const arch = (guest['arch'] ?? {}) as Record<string, unknown>
      for (const d of ([] as unknown[]).concat(arch['domain'] ?? [])) {
        const type = str((d as Record<string, unknown>)['@_type'])
        const archName = str(arch['@_name'])
        if (type && archName) supported.push([archName, type, osType])
      }
    }
    return {
      ...(str(cpu['arch']) ? { arch: str(cpu['arch'])! } : {}),
      ...(str(cpu['model']) ? { cpuModel: str(cpu['model'])! } : {}),
      ...(str(cpu['vendor']) ? { cpuVendor: str(cpu['vendor'])! } : {}),
      cpuFeatures: features,
      supportedInstances: supported,
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw this.wrap(err, what)
    }
  }

  /** Any failure as a ComputeError: libvirt's own errors pass as they are (VIRT), others become VIRT with context. */
  private wrap(err: unknown, what: string): ComputeError {
    if (ComputeError.is(err)) return err
    if (err instanceof Error && err.name === 'AbortError') return new ComputeError('VIRT', `${what} was aborted`, { cause: err })
    return new ComputeError('VIRT', `${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }

  private assertReady(): void {
    if (!this.initialised) throw new ComputeError('VIRT', `the libvirt driver is ${this.closed ? 'closed' : 'not initialised (call init() first)'}`)
  }

  private assertNode(nodename: string): void {
    if (nodename !== this.nodeName) throw new ComputeError('NOT_FOUND', `node ${nodename} is not managed by this libvirt driver (${this.nodeName})`, { details: { nodename } })
  }
}

/** A file-backed volume as a disk. */
function volumeDisk(attachment: VolumeAttachment): DiskSpec {
  const info = attachment.connectionInfo
  const data = (info['data'] ?? {}) as Record<string, unknown>
  const path = info['path'] ?? data['device_path'] ?? info['device_path']
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new ComputeError('INVALID', `volume ${attachment.volumeId} has no file path in its connection info (path or data.device_path)`)
  }
  const format = info['format'] ?? data['format'] ?? 'raw'
  const target = attachment.mountpoint.replace(/^\/dev\//, '')
  if (!/^[a-z]+[a-z0-9]*$/.test(target)) throw new ComputeError('INVALID', `volume ${attachment.volumeId} has a bad mountpoint "${attachment.mountpoint}"`)
  return { path, format: String(format), target, bus: attachment.diskBus ?? 'virtio', serial: attachment.volumeId }
}

/** The domain XML with the memory, vCPUs and flavor metadata of a new flavor. */
export function resizeDomainXml(xml: string, flavor: Flavor): string {
  const tree = parseXml(xml)
  const domain = tree['domain'] as Record<string, unknown>
  domain['memory'] = { '@_unit': 'MiB', '#text': String(flavor.memoryMb) }
  domain['currentMemory'] = { '@_unit': 'MiB', '#text': String(flavor.memoryMb) }
  domain['vcpu'] = { '@_placement': 'static', '#text': String(flavor.vcpus) }
  const meta = ((domain['metadata'] ?? {}) as Record<string, unknown>)['novum:instance'] as Record<string, unknown> | undefined
  if (meta) {
    meta['novum:flavor'] = {
      '@_id': flavor.id,
      '@_name': flavor.name,
      'novum:memory': String(flavor.memoryMb),
      'novum:vcpus': String(flavor.vcpus),
      'novum:disk': String(flavor.rootGb),
      'novum:ephemeral': String(flavor.ephemeralGb),
    }
  }
  return buildXml(tree)
}

function hostIp(): string | null {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return null
}
