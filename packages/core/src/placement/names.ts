import { ComputeError } from '../errors/compute-error.js'
import { STANDARD_TRAITS } from './standard-traits.js'

/** The standard resource classes (os-resource-classes) Placement accepts besides `CUSTOM_*` ones. */
export const STANDARD_RESOURCE_CLASSES: ReadonlySet<string> = new Set([
  'VCPU', 'MEMORY_MB', 'DISK_GB', 'PCI_DEVICE', 'SRIOV_NET_VF', 'NUMA_SOCKET', 'NUMA_CORE', 'NUMA_THREAD',
  'NUMA_MEMORY_MB', 'IPV4_ADDRESS', 'VGPU', 'VGPU_DISPLAY_HEAD', 'NET_BW_EGR_KILOBIT_PER_SEC',
  'NET_BW_IGR_KILOBIT_PER_SEC', 'PCPU', 'MEM_ENCRYPTION_CONTEXT', 'FPGA', 'PGPU', 'NET_PACKET_RATE_KILOPACKET_PER_SEC',
  'NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC', 'NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC',
])

const CUSTOM = /^CUSTOM_[A-Z0-9_]+$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** True for a standard or `CUSTOM_[A-Z0-9_]+` resource class name. */
export function isValidResourceClass(name: string): boolean {
  return STANDARD_RESOURCE_CLASSES.has(name) || CUSTOM.test(name)
}

/** True for a standard (os-traits) or `CUSTOM_[A-Z0-9_]+` trait name. */
export function isValidTraitName(name: string): boolean {
  return STANDARD_TRAITS.has(name) || CUSTOM.test(name)
}

/** True for a custom trait or resource class name (`CUSTOM_*`). */
export function isCustomName(name: string): boolean {
  return CUSTOM.test(name)
}

/** @internal Throws `INVALID` unless `name` is a valid resource class. */
export function assertResourceClass(name: string): void {
  if (!isValidResourceClass(name)) {
    throw new ComputeError('INVALID', `invalid resource class "${name}": not a standard class and not CUSTOM_[A-Z0-9_]+`, {
      details: { code: 'placement.undefined_code' },
    })
  }
}

/** @internal Throws `INVALID` unless every name is a valid trait. */
export function assertTraitNames(names: readonly string[]): void {
  const bad = names.filter((n) => !isValidTraitName(n))
  if (bad.length) {
    throw new ComputeError('INVALID', `invalid trait(s) ${bad.map((b) => `"${b}"`).join(', ')}: not a standard trait and not CUSTOM_[A-Z0-9_]+`, {
      details: { code: 'placement.undefined_code' },
    })
  }
}

/** @internal Throws `INVALID` unless `value` looks like a UUID (lower-case, dashed). */
export function assertUuid(value: string, what: string): void {
  if (!UUID.test(value)) throw new ComputeError('INVALID', `invalid ${what} "${value}": not a lower-case dashed uuid`)
}
