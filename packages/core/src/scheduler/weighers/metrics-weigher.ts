import { ComputeError } from '../../errors/compute-error.js'
import { defineWeigher } from '../weigher.js'

/** Options of {@link MetricsWeigher} (Nova's `[metrics]` section). */
export interface MetricsWeigherOptions {
  /** `name=ratio` pairs: the raw weight is Σ metric × ratio (Nova `weight_setting`). @default [] */
  readonly weightSetting: readonly string[]
  /** A host missing a metric fails the request (Nova `required`); else it weighs `weightOfUnavailable`. @default true */
  readonly required: boolean
  /** The raw weight of a host missing a metric when not `required`. @default -10000 */
  readonly weightOfUnavailable: number
}

/** Parses Nova's `weight_setting` list (`name=ratio`) into pairs; a malformed entry is `ComputeError('INVALID')`. */
export function parseWeightSetting(setting: readonly string[]): [name: string, ratio: number][] {
  return setting.map((entry) => {
    const at = entry.indexOf('=')
    const name = entry.slice(0, at).trim()
    const ratio = Number(entry.slice(at + 1).trim())
    if (at < 1 || name === '' || !Number.isFinite(ratio)) throw new ComputeError('INVALID', `invalid metrics weight_setting entry "${entry}": must be name=ratio`)
    return [name, ratio]
  })
}

/**
 * Weighs hosts by the metrics they report (Nova `MetricsWeigher`): raw weight Σ `metric × ratio` over
 * `weightSetting`. A host missing a metric weighs `weightOfUnavailable`, or, with `required` (Nova's default),
 * fails the request as Nova does: enable `MetricsFilter` with the same setting to remove such hosts first.
 * Aggregate override key `metrics_weight_multiplier`.
 */
export const MetricsWeigher = defineWeigher<MetricsWeigherOptions, readonly [string, number][]>({
  name: 'MetricsWeigher',
  defaultMultiplier: 1,
  aggregateMultiplierKey: 'metrics_weight_multiplier',
  optionsSchema: {
    type: 'object',
    properties: {
      weightSetting: { type: 'array', items: { type: 'string', pattern: '^[^=]+=\\s*-?[0-9.eE+-]+\\s*$' }, default: [] },
      required: { type: 'boolean', default: true },
      weightOfUnavailable: { type: 'number', default: -10000 },
    },
    additionalProperties: false,
  },
  defaultOptions: { weightSetting: [], required: true, weightOfUnavailable: -10000 },
  prepare: (_request, { options }) => parseWeightSetting(options.weightSetting),
  appliesTo: (_request, { options, state }) => (state ?? options.weightSetting).length > 0,
  weigh(host, _request, { options, state }) {
    let value = 0
    for (const [name, ratio] of state ?? parseWeightSetting(options.weightSetting)) {
      const metric = host.metrics[name]
      if (metric === undefined) {
        // NOTE: as Nova (ComputeHostMetricNotFound): with `required` a missing metric fails the whole request.
        if (options.required) throw new ComputeError('INVALID', `host ${host.host} does not report metric ${name} (MetricsWeigher required=true; enable MetricsFilter to skip such hosts)`)
        return options.weightOfUnavailable
      }
      value += metric * ratio
    }
    return value
  },
})
