import type { HostState } from '../model/host-state.js'
import type { RequestServerGroup, RequestSpec } from '../model/request-spec.js'
import type { FilterResult, HostFilter } from '../scheduler/filter.js'
import { createSchedulerProfile } from '../scheduler/profile.js'
import { createRegistry, type SchedulerPlugin } from '../scheduler/registry.js'
import type { RequestFilter } from '../scheduler/request-filter.js'
import { type WeighedHost, weighHosts } from '../scheduler/weigh.js'
import type { HostWeigher } from '../scheduler/weigher.js'
import { makeFlavor, makeImageMeta } from './make-instance.js'

/** `T` with every property optional, recursively (arrays are replaced whole, not merged). */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Merges `overrides` into `base`: nested objects merge, arrays and scalars replace, `undefined` keeps the base. */
function merge<T>(base: T, overrides: unknown): T {
  if (!isPlainObject(overrides) || !isPlainObject(base)) return (overrides === undefined ? base : overrides) as T
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? merge(out[k], v) : v
  }
  return out as T
}

/** A deterministic uuid derived from a name (FNV-1a), so fixtures built from the same name agree. */
export function uuidFromName(name: string): string {
  let h1 = 0x811c9dc5
  let h2 = 0x01000193
  for (let i = 0; i < name.length; i++) {
    h1 = Math.imul(h1 ^ name.charCodeAt(i), 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ name.charCodeAt(i), 0x811c9dc5) >>> 0
  }
  const hex = (h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')).padEnd(16, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8000-${hex.slice(0, 12)}`
}

/**
 * A scheduler `HostState` fixture: a healthy, enabled, up compute node named `host1` with 16 vCPUs (none used),
 * 32 GiB RAM and 500 GiB disk free, QEMU 6.2 on x86_64. `nodename` defaults to `host`, and `uuid` is derived from
 * `nodename`, so ids are deterministic. Nested objects (`service`, `stats`, `metrics`, `cpuInfo`) merge with the
 * defaults; arrays replace them.
 *
 * @example
 * ```ts
 * const down = makeHostState({ host: 'h2', service: { up: false } })
 * ```
 */
export function makeHostState(overrides: DeepPartial<HostState> = {}): HostState {
  const host = (overrides.host ?? 'host1') as string
  const nodename = (overrides.nodename ?? host) as string
  const base: HostState = {
    host,
    nodename,
    uuid: uuidFromName(nodename),
    totalUsableRamMb: 32768,
    freeRamMb: 32768,
    totalUsableDiskGb: 500,
    freeDiskMb: 500 * 1024,
    vcpusTotal: 16,
    vcpusUsed: 0,
    cpuAllocationRatio: 16,
    ramAllocationRatio: 1.5,
    diskAllocationRatio: 1,
    numInstances: 0,
    numIoOps: 0,
    failedBuilds: 0,
    hostIp: '192.0.2.10',
    hypervisorType: 'QEMU',
    hypervisorVersion: 6_002_000,
    hypervisorHostname: nodename,
    cpuInfo: { arch: 'x86_64', vendor: 'Intel', features: ['sse4.2', 'avx2'] },
    supportedInstances: [['x86_64', 'qemu', 'hvm']],
    metrics: {},
    stats: {},
    aggregates: [],
    instanceUuids: [],
    service: { disabled: false, disabledReason: null, forcedDown: false, up: true },
    traits: [],
    updatedAt: '2026-01-01T00:00:00.000Z',
  }
  return merge(base, overrides)
}

const DEFAULT_GROUP: RequestServerGroup = {
  uuid: uuidFromName('group-1'),
  policy: 'anti-affinity',
  rules: {},
  hosts: [],
  members: [],
}

/**
 * A `RequestSpec` fixture: one instance (`00000000-0000-4000-8000-000000000001`) of an `m1.small`-like flavor
 * from a raw image, no group, no hints. Nested objects merge (`flavor.extraSpecs`, `image.properties`); giving
 * `instanceGroup` fills the rest of the group from an anti-affinity default.
 *
 * @example
 * ```ts
 * const spec = makeRequestSpec({ flavor: { vcpus: 4, extraSpecs: { 'hw:cpu_policy': 'dedicated' } } })
 * ```
 */
export function makeRequestSpec(overrides: DeepPartial<RequestSpec> = {}): RequestSpec {
  const base: RequestSpec = {
    instanceUuids: ['00000000-0000-4000-8000-000000000001'],
    projectId: 'project-1',
    userId: 'user-1',
    flavor: makeFlavor(),
    image: makeImageMeta(),
    availabilityZone: null,
    schedulerHints: {},
    instanceGroup: null,
    ignoreHosts: [],
    requestedHost: null,
    requestedNode: null,
    isRebuild: false,
  }
  const { instanceGroup, ...rest } = overrides
  const spec = merge(base, rest)
  if (instanceGroup === undefined) return spec
  return { ...spec, instanceGroup: instanceGroup === null ? null : merge(DEFAULT_GROUP, instanceGroup) }
}

/** Options of {@link runFilter}. */
export interface RunFilterOptions<Options, State> {
  /** @default the filter's `defaultOptions` */
  readonly options?: Options
  /** What `prepare` would have returned. */
  readonly state?: State
  /** @default 0 */
  readonly instanceIndex?: number
  /** @default the request's first instance uuid */
  readonly instanceUuid?: string | null
}

/**
 * Runs one filter on one host, as the scheduler would (synchronously, without `prepare`), and returns its verdict.
 *
 * @example
 * ```ts
 * expect(runFilter(ComputeFilter, makeHostState({ service: { up: false } }), makeRequestSpec()).passed).toBe(false)
 * ```
 */
export function runFilter<Options, State>(filter: HostFilter<Options, State>, host: HostState, request: RequestSpec, options: RunFilterOptions<Options, State> = {}): FilterResult {
  return filter.filter(host, request, {
    options: (options.options ?? filter.defaultOptions) as Options,
    state: options.state as State,
    instanceIndex: options.instanceIndex ?? 0,
    instanceUuid: options.instanceUuid === undefined ? (request.instanceUuids[options.instanceIndex ?? 0] ?? null) : options.instanceUuid,
  })
}

/** Options of {@link runWeigher}. */
export interface RunWeigherOptions<Options> {
  /** @default the weigher's `defaultMultiplier`, else 1 */
  readonly multiplier?: number
  /** @default the weigher's `defaultOptions` */
  readonly options?: Options
}

/**
 * Weighs hosts with one weigher, as the scheduler would (clamp, normalise, multiply, sort heaviest first), and
 * returns them with their scores.
 *
 * @example
 * ```ts
 * const [best] = runWeigher(RamWeigher, [makeHostState({ host: 'a', freeRamMb: 1024 }), makeHostState({ host: 'b' })], makeRequestSpec())
 * ```
 */
export function runWeigher<Options, State>(weigher: HostWeigher<Options, State>, hosts: readonly HostState[], request: RequestSpec, options: RunWeigherOptions<Options> = {}): WeighedHost[] {
  const prepared = { plugin: weigher, options: options.options ?? weigher.defaultOptions, state: undefined, multiplier: options.multiplier ?? weigher.defaultMultiplier ?? 1 }
  return weighHosts([prepared], hosts, request, { instanceUuid: request.instanceUuids[0] ?? null, instanceIndex: 0 })
}

/**
 * Checks the `appliesTo` contract of a filter or weigher on some hosts: when the plugin answers false for the
 * request, a filter must pass every host and a weigher must give every host the same raw value (the scheduler then
 * skips it). Returns what broke the contract, one line per host; empty when the contract holds or the plugin
 * applies. Plugin authors run it over their fixtures (or a property-based generator) next to their other tests.
 *
 * @example
 * ```ts
 * expect(appliesToViolations(AcmeLabelFilter, hosts, makeRequestSpec({ flavor: { extraSpecs: {} } }))).toEqual([])
 * ```
 */
export function appliesToViolations<Options, State>(
  plugin: HostFilter<Options, State> | HostWeigher<Options, State>,
  hosts: readonly HostState[],
  request: RequestSpec,
  options: RunFilterOptions<Options, State> = {},
): string[] {
  const ctx = {
    options: (options.options ?? plugin.defaultOptions) as Options,
    state: options.state as State,
    instanceIndex: options.instanceIndex ?? 0,
    instanceUuid: options.instanceUuid === undefined ? (request.instanceUuids[options.instanceIndex ?? 0] ?? null) : options.instanceUuid,
  }
  if (!plugin.appliesTo || plugin.appliesTo(request, ctx)) return []
  const out: string[] = []
  if ('filter' in plugin) {
    for (const host of hosts) {
      const verdict = plugin.filter(host, request, ctx)
      if (!verdict.passed) out.push(`${plugin.name} does not apply, yet rejects host ${host.host}: ${verdict.reason}`)
    }
    return out
  }
  const first = hosts[0]
  if (!first) return out
  const expected = plugin.weigh(first, request, ctx)
  for (const host of hosts.slice(1)) {
    const value = plugin.weigh(host, request, ctx)
    if (value !== expected) out.push(`${plugin.name} does not apply, yet weighs host ${host.host} ${value} and host ${first.host} ${expected}`)
  }
  return out
}

/**
 * Validates a plugin's options exactly as a deployment does at start-up (ajv against `optionsSchema`, schema
 * defaults applied, `defaultOptions` when none are given) and returns them; invalid options throw the deployment's
 * `ComputeError('INVALID')`, e.g. `invalid options for scheduler plugin "AcmeLabelFilter": options must have
 * required property 'hostLabels'`.
 *
 * @example
 * ```ts
 * expect(validatePluginOptions(AcmeCostWeigher, { hourlyCost: {} })).toEqual({ hourlyCost: {}, defaultCost: 1 })
 * ```
 */
export function validatePluginOptions<Options>(plugin: HostFilter<Options, never> | HostWeigher<Options, never> | RequestFilter<Options>, options?: unknown): Options {
  const p = plugin as SchedulerPlugin
  const registry = createRegistry().register(p)
  const config = {
    filters: registry.filter(p.name) ? [p.name] : [],
    weighers: registry.weigher(p.name) ? { [p.name]: 1 } : {},
    requestFilters: registry.requestFilter(p.name) ? [p.name] : [],
    ...(options !== undefined ? { pluginOptions: { [p.name]: options } } : {}),
  }
  const profile = createSchedulerProfile(registry, config)
  const configured = profile.filters[0] ?? profile.weighers[0] ?? profile.requestFilters[0]
  return configured?.options as Options
}
