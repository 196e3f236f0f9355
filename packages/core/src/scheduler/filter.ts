import type { HostState } from '../model/host-state.js'
import type { RequestSpec } from '../model/request-spec.js'

/** A filter's verdict on one host: a value, never an exception. */
export type FilterResult = { readonly passed: true } | { readonly passed: false; readonly reason: string; readonly unresolvable: boolean }

const PASS: FilterResult = Object.freeze({ passed: true })

/** The host passes the filter. */
export function pass(): FilterResult {
  return PASS
}

/**
 * The host fails the filter, with a lower-case reason naming the values involved
 * (e.g. `wants 2 GPU(s), host has 0`). `unresolvable` says that no other host state would help either.
 */
export function reject(reason: string, options?: { readonly unresolvable?: boolean }): FilterResult {
  return { passed: false, reason, unresolvable: options?.unresolvable ?? false }
}

/** What a filter or weigher receives besides the host and request. */
export interface PluginContext<Options, State> {
  /** The plugin's options from configuration, validated at start-up. */
  readonly options: Options
  /** What `prepare` returned for this request (undefined without `prepare`). */
  readonly state: State
  /**
   * The instance being placed: one of `request.instanceUuids` (a multi-create places them one after another, and
   * the host states and `request.instanceGroup.hosts` reflect the instances placed before it). Null when no
   * instance is involved (e.g. a dry run).
   */
  readonly instanceUuid: string | null
  /** The index of {@link PluginContext.instanceUuid} in the request (0 for the first instance). */
  readonly instanceIndex: number
}

/**
 * A scheduler filter: removes hosts that cannot take the request. Filters run in the configured order,
 * only on hosts that Placement returned, most restrictive first.
 *
 * Contract:
 * - `filter` is synchronous and pure: it reads only the `HostState` and `RequestSpec` it is given.
 * - If it needs I/O, it declares `prepare(request, ctx)`, which runs once per request; its result is `ctx.state`.
 * - It returns {@link pass} or {@link reject}; a throw is a bug in the plugin, and the request fails with
 *   `ComputeError('PLUGIN')`.
 *
 * @example
 * ```ts
 * const EvenHostsFilter = defineFilter({
 *   name: 'EvenHostsFilter',
 *   filter: (host) => (host.host.endsWith('2') ? pass() : reject(`host ${host.host} is odd`)),
 * }) satisfies HostFilter
 * ```
 */
export interface HostFilter<Options = undefined, State = undefined> {
  /** The unique name the deployer lists in configuration; the same as the export's name. */
  readonly name: string
  /** JSON Schema for `options`; options are validated once, at start-up. */
  readonly optionsSchema?: Readonly<Record<string, unknown>>
  /** Default options when configuration gives none. */
  readonly defaultOptions?: Options
  /** Run for the first instance of a multi-create only (Nova `run_filter_once_per_request`). @default false */
  readonly runOncePerRequest?: boolean
  /** Also run for a same-host rebuild (Nova `RUN_ON_REBUILD`). @default false */
  readonly runOnRebuild?: boolean
  /** Per-request preparation (I/O allowed). */
  prepare?(request: RequestSpec, ctx: { readonly options: Options }): State | Promise<State>
  /**
   * Whether the filter has anything to say about this request, asked once per instance before any host is seen.
   * When it answers false the filter does not run: every host passes it, and the explanation lists it as not
   * applicable. It must answer false only when `filter` would pass every host (Nova's filters make the same check
   * at the top of `host_passes`, e.g. "no server group"). Without it the filter always runs.
   */
  appliesTo?(request: RequestSpec, ctx: PluginContext<Options, State>): boolean
  /** The verdict for one host. */
  filter(host: HostState, request: RequestSpec, ctx: PluginContext<Options, State>): FilterResult
}

/** Defines a filter; the identity function, for type inference. */
export function defineFilter<Options = undefined, State = undefined>(
  definition: HostFilter<Options, State>,
): HostFilter<Options, State> {
  return Object.freeze({ ...definition })
}
