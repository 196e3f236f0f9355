import type { AllocationCandidatesRequest } from '../placement/placement-client.js'
import type { RequestFilterOutcome } from './request-filter-runner.js'
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
  /**
   * The filter (or pre-filter step: `IgnoreHosts`, `RequestedDestination`, or `AvailabilityZoneFilter` when the
   * scheduler checks a requested zone itself) that removed the host, and why.
   */
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
  /**
   * Filters and weighers that had nothing to say about this request (their `appliesTo` answered false, e.g. the
   * server-group filters for a server in no group): they passed, or weighed 0, every host without running. Absent
   * when every one applied.
   */
  readonly notApplicable?: readonly string[]
  /**
   * Every host considered for this instance (empty when explanations are off): the best `explainTopHosts` passing
   * hosts in weighed order (the pick first), then the other passing hosts in input order (each with its weight), then
   * the rejected.
   */
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
  /** What each request filter did to the Placement query, in order. */
  readonly requestFilters?: readonly RequestFilterOutcome[]
  /** The Placement query, as the request filters left it. */
  readonly placementQuery: AllocationCandidatesRequest
  /** Allocation requests Placement returned. */
  readonly candidateCount: number
  /** Compute nodes considered: those with a candidate, plus those Placement left out (when diagnosed). */
  readonly hostCount: number
  /** Filled when the request failed (or in a dry run) and Placement can say why hosts were missing. */
  readonly placementRejections: readonly PlacementHostRejection[]
  readonly instances: readonly InstanceExplanation[]
  /** True for a dry run: nothing was claimed (claims were checked against Placement's usage at query time). */
  readonly dryRun?: boolean
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

/** What one decision meant for one host: {@link explainHost}'s answer to "why (not) host X". */
export interface HostDecision {
  /** The host as asked for. */
  readonly host: string
  /**
   * `selected` (claimed for an instance), `alternate` (kept as a reschedule target), `passed` (passed every filter
   * but ranked lower), `rejected` (by a filter, a pre-filter step or Placement), or `unknown` (the scheduler never
   * saw a compute node of that name).
   */
  readonly outcome: 'selected' | 'alternate' | 'passed' | 'rejected' | 'unknown'
  /** The instance the host was selected for (outcome `selected`). */
  readonly instanceUuid?: string
  /** What removed it: a filter name, a pre-filter step, or `Placement` (outcome `rejected`). */
  readonly by?: string
  readonly reason?: string
  /** Its total weight, when it passed the filters of the first instance. */
  readonly weight?: number
  /** 1-based rank among the hosts that passed the filters of the first instance (1 = the best). */
  readonly rank?: number
  /** How many hosts passed the filters of the first instance. */
  readonly passedCount?: number
  /** Its per-weigher scores, when recorded. */
  readonly weights?: readonly WeigherScore[]
  /** One sentence, e.g. `compute-3 was rejected by ComputeFilter: disabled (maintenance)`. */
  readonly summary: string
}

/**
 * Answers "why (not) host X" from a decision's explanation: `host` may be a host name, a node name or a compute node
 * uuid. The first instance's pass is the reference (it saw every host); later instances count for selections, claim
 * failures and rejections the earlier passes did not have (e.g. a group member already placed there).
 */
export function explainHost(explanation: SchedulingExplanation, host: string): HostDecision {
  const matches = (h: { host: string; nodename: string; uuid: string }) => h.host === host || h.nodename === host || h.uuid === host
  for (const instance of explanation.instances) {
    const selected = instance.hosts.find((h) => matches(h) && h.uuid === instance.selected)
    if (selected || (instance.selected !== null && instance.selected === host)) {
      return { host, outcome: 'selected', instanceUuid: instance.instanceUuid, summary: `${host} was selected for instance ${instance.instanceUuid}` }
    }
  }
  const first = explanation.instances[0]
  const seen = first?.hosts.find(matches)
  const passing = first?.hosts.filter((h) => h.rejectedBy === undefined && h.weight !== undefined) ?? []
  if (seen && seen.rejectedBy === undefined) {
    const later = explanation.instances.slice(1).map((i) => i.hosts.find((h) => matches(h) && h.rejectedBy !== undefined)).find((h) => h !== undefined)
    if (later?.rejectedBy) return rejected(host, later.rejectedBy.filter, later.rejectedBy.reason, ' (after the earlier instances of the request were placed)')
    const failure = explanation.instances.flatMap((i) => i.claimFailures).find(matches2(host, seen.uuid))
    if (failure) return rejected(host, 'Placement', `claim failed: ${failure.reason}`)
    const weight = seen.weight ?? 0
    // Heavier hosts rank first; among equals, the explanation's order (the scheduler's tie-break) decides.
    const at = passing.indexOf(seen)
    const rank = passing.filter((h, i) => h !== seen && ((h.weight ?? 0) > weight || ((h.weight ?? 0) === weight && i < at))).length + 1
    const best = passing.reduce((m, h) => Math.max(m, h.weight ?? Number.NEGATIVE_INFINITY), Number.NEGATIVE_INFINITY)
    const alternate = explanation.instances.some((i) => i.alternates.includes(seen.uuid))
    const ranked = `ranked ${rank} of ${passing.length} with weight ${round(weight)}${rank > 1 ? ` (best ${round(best)})` : ''}`
    return {
      host,
      outcome: alternate ? 'alternate' : 'passed',
      weight,
      rank,
      passedCount: passing.length,
      ...(seen.weights ? { weights: seen.weights } : {}),
      summary: alternate ? `${host} passed every filter and is an alternate: ${ranked}` : `${host} passed every filter but was not chosen: ${ranked}`,
    }
  }
  if (seen?.rejectedBy) return rejected(host, seen.rejectedBy.filter, seen.rejectedBy.reason)
  const placement = explanation.placementRejections.find(matches)
  if (placement) return rejected(host, 'Placement', `${placement.summary}: ${placement.reason}`)
  return { host, outcome: 'unknown', summary: `${host} is not a compute node the scheduler considered (Placement returned no candidate for it${explanation.placementRejections.length ? ' and gave no reason' : ''})` }
}

function matches2(host: string, uuid: string): (f: ClaimFailure) => boolean {
  return (f) => f.host === host || f.uuid === uuid
}

function rejected(host: string, by: string, reason: string, note = ''): HostDecision {
  const how = by === 'Placement' ? 'was left out by Placement' : `was rejected by ${by}`
  return { host, outcome: 'rejected', by, reason, summary: `${host} ${how}${note}: ${reason}` }
}

function round(n: number): string {
  return String(Math.round(n * 1000) / 1000)
}
