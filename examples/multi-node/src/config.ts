import { Command, InvalidArgumentError, Option } from 'commander'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import type { FakeVirtOperation } from '@novum/core/testing'

/** The database server families the multi-node deployment runs on. */
export type DatabaseFamily = 'postgres' | 'mysql'

/** Artificial fake-driver latencies: per host (`*` for every host), per operation, in ms. */
export type FakeDelays = ReadonlyMap<string, Readonly<Partial<Record<FakeVirtOperation, number>>>>

/** Everything an operator can set on the multi-node deployment. Each field has a flag and an environment variable. */
export interface MultiNodeOptions {
  /** Where credentials, `openrc`, the supervisor's state, logs and each compute agent's driver state live. */
  readonly dataDir: string
  /** The database URL: `postgres://…/<name>` (default) or `mysql://…/<name>` (MariaDB/MySQL; `mariadb://` is accepted). */
  readonly database: string
  /** The RabbitMQ URL, vhost included (`amqp://user:pass@host:5672/vhost`). */
  readonly amqpUrl: string
  /** The control exchange (oslo `control_exchange`). */
  readonly exchange: string
  /** Longest pause between two attempts to reconnect to RabbitMQ, in seconds (backoff starts at 0.1 s). */
  readonly amqpReconnectMaxDelaySec: number
  /** How many compute agents (one OS process, one host each: `compute-1` … `compute-N`). */
  readonly computes: number
  /** The host name the conductor and scheduler report in `os-services` (Nova `CONF.host`). */
  readonly host: string
  readonly bind: string
  readonly computePort: number
  readonly identityPort: number
  readonly imagePort: number
  readonly placementPort: number
  /** The virt driver of every compute agent: `fake`, or a driver package (`libvirt`, `lxc`, `@acme/driver-x`). */
  readonly driver: string
  /** The raw `--fake-delay` spec (kept to hand it to children unchanged). */
  readonly fakeDelaySpec: string
  /** {@link MultiNodeOptions.fakeDelaySpec}, parsed. */
  readonly fakeDelays: FakeDelays
  readonly hostVcpus: number
  readonly hostMemoryMb: number
  readonly hostDiskGb: number
  /** Seconds between heartbeats of every service (Nova `report_interval`); fractions allowed. */
  readonly reportIntervalSec: number
  /** Whole seconds without a heartbeat after which a service is down (Nova `service_down_time`). */
  readonly serviceDownTimeSec: number
  /** Seconds an RPC call waits for its reply (Nova `rpc_response_timeout`); fractions allowed. */
  readonly rpcTimeoutSec: number
  /** Builds one compute agent runs at once (Nova `max_concurrent_builds`). */
  readonly maxConcurrentBuilds: number
  /** What the supervisor does when a child dies: nothing (`never`), or start it again (`on-failure`). */
  readonly restart: 'never' | 'on-failure'
  /** Seconds the supervisor gives each shutdown phase before it kills what is left. */
  readonly stopTimeoutSec: number
  readonly logLevel: string
  /** The admin password; generated at first start (and kept in the data directory) when not given. */
  readonly adminPassword: string | null
  /** Where compute agents with a real driver read image data (`<image-dir>/<image id>`). */
  readonly imageDir: string | null
  /** Driver settings from `NOVUM_DRIVER_<KEY>` environment variables, keys lower-cased. */
  readonly driverSettings: Readonly<Record<string, string>>
}

const FAKE_OPERATIONS: readonly FakeVirtOperation[] = [
  'spawn', 'destroy', 'reboot', 'powerOff', 'powerOn', 'pause', 'unpause', 'suspend', 'resume', 'rescue', 'unrescue', 'snapshot',
]

const int = (name: string, min = 0) => (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got "${value}"`)
  return n
}
const seconds = (name: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number of seconds, got "${value}"`)
  return n
}
const port = (name: string) => (value: string): number => {
  const n = int(name, 1)(value)
  if (n > 65535) throw new InvalidArgumentError(`${name} must be a port between 1 and 65535, got "${value}"`)
  return n
}

