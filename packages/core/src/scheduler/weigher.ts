import type { HostState } from '../model/host-state.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { PluginContext } from './filter.js'

/**
 * A scheduler weigher: ranks the hosts that passed the filters. It returns a raw number, higher is better.
 * The framework clamps raw values to `[minValue, maxValue]` when set, normalises them to 0–1 over all hosts
 * (with `minValue`/`maxValue` as the bounds when set, else the observed min and max; all equal → 0), multiplies
 * by the configured multiplier (or the host's aggregate override), and sums over weighers (`nova/weights.py`).
 *
 * `weigh` is synchronous and pure, like a filter's `filter`.
 *
 * @example
 * ```ts
 * const FewestInstancesWeigher = defineWeigher({
 *   name: 'FewestInstancesWeigher',
 *   weigh: (host) => -host.numInstances,
 * }) satisfies HostWeigher
 * ```
 */
export interface HostWeigher<Options = undefined, State = undefined> {
  /** The unique name the deployer lists in configuration; the same as the export's name. */
  readonly name: string
  /** JSON Schema for `options`; options are validated once, at start-up. */
  readonly optionsSchema?: Readonly<Record<string, unknown>>
  /** Default options when configuration gives none. */
  readonly defaultOptions?: Options
  /** The multiplier when configuration names none. @default 1 */
  readonly defaultMultiplier?: number
  /** The aggregate metadata key whose value overrides the multiplier per host (minimum across aggregates). */
  readonly aggregateMultiplierKey?: string
  /** Raw values below it are raised to it, and it is the lower bound of normalisation (Nova `minval`). */
  readonly minValue?: number
  /** Raw values above it are lowered to it, and it is the upper bound of normalisation (Nova `maxval`). */
  readonly maxValue?: number
  /** Per-request preparation (I/O allowed); its result is `ctx.state`. */
  prepare?(request: RequestSpec, ctx: { readonly options: Options }): State | Promise<State>
  /**
   * Whether the weigher can tell hosts apart for this request, asked once per instance before any host is weighed.
   * When it answers false the weigher does not run: it would give every host the same raw value, which normalises
   * to 0 everywhere, and the explanation lists it as not applicable. Without it the weigher always runs.
   */
  appliesTo?(request: RequestSpec, ctx: PluginContext<Options, State>): boolean
  /** The raw weight of one host: higher is better. Must be a finite number. */
  weigh(host: HostState, request: RequestSpec, ctx: PluginContext<Options, State>): number
  /**
   * The raw weights of many hosts at once, written to `out[i]` for `hosts[i]`: the same numbers `weigh` gives, in one
   * call (the scheduler weighs a thousand hosts per decision, and one loop per weigher is cheaper than a call per
   * host). Optional; `weigh` is used without it.
   */
  weighAll?(hosts: readonly HostState[], request: RequestSpec, ctx: PluginContext<Options, State>, out: Float64Array): void
}

/** Defines a weigher; the identity function, for type inference. */
export function defineWeigher<Options = undefined, State = undefined>(
  definition: HostWeigher<Options, State>,
): HostWeigher<Options, State> {
  return Object.freeze({ ...definition })
}
