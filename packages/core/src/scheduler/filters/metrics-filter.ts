import { defineFilter, pass, reject } from '../filter.js'
import { parseWeightSetting } from '../weighers/metrics-weigher.js'

/** Options of {@link MetricsFilter}. */
export interface MetricsFilterOptions {
  /** Nova `[metrics] weight_setting`, e.g. `['cpu.frequency=1', 'cpu.percent=-1.0']`: the metrics a host must report. @default [] */
  readonly weightSetting: readonly string[]
}

/**
 * Keeps hosts that report every metric the metrics weigher uses (Nova `MetricsFilter`): the names of
 * `weightSetting` must all be in the host's metrics. Give it the same `weightSetting` as {@link MetricsWeigher}.
 */
export const MetricsFilter = defineFilter<MetricsFilterOptions, readonly string[]>({
  name: 'MetricsFilter',
  optionsSchema: {
    type: 'object',
    properties: { weightSetting: { type: 'array', items: { type: 'string', pattern: '^[^=]+=\\s*-?[0-9.eE+-]+\\s*$' }, default: [] } },
    additionalProperties: false,
  },
  defaultOptions: { weightSetting: [] },
  prepare: (_request, { options }) => parseWeightSetting(options.weightSetting).map(([name]) => name),
  appliesTo: (_request, { options, state }) => (state ?? options.weightSetting).length > 0,
  filter(host, _request, { options, state }) {
    const names = state ?? parseWeightSetting(options.weightSetting).map(([name]) => name)
    const missing = names.filter((n) => host.metrics[n] === undefined)
    return missing.length === 0 ? pass() : reject(`host does not report metric(s) ${missing.join(', ')}`)
  },
})
