import { ComputeError } from '../errors/compute-error.js'
import type { HostState } from '../model/host-state.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { PluginContext } from './filter.js'
import { applies, type FilterRunContext } from './filter-runner.js'
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
  const out = Float64Array.from(values)
  normalizeInPlace(out, minValue, maxValue)
  return [...out]
}

function normalizeInPlace(values: Float64Array, minValue: number | undefined, maxValue: number | undefined): void {
  if (values.length === 0) return
  let lo = minValue ?? Number.POSITIVE_INFINITY
  let hi = maxValue ?? Number.NEGATIVE_INFINITY
  if (minValue === undefined || maxValue === undefined) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number
      if (minValue === undefined && v < lo) lo = v
      if (maxValue === undefined && v > hi) hi = v
    }
  }
  if (hi === lo) {
    values.fill(0)
    return
  }
  const span = hi - lo
  for (let i = 0; i < values.length; i++) values[i] = ((values[i] as number) - lo) / span
}

/**
 * The multiplier for one host: the minimum of the numeric values of `key` in the host's aggregates' metadata,
 * else `fallback` (Nova `utils.get_weight_multiplier`; unparsable values are ignored).
 */
export function hostMultiplier(host: HostState, key: string | undefined, fallback: number): number {
  if (!key || host.aggregates.length === 0) return fallback
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
 * One weigher's column of a {@link WeighTable}: per host the raw value, and how it was normalised and multiplied
 * (normalised values are computed on demand by {@link scoresOf}; only the totals need them for every host).
 */
export interface WeighColumn {
  readonly weigher: string
  readonly raw: Float64Array
  /** Raw values are clamped to `[clampLo, clampHi]` (the weigher's `minValue`/`maxValue`, else ±Infinity). */
  readonly clampLo: number
  readonly clampHi: number
  /** Normalised = `(clamped − lo) / span`, or 0 for every host when `span` is 0. */
  readonly lo: number
  readonly span: number
  /** Per host multipliers when some host's aggregates override the weigher's; else null and {@link WeighColumn.fallback} applies. */
  readonly multiplier: Float64Array | null
  /** The configured multiplier. */
  readonly fallback: number
}

/** Every host's total weight and, per weigher, the values that make it up (host `i` is `hosts[i]`). */
export interface WeighTable {
  readonly hosts: readonly HostState[]
  readonly totals: Float64Array
  /** Empty when fewer than two hosts were weighed (Nova weighs nothing then). */
  readonly columns: readonly WeighColumn[]
  /** Weighers that had nothing to tell hosts apart by for this request (`appliesTo` answered false): 0 everywhere. */
  readonly notApplicable: readonly string[]
}

/**
 * Weighs hosts into a table (Nova `BaseWeightHandler.get_weighed_objects`): for each weigher, raw values for every
 * host, clamped to the weigher's `[minValue, maxValue]`, normalised to 0–1 over all hosts, multiplied by the host's
 * multiplier and summed. With one host or none nothing is weighed, as in Nova. A weigher whose `appliesTo` answers
 * false is skipped (it would weigh 0 everywhere after normalisation). A weigher that throws or returns a non-finite
 * number fails the request with `ComputeError('PLUGIN')`.
 *
 * NOTE: Nova widens `minval` when a raw value falls below it; Novum clamps instead, as `HostWeigher` documents.
 * The order is the same whenever raw values respect the bound (e.g. free RAM is not negative).
 */
export function weighTable(weighers: readonly PreparedWeigher[], hosts: readonly HostState[], request: RequestSpec, context: FilterRunContext): WeighTable {
  const n = hosts.length
  const totals = new Float64Array(n)
  if (n <= 1) return { hosts, totals, columns: [], notApplicable: [] }
  const columns: WeighColumn[] = []
  const notApplicable: string[] = []
  const running: { w: PreparedWeigher; ctx: PluginContext<unknown, unknown> }[] = []
  for (const w of weighers) {
    const ctx = { options: w.options, state: w.state, instanceUuid: context.instanceUuid, instanceIndex: context.instanceIndex }
    const appliesTo = w.plugin.appliesTo
    if (appliesTo && !applies(w.plugin.name, () => appliesTo.call(w.plugin, request, ctx))) notApplicable.push(w.plugin.name)
    else running.push({ w, ctx })
  }
  // Most hosts are in no aggregate: then every multiplier is the configured one and needs no per-host lookup.
  let anyAggregates = false
  for (let i = 0; i < n && !anyAggregates; i++) anyAggregates = (hosts[i] as HostState).aggregates.length > 0
  // One backing store for every column (allocating many small typed arrays costs more than filling them).
  const store = new Float64Array(running.length * n * (anyAggregates ? 2 : 1))
  let next = 0
  const column = (): Float64Array => store.subarray(next, (next += n))
  for (const { w, ctx } of running) {
    const plugin = w.plugin
    const raw = column()
    let i = 0
    try {
      if (plugin.weighAll) plugin.weighAll(hosts, request, ctx, raw)
      else for (; i < n; i++) raw[i] = plugin.weigh(hosts[i] as HostState, request, ctx)
    } catch (err) {
      // A failing weighAll does not say which host: weigh them one by one to name it.
      if (plugin.weighAll) for (i = 0; i < n; i++) tryWeigh(plugin, hosts[i] as HostState, request, ctx)
      const host = (hosts[Math.min(i, n - 1)] as HostState).host
      throw new ComputeError('PLUGIN', `scheduler plugin "${plugin.name}" failed on host ${host}: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { plugin: plugin.name, host } })
    }
    const { minValue, maxValue } = plugin
    const clampLo = minValue ?? Number.NEGATIVE_INFINITY
    const clampHi = maxValue ?? Number.POSITIVE_INFINITY
    // One pass: check, and find the bounds of normalisation (of the clamped values).
    let lo = Number.POSITIVE_INFINITY
    let hi = Number.NEGATIVE_INFINITY
    for (let j = 0; j < n; j++) {
      let value = raw[j] as number
      // NaN and ±Infinity fail here; a Float64Array turns anything else a weigher returns into NaN.
      if (value - value !== 0) {
        const host = (hosts[j] as HostState).host
        const returned = plugin.weigh(hosts[j] as HostState, request, ctx)
        throw new ComputeError('PLUGIN', `scheduler plugin "${plugin.name}" returned ${String(returned)} for host ${host} instead of a finite number`, { details: { plugin: plugin.name, host } })
      }
      if (value < clampLo) value = clampLo
      else if (value > clampHi) value = clampHi
      if (value < lo) lo = value
      if (value > hi) hi = value
    }
    if (minValue !== undefined) lo = minValue
    if (maxValue !== undefined) hi = maxValue
    const span = hi - lo
    const fallback = w.multiplier
    const multiplier = anyAggregates ? column() : null
    if (span !== 0) {
      const key = plugin.aggregateMultiplierKey
      for (let j = 0; j < n; j++) {
        let value = raw[j] as number
        if (value < clampLo) value = clampLo
        else if (value > clampHi) value = clampHi
        const m = multiplier ? (multiplier[j] = hostMultiplier(hosts[j] as HostState, key, fallback)) : fallback
        totals[j] = (totals[j] as number) + ((value - lo) / span) * m
      }
    } else if (multiplier) {
      const key = plugin.aggregateMultiplierKey
      for (let j = 0; j < n; j++) multiplier[j] = hostMultiplier(hosts[j] as HostState, key, fallback)
    }
    columns.push({ weigher: plugin.name, raw, clampLo, clampHi, lo, span, multiplier, fallback })
  }
  return { hosts, totals, columns, notApplicable }
}

/** Runs `weigh` on one host; a throw becomes the plugin error naming that host. */
function tryWeigh(plugin: AnyHostWeigher, host: HostState, request: RequestSpec, ctx: PluginContext<unknown, unknown>): void {
  try {
    plugin.weigh(host, request, ctx)
  } catch (err) {
    throw new ComputeError('PLUGIN', `scheduler plugin "${plugin.name}" failed on host ${host.host}: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { plugin: plugin.name, host: host.host } })
  }
}

/** Host `i`'s per-weigher scores from a {@link WeighTable} (empty when nothing was weighed). */
export function scoresOf(table: WeighTable, i: number): WeigherScore[] {
  return table.columns.map((c) => {
    const raw = c.raw[i] as number
    const clamped = raw < c.clampLo ? c.clampLo : raw > c.clampHi ? c.clampHi : raw
    const normalized = c.span === 0 ? 0 : (clamped - c.lo) / c.span
    const multiplier = c.multiplier ? (c.multiplier[i] as number) : c.fallback
    return { weigher: c.weigher, raw, normalized, multiplier, weighted: normalized * multiplier }
  })
}

/** True when host `a` ranks before host `b`: heavier, or as heavy and earlier in the input (a stable order). */
function before(totals: Float64Array, a: number, b: number): boolean {
  const ta = totals[a] as number
  const tb = totals[b] as number
  return ta > tb || (ta === tb && a < b)
}

/**
 * The indices of the `k` heaviest hosts, heaviest first, ties in input order, without sorting every host: a bounded
 * heap, O(n log k). With `k` close to `n` it sorts.
 */
export function topHosts(totals: Float64Array, k: number): number[] {
  const n = totals.length
  const size = Math.max(0, Math.min(k, n))
  if (size === 0) return []
  if (size * 4 >= n) {
    const all = Array.from({ length: n }, (_, i) => i)
    all.sort((a, b) => (totals[b] as number) - (totals[a] as number) || a - b)
    return all.slice(0, size)
  }
  // A min-heap on rank: its root is the worst of the best `size` seen so far.
  const heap = new Int32Array(size)
  let len = 0
  const worse = (a: number, b: number): boolean => before(totals, b, a)
  const up = (pos: number): void => {
    while (pos > 0) {
      const parent = (pos - 1) >> 1
      if (!worse(heap[pos] as number, heap[parent] as number)) break
      const t = heap[pos] as number
      heap[pos] = heap[parent] as number
      heap[parent] = t
      pos = parent
    }
  }
  const down = (pos: number): void => {
    for (;;) {
      const l = pos * 2 + 1
      const r = l + 1
      let m = pos
      if (l < len && worse(heap[l] as number, heap[m] as number)) m = l
      if (r < len && worse(heap[r] as number, heap[m] as number)) m = r
      if (m === pos) break
      const t = heap[pos] as number
      heap[pos] = heap[m] as number
      heap[m] = t
      pos = m
    }
  }
  for (let i = 0; i < n; i++) {
    if (len < size) {
      heap[len] = i
      up(len++)
    } else if (before(totals, i, heap[0] as number)) {
      heap[0] = i
      down(0)
    }
  }
  const out = Array.from(heap.subarray(0, len))
  out.sort((a, b) => (totals[b] as number) - (totals[a] as number) || a - b)
  return out
}

/**
 * A lazily sorted view of a {@link WeighTable}'s hosts: {@link Ranking.at} gives the host index at a rank, computing
 * only as much of the order as has been asked for (the scheduler rarely needs more than the first few hosts).
 */
export class Ranking {
  private order: number[] = []

  /** @param initial how many ranks to compute on the first ask (more later as needed). */
  constructor(
    private readonly totals: Float64Array,
    private readonly initial = 16,
  ) {}

  /** How many hosts are ranked. */
  get size(): number {
    return this.totals.length
  }

  /** The host index at `rank` (0 = heaviest), or undefined past the end. */
  at(rank: number): number | undefined {
    if (rank >= this.totals.length) return undefined
    if (rank >= this.order.length) this.order = topHosts(this.totals, Math.max(rank + 1, this.order.length * 4, this.initial))
    return this.order[rank]
  }

  /** The first `k` host indices, heaviest first. */
  first(k: number): number[] {
    const last = Math.min(k, this.totals.length) - 1
    if (last >= 0) this.at(last)
    return this.order.slice(0, Math.max(0, last + 1))
  }
}

/**
 * Weighs hosts (Nova `BaseWeightHandler.get_weighed_objects`; see {@link weighTable}) and returns them heaviest first
 * (a stable sort: ties keep their input order) with their per-weigher scores. With one host or none nothing is
 * weighed, as in Nova.
 */
export function weighHosts(weighers: readonly PreparedWeigher[], hosts: readonly HostState[], request: RequestSpec, context: FilterRunContext): WeighedHost[] {
  if (hosts.length <= 1) return hosts.map((host) => ({ host, weight: 0, scores: [] }))
  const table = weighTable(weighers, hosts, request, context)
  return topHosts(table.totals, hosts.length).map((i) => ({ host: hosts[i] as HostState, weight: table.totals[i] as number, scores: scoresOf(table, i) }))
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
