import type { InventoryRecord, ProviderTreeUpdate } from './virt-driver.js'

/** A host's capacity, as a driver measures it. */
export interface HostCapacity {
  readonly vcpus: number
  readonly memoryMb: number
  readonly diskGb: number
}

/** What the deployer sets about a host's inventory (Nova's `reserved_host_*` and `*_allocation_ratio`). */
export interface HostInventorySettings {
  /** Memory kept for the host, `reserved` of MEMORY_MB (Nova `reserved_host_memory_mb`). @default 512 */
  readonly reservedHostMemoryMb?: number
  /** Disk kept for the host, `reserved` of DISK_GB (Nova `reserved_host_disk_mb`, in GB). @default 0 */
  readonly reservedHostDiskGb?: number
  /** CPUs kept for the host, `reserved` of VCPU (Nova `reserved_host_cpus`). @default 0 */
  readonly reservedHostCpus?: number
  /**
   * Explicit allocation ratios. When unset, a ratio already in the provider tree is kept, and new inventory gets
   * Nova's `initial_*_allocation_ratio` defaults 16.0 / 1.5 / 1.0.
   */
  readonly allocationRatios?: { readonly cpu?: number; readonly ram?: number; readonly disk?: number }
}

/**
 * Sets the VCPU, MEMORY_MB and DISK_GB inventories of a compute node's provider tree from the host's capacity and
 * the deployer's settings, as Nova's drivers do in `update_provider_tree`: reserved amounts are capped at the total,
 * and each allocation ratio is the explicit one, else the one the tree already has, else Nova's initial default.
 */
export function setHostInventories(tree: ProviderTreeUpdate, capacity: HostCapacity, settings: HostInventorySettings): void {
  const ratios = settings.allocationRatios ?? {}
  const ratio = (rc: string, explicit: number | undefined, initial: number): number => explicit ?? tree.inventories[rc]?.allocationRatio ?? initial
  const inventory = (total: number, reserved: number, allocationRatio: number): InventoryRecord => ({
    total,
    reserved: Math.min(reserved, total),
    minUnit: 1,
    maxUnit: total,
    stepSize: 1,
    allocationRatio,
  })
  tree.inventories.VCPU = inventory(capacity.vcpus, settings.reservedHostCpus ?? 0, ratio('VCPU', ratios.cpu, 16))
  tree.inventories.MEMORY_MB = inventory(capacity.memoryMb, settings.reservedHostMemoryMb ?? 512, ratio('MEMORY_MB', ratios.ram, 1.5))
  tree.inventories.DISK_GB = inventory(capacity.diskGb, settings.reservedHostDiskGb ?? 0, ratio('DISK_GB', ratios.disk, 1))
}
