import type { AllocationCandidatesRequest } from '../placement/placement-client.js'
import type { WeigherScore } from './weigh.js'

/**
 * One host as one instance's pass saw it. Every filter listed in {@link InstanceExplanation.filters} passed it,
 * unless `rejectedBy` names the one that removed it (later filters did not run on it).
 */
export interface HostExplanation {
  readonly host: string
  readonly nodename: string
  /** The compute node (root provider) uuid. */
  readonly uuid: string
  /** The filter (or pre-filter step: `IgnoreHosts`, `RequestedDestination`, `AvailabilityZone`) that removed the host, and why. */
  readonly rejectedBy?: { readonly filter: string; readonly reason: string }
  /** The total weight of a host that passed every filter. */
  readonly weight?: number
  /**
   * Each weigher's raw, normalised and weighted score, for the best `explainTopHosts` hosts (all of them by
   * default up to 50); absent for the rest, for filtered-out hosts, and when a single host was left (nothing is
   * weighed then).
   */
  readonly weights?: readonly WeigherScore[]
}

/** A claim that Placement refused (the scheduler then tried the next host). */
export interface ClaimFailure {
  readonly host: string
  readonly uuid: string
  readonly reason: string
}

/** How one instance of the request was placed. */
export interface InstanceExplanation {
  readonly instanceUuid: string
  /** The filters that ran for this instance, in order (`runOncePerRequest` filters only for the first). */
  readonly filters: readonly string[]
  /** Every host considered for this instance: passing hosts in weighed order (the pick first), then the rejected. */
  readonly hosts: readonly HostExplanation[]
  /** The claimed host's compute node uuid, or null when none could be claimed. */
  readonly selected: string | null
  /** Compute node uuids of the unclaimed alternates, in order. */
  readonly alternates: readonly string[]
  readonly claimFailures: readonly ClaimFailure[]
}

/** A host Placement returned no candidate for, and why. */
export interface PlacementHostRejection {
  readonly host: string
  readonly nodename: string
  readonly uuid: string
  /** The phrase the summary groups by, e.g. `too little MEMORY_MB`. */
  readonly summary: string
  /** The specifics, e.g. `wants 4096 MEMORY_MB, free 2048 (capacity 8192, used 6144)`. */
  readonly reason: string
}

/**
 * The scheduler's record of one decision (JSON): the Placement query, what Placement returned (and, when the
 * request failed, why each missing host was left out), and per instance every host's filter verdicts and weigher
 * scores. The conductor stores it in the `details` of the `conductor_schedule_and_build_instances` event.
 */
export interface SchedulingExplanation {
  readonly placementQuery: AllocationCandidatesRequest
  /** Allocation requests Placement returned. */
  readonly candidateCount: number
  /** Compute nodes considered: those with a candidate, plus those Placement left out (when diagnosed). */
  readonly hostCount: number
  /** Filled when the request failed and Placement can say why hosts were missing. */
  readonly placementRejections: readonly PlacementHostRejection[]
  readonly instances: readonly InstanceExplanation[]
}

/** One host's final rejection, with the group it counts under in the summary. */
export interface SummaryRejection {
  /** The filter name, or `Placement`. */
  readonly by: string
  /** What the summary groups Placement rejections by (e.g. `too little MEMORY_MB`); filters group by name only. */
  readonly summary: string
  readonly reason: string
}

/**
 * The sentence `NoValidHostError` carries: `0 of 12 hosts: 7 rejected by ComputeFilter (disabled), 5 had too
 * little MEMORY_MB in Placement`. Groups are ordered by count, largest first; a filter group lists up to three
 * distinct reasons.
 */
export function summarizeRejections(hostCount: number, rejections: readonly SummaryRejection[], progress?: { readonly placed: number; readonly requested: number }): string {
  const groups = new Map<string, { text: (n: number) => string; count: number; reasons: string[] }>()
  for (const r of rejections) {
    const key = r.by === 'Placement' ? `Placement\u0000${r.summary}` : r.by
    let g = groups.get(key)
    if (!g) {
      const reasons: string[] = []
      g =
        r.by === 'Placement'
          ? { text: (n) => `${n} had ${r.summary} in Placement`, count: 0, reasons }
          : { text: (n) => `${n} rejected by ${r.by} (${reasons.slice(0, 3).join('; ')}${reasons.length > 3 ? '; …' : ''})`, count: 0, reasons }
      groups.set(key, g)
    }
    g.count++
    if (!g.reasons.includes(r.reason)) g.reasons.push(r.reason)
  }
  const parts = [...groups.values()].sort((a, b) => b.count - a.count).map((g) => g.text(g.count))
  const head = `0 of ${hostCount} hosts`
  const body = parts.length ? `${head}: ${parts.join(', ')}` : head
  if (progress && progress.placed > 0) return `placed ${progress.placed} of ${progress.requested} instances before running out of hosts; then ${body}`
  return body
}
