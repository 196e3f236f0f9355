import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import { ComputeError } from '../errors/compute-error.js'
import { type HostRejection, NoValidHostError } from '../errors/no-valid-host-error.js'
import type { HostState } from '../model/host-state.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { AllocationRequest, Selection } from '../model/selection.js'
import type { AllocationCandidates, AllocationCandidatesRequest, CandidateAllocationRequest, PlacementClient } from '../placement/placement-client.js'
import { isConsumerGenerationConflict } from '../placement/placement-service.js'
import type { RpcEndpoint, RpcListener, Transport } from '../transport/transport.js'
import { type Clock, systemClock } from '../util/clock.js'
import { type Logger, silentLogger } from '../util/logger.js'
import {
  type ClaimFailure,
  type HostExplanation,
  type InstanceExplanation,
  type PlacementHostRejection,
  type SchedulingExplanation,
  type SummaryRejection,
  summarizeRejections,
} from './explanation.js'
import { type FilterVerdict, prepareFilters, runFilters } from './filter-runner.js'
import { AvailabilityZoneFilter } from './filters/availability-zone-filter.js'
import { DatabaseHostStateSource, type HostStateSource } from './host-state-source.js'
import { createInTreeRegistry } from './in-tree.js'
import { createSchedulerProfile, DEFAULT_REQUEST_FILTERS, type SchedulerProfile, type SchedulerProfileConfig } from './profile.js'
import type { PluginRegistry } from './registry.js'
import type { SchedulerAggregate } from './request-filter.js'
import { runRequestFilters } from './request-filter-runner.js'
import { buildAllocationCandidatesRequest } from './resource-request.js'
import { SCHEDULER_TOPIC, type SelectDestinationsResult } from './scheduler-rpc.js'
import { prepareWeighers, Ranking, scoresOf, weighTable } from './weigh.js'

/** The Placement microversion of the allocation requests the scheduler hands out. */
export const ALLOCATION_REQUEST_VERSION = '1.36'

/** The scheduler's configuration: the profile (filters, weighers, options) plus Nova `[scheduler]` settings. */
export interface SchedulerConfig extends SchedulerProfileConfig {
  /** Placement's `limit` (Nova `[scheduler]max_placement_results`). @default 1000 */
  readonly maxPlacementResults?: number
  /** A compute service is down after this long without a heartbeat (Nova `service_down_time`). @default 60 */
  readonly serviceDownTimeSec?: number
  /**
   * Restrict a requested availability zone in Placement (`member_of` the zone's aggregates, Nova
   * `query_placement_for_availability_zone`): adds `AvailabilityZoneRequestFilter` to the default request filters
   * (when `requestFilters` is not given). It relies on host aggregates being mirrored into Placement aggregates,
   * which `AggregateService` (`os-aggregates`) does; aggregates written to the database by other means need the
   * same mirroring (Nova's `nova-manage placement sync_aggregates`) or this turned off. Either way, unless
   * `AvailabilityZoneFilter` is configured, the scheduler also checks a requested zone against each host's
   * aggregates itself, before the filters (with the same code as `AvailabilityZoneFilter`).
   * @default true (Nova Zed's default)
   */
  readonly queryPlacementForAvailabilityZone?: boolean
  /** The zone of hosts in no zone aggregate (Nova `default_availability_zone`). @default 'nova' */
  readonly defaultAvailabilityZone?: string
  /** The server name the scheduler listens as on topic `scheduler`. @default 'scheduler' */
  readonly host?: string
  /** How many of the best hosts get their per-weigher scores in the explanation (keeps it small on big clouds). @default 50 */
  readonly explainTopHosts?: number
  /**
   * Record per host verdicts and weigher scores in each decision's explanation. Off, explanations keep the Placement
   * query, the counts, the selections and the claim failures, and `NoValidHostError` still names the per-filter
   * counts; dry runs always explain. @default true
   */
  readonly explain?: boolean
}

/** Options of {@link SchedulerManager.selectDestinations}. */
export interface SelectDestinationsOptions {
  /** Follow each selection with up to `maxAttempts − 1` unclaimed alternates (initial boots, cold migrations). */
  readonly returnAlternates: boolean
  /**
   * Decide without claiming: claims are checked against the usage Placement reported with the candidates (so a
   * multi-create does not overfill a host), nothing is written, nothing is remembered for later requests, and the
   * explanation is complete (it says why Placement left hosts out). @default false
   */
  readonly dryRun?: boolean
}