/**
 * Parses `--fake-delay`: a comma-separated list of `[host:]operation=ms`, e.g. `spawn=200,compute-2:spawn=30000`.
 * Without a host the delay applies to every agent; a host's own entry wins over it.
 */
export function parseFakeDelays(spec: string): FakeDelays {
  const out = new Map<string, Partial<Record<FakeVirtOperation, number>>>()
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(?:([^:=\s]+):)?([A-Za-z]+)=(\d+)$/.exec(raw)
    if (!m) throw new InvalidArgumentError(`--fake-delay entry "${raw}" is not [host:]operation=ms`)
    const [, host = '*', op = '', ms = '0'] = m
    if (!(FAKE_OPERATIONS as readonly string[]).includes(op)) {
      throw new InvalidArgumentError(`--fake-delay operation "${op}" is unknown (known: ${FAKE_OPERATIONS.join(', ')})`)
    }
    out.set(host, { ...out.get(host), [op]: Number(ms) })
  }
  return out
}

/** The fake-driver delays of one host: the `*` entries, overridden by the host's own. */
export function fakeDelaysFor(delays: FakeDelays, host: string): Partial<Record<FakeVirtOperation, number>> {
  return { ...delays.get('*'), ...delays.get(host) }
}

/** One flag: its environment variable and the option key commander gives it. */
interface Flag {
  readonly option: Option
  readonly env: string
  readonly key: keyof RawOptions
}

type RawOptions = Record<
  | 'dataDir' | 'database' | 'amqpUrl' | 'exchange' | 'amqpReconnectMaxDelay' | 'computes' | 'host' | 'bind' | 'computePort' | 'identityPort' | 'imagePort'
  | 'placementPort' | 'driver' | 'fakeDelay' | 'hostVcpus' | 'hostMemoryMb' | 'hostDiskGb' | 'reportInterval' | 'serviceDownTime'
  | 'rpcTimeout' | 'maxConcurrentBuilds' | 'restart' | 'stopTimeout' | 'logLevel' | 'adminPassword' | 'imageDir' | 'computeHost',
  unknown
>

function flag(spec: string, description: string, env: string, key: keyof RawOptions, configure: (o: Option) => Option = (o) => o): Flag {
  return { option: configure(new Option(spec, description).env(env)), env, key }
}

