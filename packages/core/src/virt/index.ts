export { CAPABILITY_TRAITS } from './virt-driver.js'
export { setHostInventories } from './host-inventory.js'
export type { HostCapacity, HostInventorySettings } from './host-inventory.js'
export type {
  VirtDriver,
  VirtCapabilities,
  InstanceInfo,
  InventoryRecord,
  NodeResources,
  ProviderTreeUpdate,
  VolumeAttachment,
  VifInfo,
  SpawnOptions,
  DestroyOptions,
  RebootType,
  PowerOffOptions,
  InstanceDiagnostics,
  SnapshotTarget,
  MigrateData,
} from './virt-driver.js'
export type { VirtEvent, VirtLifecycleTransition } from './virt-event.js'
export type { ImageSource, DriverFactoryOptions, DriverFactory } from './driver-factory.js'