/** What {@link SchedulerManager} needs. Give `db` (host states come from it) or your own `hostStates`. */
export interface SchedulerManagerOptions {
  readonly placement: PlacementClient
  readonly db?: NovumDb
  /** @default a `DatabaseHostStateSource` over `db` */
  readonly hostStates?: HostStateSource
  /** @default `createInTreeRegistry()` */
  readonly registry?: PluginRegistry
  readonly config?: SchedulerConfig
  /** Needed only for {@link SchedulerManager.start} (listening on topic `scheduler`). */
  readonly transport?: Transport
  /** @default systemClock */
  readonly clock?: Clock
  /** @default silentLogger */
  readonly logger?: Logger
  /** The random source of the `hostSubsetSize` pick, in [0, 1). @default Math.random */
  readonly random?: () => number
  /** Where request filters get host aggregates (`ctx.aggregates()`). @default from `db`, else none */
  readonly aggregates?: () => Promise<readonly SchedulerAggregate[]>
}

/**
 * Allocation requests by the first provider each allocates from, or with `summaries` by that provider's root; the
 * first request wins for each key, in Placement's order.
 */
function indexCandidates(requests: readonly CandidateAllocationRequest[], summaries: AllocationCandidates['providerSummaries'] | null): Map<string, CandidateAllocationRequest> {
  const out = new Map<string, CandidateAllocationRequest>()
  for (const ar of requests) {
    let provider: string | undefined
    for (provider in ar.allocations) break
    if (provider === undefined) continue
    const summary = summaries?.[provider]
    const key = summary === undefined ? provider : summary.rootProviderUuid
    if (!out.has(key)) out.set(key, ar)
  }
  return out
}

/** `selectDestinations`' answer: the selections and a typed explanation. */
export interface SchedulingResult extends SelectDestinationsResult {
  readonly explanation: SchedulingExplanation
}

/** What one scheduler placed on a compute node since the node's record (`base`, its `updatedAt`) last changed. */
interface Consumption {
  base: string | null
  ramMb: number
  diskMb: number
  vcpus: number
  instances: string[]
  cache?: { source: HostState; result: HostState }
}

interface Rejected extends SummaryRejection {
  readonly host: string
  readonly nodename: string
}

function availabilityZoneOf(host: HostState, fallback: string): string {
  return host.aggregates.find((a) => a.availabilityZone)?.availabilityZone ?? fallback
}

/** The host after the instance lands on it, as Nova's `consume_from_request` sees it (for the next instances). */
function consume(host: HostState, request: RequestSpec, instanceUuid: string): HostState {
  const f = request.flavor
  return {
    ...host,
    freeRamMb: host.freeRamMb - f.memoryMb,
    freeDiskMb: host.freeDiskMb - ((f.rootGb + f.ephemeralGb) * 1024 + f.swapMb),
    vcpusUsed: host.vcpusUsed + f.vcpus,
    numInstances: host.numInstances + 1,
    numIoOps: host.numIoOps + 1,
    instanceUuids: [...host.instanceUuids, instanceUuid],
  }
}

/**
 * The scheduler service (Nova `SchedulerManager.select_destinations`): RequestSpec → Placement query →
 * allocation candidates → host states → per instance filter, weigh, pick among the best `hostSubsetSize`, claim
 * in Placement (trying the next host when a claim fails), then consume the host in memory so the next instances
 * of a multi-create see it. All or nothing: if an instance cannot be placed, the claims already made are removed
 * and a `NoValidHostError` names the per-filter and Placement counts. With `returnAlternates`, each selection is
 * followed by up to `maxAttempts − 1` unclaimed alternates, each with its own allocation request.
 *
 * @example
 * ```ts
 * const scheduler = new SchedulerManager({ db, placement: new PlacementService(db), transport })
 * await scheduler.start() // listens on topic "scheduler"
 * ```
 */
export class SchedulerManager {
  /** The resolved profile: filters, weighers, subset size, attempts. */
  readonly profile: SchedulerProfile
  private readonly placement: PlacementClient
  private readonly hostStates: HostStateSource
  private readonly config: SchedulerConfig
  private readonly logger: Logger
  private readonly random: () => number
  private readonly db: NovumDb | undefined
  private readonly transport: Transport | undefined
  private readonly aggregates: () => Promise<readonly SchedulerAggregate[]>
  /** Check a requested zone before the filters (unless `AvailabilityZoneFilter` is one of them). */
  private readonly checkZoneHere: boolean
  private listener: RpcListener | null = null
  /**
   * Per compute node: what this scheduler placed there since the node's record (`updatedAt`) last changed, and the
   * last host state it produced (reused while the source hands out the same object).
   */
  private readonly consumed = new Map<string, Consumption>()

