import { ComputeError } from '../errors/compute-error.js'
import type { HostState } from '../model/host-state.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { FilterRunContext } from './filter-runner.js'
import type { AnyHostWeigher } from './registry.js'

/** A weigher ready to run for one request: options, `prepare` result and configured multiplier. */
export interface PreparedWeigher {
  readonly plugin: AnyHostWeigher
  readonly options: unknown
  readonly state: unknown
  readonly multiplier: number
}

/** One weigher's contribution to one host's weight, as the explanation records it. */
export interface WeigherScore {
  readonly weigher: string
  /** What the weigher returned. */
  readonly raw: number
  /** The raw value clamped to `[minValue, maxValue]` and normalised to 0–1 over all hosts. */
  readonly normalized: number
  /** The configured multiplier, or the host's aggregate override. */
  readonly multiplier: number
  /** `normalized × multiplier`, what is added to the host's weight. */
  readonly weighted: number
}

/** A host with its total weight and the per-weigher scores that make it up. */
export interface WeighedHost {
  readonly host: HostState
  readonly weight: number
  readonly scores: readonly WeigherScore[]
}

/** Runs `prepare` of each weigher that has one (once per request). */
export async function prepareWeighers(
  weighers: readonly { readonly plugin: AnyHostWeigher; readonly options: unknown; readonly multiplier: number }[],
  request: RequestSpec,
): Promise<PreparedWeigher[]> {
  return Promise.all(
    weighers.map(async ({ plugin, options, multiplier }) => {
      if (!plugin.prepare) return { plugin, options, multiplier, state: undefined }
      try {
        return { plugin, options, multiplier, state: await plugin.prepare(request, { options }) }
      } catch (err) {
        throw new ComputeError('PLUGIN', `scheduler plugin "${plugin.name}" prepare failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { plugin: plugin.name } })
      }
    }),
  )
}

/**
 * Normalises values to 0–1 (Nova `weights.normalize`): `(v − lo) / (hi − lo)`, where `lo`/`hi` are the given
 * bounds or else the observed minimum and maximum; when `lo === hi` every value is 0.
 */
export function normalize(values: readonly number[], minValue?: number, maxValue?: number): number[] {
  if (values.length === 0) return []
  const lo = minValue ?? Math.min(...values)
  const hi = maxValue ?? Math.max(...values)
  if (hi === lo) return values.map(() => 0)
  return values.map((v) => (v - lo) / (hi - lo))
}

/**
 * The multiplier for one host: the minimum of the numeric values of `key` in the host's aggregates' metadata,
 * else `fallback` (Nova `utils.get_weight_multiplier`; unparsable values are ignored).
 */
export function hostMultiplier(host: HostState, key: string | undefined, fallback: number): number {
  if (!key) return fallback
  let min: number | undefined
  for (const agg of host.aggregates) {
    const raw = agg.metadata[key]
    if (raw === undefined) continue
    const value = Number(raw)
    if (raw.trim() === '' || !Number.isFinite(value)) continue
    min = min === undefined ? value : Math.min(min, value)
  }
  return min ?? fallback
}

/**
 * Weighs hosts (Nova `BaseWeightHandler.get_weighed_objects`): for each weigher, raw values for every host,
 * clamped to the weigher's `[minValue, maxValue]`, normalised to 0–1 over all hosts, multiplied by the host's
 * multiplier and summed; hosts are returned heaviest first (a stable sort: ties keep their input order).
 * With one host or none nothing is weighed, as in Nova.
 *
 * NOTE: Nova widens `minval` when a raw value falls below it; Novum clamps instead, as `HostWeigher` documents.
 * The order is the same whenever raw values respect the bound (e.g. free RAM is not negative).
 */
export function weighHosts(weighers: readonly PreparedWeigher[], hosts: readonly HostState[], request: RequestSpec, context: FilterRunContext): WeighedHost[] {
  if (hosts.length <= 1) return hosts.map((host) => ({ host, weight: 0, scores: [] }))
  const totals = hosts.map(() => 0)
  const scores: WeigherScore[][] = hosts.map(() => [])
  for (const w of weighers) {
    const raws = hosts.map((host) => {
      let raw: number
      try {
        raw = w.plugin.weigh(host, request, { options: w.options, state: w.state, instanceUuid: context.instanceUuid, instanceIndex: context.instanceIndex })
      } catch (err) {
        throw new ComputeError('PLUGIN', `scheduler plugin "${w.plugin.name}" failed on host ${host.host}: ${(err as Error)?.message ?? String(err)}`, {
          cause: err,
          details: { plugin: w.plugin.name, host: host.host },
        })
      }
      if (typeof raw !== 'number' || !Number.isFinite(raw)) {
        throw new ComputeError('PLUGIN', `scheduler plugin "${w.plugin.name}" returned ${String(raw)} for host ${host.host} instead of a finite number`, { details: { plugin: w.plugin.name, host: host.host } })
      }
      return raw
    })
    const { minValue, maxValue } = w.plugin
    const clamped = raws.map((r) => Math.min(maxValue ?? Number.POSITIVE_INFINITY, Math.max(minValue ?? Number.NEGATIVE_INFINITY, r)))
    const normalized = normalize(clamped, minValue, maxValue)
    hosts.forEach((host, i) => {
      const multiplier = hostMultiplier(host, w.plugin.aggregateMultiplierKey, w.multiplier)
      const n = normalized[i] as number
      const weighted = n * multiplier
      totals[i] = (totals[i] as number) + weighted
      ;(scores[i] as WeigherScore[]).push({ weigher: w.plugin.name, raw: raws[i] as number, normalized: n, multiplier, weighted })
    })
  }
  return hosts
    .map((host, i) => ({ host, weight: totals[i] as number, scores: scores[i] as WeigherScore[], i }))
    .sort((a, b) => b.weight - a.weight || a.i - b.i)
    .map(({ host, weight, scores: s }) => ({ host, weight, scores: s }))
}

/**
 * Picks uniformly among the best `subsetSize` hosts and moves the pick to the front (Nova `host_subset_size`).
 * `random` returns a number in [0, 1).
 */
export function pickFromSubset<T>(sorted: readonly T[], subsetSize: number, random: () => number): T[] {
  if (sorted.length <= 1 || subsetSize <= 1) return [...sorted]
  const size = Math.min(subsetSize, sorted.length)
  const index = Math.min(size - 1, Math.floor(random() * size))
  const out = [...sorted]
  const [chosen] = out.splice(index, 1)
  return [chosen as T, ...out]
}
