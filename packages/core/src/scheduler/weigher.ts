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
  readonly name: string
  readonly optionsSchema?: Readonly<Record<string, unknown>>
  readonly defaultOptions?: Options
  /** The multiplier when configuration names none. @default 1 */
  readonly defaultMultiplier?: number
  /** The aggregate metadata key whose value overrides the multiplier per host (minimum across aggregates). */
  readonly aggregateMultiplierKey?: string
  readonly minValue?: number
  readonly maxValue?: number
  prepare?(request: RequestSpec, ctx: { readonly options: Options }): State | Promise<State>
  weigh(host: HostState, request: RequestSpec, ctx: PluginContext<Options, State>): number
}

/** Defines a weigher; the identity function, for type inference. */
export function defineWeigher<Options = undefined, State = undefined>(
  definition: HostWeigher<Options, State>,
): HostWeigher<Options, State> {
  return Object.freeze({ ...definition })
}