/** Every flag, with its environment variable. The flag wins over the variable. */
export const FLAGS: readonly Flag[] = [
  flag('--data-dir <path>', 'data directory (credentials, openrc, supervisor state, logs, driver state)', 'NOVUM_DATA_DIR', 'dataDir', (o) => o.default('.novum-multi-node')),
  flag('--database <url>', 'database URL: postgres://… (default) or mysql://… / mariadb://… (created if missing)', 'NOVUM_DATABASE', 'database', (o) => o.default('postgres://postgres@127.0.0.1:5432/novum')),
  flag('--amqp-url <url>', 'RabbitMQ URL, vhost included', 'NOVUM_AMQP_URL', 'amqpUrl', (o) => o.default('amqp://guest:guest@127.0.0.1:5672')),
  flag('--exchange <name>', 'AMQP control exchange (oslo control_exchange)', 'NOVUM_AMQP_EXCHANGE', 'exchange', (o) => o.default('novum')),
  flag('--amqp-reconnect-max-delay <sec>', 'longest pause between attempts to reconnect to RabbitMQ', 'NOVUM_AMQP_RECONNECT_MAX_DELAY', 'amqpReconnectMaxDelay', (o) => o.default(1).argParser(seconds('--amqp-reconnect-max-delay'))),
  flag('--computes <n>', 'number of compute agents (one process and one host each; 0 runs the control services only)', 'NOVUM_COMPUTES', 'computes', (o) => o.default(3).argParser(int('--computes', 0))),
  flag('--host <name>', 'host name of the conductor and scheduler services', 'NOVUM_HOST', 'host', (o) => o.default(hostname())),
  flag('--bind <address>', 'address the APIs listen on', 'NOVUM_BIND', 'bind', (o) => o.default('127.0.0.1')),
  flag('--compute-port <port>', 'Compute API port', 'NOVUM_COMPUTE_PORT', 'computePort', (o) => o.default(8774).argParser(port('--compute-port'))),
  flag('--identity-port <port>', 'Identity (Keystone v3) API port', 'NOVUM_IDENTITY_PORT', 'identityPort', (o) => o.default(5000).argParser(port('--identity-port'))),
  flag('--image-port <port>', 'Image (Glance v2) API port', 'NOVUM_IMAGE_PORT', 'imagePort', (o) => o.default(9292).argParser(port('--image-port'))),
  flag('--placement-port <port>', 'Placement API port', 'NOVUM_PLACEMENT_PORT', 'placementPort', (o) => o.default(8778).argParser(port('--placement-port'))),
  flag('--driver <name>', 'virt driver of the compute agents: fake, or a driver package (libvirt, lxc); settings from NOVUM_DRIVER_<KEY>', 'NOVUM_DRIVER', 'driver', (o) => o.default('fake')),
  flag('--fake-delay <spec>', 'fake driver latencies, [host:]operation=ms,… e.g. compute-2:spawn=30000', 'NOVUM_FAKE_DELAY', 'fakeDelay', (o) => o.default('')),
  flag('--host-vcpus <n>', 'vCPUs per fake host', 'NOVUM_HOST_VCPUS', 'hostVcpus', (o) => o.default(32).argParser(int('--host-vcpus', 1))),
  flag('--host-memory-mb <mb>', 'memory per fake host, MiB', 'NOVUM_HOST_MEMORY_MB', 'hostMemoryMb', (o) => o.default(131072).argParser(int('--host-memory-mb', 1))),
  flag('--host-disk-gb <gb>', 'disk per fake host, GiB', 'NOVUM_HOST_DISK_GB', 'hostDiskGb', (o) => o.default(2000).argParser(int('--host-disk-gb', 1))),
  flag('--report-interval <sec>', 'seconds between service heartbeats (Nova report_interval)', 'NOVUM_REPORT_INTERVAL', 'reportInterval', (o) => o.default(10).argParser(seconds('--report-interval'))),
  flag('--service-down-time <sec>', 'whole seconds without a heartbeat before a service is down (Nova service_down_time)', 'NOVUM_SERVICE_DOWN_TIME', 'serviceDownTime', (o) => o.default(60).argParser(int('--service-down-time', 1))),
  flag('--rpc-timeout <sec>', 'seconds an RPC call waits for its reply (Nova rpc_response_timeout)', 'NOVUM_RPC_TIMEOUT', 'rpcTimeout', (o) => o.default(60).argParser(seconds('--rpc-timeout'))),
  flag('--max-concurrent-builds <n>', 'builds one compute agent runs at once (0 = unlimited)', 'NOVUM_MAX_CONCURRENT_BUILDS', 'maxConcurrentBuilds', (o) => o.default(10).argParser(int('--max-concurrent-builds'))),
  flag('--restart <policy>', 'what the supervisor does when a child dies', 'NOVUM_RESTART', 'restart', (o) => o.default('never').choices(['never', 'on-failure'])),
  flag('--stop-timeout <sec>', 'seconds each shutdown phase may take before the rest is killed', 'NOVUM_STOP_TIMEOUT', 'stopTimeout', (o) => o.default(30).argParser(seconds('--stop-timeout'))),
  flag('--log-level <level>', 'log level', 'NOVUM_LOG_LEVEL', 'logLevel', (o) => o.default('info').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])),
  flag('--admin-password <password>', 'admin password (generated at first start if unset)', 'NOVUM_ADMIN_PASSWORD', 'adminPassword'),
  flag('--image-dir <path>', 'where compute agents with a real driver read image data (<dir>/<image id>)', 'NOVUM_IMAGE_DIR', 'imageDir'),
]

/** The per-process flag of `service compute`: which host this agent is. */
const COMPUTE_HOST_FLAG = flag('--compute-host <name>', 'the host of this compute agent (service compute only)', 'NOVUM_COMPUTE_HOST', 'computeHost')

