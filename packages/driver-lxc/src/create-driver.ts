import { join } from 'node:path'
import { ComputeError, type DriverFactory, type DriverFactoryOptions } from '@novum/core'
import type { CpuLimitMode } from './cgroup-layout.js'
import { LxcDriver, type LxcDriverConfig } from './lxc-driver.js'

/**
 * The settings {@link createDriver} understands (keys of `DriverFactoryOptions.settings`, i.e. `NOVUM_DRIVER_<KEY>`
 * environment variables lower-cased), with what each sets in {@link LxcDriverConfig}.
 */
export const LXC_DRIVER_SETTINGS: Readonly<Record<string, string>> = {
  lxc_path: 'lxcPath (default <dataDir>/lxc)',
  template: 'template for images without data (default busybox; empty: none)',
  template_args: 'templateArgs, space-separated',
  name_prefix: 'namePrefix (default novum-)',
  image_cache_dir: 'imageCacheDir (default <lxcPath>/.image-cache)',
  cpu_limit: 'cpuLimit: shares | quota | both | none',
  memory_limit: 'memoryLimit: true | false',
  bridge: 'bridge for vifs that name none',
  command_timeout_ms: 'commandTimeoutMs',
  create_timeout_ms: 'createTimeoutMs',
  start_timeout_sec: 'startTimeoutSec',
  soft_reboot_timeout_sec: 'softRebootTimeoutSec',
  monitor: 'monitor: true | false',
  poll_interval_ms: 'pollIntervalMs',
  stopped_event_delay_ms: 'stoppedEventDelayMs',
  max_console_bytes: 'maxConsoleBytes',
  reserved_host_memory_mb: 'reservedHostMemoryMb',
  reserved_host_disk_gb: 'reservedHostDiskGb',
  reserved_host_cpus: 'reservedHostCpus',
  cpu_allocation_ratio: 'allocationRatios.cpu',
  ram_allocation_ratio: 'allocationRatios.ram',
  disk_allocation_ratio: 'allocationRatios.disk',
  host_ip: 'hostIp',
  extra_config: 'extraConfig: raw lxc config lines separated by ";"',
}

const CPU_LIMITS: readonly CpuLimitMode[] = ['shares', 'quota', 'both', 'none']

function integer(key: string, value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new ComputeError('INVALID', `lxc driver setting ${key} must be a non-negative integer, got "${value}"`)
  return n
}

function ratio(key: string, value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new ComputeError('INVALID', `lxc driver setting ${key} must be a positive number, got "${value}"`)
  return n
}

function bool(key: string, value: string): boolean {
  const v = value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  if (['0', 'false', 'no', 'off'].includes(v)) return false
  throw new ComputeError('INVALID', `lxc driver setting ${key} must be true or false, got "${value}"`)
}

/**
 * Turns a deployment's driver options (host name, data directory, image source, string settings) into an
 * {@link LxcDriverConfig}. Throws `ComputeError('INVALID')` for a malformed value; an unknown key is logged and
 * ignored (other drivers' `NOVUM_DRIVER_*` variables may be set in the same environment).
 *
 * @example
 * ```ts
 * lxcDriverConfigFromSettings({ hostname: 'c1', dataDir: '/var/lib/novum/driver-lxc', images, logger, settings: { template: 'busybox', cpu_limit: 'quota' } })
 * ```
 */
export function lxcDriverConfigFromSettings(options: DriverFactoryOptions): LxcDriverConfig {
  const s = options.settings
  for (const key of Object.keys(s)) {
    if (!(key in LXC_DRIVER_SETTINGS)) options.logger.warn(`unknown lxc driver setting "${key}" ignored (known: ${Object.keys(LXC_DRIVER_SETTINGS).join(', ')})`)
  }
  const cpuLimit = s['cpu_limit']
  if (cpuLimit !== undefined && !CPU_LIMITS.includes(cpuLimit as CpuLimitMode)) {
    throw new ComputeError('INVALID', `lxc driver setting cpu_limit must be one of ${CPU_LIMITS.join(', ')}, got "${cpuLimit}"`)
  }
  const template = s['template'] ?? 'busybox'
  const ratios = {
    ...(s['cpu_allocation_ratio'] !== undefined ? { cpu: ratio('cpu_allocation_ratio', s['cpu_allocation_ratio']) } : {}),
    ...(s['ram_allocation_ratio'] !== undefined ? { ram: ratio('ram_allocation_ratio', s['ram_allocation_ratio']) } : {}),
    ...(s['disk_allocation_ratio'] !== undefined ? { disk: ratio('disk_allocation_ratio', s['disk_allocation_ratio']) } : {}),
  }
  const int = (key: string): number | undefined => (s[key] !== undefined ? integer(key, s[key]!) : undefined)
  const entries: Partial<Record<keyof LxcDriverConfig, unknown>> = {
    hostname: options.hostname,
    lxcPath: s['lxc_path'] ?? join(options.dataDir, 'lxc'),
    images: options.images,
    logger: options.logger,
    template: template.trim() === '' ? undefined : template.trim(),
    templateArgs: s['template_args']?.split(/\s+/).filter(Boolean),
    namePrefix: s['name_prefix'],
    imageCacheDir: s['image_cache_dir'],
    cpuLimit: cpuLimit as CpuLimitMode | undefined,
    memoryLimit: s['memory_limit'] !== undefined ? bool('memory_limit', s['memory_limit']) : undefined,
    bridge: s['bridge'],
    commandTimeoutMs: int('command_timeout_ms'),
    createTimeoutMs: int('create_timeout_ms'),
    startTimeoutSec: int('start_timeout_sec'),
    softRebootTimeoutSec: int('soft_reboot_timeout_sec'),
    monitor: s['monitor'] !== undefined ? bool('monitor', s['monitor']) : undefined,
    pollIntervalMs: int('poll_interval_ms'),
    stoppedEventDelayMs: int('stopped_event_delay_ms'),
    maxConsoleBytes: int('max_console_bytes'),
    reservedHostMemoryMb: int('reserved_host_memory_mb'),
    reservedHostDiskGb: int('reserved_host_disk_gb'),
    reservedHostCpus: int('reserved_host_cpus'),
    allocationRatios: Object.keys(ratios).length > 0 ? ratios : undefined,
    hostIp: s['host_ip'],
    extraConfig: s['extra_config']?.split(';').map((l) => l.trim()).filter(Boolean),
  }
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as unknown as LxcDriverConfig
}

/**
 * The driver factory the reference server (and any deployment) loads with `--driver lxc`: an {@link LxcDriver}
 * for the host, with its lxcpath under the driver's data directory unless `NOVUM_DRIVER_LXC_PATH` says otherwise.
 * See {@link LXC_DRIVER_SETTINGS} for every `NOVUM_DRIVER_<KEY>` setting.
 *
 * @example
 * ```sh
 * NOVUM_DRIVER=lxc NOVUM_DRIVER_TEMPLATE=busybox NOVUM_DRIVER_CPU_LIMIT=quota pnpm start
 * ```
 */
export const createDriver: DriverFactory = (options) => new LxcDriver(lxcDriverConfigFromSettings(options))
