import type { Observable } from 'rxjs'
import type { Flavor } from '../model/flavor.js'
import type { ImageMeta } from '../model/image-meta.js'
import type { Instance } from '../model/instance.js'
import type { PowerState } from '../model/states.js'
import type { VirtEvent } from './virt-event.js'

/**
 * What a driver can do beyond the required surface (Nova's `capabilities` dict). The compute manager checks
 * a flag before it calls the matching optional method, and the resource tracker reports each `true` flag
 * as a `COMPUTE_*` trait on the node's resource provider (see {@link CAPABILITY_TRAITS}).
 * All default to false.
 */
export interface VirtCapabilities {
  readonly hasImagecache?: boolean
  readonly supportsPause?: boolean
  readonly supportsSuspend?: boolean
  readonly supportsRescue?: boolean
  readonly supportsSnapshot?: boolean
  readonly supportsResize?: boolean
  readonly supportsEvacuate?: boolean
  readonly supportsMigrateToSameHost?: boolean
  readonly supportsLiveMigration?: boolean
  readonly supportsAttachInterface?: boolean
  readonly supportsAttachVolume?: boolean
  readonly supportsDeviceTagging?: boolean
  readonly supportsTaggedAttachInterface?: boolean
  readonly supportsTaggedAttachVolume?: boolean
  readonly supportsExtendVolume?: boolean
  readonly supportsMultiattach?: boolean
  readonly supportsTrustedCerts?: boolean
  readonly supportsPcpus?: boolean
  readonly supportsAccelerators?: boolean
  readonly supportsBfvRescue?: boolean
  readonly supportsVtpm?: boolean
  readonly supportsSecureBoot?: boolean
  readonly supportsSocketPciNumaAffinity?: boolean
  readonly supportsRemoteManagedPorts?: boolean
  readonly supportsEphemeralEncryption?: boolean
  readonly supportsConsoleOutput?: boolean
  readonly supportsSetAdminPassword?: boolean
  readonly supportsTriggerCrashDump?: boolean
  readonly supportsDiagnostics?: boolean
  /** Disk formats the driver can boot (`qcow2`, `raw`, `iso`, …): each becomes `COMPUTE_IMAGE_TYPE_<FMT>`. */
  readonly supportedImageTypes?: readonly string[]
}

/** The trait each capability maps to on the node's root resource provider (Nova `CAPABILITY_TRAITS_MAP`). */
export const CAPABILITY_TRAITS: Readonly<Partial<Record<keyof VirtCapabilities, string>>> = {
  supportsAttachInterface: 'COMPUTE_NET_ATTACH_INTERFACE',
  supportsDeviceTagging: 'COMPUTE_DEVICE_TAGGING',
  supportsTaggedAttachInterface: 'COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG',
  supportsTaggedAttachVolume: 'COMPUTE_VOLUME_ATTACH_WITH_TAG',
  supportsExtendVolume: 'COMPUTE_VOLUME_EXTEND',
  supportsMultiattach: 'COMPUTE_VOLUME_MULTI_ATTACH',
  supportsTrustedCerts: 'COMPUTE_TRUSTED_CERTS',
  supportsAccelerators: 'COMPUTE_ACCELERATORS',
  supportsBfvRescue: 'COMPUTE_RESCUE_BFV',
  supportsSecureBoot: 'COMPUTE_SECURITY_UEFI_SECURE_BOOT',
  supportsSocketPciNumaAffinity: 'COMPUTE_SOCKET_PCI_NUMA_AFFINITY',
  supportsRemoteManagedPorts: 'COMPUTE_REMOTE_MANAGED_PORTS',
  supportsEphemeralEncryption: 'COMPUTE_EPHEMERAL_ENCRYPTION',
}

/** The hypervisor's answer for one guest (Nova `InstanceInfo`). */
export interface InstanceInfo {
  readonly state: PowerState
  /** The hypervisor's own id for the guest. */
  readonly internalId?: string
}

/** A resource class inventory as a driver reports it for Placement. */
export interface InventoryRecord {
  readonly total: number
  readonly reserved?: number
  readonly minUnit?: number
  readonly maxUnit?: number
  readonly stepSize?: number
  readonly allocationRatio?: number
}

/** What a node offers, as `get_available_resource` reports it (Nova's dict, typed). */
export interface NodeResources {
  readonly vcpus: number
  readonly memoryMb: number
  readonly localGb: number
  readonly vcpusUsed: number
  readonly memoryMbUsed: number
  readonly localGbUsed: number
  readonly hypervisorType: string
  readonly hypervisorVersion: number
  readonly hypervisorHostname: string
  readonly cpuInfo: Readonly<Record<string, unknown>>
  readonly diskAvailableLeast: number
  readonly supportedInstances: readonly (readonly [string, string, string])[]
  readonly hostIp?: string
}