  constructor(options: SchedulerManagerOptions) {
    this.config = options.config ?? {}
    const requestFilters =
      this.config.requestFilters ?? (this.config.queryPlacementForAvailabilityZone !== false ? ['AvailabilityZoneRequestFilter', ...DEFAULT_REQUEST_FILTERS] : undefined)
    this.profile = createSchedulerProfile(options.registry ?? createInTreeRegistry(), { ...this.config, ...(requestFilters ? { requestFilters } : {}) })
    for (const key of ['maxPlacementResults', 'serviceDownTimeSec', 'explainTopHosts'] as const) {
      const value = this.config[key]
      if (value !== undefined && (!Number.isInteger(value) || value < 0 || (key === 'maxPlacementResults' && value < 1))) {
        throw new ComputeError('INVALID', `invalid scheduler ${key} ${JSON.stringify(value)}: must be a ${key === 'maxPlacementResults' ? 'positive' : 'non-negative'} integer`)
      }
    }
    this.placement = options.placement
    this.db = options.db
    this.transport = options.transport
    const clock = options.clock ?? systemClock
    if (options.hostStates) this.hostStates = options.hostStates
    else if (options.db) this.hostStates = new DatabaseHostStateSource(options.db, { clock, ...(this.config.serviceDownTimeSec !== undefined ? { serviceDownTimeSec: this.config.serviceDownTimeSec } : {}) })
    else throw new ComputeError('INVALID', 'the scheduler needs a database (db) or a HostStateSource (hostStates)')
    this.aggregates = options.aggregates ?? (options.db ? () => loadAggregates(options.db as NovumDb) : async () => [])
    this.checkZoneHere = !this.profile.filters.some((f) => f.plugin.name === AvailabilityZoneFilter.name)
    this.logger = (options.logger ?? silentLogger).child({ service: 'nova-scheduler' })
    this.random = options.random ?? Math.random
  }

  /** Listens on topic `scheduler` (as server `config.host`) through the transport. */
  async start(): Promise<void> {
    if (this.listener) return
    if (!this.transport) throw new ComputeError('INVALID', 'the scheduler needs a transport to listen on topic "scheduler"')
    this.listener = await this.transport.listen({ topic: SCHEDULER_TOPIC, server: this.config.host ?? 'scheduler' }, schedulerEndpoint(this))
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    const l = this.listener
    this.listener = null
    await l?.stop()
  }

