import { Command, InvalidArgumentError, Option } from 'commander'
import { hostname } from 'node:os'
import { resolve } from 'node:path'

/** Everything an operator can set on the reference server. */
export interface ReferenceServerOptions {
  /** Where the SQLite file, the generated credentials and `openrc` live. */
  readonly dataDir: string
  readonly bind: string
  readonly computePort: number
  readonly identityPort: number
  readonly imagePort: number
  readonly placementPort: number
  /** How many simulated hypervisor hosts the fake driver presents. */
  readonly fakeHosts: number
  readonly hostVcpus: number
  readonly hostMemoryMb: number
  readonly hostDiskGb: number
  /** The admin password; generated at first start (and kept in the data directory) when not given. */
  readonly adminPassword: string | null
  readonly logLevel: string
  /** How the services are wired: without a container, with inversify (the default), or with tsyringe. */
  readonly container: 'none' | 'inversify' | 'tsyringe'
  /** Seconds between compute heartbeats. */
  readonly reportIntervalSec: number
  /** Scheduler filters in order (Nova `enabled_filters`). */
  readonly schedulerFilters: readonly string[] | null
  /** Scheduler weighers and multipliers (`RamWeigher=1,AcmeCostWeigher=5`); replaces the defaults when given. */
  readonly schedulerWeighers: Readonly<Record<string, number>> | null
  /** Modules whose exported scheduler plugins are registered (e.g. `@novum/example-custom-filter`). */
  readonly schedulerPlugins: readonly string[]
  /** A JSON file with the scheduler configuration (`SchedulerConfig`: filters, weighers, pluginOptions, …); flags win. */
  readonly schedulerConfigFile: string | null
  /** The virt driver: `fake` (simulated hosts) or a driver package, `libvirt` or `lxc` (one real host). */
  readonly driver: string
  /** The compute host name when a real driver runs (one host). */
  readonly computeHost: string
  /** Driver settings from `NOVUM_DRIVER_<KEY>` environment variables, keys lower-cased. */
  readonly driverSettings: Readonly<Record<string, string>>
}

const int = (name: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${value}"`)
  return n
}
const port = (name: string) => (value: string): number => {
  const n = int(name)(value)
  if (n < 1 || n > 65535) throw new InvalidArgumentError(`${name} must be a port between 1 and 65535, got "${value}"`)
  return n
}

/** The command line: each flag has an environment variable of the same meaning, and the flag wins. */
export function buildCommand(): Command {
  return new Command('novum-server')
    .description('Novum reference server: the Compute, Identity, Image and Placement APIs in one process, on SQLite, the in-process transport and simulated hosts.')
    .addOption(new Option('--data-dir <path>', 'data directory (SQLite file, credentials, openrc)').env('NOVUM_DATA_DIR').default('.novum'))
    .addOption(new Option('--bind <address>', 'address the APIs listen on').env('NOVUM_BIND').default('127.0.0.1'))
    .addOption(new Option('--compute-port <port>', 'Compute API port').env('NOVUM_COMPUTE_PORT').default(8774).argParser(port('--compute-port')))
    .addOption(new Option('--identity-port <port>', 'Identity (Keystone v3) API port').env('NOVUM_IDENTITY_PORT').default(5000).argParser(port('--identity-port')))
    .addOption(new Option('--image-port <port>', 'Image (Glance v2) API port').env('NOVUM_IMAGE_PORT').default(9292).argParser(port('--image-port')))
    .addOption(new Option('--placement-port <port>', 'Placement API port').env('NOVUM_PLACEMENT_PORT').default(8778).argParser(port('--placement-port')))
    .addOption(new Option('--fake-hosts <n>', 'number of simulated hypervisor hosts').env('NOVUM_FAKE_HOSTS').default(4).argParser(int('--fake-hosts')))
    .addOption(new Option('--host-vcpus <n>', 'vCPUs per simulated host').env('NOVUM_HOST_VCPUS').default(32).argParser(int('--host-vcpus')))
    .addOption(new Option('--host-memory-mb <mb>', 'memory per simulated host, MiB').env('NOVUM_HOST_MEMORY_MB').default(131072).argParser(int('--host-memory-mb')))
    .addOption(new Option('--host-disk-gb <gb>', 'disk per simulated host, GiB').env('NOVUM_HOST_DISK_GB').default(2000).argParser(int('--host-disk-gb')))
    .addOption(new Option('--admin-password <password>', 'admin password (generated at first start if unset)').env('NOVUM_ADMIN_PASSWORD'))
    .addOption(new Option('--log-level <level>', 'log level').env('NOVUM_LOG_LEVEL').default('info').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .addOption(new Option('--container <kind>', 'DI wiring').env('NOVUM_CONTAINER').default('inversify').choices(['none', 'inversify', 'tsyringe']))
    .addOption(new Option('--report-interval <sec>', 'seconds between compute heartbeats').env('NOVUM_REPORT_INTERVAL').default(10).argParser(int('--report-interval')))
    .addOption(new Option('--scheduler-filters <list>', 'comma-separated scheduler filters, in order').env('NOVUM_SCHEDULER_FILTERS'))
    .addOption(new Option('--scheduler-weighers <list>', 'comma-separated scheduler weighers with multipliers, e.g. RamWeigher=1,CpuWeigher=1').env('NOVUM_SCHEDULER_WEIGHERS'))
    .addOption(new Option('--scheduler-plugins <modules>', 'comma-separated modules whose exported scheduler plugins are registered').env('NOVUM_SCHEDULER_PLUGINS'))
    .addOption(new Option('--scheduler-config <file>', 'JSON file with the scheduler configuration (filters, weighers, pluginOptions, …)').env('NOVUM_SCHEDULER_CONFIG'))
    .addOption(new Option('--driver <name>', 'virt driver: fake, or a driver package (libvirt, lxc); settings come from NOVUM_DRIVER_<KEY>').env('NOVUM_DRIVER').default('fake'))
    .addOption(new Option('--compute-host <name>', 'compute host name for a real driver').env('NOVUM_COMPUTE_HOST').default(hostname()))
}

/**
 * The directory the operator started the server from: relative paths (the data directory) are resolved against it.
 * `scripts/start.sh` records it before changing directory, and pnpm sets `INIT_CWD` when it runs a script from
 * another directory.
 */
export function invocationDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env['NOVUM_INVOKED_FROM'] || env['INIT_CWD'] || process.cwd()
}

