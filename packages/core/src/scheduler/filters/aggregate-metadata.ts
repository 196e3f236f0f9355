import type { HostState } from '../../model/host-state.js'

/**
 * The metadata of the host's aggregates merged per key, each value split on commas and trimmed (Nova
 * `utils.aggregate_metadata_get_by_host`). `keyFilter` keeps only the keys it accepts.
 */
export function aggregateMetadataOf(host: HostState, keyFilter?: (key: string) => boolean): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const aggregate of host.aggregates) {
    for (const [key, value] of Object.entries(aggregate.metadata)) {
      if (keyFilter && !keyFilter(key)) continue
      let values = out.get(key)
      if (!values) out.set(key, (values = new Set()))
      for (const v of value.split(',')) values.add(v.trim())
    }
  }
  return out
}
