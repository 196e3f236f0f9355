import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import { ComputeError } from '../errors/compute-error.js'
import { type HostRejection, NoValidHostError } from '../errors/no-valid-host-error.js'
import type { HostState } from '../model/host-state.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { AllocationRequest, Selection } from '../model/selection.js'
import type { AllocationCandidatesRequest, CandidateAllocationRequest, PlacementClient } from '../placement/placement-client.js'
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
import { DatabaseHostStateSource, type HostStateSource } from './host-state-source.js'
import { createInTreeRegistry } from './in-tree.js'
import { createSchedulerProfile, type SchedulerProfile, type SchedulerProfileConfig } from './profile.js'
import type { PluginRegistry } from './registry.js'
import { buildAllocationCandidatesRequest } from './resource-request.js'
import { SCHEDULER_TOPIC, type SelectDestinationsResult } from './scheduler-rpc.js'
import { pickFromSubset, prepareWeighers, weighHosts } from './weigh.js'

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
   * `query_placement_for_availability_zone`). This needs host aggregates mirrored into Placement aggregates; when
   * off, the scheduler checks the zone against each host's aggregates itself, before the filters.
   * @default false
   */
  readonly queryPlacementForAvailabilityZone?: boolean
  /** The zone of hosts in no zone aggregate (Nova `default_availability_zone`). @default 'nova' */
  readonly defaultAvailabilityZone?: string
  /** The server name the scheduler listens as on topic `scheduler`. @default 'scheduler' */
  readonly host?: string
  /** How many of the best hosts get their per-weigher scores in the explanation (keeps it small on big clouds). @default 50 */
  readonly explainTopHosts?: number
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
}

/** `selectDestinations`' answer: the selections and a typed explanation. */
export interface SchedulingResult extends SelectDestinationsResult {
  readonly explanation: SchedulingExplanation
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
  private listener: RpcListener | null = null
  /** Per compute node: what this scheduler placed there since the node's record (`updatedAt`) last changed. */
  private readonly consumed = new Map<string, { base: string | null; ramMb: number; diskMb: number; vcpus: number; instances: string[] }>()