/** Parses argv (and the environment) into options; `--help` prints every flag and exits. */
export function parseOptions(argv: readonly string[], cwd = invocationDirectory()): ReferenceServerOptions {
  const cmd = buildCommand()
  cmd.parse([...argv], { from: 'user' })
  const o = cmd.opts<Record<string, unknown>>()
  const list = (v: unknown): string[] | null => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : null)
  const filters = list(o.schedulerFilters)
  const weighers = list(o.schedulerWeighers)?.map((entry): [string, number] => {
    const [name, multiplier] = entry.split('=').map((s) => s.trim())
    const n = Number(multiplier ?? '1')
    if (!name || !Number.isFinite(n)) throw new InvalidArgumentError(`--scheduler-weighers entries must be Name=multiplier, got "${entry}"`)
    return [name, n]
  })
  return {
    dataDir: resolve(cwd, String(o.dataDir)),
    bind: String(o.bind),
    computePort: Number(o.computePort),
    identityPort: Number(o.identityPort),
    imagePort: Number(o.imagePort),
    placementPort: Number(o.placementPort),
    fakeHosts: Number(o.fakeHosts),
    hostVcpus: Number(o.hostVcpus),
    hostMemoryMb: Number(o.hostMemoryMb),
    hostDiskGb: Number(o.hostDiskGb),
    adminPassword: typeof o.adminPassword === 'string' ? o.adminPassword : null,
    logLevel: String(o.logLevel),
    container: o.container as ReferenceServerOptions['container'],
    reportIntervalSec: Number(o.reportInterval),
    schedulerFilters: filters,
    schedulerWeighers: weighers ? Object.fromEntries(weighers) : null,
    schedulerPlugins: list(o.schedulerPlugins) ?? [],
    schedulerConfigFile: typeof o.schedulerConfig === 'string' ? resolve(cwd, o.schedulerConfig) : null,
    driver: String(o.driver),
    computeHost: String(o.computeHost),
    driverSettings: driverSettingsFromEnv(process.env),
  }
}

/** `NOVUM_DRIVER_URI=qemu:///system` → `{ uri: 'qemu:///system' }` (the `NOVUM_DRIVER` variable itself excluded). */
export function driverSettingsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('NOVUM_DRIVER_') && v !== undefined) out[k.slice('NOVUM_DRIVER_'.length).toLowerCase()] = v
  }
  return out
}

/** Defaults for programmatic use (tests, benchmarks). */
export function defaultOptions(overrides: Partial<ReferenceServerOptions> = {}): ReferenceServerOptions {
  return { ...parseOptions([]), ...overrides }
}