/**
 * The provider tree a driver fills in for its node (Nova `update_provider_tree`): inventories per resource
 * class and traits of the root provider. Child providers are not modelled yet.
 */
export interface ProviderTreeUpdate {
  inventories: Record<string, InventoryRecord>
  traits: string[]
}

/** A block device (volume) as the driver attaches it. */
export interface VolumeAttachment {
  readonly volumeId: string
  /** The guest device name, e.g. `/dev/vdb`. */
  readonly mountpoint: string
  /** Driver-specific connection data (a file path for file-backed volumes). */
  readonly connectionInfo: Readonly<Record<string, unknown>>
  readonly diskBus?: string
  readonly deviceType?: string
}

/** A network interface as the driver plugs it. */
export interface VifInfo {
  readonly id: string
  readonly address: string
  readonly networkId: string
  readonly bridge?: string
  readonly details?: Readonly<Record<string, unknown>>
}

/** Arguments of {@link VirtDriver.spawn} beyond the instance and image. */
export interface SpawnOptions {
  readonly adminPassword?: string | null
  readonly injectedFiles?: readonly { readonly path: string; readonly contents: string }[]
  /** The instance's allocations, per provider uuid. */
  readonly allocations?: Readonly<Record<string, { readonly resources: Readonly<Record<string, number>> }>>
  readonly networkInfo?: readonly VifInfo[]
  readonly blockDevices?: readonly VolumeAttachment[]
  /** Start the guest after creating it (default true). */
  readonly powerOn?: boolean
  readonly signal?: AbortSignal
}

/** Arguments of {@link VirtDriver.destroy}. */
export interface DestroyOptions {
  readonly networkInfo?: readonly VifInfo[]
  readonly blockDevices?: readonly VolumeAttachment[]
  /** Remove the guest's disks too (default true). */
  readonly destroyDisks?: boolean
  readonly signal?: AbortSignal
}

/** Soft (ACPI, falling back to hard) or hard reboot. */
export type RebootType = 'SOFT' | 'HARD'

/** Arguments of {@link VirtDriver.powerOff}. */
export interface PowerOffOptions {
  /** Seconds to wait for a graceful shutdown before forcing it (0 = force at once). @default 60 */
  readonly timeoutSec?: number
  readonly retryIntervalSec?: number
}

/** The standardised diagnostics of a guest (Nova `Diagnostics`, 2.48). */
export interface InstanceDiagnostics {
  readonly state: string
  readonly driver: string
  readonly uptimeSec?: number
  readonly numCpus?: number
  readonly memoryMb?: number
  readonly [key: string]: unknown
}

/** A snapshot upload target: the driver streams the image to the image service through this. */
export interface SnapshotTarget {
  readonly imageId: string
  /** Called with the task state the driver has reached (`image_pending_upload`, then `image_uploading`). */
  updateTaskState(taskState: 'image_pending_upload' | 'image_uploading'): Promise<void>
  /** Stores the image data (the image service's upload). */
  upload(data: AsyncIterable<Uint8Array> | Uint8Array, format: { diskFormat: string; containerFormat: string }): Promise<void>
}

/** Migration data passed between source and destination during moves. */
export type MigrateData = Readonly<Record<string, unknown>>

/**
 * Runs instances on one hypervisor host. One driver per compute service (Nova `ComputeDriver`).
 *
 * The compute manager guarantees:
 * - {@link VirtDriver.init} is awaited once before any other call, and {@link VirtDriver.close} once at the end;
 * - calls for one instance are serialised (no two concurrent operations on the same uuid);
 * - an optional method is called only when its capability flag is true.
 *
 * The driver must:
 * - make {@link VirtDriver.destroy} succeed when the guest is already gone (it is idempotent);
 * - throw `ComputeError('NOT_FOUND', …)` from {@link VirtDriver.getInfo} for an unknown guest;
 * - throw `ComputeError('VIRT', …)` for any hypervisor failure, with the tool's or library's message;
 * - report power changes it notices through {@link VirtDriver.events} (lifecycle events feed the power-state sync).
 *
 * Every driver must pass `describeVirtDriverConformance` from `@novum/core/testing`.
 *
 * @example
 * ```ts
 * const driver = new FakeVirtDriver({ hostname: 'compute-1' })
 * await driver.init()
 * await driver.spawn(instance, image, {})
 * ```
 */
export interface VirtDriver {
  /** What the driver supports beyond the required surface. */
  readonly capabilities: VirtCapabilities

