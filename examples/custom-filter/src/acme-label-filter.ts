import { defineFilter, pass, reject, type HostFilter, type RequestSpec } from '@novum/core/scheduler'

/** Options of {@link AcmeLabelFilter}: which labels each host carries. */
export interface AcmeLabelFilterOptions {
  /** Host name → its labels, e.g. `{ "compute-2": ["ssd", "gpu"] }`. */
  readonly hostLabels: Readonly<Record<string, readonly string[]>>
  /** Labels of hosts not listed in `hostLabels`. @default [] */
  readonly defaultLabels: readonly string[]
}

/** The flavor extra spec naming the labels a server needs (comma-separated: all of them). */
export const ACME_LABEL_SPEC = 'acme:labels'

/** The labels the request's flavor asks for. */
function wantedLabels(request: RequestSpec): string[] {
  return (request.flavor.extraSpecs[ACME_LABEL_SPEC] ?? '').split(',').map((l) => l.trim()).filter(Boolean)
}

/**
 * Passes hosts that carry every label the flavor's `acme:labels` extra spec asks for (e.g. `ssd,gpu`). Labels come
 * from the plugin's options, so a deployer assigns them in configuration, not in the database. A flavor without
 * the extra spec passes everywhere. Runs once per request (labels do not change while a request is placed).
 *
 * @example
 * ```ts
 * // scheduler config: { filters: [...DEFAULT_FILTERS, 'AcmeLabelFilter'],
 * //                     pluginOptions: { AcmeLabelFilter: { hostLabels: { 'compute-2': ['ssd'] } } } }
 * ```
 */
export const AcmeLabelFilter = defineFilter<AcmeLabelFilterOptions>({
  name: 'AcmeLabelFilter',
  runOncePerRequest: true,
  optionsSchema: {
    type: 'object',
    properties: {
      hostLabels: {
        type: 'object',
        additionalProperties: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9-]+$' }, uniqueItems: true },
      },
      defaultLabels: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9-]+$' }, uniqueItems: true, default: [] },
    },
    required: ['hostLabels'],
    additionalProperties: false,
  },
  defaultOptions: { hostLabels: {}, defaultLabels: [] },
  // A flavor that asks for no label gives the filter nothing to check: the scheduler skips it for that request.
  appliesTo: (request) => wantedLabels(request).length > 0,
  filter(host, request, { options }) {
    const wanted = wantedLabels(request)
    if (wanted.length === 0) return pass()
    const has = options.hostLabels[host.host] ?? options.defaultLabels
    const missing = wanted.filter((l) => !has.includes(l))
    return missing.length === 0 ? pass() : reject(`wants label(s) ${missing.join(', ')}, host has ${has.length ? has.join(', ') : 'none'}`)
  },
}) satisfies HostFilter<AcmeLabelFilterOptions>