  /**
   * Picks and claims a host for every instance of the request; see the class notes. Resolves with one selection
   * list per instance (the claimed host, then alternates) and the explanation; rejects with `NoValidHostError`
   * (nothing stays claimed), or `ComputeError('PLUGIN')` when a plugin throws. With `dryRun` nothing is claimed
   * (see {@link SelectDestinationsOptions.dryRun}).
   */
  async selectDestinations(context: RequestContext, request: RequestSpec, options: SelectDestinationsOptions): Promise<SchedulingResult> {
    if (!Array.isArray(request.instanceUuids) || request.instanceUuids.length === 0) throw new ComputeError('INVALID', 'a request spec needs at least one instance uuid')
    const log = this.logger.child({ req_id: context.requestId })
    if (request.isRebuild) return this.selectForRebuild(request, log)
    const dryRun = options.dryRun === true
    const explain = dryRun || this.config.explain !== false
    const topHosts = this.config.explainTopHosts ?? 50

    const requested = buildAllocationCandidatesRequest(request, { limit: this.config.maxPlacementResults ?? 1000 })
    const prefiltered = await runRequestFilters(this.profile.requestFilters, requested, request, this.aggregates)
    const query = prefiltered.query
    if (prefiltered.rejection) {
      const { by, reason } = prefiltered.rejection
      const summary = `rejected by ${by} before Placement was asked: ${reason}`
      log.warn({ summary }, 'no valid host')
      const explanation: SchedulingExplanation = { requestFilters: prefiltered.outcomes, placementQuery: query, candidateCount: 0, hostCount: 0, placementRejections: [], instances: [] }
      throw new NoValidHostError({ hostCount: 0, rejections: [], summary, explanation })
    }
    const candidates = await this.placement.getAllocationCandidates(query)
    // One allocation request per compute node (root provider): the first Placement returned.
    // One allocation request per compute node (root provider): the first Placement returned for it. Compute nodes are
    // the roots of their trees, so when every request's first provider has a host state those are the roots, and no
    // provider summary needs reading (single-provider trees, the common case); otherwise each request's root comes
    // from the summaries.
    const summaries = candidates.providerSummaries
    const traits = (uuid: string): readonly string[] | undefined => summaries[uuid]?.traits
    let byRoot = indexCandidates(candidates.allocationRequests, null)
    let rootUuids = [...byRoot.keys()]
    let found = rootUuids.length ? await this.hostStates.getHostStates(rootUuids, { traits }) : []
    if (found.length !== rootUuids.length) {
      const byTreeRoot = indexCandidates(candidates.allocationRequests, summaries)
      if (byTreeRoot.size !== byRoot.size || [...byTreeRoot.keys()].some((uuid) => !byRoot.has(uuid))) {
        byRoot = byTreeRoot
        rootUuids = [...byRoot.keys()]
        found = rootUuids.length ? await this.hostStates.getHostStates(rootUuids, { traits }) : []
      }
    }
    log.debug({ candidates: candidates.allocationRequests.length, hosts: byRoot.size }, 'placement returned allocation candidates')

    const partial = { requestFilters: prefiltered.outcomes, placementQuery: query, candidateCount: candidates.allocationRequests.length }
    const states = this.withConsumption(found)
    const instances: InstanceExplanation[] = []
    const rejected = new Map<string, Rejected>()
    if (states.length !== rootUuids.length) {
      const known = new Set(states.map((s) => s.uuid))
      for (const uuid of rootUuids) {
        if (!known.has(uuid)) rejected.set(uuid, { host: uuid, nodename: uuid, by: 'HostState', summary: 'HostState', reason: 'provider has no compute node record' })
      }
    }

    // Hosts removed before the filters: ignore_hosts, a requested destination, the availability zone.
    const preVerdicts = new Map<string, FilterVerdict>()
    const zone = request.availabilityZone
    const zoneOptions = { defaultAvailabilityZone: this.config.defaultAvailabilityZone ?? 'nova' }
    const zoneCtx = { options: zoneOptions, state: undefined, instanceUuid: null, instanceIndex: 0 }
    const checkZone = Boolean(zone) && this.checkZoneHere
    const preFilter = request.ignoreHosts.length > 0 || request.requestedHost !== null || request.requestedNode !== null || checkZone
    let hosts: readonly HostState[] = !preFilter
      ? states
      : states.filter((h) => {
          let verdict: FilterVerdict | null = null
          if (request.ignoreHosts.includes(h.host)) verdict = { filter: 'IgnoreHosts', passed: false, reason: `host ${h.host} is in ignore_hosts` }
          else if (request.requestedHost && request.requestedHost !== h.host) verdict = { filter: 'RequestedDestination', passed: false, reason: `requested host is ${request.requestedHost}` }
          else if (request.requestedNode && request.requestedNode !== h.nodename) verdict = { filter: 'RequestedDestination', passed: false, reason: `requested node is ${request.requestedNode}` }
          else if (checkZone) {
            const result = AvailabilityZoneFilter.filter(h, request, zoneCtx)
            if (!result.passed) verdict = { filter: AvailabilityZoneFilter.name, passed: false, reason: result.reason }
          }
          if (!verdict) return true
          preVerdicts.set(h.uuid, verdict)
          rejected.set(h.uuid, { host: h.host, nodename: h.nodename, by: verdict.filter, summary: verdict.filter, reason: verdict.reason ?? '' })
          return false
        })

    // The instances being placed are members of their group (Nova adds them at create time).
    let working: RequestSpec = request.instanceGroup
      ? { ...request, instanceGroup: { ...request.instanceGroup, members: [...new Set([...request.instanceGroup.members, ...request.instanceUuids])] } }
      : request
    const [filters, weighers] = await Promise.all([prepareFilters(this.profile.filters, request), prepareWeighers(this.profile.weighers, request)])
    const claimed: { uuid: string; host: HostState; allocation: CandidateAllocationRequest }[] = []
    let lastPass: { hosts: readonly HostState[]; ranking: Ranking } = { hosts: [], ranking: new Ranking(new Float64Array(0)) }
    const simulated = dryRun ? new SimulatedClaims(summaries) : null

    try {
      for (const [index, instanceUuid] of request.instanceUuids.entries()) {
        const ctx = { instanceUuid, instanceIndex: index }
        const run = runFilters(filters, hosts, working, ctx, { recordVerdicts: false })
        const passed = run.passed
        const table = weighTable(weighers, passed, working, ctx)
        // The explanation lists the best `topHosts`: rank that many at once rather than 16 and then again.
        const ranking = new Ranking(table.totals, explain ? Math.max(16, topHosts + 1) : 16)
        lastPass = { hosts: passed, ranking }
        for (const r of run.rejections) rejected.set(r.uuid, { host: r.host, nodename: r.nodename, by: r.by, summary: r.by, reason: r.reason })
        log.debug({ instance_uuid: instanceUuid, hosts: hosts.length, passed: passed.length, rejected: run.rejections.length }, 'filtered and weighed hosts')

        // Nova `host_subset_size`: pick uniformly among the best; then try the others in rank order.
        const subset = Math.min(this.profile.hostSubsetSize, passed.length)
        const pickRank = subset > 1 ? Math.min(subset - 1, Math.floor(this.random() * subset)) : 0
        const pick = ranking.at(pickRank)
        const claimFailures: ClaimFailure[] = []
        let chosen: { host: HostState; allocation: CandidateAllocationRequest } | null = null
        for (let rank = -1; pick !== undefined && rank < passed.length; rank++) {
          const i = rank < 0 ? pick : ranking.at(rank)
          if (i === undefined || (rank >= 0 && i === pick)) continue
          const host = passed[i] as HostState
          const allocation = byRoot.get(host.uuid)
          if (!allocation) continue
          const failure = simulated ? simulated.claim(allocation) : await this.claim(instanceUuid, request, allocation)
          if (failure === null) {
            chosen = { host, allocation }
            rejected.delete(host.uuid)
            break
          }
          claimFailures.push({ host: host.host, uuid: host.uuid, reason: failure })
          rejected.set(host.uuid, { host: host.host, nodename: host.nodename, by: 'Placement', summary: 'no room left when claiming', reason: failure })
          log.info({ instance_uuid: instanceUuid, host: host.host, reason: failure }, 'claim failed; trying the next host')
        }

        const hostExplanations: HostExplanation[] = explain ? this.explainPass(table, ranking, pick, topHosts, run.rejections, index === 0 && preVerdicts.size > 0 ? states.filter((h) => preVerdicts.has(h.uuid)).map((h) => ({ h, v: preVerdicts.get(h.uuid) as FilterVerdict })) : []) : []
        const notApplicable = [...run.notApplicable, ...table.notApplicable]
        instances.push({ instanceUuid, filters: run.ran, ...(notApplicable.length ? { notApplicable } : {}), hosts: hostExplanations, selected: chosen?.host.uuid ?? null, alternates: [], claimFailures })
        if (!chosen) break

        claimed.push({ uuid: instanceUuid, ...chosen })
        log.info({ instance_uuid: instanceUuid, host: chosen.host.host, node: chosen.host.nodename, dry_run: dryRun }, 'selected host')
        if (index === request.instanceUuids.length - 1) break
        // The next instance sees this one on its host.
        const consumed = consume(chosen.host, working, instanceUuid)
        hosts = passed.map((h) => (h.uuid === consumed.uuid ? consumed : h))
        if (working.instanceGroup) working = { ...working, instanceGroup: { ...working.instanceGroup, hosts: [...working.instanceGroup.hosts, consumed.host] } }
      }
    } catch (err) {
      if (!dryRun) await this.release(claimed.map((c) => c.uuid), log)
      throw err
    }

    if (claimed.length < request.instanceUuids.length) {
      if (!dryRun) await this.release(claimed.map((c) => c.uuid), log)
      throw await this.noValidHost(query, { ...partial, ...(dryRun ? { dryRun } : {}) }, instances, rejected, byRoot.size, { placed: claimed.length, requested: request.instanceUuids.length })
    }

    if (!dryRun) for (const c of claimed) this.recordConsumption(c.host, request, c.uuid)

    // Alternates: the best other hosts of the last pass (never a claimed one), each with its own allocation request.
    const claimedIds = new Set(claimed.map((c) => c.host.uuid))
    const alternates: HostState[] = []
    for (let rank = 0; options.returnAlternates && alternates.length < this.profile.maxAttempts - 1; rank++) {
      const i = lastPass.ranking.at(rank)
      if (i === undefined) break
      const h = lastPass.hosts[i] as HostState
      if (!claimedIds.has(h.uuid) && byRoot.has(h.uuid)) alternates.push(h)
    }
    const selections = claimed.map((c, i) => {
      const own = this.selection(c.host, c.allocation)
      const alts = alternates.map((h) => this.selection(h, byRoot.get(h.uuid) as CandidateAllocationRequest))
      instances[i] = { ...(instances[i] as InstanceExplanation), alternates: alternates.map((h) => h.uuid) }
      return [own, ...alts]
    })
    const placementRejections = dryRun ? await this.placementRejections(query) : []
    return {
      selections,
      explanation: { ...partial, hostCount: byRoot.size + placementRejections.length, placementRejections, instances, ...(dryRun ? { dryRun } : {}) },
    }
  }

