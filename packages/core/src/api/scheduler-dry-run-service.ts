import { randomUUID } from 'node:crypto'
import type { RequestContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { ImageService } from '../image/image-service.js'
import { Policy } from '../policy/policy.js'
import { explainHost, type HostDecision, type SchedulingExplanation } from '../scheduler/explanation.js'
import type { SchedulerRpcClient } from '../scheduler/scheduler-rpc.js'
import type { FlavorService } from './flavor-service.js'
import type { ServerGroupService } from './server-group-service.js'

/** What a dry run asks: the scheduling part of a server create. */
export interface SchedulerDryRunRequest {
  /** Flavor id (`flavorid`). */
  readonly flavorRef: string
  /** Image uuid. */
  readonly imageRef: string
  /** `az`, or the forced forms `az:host` and `az:host:node`. */
  readonly availabilityZone?: string | null
  /** `os:scheduler_hints`; `group` names a server group. */
  readonly schedulerHints?: Readonly<Record<string, string | readonly string[]>>
  /** How many instances (a multi-create is all or nothing). @default 1 */
  readonly minCount?: number
  /** The project whose request to play (tenant isolation, quotas are not checked). @default the caller's */
  readonly projectId?: string
  /** A host (name, node name or compute node uuid) to explain: why it was, or was not, chosen. */
  readonly explainHost?: string
}

/** Where one instance would land. */
export interface DryRunDestination {
  readonly host: string
  readonly nodename: string
  readonly availabilityZone: string | null
  /** The alternates a reschedule would try, in order. */
  readonly alternates: readonly string[]
}

/** A dry run's answer. */
export interface SchedulerDryRunResult {
  /** True when every instance found a host. */
  readonly placed: boolean
  /** One per instance when placed; empty otherwise. */
  readonly destinations: readonly DryRunDestination[]
  /** `would land on compute-2`, or the NoValidHost message with its counts. */
  readonly summary: string
  /** The answer about {@link SchedulerDryRunRequest.explainHost}, when asked. */
  readonly explainHost?: HostDecision
  /** The scheduler's full record of the decision. */
  readonly explanation: SchedulingExplanation | null
}

/** The scheduler as the dry run uses it: `SchedulerRpcClient` across a transport, or a `SchedulerManager` in process. */
export type DryRunScheduler = Pick<SchedulerRpcClient, 'selectDestinations'>

/**
 * "Where would this request land, and why not host X" against live state, without claiming anything (a Novum
 * extension; admin only, rule `novum:scheduler:dry-run`): builds the request spec a server create would (flavor,
 * image, zone, hints, group) and asks the scheduler for a dry run (`SchedulerManager.selectDestinations` with
 * `dryRun`: claims are checked against Placement's usage, nothing is written).
 *
 * @example
 * ```ts
 * const { summary, explainHost } = await dryRun.run(adminCtx, { flavorRef: '1', imageRef, explainHost: 'compute-3' })
 * ```
 */
export class SchedulerDryRunService {
  constructor(
    private readonly scheduler: DryRunScheduler,
    private readonly flavors: FlavorService,
    private readonly images: ImageService,
    private readonly serverGroups: ServerGroupService,
    private readonly policy: Policy = new Policy(),
  ) {}

  /** Runs the dry run. Errors: `FORBIDDEN` (not admin), `INVALID` (bad flavor, image, count or group hint). */
  async run(ctx: RequestContext, req: SchedulerDryRunRequest): Promise<SchedulerDryRunResult> {
    this.policy.authorize(ctx, 'novum:scheduler:dry-run')
    const count = req.minCount ?? 1
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new ComputeError('INVALID', `Invalid input for field/attribute min_count. Value: ${String(count)}. must be an integer from 1 to 1000`)
    const flavor = await this.flavors.getForBuild(ctx, req.flavorRef)
    let image
    try {
      image = await this.images.get(ctx, req.imageRef)
    } catch (err) {
      if (ComputeError.is(err, 'NOT_FOUND')) throw new ComputeError('INVALID', err.message, { cause: err, details: { imageId: req.imageRef } })
      throw err
    }
    const [zone, host, node] = (req.availabilityZone ?? '').split(':')
    const hints: Record<string, readonly string[]> = {}
    for (const [k, v] of Object.entries(req.schedulerHints ?? {})) hints[k] = Array.isArray(v) ? v.map(String) : [String(v)]
    const groupUuid = hints['group']?.[0]
    let instanceGroup: RequestSpec['instanceGroup'] = null
    if (groupUuid) {
      try {
        instanceGroup = await this.serverGroups.requestGroup(ctx, groupUuid)
      } catch (err) {
        if (ComputeError.is(err, 'NOT_FOUND')) throw new ComputeError('INVALID', `Instance group ${groupUuid} could not be found.`, { cause: err })
        throw err
      }
    }
    const uuids = Array.from({ length: count }, () => randomUUID())
    const spec: RequestSpec = {
      instanceUuids: uuids,
      projectId: req.projectId ?? ctx.projectId ?? '',
      userId: ctx.userId ?? '',
      flavor,
      image: this.images.toImageMeta(image),
      availabilityZone: zone || null,
      schedulerHints: hints,
      instanceGroup: instanceGroup ? { ...instanceGroup, members: [...instanceGroup.members, ...uuids] } : null,
      ignoreHosts: [],
      requestedHost: host || null,
      requestedNode: node || null,
      isRebuild: false,
    }
    let explanation: SchedulingExplanation | null
    let result: Omit<SchedulerDryRunResult, 'explainHost' | 'explanation'>
    try {
      const decided = await this.scheduler.selectDestinations(ctx, spec, { returnAlternates: true, dryRun: true })
      explanation = decided.explanation as SchedulingExplanation
      const destinations = decided.selections.map((list) => ({
        host: list[0]?.serviceHost ?? '',
        nodename: list[0]?.nodename ?? '',
        availabilityZone: list[0]?.availabilityZone ?? null,
        alternates: list.slice(1).map((s) => s.serviceHost),
      }))
      const hosts = [...new Set(destinations.map((d) => d.host))]
      result = { placed: true, destinations, summary: `would land on ${count === 1 ? hosts[0] : `${hosts.length} host(s): ${hosts.join(', ')}`}` }
    } catch (err) {
      if (!ComputeError.is(err, 'NO_VALID_HOST')) throw err
      explanation = ((err.details as { explanation?: SchedulingExplanation } | undefined)?.explanation ?? null)
      result = { placed: false, destinations: [], summary: err.message }
    }
    const decision = req.explainHost
      ? explanation
        ? explainHost(explanation, req.explainHost)
        : { host: req.explainHost, outcome: 'unknown' as const, summary: `${req.explainHost}: the scheduler returned no explanation` }
      : undefined
    return { ...result, ...(decision ? { explainHost: decision } : {}), explanation }
  }
}
