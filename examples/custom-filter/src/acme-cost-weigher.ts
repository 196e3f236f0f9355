import { defineWeigher, type HostWeigher } from '@novum/core/scheduler'

/** Options of {@link AcmeCostWeigher}: what an hour on each host costs. */
export interface AcmeCostWeigherOptions {
  /** Host name → cost per hour (any currency unit, ≥ 0). */
  readonly hourlyCost: Readonly<Record<string, number>>
  /** The cost of hosts not listed. @default 1 */
  readonly defaultCost: number
}

/**
 * Prefers cheaper hosts: the raw weight is the negated hourly cost of the host (higher is better), normalised by the
 * framework and multiplied by the configured multiplier (default 1; raise it to let cost outweigh free RAM). A
 * per-aggregate override is read from the `acme_cost_weight_multiplier` metadata key.
 *
 * @example
 * ```ts
 * // scheduler config: { weighers: { ...DEFAULT_WEIGHERS, AcmeCostWeigher: 10 },
 * //                     pluginOptions: { AcmeCostWeigher: { hourlyCost: { 'compute-1': 0.5 } } } }
 * ```
 */
export const AcmeCostWeigher = defineWeigher<AcmeCostWeigherOptions>({
  name: 'AcmeCostWeigher',
  defaultMultiplier: 1,
  aggregateMultiplierKey: 'acme_cost_weight_multiplier',
  optionsSchema: {
    type: 'object',
    properties: {
      hourlyCost: { type: 'object', additionalProperties: { type: 'number', minimum: 0 }, default: {} },
      defaultCost: { type: 'number', minimum: 0, default: 1 },
    },
    additionalProperties: false,
  },
  defaultOptions: { hourlyCost: {}, defaultCost: 1 },
  weigh: (host, _request, { options }) => -(options.hourlyCost[host.host] ?? options.defaultCost),
}) satisfies HostWeigher<AcmeCostWeigherOptions>