  /** Claims in Placement; resolves null on success, or why the claim failed (no room left: try the next host). */
  private async claim(instanceUuid: string, request: RequestSpec, allocation: CandidateAllocationRequest): Promise<string | null> {
    try {
      await this.placement.putAllocations(instanceUuid, { allocations: allocation.allocations, projectId: request.projectId, userId: request.userId, consumerGeneration: null })
      return null
    } catch (err) {
      if (isConsumerGenerationConflict(err) || !(ComputeError.is(err, 'CONFLICT') || ComputeError.is(err, 'INVALID'))) throw err
      return (err as Error).message
    }
  }

  /**
   * One pass's hosts for the explanation: the best `topHosts` passing hosts in rank order (the pick first) with their
   * scores, the other passing hosts with their weight, then this pass's rejections and the pre-filter steps'.
   */
  private explainPass(
    table: ReturnType<typeof weighTable>,
    ranking: Ranking,
    pick: number | undefined,
    topHosts: number,
    rejections: readonly { readonly uuid: string; readonly host: string; readonly nodename: string; readonly by: string; readonly reason: string }[],
    pre: readonly { readonly h: HostState; readonly v: FilterVerdict }[],
  ): HostExplanation[] {
    const passed = table.hosts
    const totals = table.totals
    const top = ranking.first(Math.max(topHosts, 1))
    const ordered = pick === undefined ? top : [pick, ...top.filter((i) => i !== pick)]
    const listed = new Uint8Array(passed.length)
    const out: HostExplanation[] = []
    for (let rank = 0; rank < ordered.length; rank++) {
      const i = ordered[rank] as number
      listed[i] = 1
      const h = passed[i] as HostState
      out.push(
        rank < topHosts && table.columns.length
          ? { host: h.host, nodename: h.nodename, uuid: h.uuid, weight: totals[i] as number, weights: scoresOf(table, i) }
          : { host: h.host, nodename: h.nodename, uuid: h.uuid, weight: totals[i] as number },
      )
    }
    for (let i = 0; i < passed.length; i++) {
      if (listed[i]) continue
      const h = passed[i] as HostState
      out.push({ host: h.host, nodename: h.nodename, uuid: h.uuid, weight: totals[i] as number })
    }
    for (const r of rejections) out.push({ host: r.host, nodename: r.nodename, uuid: r.uuid, rejectedBy: { filter: r.by, reason: r.reason } })
    for (const { h, v } of pre) out.push({ host: h.host, nodename: h.nodename, uuid: h.uuid, rejectedBy: { filter: v.filter, reason: v.reason ?? '' } })
    return out
  }