  constructor(options: SchedulerManagerOptions) {
    this.config = options.config ?? {}
    this.profile = createSchedulerProfile(options.registry ?? createInTreeRegistry(), this.config)
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
    if (this.config.queryPlacementForAvailabilityZone && !this.db) throw new ComputeError('INVALID', 'queryPlacementForAvailabilityZone needs the database (db)')
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
   * (nothing stays claimed), or `ComputeError('PLUGIN')` when a plugin throws.
   */
  async selectDestinations(context: RequestContext, request: RequestSpec, options: { readonly returnAlternates: boolean }): Promise<SchedulingResult> {
    if (!Array.isArray(request.instanceUuids) || request.instanceUuids.length === 0) throw new ComputeError('INVALID', 'a request spec needs at least one instance uuid')
    const log = this.logger.child({ req_id: context.requestId })
    if (request.isRebuild) return this.selectForRebuild(request, log)

    let query = buildAllocationCandidatesRequest(request, { limit: this.config.maxPlacementResults ?? 1000 })
    query = await this.restrictToAvailabilityZone(request, query)
    const candidates = await this.placement.getAllocationCandidates(query)
    const byRoot = new Map<string, CandidateAllocationRequest[]>()
    for (const ar of candidates.allocationRequests) {
      const providers = Object.keys(ar.allocations)
      const root = candidates.providerSummaries[providers[0] ?? '']?.rootProviderUuid ?? providers[0]
      if (root === undefined) continue
      const list = byRoot.get(root) ?? []
      list.push(ar)
      byRoot.set(root, list)
    }
    log.debug({ candidates: candidates.allocationRequests.length, hosts: byRoot.size }, 'placement returned allocation candidates')

    const explanation = { placementQuery: query, candidateCount: candidates.allocationRequests.length }
    const traits = new Map([...byRoot.keys()].map((uuid) => [uuid, candidates.providerSummaries[uuid]?.traits ?? []]))
    const states = byRoot.size ? this.withConsumption(await this.hostStates.getHostStates([...byRoot.keys()], { traits })) : []
    const instances: InstanceExplanation[] = []
    const rejected = new Map<string, Rejected>()
    const known = new Set(states.map((s) => s.uuid))
    for (const uuid of byRoot.keys()) {
      if (!known.has(uuid)) rejected.set(uuid, { host: uuid, nodename: uuid, by: 'HostState', summary: 'HostState', reason: 'provider has no compute node record' })
    }

    // Hosts removed before the filters: ignore_hosts, a requested destination, the availability zone.
    const preVerdicts = new Map<string, FilterVerdict>()
    const zone = request.availabilityZone
    const checkZone = zone && !this.config.queryPlacementForAvailabilityZone
    const defaultZone = this.config.defaultAvailabilityZone ?? 'nova'
    let hosts = states.filter((h) => {
      let verdict: FilterVerdict | null = null
      if (request.ignoreHosts.includes(h.host)) verdict = { filter: 'IgnoreHosts', passed: false, reason: `host ${h.host} is in ignore_hosts` }
      else if (request.requestedHost && request.requestedHost !== h.host) verdict = { filter: 'RequestedDestination', passed: false, reason: `requested host is ${request.requestedHost}` }
      else if (request.requestedNode && request.requestedNode !== h.nodename) verdict = { filter: 'RequestedDestination', passed: false, reason: `requested node is ${request.requestedNode}` }
      else if (checkZone && availabilityZoneOf(h, defaultZone) !== zone) verdict = { filter: 'AvailabilityZone', passed: false, reason: `in availability zone ${availabilityZoneOf(h, defaultZone)}, not ${zone}` }
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
    let lastOrder: HostState[] = []

    try {
      for (const [index, instanceUuid] of request.instanceUuids.entries()) {
        const ctx = { instanceUuid, instanceIndex: index }
        const run = runFilters(filters, hosts, working, ctx)
        const weighed = weighHosts(weighers, run.passed, working, ctx)
        const ordered = pickFromSubset(weighed, this.profile.hostSubsetSize, this.random)
        lastOrder = ordered.map((w) => w.host)
        for (const r of run.rejections) rejected.set(r.uuid, { host: r.host, nodename: r.nodename, by: r.by, summary: r.by, reason: r.reason })
        log.debug({ instance_uuid: instanceUuid, hosts: hosts.length, passed: run.passed.length, rejected: run.rejections.length }, 'filtered and weighed hosts')

        const claimFailures: ClaimFailure[] = []
        let chosen: { host: HostState; allocation: CandidateAllocationRequest } | null = null
        for (const { host } of ordered) {
          const allocation = byRoot.get(host.uuid)?.[0]
          if (!allocation) continue
          try {
            await this.placement.putAllocations(instanceUuid, { allocations: allocation.allocations, projectId: request.projectId, userId: request.userId, consumerGeneration: null })
            chosen = { host, allocation }
            rejected.delete(host.uuid)
            break
          } catch (err) {
            if (isConsumerGenerationConflict(err) || !(ComputeError.is(err, 'CONFLICT') || ComputeError.is(err, 'INVALID'))) throw err
            const reason = (err as Error).message
            claimFailures.push({ host: host.host, uuid: host.uuid, reason })
            rejected.set(host.uuid, { host: host.host, nodename: host.nodename, by: 'Placement', summary: 'no room left when claiming', reason })
            log.info({ instance_uuid: instanceUuid, host: host.host, reason }, 'claim failed; trying the next host')
          }
        }

        const passedIds = new Set(run.passed.map((h) => h.uuid))
        const topHosts = this.config.explainTopHosts ?? 50
        const rejectionOf = (uuid: string): HostExplanation['rejectedBy'] => {
          const v = run.verdicts.get(uuid)?.find((x) => !x.passed)
          return v ? { filter: v.filter, reason: v.reason ?? '' } : undefined
        }
        const hostExplanations: HostExplanation[] = [
          ...ordered.map((w, rank) => ({
            host: w.host.host,
            nodename: w.host.nodename,
            uuid: w.host.uuid,
            weight: w.weight,
            ...(rank < topHosts && w.scores.length ? { weights: w.scores } : {}),
          })),
          ...hosts.filter((h) => !passedIds.has(h.uuid)).map((h) => ({ host: h.host, nodename: h.nodename, uuid: h.uuid, rejectedBy: rejectionOf(h.uuid) })),
          ...(index === 0
            ? states
                .filter((h) => preVerdicts.has(h.uuid))
                .map((h) => {
                  const v = preVerdicts.get(h.uuid) as FilterVerdict
                  return { host: h.host, nodename: h.nodename, uuid: h.uuid, rejectedBy: { filter: v.filter, reason: v.reason ?? '' } }
                })
            : []),
        ]
        instances.push({ instanceUuid, filters: run.ran, hosts: hostExplanations, selected: chosen?.host.uuid ?? null, alternates: [], claimFailures })
        if (!chosen) break

        claimed.push({ uuid: instanceUuid, ...chosen })
        const consumed = consume(chosen.host, working, instanceUuid)
        hosts = run.passed.map((h) => (h.uuid === consumed.uuid ? consumed : h))
        if (working.instanceGroup) working = { ...working, instanceGroup: { ...working.instanceGroup, hosts: [...working.instanceGroup.hosts, consumed.host] } }
        log.info({ instance_uuid: instanceUuid, host: consumed.host, node: consumed.nodename }, 'selected host')
      }
    } catch (err) {
      await this.release(claimed.map((c) => c.uuid), log)
      throw err
    }

    if (claimed.length < request.instanceUuids.length) {
      await this.release(claimed.map((c) => c.uuid), log)
      throw await this.noValidHost(query, explanation, instances, rejected, byRoot.size, { placed: claimed.length, requested: request.instanceUuids.length })
    }

    for (const c of claimed) this.recordConsumption(c.host, request, c.uuid)

    // Alternates: the best other hosts of the last pass (never a claimed one), each with its own allocation request.
    const claimedIds = new Set(claimed.map((c) => c.host.uuid))
    const alternates = options.returnAlternates
      ? lastOrder.filter((h) => !claimedIds.has(h.uuid) && byRoot.has(h.uuid)).slice(0, this.profile.maxAttempts - 1)
      : []
    const selections = claimed.map((c, i) => {
      const own = this.selection(c.host, c.allocation)
      const alts = alternates.map((h) => this.selection(h, byRoot.get(h.uuid)?.[0] as CandidateAllocationRequest))
      instances[i] = { ...(instances[i] as InstanceExplanation), alternates: alternates.map((h) => h.uuid) }
      return [own, ...alts]
    })
    return {
      selections,
      explanation: { ...explanation, hostCount: byRoot.size, placementRejections: [], instances },
    }
  }

  /**
   * Applies what this scheduler placed since each host's compute node record was last updated, so back-to-back
   * requests see earlier choices (Nova keeps consumed `HostState`s in memory until the resource tracker reports).
   */
  private withConsumption(states: readonly HostState[]): HostState[] {
    return states.map((s) => {
      const c = this.consumed.get(s.uuid)
      if (!c) return s
      if (c.base !== s.updatedAt) {
        this.consumed.delete(s.uuid)
        return s
      }
      const known = new Set(s.instanceUuids)
      return {
        ...s,
        freeRamMb: s.freeRamMb - c.ramMb,
        freeDiskMb: s.freeDiskMb - c.diskMb,
        vcpusUsed: s.vcpusUsed + c.vcpus,
        numInstances: s.numInstances + c.instances.length,
        numIoOps: s.numIoOps + c.instances.length,
        instanceUuids: [...s.instanceUuids, ...c.instances.filter((u) => !known.has(u))],
      }
    })
  }

  private recordConsumption(host: HostState, request: RequestSpec, instanceUuid: string): void {
    const f = request.flavor
    const c = this.consumed.get(host.uuid)
    const entry = c && c.base === host.updatedAt ? c : { base: host.updatedAt, ramMb: 0, diskMb: 0, vcpus: 0, instances: [] as string[] }
    entry.ramMb += f.memoryMb
    entry.diskMb += (f.rootGb + f.ephemeralGb) * 1024 + f.swapMb
    entry.vcpus += f.vcpus
    if (!entry.instances.includes(instanceUuid)) entry.instances.push(instanceUuid)
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

  /** Builds the NoValidHostError, asking Placement why the hosts it left out had no candidate. */
  private async noValidHost(
    query: AllocationCandidatesRequest,
    partial: { placementQuery: AllocationCandidatesRequest; candidateCount: number },
    instances: readonly InstanceExplanation[],
    rejected: ReadonlyMap<string, Rejected>,
    candidateHosts: number,
    progress: { placed: number; requested: number },
  ): Promise<NoValidHostError> {
    const placementRejections: PlacementHostRejection[] = []
    if (this.placement.explainAllocationCandidates) {
      const reasons = await this.placement.explainAllocationCandidates(query)
      const states = reasons.length ? await this.hostStates.getHostStates(reasons.map((r) => r.providerUuid)) : []
      const byUuid = new Map(states.map((s) => [s.uuid, s]))
      for (const r of reasons) {
        const s = byUuid.get(r.providerUuid)
        placementRejections.push({ host: s?.host ?? r.providerName, nodename: s?.nodename ?? r.providerName, uuid: r.providerUuid, summary: r.summary, reason: r.message })
      }
    }
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
    // NOTE: the explanation rides along in the error's details for in-process callers; the NoValidHostError
    // reviver keeps only hostCount, rejections and summary across a transport.
    const details = { hostCount, rejections, summary, explanation }
    return new NoValidHostError(details)
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

  /** With `queryPlacementForAvailabilityZone`, adds `member_of` the requested zone's aggregates (if any carry it). */
  private async restrictToAvailabilityZone(request: RequestSpec, query: AllocationCandidatesRequest): Promise<AllocationCandidatesRequest> {
    const zone = request.availabilityZone
    if (!zone || !this.config.queryPlacementForAvailabilityZone || !this.db) return query
    const rows = await this.db
      .selectFrom('aggregates as a')
      .innerJoin('aggregate_metadata as m', 'm.aggregate_id', 'a.id')
      .select('a.uuid')
      .where('m.key', '=', 'availability_zone')
      .where('m.value', '=', zone)
      .execute()
    if (rows.length === 0) return query
    const [first, ...rest] = query.groups
    if (!first) return query
    return { ...query, groups: [{ ...first, memberOf: [...(first.memberOf ?? []), rows.map((r) => r.uuid)] }, ...rest] }
  }
}

/**
 * The scheduler's RPC server side: `select_destinations` with args `{ requestSpec, returnAlternates }`, so the
 * scheduler can listen on topic `scheduler` through any `Transport`.
 */
export function schedulerEndpoint(manager: Pick<SchedulerManager, 'selectDestinations'>): RpcEndpoint {
  return {
    select_destinations: async (args, context) => {
      const spec = args['requestSpec']
      if (typeof spec !== 'object' || spec === null || !Array.isArray((spec as RequestSpec).instanceUuids)) {
        throw new ComputeError('INVALID', `select_destinations needs a requestSpec with instanceUuids (got ${JSON.stringify(spec)?.slice(0, 200)})`)
      }
      return manager.selectDestinations(context, spec as RequestSpec, { returnAlternates: args['returnAlternates'] === true })
    },
  }
}