/** The command line. `up` (the default) starts the supervisor, `init` prepares the database, `service <role>` runs one service. */
export function buildCommand(): Command {
  const cmd = new Command('novum-multi-node')
    .description(
      'Novum as separate processes: api (Compute, Identity, Image and Placement APIs), conductor, scheduler and N compute agents ' +
        'over RabbitMQ and PostgreSQL or MariaDB, under one supervisor.',
    )
    .argument('[command]', 'up (default): start everything; init: create and migrate the database, bootstrap; service <role>: run one service', 'up')
    .argument('[role]', 'with `service`: api, conductor, scheduler or compute')
  for (const f of [...FLAGS, COMPUTE_HOST_FLAG]) cmd.addOption(f.option)
  return cmd
}

/** What `main.ts` was asked to do. */
export type Invocation =
  | { readonly command: 'up'; readonly options: MultiNodeOptions }
  | { readonly command: 'init'; readonly options: MultiNodeOptions }
  | { readonly command: 'service'; readonly role: 'api' | 'conductor' | 'scheduler'; readonly options: MultiNodeOptions }
  | { readonly command: 'service'; readonly role: 'compute'; readonly host: string; readonly options: MultiNodeOptions }

const ROLES = ['api', 'conductor', 'scheduler', 'compute'] as const

/** Parses argv (and the environment) into an {@link Invocation}; `--help` prints every flag and exits. */
export function parseInvocation(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Invocation {
  const cmd = buildCommand()
  cmd.exitOverride()
  // commander reads option defaults from process.env; parse against the given environment.
  const saved = process.env
  process.env = env
  try {
    cmd.parse([...argv], { from: 'user' })
  } finally {
    process.env = saved
  }
  const [command = 'up', role] = cmd.processedArgs as [string | undefined, string | undefined]
  const raw = cmd.opts<RawOptions>()
  const options = resolveOptions(raw, env, cwd)
  if (command === 'up' || command === 'init') {
    if (role !== undefined) throw new InvalidArgumentError(`\`${command}\` takes no role (got "${role}")`)
    return { command, options }
  }
  if (command !== 'service') throw new InvalidArgumentError(`unknown command "${command}" (known: up, init, service <role>)`)
  if (!role || !(ROLES as readonly string[]).includes(role)) throw new InvalidArgumentError(`service needs a role: ${ROLES.join(', ')} (got "${role ?? ''}")`)
  if (role === 'compute') {
    if (typeof raw.computeHost !== 'string' || raw.computeHost === '') throw new InvalidArgumentError('service compute needs --compute-host <name>')
    return { command: 'service', role: 'compute', host: raw.computeHost, options }
  }
  return { command: 'service', role: role as 'api' | 'conductor' | 'scheduler', options }
}

function resolveOptions(o: RawOptions, env: NodeJS.ProcessEnv, cwd: string): MultiNodeOptions {
  const fakeDelaySpec = String(o.fakeDelay ?? '')
  const options: MultiNodeOptions = {
    dataDir: resolve(cwd, String(o.dataDir)),
    database: normaliseDatabaseUrl(String(o.database)),
    amqpUrl: String(o.amqpUrl),
    exchange: String(o.exchange),
    amqpReconnectMaxDelaySec: Number(o.amqpReconnectMaxDelay),
    computes: Number(o.computes),
    host: String(o.host),
    bind: String(o.bind),
    computePort: Number(o.computePort),
    identityPort: Number(o.identityPort),
    imagePort: Number(o.imagePort),
    placementPort: Number(o.placementPort),
    driver: String(o.driver),
    fakeDelaySpec,
    fakeDelays: parseFakeDelays(fakeDelaySpec),
    hostVcpus: Number(o.hostVcpus),
    hostMemoryMb: Number(o.hostMemoryMb),
    hostDiskGb: Number(o.hostDiskGb),
    reportIntervalSec: Number(o.reportInterval),
    serviceDownTimeSec: Number(o.serviceDownTime),
    rpcTimeoutSec: Number(o.rpcTimeout),
    maxConcurrentBuilds: Number(o.maxConcurrentBuilds),
    restart: o.restart as MultiNodeOptions['restart'],
    stopTimeoutSec: Number(o.stopTimeout),
    logLevel: String(o.logLevel),
    adminPassword: typeof o.adminPassword === 'string' ? o.adminPassword : null,
    imageDir: typeof o.imageDir === 'string' ? resolve(cwd, o.imageDir) : null,
    driverSettings: driverSettingsFromEnv(env),
  }
  // NOTE: a service reporting no faster than it is judged would flap between up and down (Nova does not check this).
  if (options.reportIntervalSec >= options.serviceDownTimeSec) {
    throw new InvalidArgumentError(
      `--report-interval (${options.reportIntervalSec} s) must be shorter than --service-down-time (${options.serviceDownTimeSec} s), or services would show down while alive`,
    )
  }
  databaseFamily(options.database)
  return options
}

/** `mariadb://` → `mysql://` (the mysql2 driver speaks to both); other URLs unchanged. */
export function normaliseDatabaseUrl(url: string): string {
  return url.startsWith('mariadb://') ? `mysql://${url.slice('mariadb://'.length)}` : url
}

/** The family of a database URL; throws for anything else. */
export function databaseFamily(url: string): DatabaseFamily {
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres'
  if (/^mysql:\/\//.test(url)) return 'mysql'
  throw new InvalidArgumentError(`--database must be a postgres://, postgresql://, mysql:// or mariadb:// URL, got "${url.replace(/:[^:@/]*@/, ':***@')}"`)
}

/** The database name of a URL (its path), `novum` when it has none. */
export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''))
  return name === '' ? 'novum' : name
}