  /**
   * Applies what this scheduler placed since each host's compute node record was last updated, so back-to-back
   * requests see earlier choices (Nova keeps consumed `HostState`s in memory until the resource tracker reports).
   */
  private withConsumption(states: readonly HostState[]): readonly HostState[] {
    if (this.consumed.size === 0) return states
    const consumed = this.consumed
    const out = new Array<HostState>(states.length)
    for (let i = 0; i < states.length; i++) {
      const s = states[i] as HostState
      const c = consumed.get(s.uuid)
      out[i] = c === undefined ? s : this.consumedState(s, c)
    }
    return out
  }

  /** `s` with what this scheduler placed on it since its record last changed (cached while `s` is the same object). */
  private consumedState(s: HostState, c: Consumption): HostState {
    if (c.base !== s.updatedAt) {
      this.consumed.delete(s.uuid)
      return s
    }
    if (c.cache?.source === s) return c.cache.result
    const known = new Set(s.instanceUuids)
    const result: HostState = {
      ...s,
      freeRamMb: s.freeRamMb - c.ramMb,
      freeDiskMb: s.freeDiskMb - c.diskMb,
      vcpusUsed: s.vcpusUsed + c.vcpus,
      numInstances: s.numInstances + c.instances.length,
      numIoOps: s.numIoOps + c.instances.length,
      instanceUuids: [...s.instanceUuids, ...c.instances.filter((u) => !known.has(u))],
    }
    c.cache = { source: s, result }
    return result
  }