  // --- host ------------------------------------------------------------------------------------
  /** Connects to the hypervisor at service start (Nova `init_host`). */
  init(options?: { readonly signal?: AbortSignal }): Promise<void>
  /** Releases the hypervisor connection; completes {@link VirtDriver.events} (Nova `cleanup_host`). */
  close(): Promise<void>
  /** Node names this service manages; one for most drivers (Nova `get_available_nodes`). */
  getAvailableNodes(): Promise<readonly string[]>
  /** What a node offers and uses now (Nova `get_available_resource`). */
  getAvailableResource(nodename: string): Promise<NodeResources>
  /** Fills the node's inventories and traits for Placement (Nova `update_provider_tree`). */
  updateProviderTree(nodename: string, tree: ProviderTreeUpdate): Promise<void>
  /** The host's address, if it has one to report. */
  getHostIpAddr?(): Promise<string | null>
  /** Seconds since the host booted. */
  getHostUptime?(): Promise<string>

  // --- inventory -------------------------------------------------------------------------------
  /** The guest's power state; throws `NOT_FOUND` for an unknown guest (Nova `get_info`). */
  getInfo(instance: Instance): Promise<InstanceInfo>
  /** True if the guest exists on this host. */
  instanceExists(instance: Instance): Promise<boolean>
  /** Uuids of every guest this driver manages on the host (Nova `list_instance_uuids`). */
  listInstanceUuids(): Promise<readonly string[]>

  // --- lifecycle -------------------------------------------------------------------------------
  /** Creates the guest and, unless `powerOn` is false, starts it. Throwing leaves no guest behind. */
  spawn(instance: Instance, image: ImageMeta, options: SpawnOptions): Promise<void>
  /** Powers off and removes the guest; succeeds if it is already gone. */
  destroy(instance: Instance, options?: DestroyOptions): Promise<void>
  /** Removes leftovers (files, definitions) without requiring the guest to exist. */
  cleanup?(instance: Instance, options?: DestroyOptions): Promise<void>
  /** Reboots the guest: SOFT tries ACPI first and falls back to HARD. */
  reboot(instance: Instance, type: RebootType): Promise<void>
  /** Stops the guest, gracefully within `timeoutSec`, then by force. */
  powerOff(instance: Instance, options?: PowerOffOptions): Promise<void>
  /** Starts a stopped guest. */
  powerOn(instance: Instance): Promise<void>
  /** Freezes the guest in memory. Requires `supportsPause`. */
  pause?(instance: Instance): Promise<void>
  /** Thaws a paused guest. Requires `supportsPause`. */
  unpause?(instance: Instance): Promise<void>
  /** Saves the guest to disk. Requires `supportsSuspend`. */
  suspend?(instance: Instance): Promise<void>
  /** Restores a suspended guest. Requires `supportsSuspend`. */
  resume?(instance: Instance): Promise<void>
  /** Restores guests after the host rebooted. */
  resumeStateOnHostBoot?(instance: Instance): Promise<void>
  /** Boots from a rescue image with the original disk attached. Requires `supportsRescue`. */
  rescue?(instance: Instance, rescueImage: ImageMeta, rescuePassword: string | null): Promise<void>
  /** Leaves rescue mode. Requires `supportsRescue`. */
  unrescue?(instance: Instance): Promise<void>
  /** Rebuilds in place; when absent, the manager destroys and spawns. */
  rebuild?(instance: Instance, image: ImageMeta, options: SpawnOptions): Promise<void>
  /** Sets the guest's admin password through its agent. Requires `supportsSetAdminPassword`. */
  setAdminPassword?(instance: Instance, newPassword: string): Promise<void>
  /** Sends an NMI. Requires `supportsTriggerCrashDump`. */
  triggerCrashDump?(instance: Instance): Promise<void>
  /** Hook for a deferred delete. */
  softDelete?(instance: Instance): Promise<void>
  /** Hook for restoring a deferred delete. */
  restore?(instance: Instance): Promise<void>
  /** Takes a snapshot and uploads it through `target`. Requires `supportsSnapshot`. */
  snapshot?(instance: Instance, target: SnapshotTarget): Promise<void>

