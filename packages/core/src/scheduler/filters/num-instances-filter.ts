import { defineFilter, pass, reject } from '../filter.js'

/** Options of {@link NumInstancesFilter}. */
export interface NumInstancesFilterOptions {
  /** Hosts running this many instances or more are skipped (Nova `max_instances_per_host`). @default 50 */
  readonly maxInstancesPerHost: number
}

/** Caps instances per host (Nova `NumInstancesFilter`): passes while `numInstances < maxInstancesPerHost`. */
export const NumInstancesFilter = defineFilter<NumInstancesFilterOptions>({
  name: 'NumInstancesFilter',
  optionsSchema: {
    type: 'object',
    properties: { maxInstancesPerHost: { type: 'integer', minimum: 0, default: 50 } },
    additionalProperties: false,
  },
  defaultOptions: { maxInstancesPerHost: 50 },
  filter: (host, _request, { options }) =>
    host.numInstances < options.maxInstancesPerHost ? pass() : reject(`${host.numInstances} instances, max_instances_per_host is ${options.maxInstancesPerHost}`),
})