  private recordConsumption(host: HostState, request: RequestSpec, instanceUuid: string): void {
    const f = request.flavor
    const c = this.consumed.get(host.uuid)
    const entry = c && c.base === host.updatedAt ? c : { base: host.updatedAt, ramMb: 0, diskMb: 0, vcpus: 0, instances: [] as string[] }
    entry.ramMb += f.memoryMb
    entry.diskMb += (f.rootGb + f.ephemeralGb) * 1024 + f.swapMb
    entry.vcpus += f.vcpus
    if (!entry.instances.includes(instanceUuid)) entry.instances.push(instanceUuid)
    delete entry.cache
    this.consumed.set(host.uuid, entry)
  }

  private selection(host: HostState, allocation: AllocationRequest): Selection {
    return {
      serviceHost: host.host,
      nodename: host.nodename,
      computeNodeUuid: host.uuid,
      allocationRequest: allocation,
      allocationRequestVersion: ALLOCATION_REQUEST_VERSION,
      availabilityZone: availabilityZoneOf(host, this.config.defaultAvailabilityZone ?? 'nova'),
    }
  }

  /** Removes claims made for a request that cannot be completed. */
  private async release(consumers: readonly string[], log: Logger): Promise<void> {
    for (const uuid of consumers) {
      try {
        await this.placement.deleteAllocations(uuid)
      } catch (err) {
        log.error({ instance_uuid: uuid, err: String(err) }, 'failed to remove a claim while undoing a failed request')
      }
    }
  }

  /** Why Placement left hosts out of its answer to `query` (empty when the Placement client cannot say). */
  private async placementRejections(query: AllocationCandidatesRequest): Promise<PlacementHostRejection[]> {
    const out: PlacementHostRejection[] = []
    if (!this.placement.explainAllocationCandidates) return out
    const reasons = await this.placement.explainAllocationCandidates(query)
    const states = reasons.length ? await this.hostStates.getHostStates(reasons.map((r) => r.providerUuid)) : []
    const byUuid = new Map(states.map((s) => [s.uuid, s]))
    for (const r of reasons) {
      const s = byUuid.get(r.providerUuid)
      out.push({ host: s?.host ?? r.providerName, nodename: s?.nodename ?? r.providerName, uuid: r.providerUuid, summary: r.summary, reason: r.message })
    }
    return out
  }

  /** Builds the NoValidHostError, asking Placement why the hosts it left out had no candidate. */
  private async noValidHost(
    query: AllocationCandidatesRequest,
    partial: Pick<SchedulingExplanation, 'requestFilters' | 'placementQuery' | 'candidateCount' | 'dryRun'>,
    instances: readonly InstanceExplanation[],
    rejected: ReadonlyMap<string, Rejected>,
    candidateHosts: number,
    progress: { placed: number; requested: number },
  ): Promise<NoValidHostError> {
    const placementRejections = await this.placementRejections(query)
    const all: Rejected[] = [
      ...[...rejected.values()],
      ...placementRejections.map((p) => ({ host: p.host, nodename: p.nodename, by: 'Placement', summary: p.summary, reason: `${p.summary}: ${p.reason}` })),
    ]
    const hostCount = candidateHosts + placementRejections.length
    let summary = summarizeRejections(hostCount, all, progress)
    if (hostCount === 0 && !this.placement.explainAllocationCandidates) summary = 'Placement returned no allocation candidates'
    const explanation: SchedulingExplanation = { ...partial, hostCount, placementRejections, instances }
    const rejections: HostRejection[] = all.map((r) => ({ host: r.host, nodename: r.nodename, by: r.by, reason: r.reason }))
    this.logger.warn({ summary, explanation }, 'no valid host')
    // NOTE: the explanation rides along in the error's details, across a transport too: the conductor stores it in
    // the instance action event, and a dry run answers "why not host X" from it.
    return new NoValidHostError({ hostCount, rejections, summary, explanation })
  }

