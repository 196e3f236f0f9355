import type { AllocationCandidates, CandidateAllocationRequest } from '@novum/core'

type Summary = AllocationCandidates['providerSummaries'][string]

/**
 * Serialises a `GET /allocation_candidates` answer straight to JSON text in the shape of the negotiated
 * microversion (`handlers/allocation_candidate.py` `_transform_allocation_candidates`):
 *
 * - allocation requests: the list form before 1.12, the dict form from 1.12, with `mappings` from 1.34;
 * - provider summaries: only the requested classes before 1.27, all of them from 1.27; `traits` from 1.17;
 *   `parent_provider_uuid` and `root_provider_uuid` from 1.29.
 *
 * Provider summaries are cached per object: core's provider cache hands out the same frozen summary until the
 * provider's generation moves, so a summary is stringified once per generation, not once per query. Allocation
 * requests are concatenated rather than built as objects and stringified.
 */
export class CandidatesSerializer {
  /** `"<uuid>":{…}` provider summary entries (1.29+), encoded, by summary object. */
  private readonly summaries = new WeakMap<Summary, Buffer>()
  /** `{"VCPU":1,…}` by resources object (allocation requests share one frozen map in the common case). */
  private readonly resources = new WeakMap<object, string>()

  /**
   * The answer as UTF-8 JSON. `requested` are the classes the request asked for (used before 1.27). The body is
   * assembled into one buffer from cached, already-encoded summaries, so a large answer is encoded once and the
   * HTTP layer does not measure and convert a large string again.
   */
  serialize(result: AllocationCandidates, minor: number, requested: ReadonlySet<string>): Buffer {
    const parts: (string | Buffer)[] = ['{"allocation_requests":[']
    let first = true
    for (const ar of result.allocationRequests) {
      parts.push(first ? '' : ',', minor >= 12 ? this.dictForm(ar, minor >= 34) : listForm(ar))
      first = false
    }
    parts.push('],"provider_summaries":{')
    first = true
    for (const uuid in result.providerSummaries) {
      parts.push(first ? '' : ',', this.summaryEntry(uuid, result.providerSummaries[uuid] as Summary, minor, requested))
      first = false
    }
    parts.push('}}')
    return concat(parts)
  }

  private resourcesJson(resources: Readonly<Record<string, number>>): string {
    let s = this.resources.get(resources)
    if (s === undefined) {
      s = JSON.stringify(resources)
      if (Object.isFrozen(resources)) this.resources.set(resources, s)
    }
    return s
  }

  private dictForm(ar: CandidateAllocationRequest, withMappings: boolean): string {
    // The common case: one provider, mapped by one group.
    let only: string | undefined
    let count = 0
    for (const rp in ar.allocations) {
      only = rp
      if (++count > 1) break
    }
    if (count === 1 && only !== undefined) {
      const uuid = quote(only)
      const resources = this.resourcesJson((ar.allocations[only] as { resources: Readonly<Record<string, number>> }).resources)
      if (!withMappings) return `{"allocations":{${uuid}:{"resources":${resources}}}}`
      let maps = ''
      for (const suffix in ar.mappings) {
        const rps = ar.mappings[suffix] as readonly string[]
        maps += `${maps ? ',' : ''}${quote(suffix)}:${rps.length === 1 && rps[0] === only ? `[${uuid}]` : JSON.stringify(rps)}`
      }
      return `{"allocations":{${uuid}:{"resources":${resources}}},"mappings":{${maps}}}`
    }
    let out = '{"allocations":{'
    let first = true
    for (const rp in ar.allocations) {
      const a = ar.allocations[rp] as { resources: Readonly<Record<string, number>> }
      out += `${first ? '' : ','}${quote(rp)}:{"resources":${this.resourcesJson(a.resources)}}`
      first = false
    }
    out += '}'
    if (withMappings) {
      out += ',"mappings":{'
      first = true
      for (const suffix in ar.mappings) {
        out += `${first ? '' : ','}${quote(suffix)}:${JSON.stringify(ar.mappings[suffix])}`
        first = false
      }
      out += '}'
    }
    return `${out}}`
  }

  private summaryEntry(uuid: string, summary: Summary, minor: number, requested: ReadonlySet<string>): string | Buffer {
    if (minor >= 29) {
      let b = this.summaries.get(summary)
      if (b === undefined) {
        b = Buffer.from(`${quote(uuid)}:${JSON.stringify(summaryView(summary, minor, requested))}`)
        this.summaries.set(summary, b)
      }
      return b
    }
    return `${quote(uuid)}:${JSON.stringify(summaryView(summary, minor, requested))}`
  }
}

/** Strings and buffers written into one buffer. */
function concat(parts: readonly (string | Buffer)[]): Buffer {
  let size = 0
  for (const p of parts) size += typeof p === 'string' ? Buffer.byteLength(p) : p.length
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (const p of parts) {
    if (typeof p === 'string') at += out.write(p, at)
    else at += p.copy(out, at)
  }
  return out
}

const PLAIN = /^[A-Za-z0-9_-]*$/

/** A JSON string literal; uuids, suffixes and class names need no escaping, so the common case is a concatenation. */
function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s)
}

/** The list form of one allocation request (before 1.12). */
function listForm(ar: CandidateAllocationRequest): string {
  return JSON.stringify({ allocations: Object.entries(ar.allocations).map(([uuid, a]) => ({ resource_provider: { uuid }, resources: a.resources })) })
}

/** One provider summary in the shape of the microversion. */
export function summaryView(summary: Summary, minor: number, requested: ReadonlySet<string>): Record<string, unknown> {
  const resources: Record<string, { capacity: number; used: number }> = {}
  for (const [rc, r] of Object.entries(summary.resources)) {
    if (minor >= 27 || requested.has(rc)) resources[rc] = { capacity: r.capacity, used: r.used }
  }
  const out: Record<string, unknown> = { resources }
  if (minor >= 17) out['traits'] = summary.traits
  if (minor >= 29) {
    out['parent_provider_uuid'] = summary.parentProviderUuid
    out['root_provider_uuid'] = summary.rootProviderUuid
  }
  return out
}
