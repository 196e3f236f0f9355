import { defineFilter, pass, reject } from '../filter.js'

/** Options of {@link IoOpsFilter}. */
export interface IoOpsFilterOptions {
  /** Hosts with this many I/O-heavy operations in flight or more are skipped (Nova `max_io_ops_per_host`). @default 8 */
  readonly maxIoOpsPerHost: number
}

/** Skips hosts busy with I/O-heavy work (Nova `IoOpsFilter`): passes while `numIoOps < maxIoOpsPerHost`. */
export const IoOpsFilter = defineFilter<IoOpsFilterOptions>({
  name: 'IoOpsFilter',
  optionsSchema: {
    type: 'object',
    properties: { maxIoOpsPerHost: { type: 'integer', minimum: 0, default: 8 } },
    additionalProperties: false,
  },
  defaultOptions: { maxIoOpsPerHost: 8 },
  filter: (host, _request, { options }) =>
    host.numIoOps < options.maxIoOpsPerHost ? pass() : reject(`${host.numIoOps} I/O operations in flight, max_io_ops_per_host is ${options.maxIoOpsPerHost}`),
})