  private async selectForRebuild(request: RequestSpec, log: Logger): Promise<SchedulingResult> {
    if (!request.requestedHost) throw new ComputeError('INVALID', 'a rebuild request spec needs requestedHost (the instance’s current host)')
    const hosts = await this.hostStates.getHostStatesByHost(request.requestedHost, request.requestedNode)
    const filters = await prepareFilters(this.profile.filters, request)
    const run = runFilters(filters, hosts, request, { instanceUuid: request.instanceUuids[0] ?? null, instanceIndex: 0 })
    const hostExplanations: HostExplanation[] = hosts.map((h) => {
      const v = run.verdicts.get(h.uuid)?.find((x) => !x.passed)
      return { host: h.host, nodename: h.nodename, uuid: h.uuid, ...(v ? { rejectedBy: { filter: v.filter, reason: v.reason ?? '' } } : {}) }
    })
    const instances: InstanceExplanation[] = request.instanceUuids.map((instanceUuid) => ({
      instanceUuid,
      filters: run.ran,
      ...(run.notApplicable.length ? { notApplicable: run.notApplicable } : {}),
      hosts: hostExplanations,
      selected: run.passed[0]?.uuid ?? null,
      alternates: [],
      claimFailures: [],
    }))
    const placementQuery: AllocationCandidatesRequest = { groups: [] }
    const chosen = run.passed[0]
    if (!chosen) {
      const rejections = run.rejections.map((r) => ({ host: r.host, nodename: r.nodename, by: r.by, summary: r.by, reason: r.reason }))
      const summary = hosts.length ? summarizeRejections(hosts.length, rejections) : `host ${request.requestedHost} has no compute node`
      log.warn({ summary }, 'rebuild rejected by filters')
      throw new NoValidHostError({ hostCount: hosts.length, rejections: rejections.map(({ summary: _s, ...r }) => r), summary })
    }
    return {
      selections: request.instanceUuids.map(() => [this.selection(chosen, { allocations: {} })]),
      explanation: { placementQuery, candidateCount: 0, hostCount: hosts.length, placementRejections: [], instances },
    }
  }
}

/**
 * The scheduler's RPC server side: `select_destinations` with args `{ requestSpec, returnAlternates, dryRun }`, so the
 * scheduler can listen on topic `scheduler` through any `Transport`.
 */
export function schedulerEndpoint(manager: Pick<SchedulerManager, 'selectDestinations'>): RpcEndpoint {
  return {
    select_destinations: async (args, context) => {
      const spec = args['requestSpec']
      if (typeof spec !== 'object' || spec === null || !Array.isArray((spec as RequestSpec).instanceUuids)) {
        throw new ComputeError('INVALID', `select_destinations needs a requestSpec with instanceUuids (got ${JSON.stringify(spec)?.slice(0, 200)})`)
      }
      return manager.selectDestinations(context, spec as RequestSpec, { returnAlternates: args['returnAlternates'] === true, dryRun: args['dryRun'] === true })
    },
  }
}

/**
 * A dry run's claims: each is checked against the capacity and usage Placement reported with the candidates, plus
 * what earlier instances of the same request took; nothing is written.
 */
class SimulatedClaims {
  private readonly used = new Map<string, number>()

  constructor(private readonly summaries: AllocationCandidates['providerSummaries']) {}

  /** Null when the allocation fits, else why not. */
  claim(allocation: CandidateAllocationRequest): string | null {
    for (const [provider, { resources }] of Object.entries(allocation.allocations)) {
      for (const [rc, amount] of Object.entries(resources)) {
        const summary = this.summaries[provider]?.resources[rc]
        if (!summary) continue
        const used = summary.used + (this.used.get(`${provider}\u0000${rc}`) ?? 0)
        if (used + amount > summary.capacity) return `dry run: ${rc} on provider ${provider}: wants ${amount}, free ${summary.capacity - used} (capacity ${summary.capacity})`
      }
    }
    for (const [provider, { resources }] of Object.entries(allocation.allocations)) {
      for (const [rc, amount] of Object.entries(resources)) {
        const key = `${provider}\u0000${rc}`
        this.used.set(key, (this.used.get(key) ?? 0) + amount)
      }
    }
    return null
  }
}

/** Every host aggregate with its metadata and hosts (what request filters read through `ctx.aggregates()`). */
async function loadAggregates(db: NovumDb): Promise<SchedulerAggregate[]> {
  const [aggregates, metadata, hosts] = await Promise.all([
    db.selectFrom('aggregates').select(['id', 'uuid', 'name']).orderBy('id').execute(),
    db.selectFrom('aggregate_metadata').select(['aggregate_id', 'key', 'value']).execute(),
    db.selectFrom('aggregate_hosts').select(['aggregate_id', 'host']).execute(),
  ])
  const meta = new Map<number, Record<string, string>>()
  for (const m of metadata) meta.set(m.aggregate_id, { ...(meta.get(m.aggregate_id) ?? {}), [m.key]: m.value })
  const members = new Map<number, string[]>()
  for (const h of hosts) members.set(h.aggregate_id, [...(members.get(h.aggregate_id) ?? []), h.host])
  return aggregates.map((a) => {
    const metadataOf = meta.get(a.id) ?? {}
    return { id: a.id, uuid: a.uuid, name: a.name, availabilityZone: metadataOf['availability_zone'] ?? null, metadata: metadataOf, hosts: members.get(a.id) ?? [] }
  })
}