/** `NOVUM_DRIVER_URI=qemu:///system` → `{ uri: 'qemu:///system' }` (the `NOVUM_DRIVER` variable itself excluded). */
export function driverSettingsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('NOVUM_DRIVER_') && v !== undefined) out[k.slice('NOVUM_DRIVER_'.length).toLowerCase()] = v
  }
  return out
}

/**
 * The environment that makes a child process parse exactly `options`: every flag's variable, set from the resolved
 * value. The supervisor starts its children with it, so they all share one configuration.
 */
export function optionsToEnv(options: MultiNodeOptions): Record<string, string> {
  const values: Record<keyof RawOptions, string | null> = {
    dataDir: options.dataDir,
    database: options.database,
    amqpUrl: options.amqpUrl,
    exchange: options.exchange,
    amqpReconnectMaxDelay: String(options.amqpReconnectMaxDelaySec),
    computes: String(options.computes),
    host: options.host,
    bind: options.bind,
    computePort: String(options.computePort),
    identityPort: String(options.identityPort),
    imagePort: String(options.imagePort),
    placementPort: String(options.placementPort),
    driver: options.driver,
    fakeDelay: options.fakeDelaySpec,
    hostVcpus: String(options.hostVcpus),
    hostMemoryMb: String(options.hostMemoryMb),
    hostDiskGb: String(options.hostDiskGb),
    reportInterval: String(options.reportIntervalSec),
    serviceDownTime: String(options.serviceDownTimeSec),
    rpcTimeout: String(options.rpcTimeoutSec),
    maxConcurrentBuilds: String(options.maxConcurrentBuilds),
    restart: options.restart,
    stopTimeout: String(options.stopTimeoutSec),
    logLevel: options.logLevel,
    adminPassword: options.adminPassword,
    imageDir: options.imageDir,
    computeHost: null,
  }
  const env: Record<string, string> = {}
  for (const f of FLAGS) {
    const v = values[f.key]
    if (v !== null) env[f.env] = v
  }
  for (const [k, v] of Object.entries(options.driverSettings)) env[`NOVUM_DRIVER_${k.toUpperCase()}`] = v
  return env
}

/** The compute host names of a deployment: `compute-1` … `compute-N`. */
export function computeHostNames(options: Pick<MultiNodeOptions, 'computes'>): string[] {
  return Array.from({ length: options.computes }, (_, i) => `compute-${i + 1}`)
}

/** Removes the password from a URL, for printing. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}
