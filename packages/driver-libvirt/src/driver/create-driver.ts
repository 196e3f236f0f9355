import { join } from 'node:path'
import { ComputeError, type DriverFactory, type DriverFactoryOptions } from '@novum/core'
import { LibvirtDriver, type LibvirtDriverConfig, type LibvirtNetworkConfig } from './libvirt-driver.js'

/**
 * The settings {@link createDriver} reads (from `NOVUM_DRIVER_<KEY>` environment variables, keys lower-cased), with
 * the {@link LibvirtDriverConfig} field each one sets.
 */
export const LIBVIRT_DRIVER_SETTINGS: Readonly<Record<string, string>> = {
  uri: 'uri (default qemu:///system)',
  socket_path: 'socketPath (default /run/libvirt/libvirt-sock)',
  instances_path: 'instancesPath (default <dataDir>/instances)',
  image_cache_path: 'imageCachePath (default <instances_path>/_base)',
  domain_type: 'domainType: qemu (TCG, default) or kvm',
  machine_type: 'machineType (default pc)',
  name_prefix: 'namePrefix (default novum-)',
  network: 'network: none (default) or the name of an isolated libvirt network',
  network_bridge: 'with network: create the network with this bridge if it is missing',
  network_address: 'the bridge address of a created network (default 10.254.250.1)',
  network_netmask: 'its netmask (default 255.255.255.0)',
  network_dhcp_start: 'its first DHCP address (default .10 of the address)',
  network_dhcp_end: 'its last DHCP address (default .200 of the address)',
  default_kernel_cmdline: 'defaultKernelCmdline',
  reserved_host_memory_mb: 'reservedHostMemoryMb (default 512)',
  reserved_host_disk_gb: 'reservedHostDiskGb (default 0)',
  reserved_host_cpus: 'reservedHostCpus (default 0)',
  cpu_allocation_ratio: 'allocationRatios.cpu',
  ram_allocation_ratio: 'allocationRatios.ram',
  disk_allocation_ratio: 'allocationRatios.disk',
  soft_reboot_timeout_sec: 'softRebootTimeoutSec (default 120)',
  shutdown_retry_interval_sec: 'shutdownRetryIntervalSec (default 5)',
  detach_timeout_sec: 'detachTimeoutSec (default 30)',
  console_output_max_bytes: 'consoleOutputMaxBytes (default 102400)',
  snapshot_image_format: 'snapshotImageFormat: qcow2 (default) or raw',
  qemu_img_path: 'qemuImgPath (default qemu-img)',
  keepalive_interval_ms: 'keepAliveIntervalMs (default 5000, 0 = off)',
}

const number = (settings: Readonly<Record<string, string>>, key: string): number | undefined => {
  const raw = settings[key]
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new ComputeError('INVALID', `libvirt driver setting ${key} must be a non-negative number, got "${raw}"`)
  return n
}

/**
 * Turns a deployment's driver settings into a {@link LibvirtDriverConfig}. Unknown keys are refused, so a typo in a
 * `NOVUM_DRIVER_*` variable fails at start-up instead of being ignored.
 */
export function libvirtConfigFromSettings(options: DriverFactoryOptions): LibvirtDriverConfig {
  const s = options.settings
  const unknown = Object.keys(s).filter((k) => !(k in LIBVIRT_DRIVER_SETTINGS))
  if (unknown.length) {
    throw new ComputeError('INVALID', `unknown libvirt driver setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${Object.keys(LIBVIRT_DRIVER_SETTINGS).join(', ')})`)
  }
  const domainType = s['domain_type'] ?? 'qemu'
  if (domainType !== 'qemu' && domainType !== 'kvm') throw new ComputeError('INVALID', `libvirt driver setting domain_type must be qemu or kvm, got "${domainType}"`)
  const snapshotFormat = s['snapshot_image_format'] ?? 'qcow2'
  if (snapshotFormat !== 'qcow2' && snapshotFormat !== 'raw') throw new ComputeError('INVALID', `libvirt driver setting snapshot_image_format must be qcow2 or raw, got "${snapshotFormat}"`)
  let network: 'none' | LibvirtNetworkConfig = 'none'
  const networkName = s['network']
  if (networkName && networkName !== 'none') {
    const bridge = s['network_bridge']
    if (bridge) {
      const address = s['network_address'] ?? '10.254.250.1'
      const stem = address.split('.').slice(0, 3).join('.')
      network = {
        name: networkName,
        create: {
          bridge,
          address,
          netmask: s['network_netmask'] ?? '255.255.255.0',
          dhcpStart: s['network_dhcp_start'] ?? `${stem}.10`,
          dhcpEnd: s['network_dhcp_end'] ?? `${stem}.200`,
        },
      }
    } else network = { name: networkName }
  }
  const ratios = { cpu: number(s, 'cpu_allocation_ratio'), ram: number(s, 'ram_allocation_ratio'), disk: number(s, 'disk_allocation_ratio') }
  const optional = <K extends keyof LibvirtDriverConfig>(key: K, value: LibvirtDriverConfig[K] | undefined) => (value === undefined ? {} : { [key]: value })
  return {
    instancesPath: s['instances_path'] ?? join(options.dataDir, 'instances'),
    images: options.images,
    logger: options.logger,
    hostname: options.hostname,
    domainType,
    network,
    snapshotImageFormat: snapshotFormat,
    ...optional('imageCachePath', s['image_cache_path']),
    ...optional('uri', s['uri']),
    ...optional('socketPath', s['socket_path']),
    ...optional('machineType', s['machine_type']),
    ...optional('namePrefix', s['name_prefix']),
    ...optional('defaultKernelCmdline', s['default_kernel_cmdline']),
    ...optional('reservedHostMemoryMb', number(s, 'reserved_host_memory_mb')),
    ...optional('reservedHostDiskGb', number(s, 'reserved_host_disk_gb')),
    ...optional('reservedHostCpus', number(s, 'reserved_host_cpus')),
    ...(ratios.cpu !== undefined || ratios.ram !== undefined || ratios.disk !== undefined
      ? { allocationRatios: Object.fromEntries(Object.entries(ratios).filter(([, v]) => v !== undefined)) }
      : {}),
    ...optional('softRebootTimeoutSec', number(s, 'soft_reboot_timeout_sec')),
    ...optional('shutdownRetryIntervalSec', number(s, 'shutdown_retry_interval_sec')),
    ...optional('detachTimeoutSec', number(s, 'detach_timeout_sec')),
    ...optional('consoleOutputMaxBytes', number(s, 'console_output_max_bytes')),
    ...optional('qemuImgPath', s['qemu_img_path']),
    ...optional('keepAliveIntervalMs', number(s, 'keepalive_interval_ms')),
  }
}

/**
 * The package's {@link DriverFactory}: what a deployment calls for `--driver libvirt` (`NOVUM_DRIVER=libvirt`), with
 * settings from `NOVUM_DRIVER_<KEY>` variables ({@link LIBVIRT_DRIVER_SETTINGS}). Synchronous and side-effect free:
 * the connection is made in `init()`.
 *
 * @example
 * ```ts
 * // NOVUM_DRIVER=libvirt NOVUM_DRIVER_NETWORK=none NOVUM_DRIVER_NAME_PREFIX=novum- novum-server
 * const driver = createDriver({ hostname: 'compute-1', dataDir: '/var/lib/novum', images, logger, settings: { network: 'none' } })
 * ```
 */
export const createDriver: DriverFactory = (options) => new LibvirtDriver(libvirtConfigFromSettings(options))