  // --- moves -----------------------------------------------------------------------------------
  /** Source side of a resize or cold migration: power off and hand over the disks. Requires `supportsResize`. */
  migrateDiskAndPowerOff?(instance: Instance, destHost: string, flavor: Flavor, options?: PowerOffOptions): Promise<MigrateData>
  /** Destination side of a resize or cold migration. Requires `supportsResize`. */
  finishMigration?(instance: Instance, image: ImageMeta, diskInfo: MigrateData, options: { readonly resizeInstance: boolean; readonly powerOn: boolean }): Promise<void>
  /** Deletes the source leftovers after a confirmed resize. Requires `supportsResize`. */
  confirmMigration?(instance: Instance): Promise<void>
  /** Restores the guest on the source after a reverted resize. Requires `supportsResize`. */
  finishRevertMigration?(instance: Instance, options: { readonly powerOn: boolean }): Promise<void>
  /** Destination pre-check of a live migration. Requires `supportsLiveMigration`. */
  checkCanLiveMigrateDestination?(instance: Instance, options: { readonly blockMigration: boolean }): Promise<MigrateData>
  /** Source pre-check of a live migration. Requires `supportsLiveMigration`. */
  checkCanLiveMigrateSource?(instance: Instance, destData: MigrateData): Promise<MigrateData>
  /** Prepares the destination. Requires `supportsLiveMigration`. */
  preLiveMigration?(instance: Instance, data: MigrateData): Promise<MigrateData>
  /** Runs the live migration; resolves on success and rejects on failure. Requires `supportsLiveMigration`. */
  liveMigration?(instance: Instance, destHost: string, data: MigrateData): Promise<void>
  /** Finishes on the destination. Requires `supportsLiveMigration`. */
  postLiveMigrationAtDestination?(instance: Instance, data: MigrateData): Promise<void>
  /** Rolls back on the destination. Requires `supportsLiveMigration`. */
  rollbackLiveMigrationAtDestination?(instance: Instance, data: MigrateData): Promise<void>
  /** Forces a running live migration to complete (post-copy or pause). */
  liveMigrationForceComplete?(instance: Instance): Promise<void>
  /** Cancels a running live migration. */
  liveMigrationAbort?(instance: Instance): Promise<void>

  // --- devices ---------------------------------------------------------------------------------
  /** Hot-plugs a volume. Requires `supportsAttachVolume`. */
  attachVolume?(instance: Instance, attachment: VolumeAttachment): Promise<void>
  /** Hot-unplugs a volume. Requires `supportsAttachVolume`. */
  detachVolume?(instance: Instance, attachment: VolumeAttachment): Promise<void>
  /** Grows an attached volume. Requires `supportsExtendVolume`. */
  extendVolume?(instance: Instance, attachment: VolumeAttachment, newSizeBytes: number): Promise<void>
  /** The initiator data a volume service needs to connect a volume to this host. */
  getVolumeConnector?(instance: Instance): Promise<Readonly<Record<string, unknown>>>
  /** Hot-plugs a NIC. Requires `supportsAttachInterface`. */
  attachInterface?(instance: Instance, vif: VifInfo): Promise<void>
  /** Hot-unplugs a NIC. Requires `supportsAttachInterface`. */
  detachInterface?(instance: Instance, vif: VifInfo): Promise<void>
  /** Host-side networking for the guest's NICs. */
  plugVifs?(instance: Instance, vifs: readonly VifInfo[]): Promise<void>
  /** Undoes {@link VirtDriver.plugVifs}. */
  unplugVifs?(instance: Instance, vifs: readonly VifInfo[]): Promise<void>

  // --- consoles and diagnostics ----------------------------------------------------------------
  /** The guest's serial console log as text. Requires `supportsConsoleOutput`. */
  getConsoleOutput?(instance: Instance): Promise<string>
  /** Connection info for a serial console. */
  getSerialConsole?(instance: Instance): Promise<{ readonly host: string; readonly port: number }>
  /** Connection info for a VNC console. */
  getVncConsole?(instance: Instance): Promise<{ readonly host: string; readonly port: number }>
  /** The standardised diagnostics of the guest. Requires `supportsDiagnostics`. */
  getInstanceDiagnostics?(instance: Instance): Promise<InstanceDiagnostics>

  // --- images ----------------------------------------------------------------------------------
  /** Pre-caches an image on the host. Requires `hasImagecache`. */
  cacheImage?(image: ImageMeta): Promise<boolean>
  /** Removes cached images no instance uses. Requires `hasImagecache`. */
  manageImageCache?(instances: readonly Instance[]): Promise<void>
  /** Freezes guest filesystems for a consistent snapshot. */
  quiesce?(instance: Instance): Promise<void>
  /** Thaws guest filesystems. */
  unquiesce?(instance: Instance): Promise<void>

  // --- events ----------------------------------------------------------------------------------
  /** Lifecycle events (started, stopped, paused, resumed, …); hot; completes on {@link VirtDriver.close}. */
  events(): Observable<VirtEvent>
}
