import type { RequestContext } from '../context.js'
import { ComputeRpcClient } from '../compute/compute-rpc.js'
import type { NovumDb } from '../db/create-database.js'
import { InstanceRepository, type InstancePatch } from '../db/repositories/instance-repository.js'
import { ComputeError, toComputeError } from '../errors/compute-error.js'
import type { Instance } from '../model/instance.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { Selection, SelectionList } from '../model/selection.js'
import { Notifier } from '../notifications/notifier.js'
import { computeTaskPayload, faultFromError } from '../notifications/payloads.js'
import type { ConsumerAllocations, Inventory, PlacementClient } from '../placement/placement-client.js'
import { isConsumerGenerationConflict } from '../placement/placement-service.js'
import { SchedulerRpcClient } from '../scheduler/scheduler-rpc.js'
import type { Notification, RpcListener, Transport } from '../transport/transport.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import type { InventoryRecord } from '../virt/virt-driver.js'
import { familyOf, writeTransaction } from '../placement/sql.js'
import type {
  ActionEventFinishInput,
  ActionEventStartInput,
  ActionStartInput,
  ComputeNodeRecord,
  ComputeNodeReport,
  GroupAdmission,
  InstanceFaultInput,
  InstanceUpdateOptions,
  ServiceRecord,
  ServiceReport,
} from './conductor-compute-rpc.js'
import { CONDUCTOR_TOPIC, type BuildFailure, type BuildInstancesArgs, type BuildParameters, type BuildRetry } from './conductor-rpc.js'
import { conductorEndpoint } from './conductor-endpoint.js'
import { faultCode } from './fault-code.js'
import { HostRecords } from './host-records.js'
import { InstanceActionLog } from './instance-action-log.js'

/** The trait Placement carries on the provider of a disabled compute service (Nova `COMPUTE_STATUS_DISABLED`). */
export const COMPUTE_STATUS_DISABLED = 'COMPUTE_STATUS_DISABLED'

/** The longest fault message Nova stores (`instance_faults.message` is 255 characters). */
export const FAULT_MESSAGE_MAX = 255

/** Tunables of {@link ConductorManager}. */
export interface ConductorManagerOptions {
  /** The zone of an instance whose host is in no zone (Nova `default_availability_zone`). @default 'nova' */
  readonly defaultAvailabilityZone?: string
  /** Timeout of `select_destinations` (Nova `long_rpc_timeout`). @default 1800000 */
  readonly schedulerTimeoutMs?: number
  /**
   * Ask the scheduler again when its reply was lost to the transport (`TRANSPORT`: the broker connection dropped while
   * the conductor waited). The second request waits for the connection to return; if it trips over claims the lost
   * answer had made (a consumer generation conflict), those are given back and the scheduler is asked a last time.
   * Without it (Nova's behaviour) such a build goes to ERROR. @default false
   */
  readonly retryLostSchedulerReply?: boolean
}

/** What {@link ConductorManager} is built from. */
export interface ConductorManagerConfig {
  readonly db: NovumDb
  readonly transport: Transport
  /** Placement, through its interface only (in process: `PlacementService`). */
  readonly placement: PlacementClient
  /** @default systemClock */
  readonly clock?: Clock
  /** @default silentLogger */
  readonly logger?: Logger
  /** The conductor's host name: its RPC server name and the second half of its notifications' publisher id. @default 'conductor' */
  readonly host?: string
  readonly options?: ConductorManagerOptions
}

/**
 * The conductor (Nova `ComputeTaskManager` + the conductor's DB proxy): it turns an API build into scheduled
 * builds on compute hosts, reschedules failed builds onto alternates, and is the only way a compute service
 * reads or writes the database and Placement.
 *
 * Serve it with {@link ConductorManager.start} (topic `conductor`), or pass {@link conductorEndpoint} to a
 * transport yourself.
 *
 * @example
 * ```ts
 * const conductor = new ConductorManager({ db, transport, placement, clock, logger })
 * await conductor.start()
 * ```
 */
export class ConductorManager {
  /** The RPC server name of this conductor. */
  readonly host: string
  private readonly db: NovumDb
  private readonly transport: Transport
  private readonly placement: PlacementClient
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly instances: InstanceRepository
  private readonly actions: InstanceActionLog
  private readonly hosts: HostRecords
  private readonly scheduler: SchedulerRpcClient
  private readonly compute: ComputeRpcClient
  private readonly notifier: Notifier
  private readonly defaultAvailabilityZone: string
  private readonly retryLostSchedulerReply: boolean
  private listener: RpcListener | null = null

  constructor(config: ConductorManagerConfig) {
    this.db = config.db
    this.transport = config.transport
    this.placement = config.placement
    this.clock = config.clock ?? systemClock
    this.logger = (config.logger ?? silentLogger).child({ service: 'nova-conductor' })
    this.host = config.host ?? 'conductor'
    this.instances = new InstanceRepository(config.db)
    this.actions = new InstanceActionLog(config.db, this.clock)
    this.hosts = new HostRecords(config.db, this.clock)
    this.scheduler = new SchedulerRpcClient(config.transport, config.options?.schedulerTimeoutMs ?? 1_800_000)
    this.compute = new ComputeRpcClient(config.transport)
    this.notifier = new Notifier({ transport: config.transport, service: 'nova-conductor', host: this.host, clock: this.clock, logger: this.logger })
    this.defaultAvailabilityZone = config.options?.defaultAvailabilityZone ?? 'nova'
    this.retryLostSchedulerReply = config.options?.retryLostSchedulerReply ?? false
  }

  /** Starts serving the `conductor` topic (as server {@link ConductorManager.host}). */
  async start(): Promise<void> {
    if (this.listener) return
    this.listener = await this.transport.listen({ topic: CONDUCTOR_TOPIC, server: this.host }, conductorEndpoint(this))
  }

  /** Stops serving; requests being handled finish first. */
  async stop(): Promise<void> {
    const listener = this.listener
    this.listener = null
    await listener?.stop()
  }

  // --- task API ---------------------------------------------------------------------------------

  /**
   * Nova `schedule_and_build_instances`: asks the scheduler for a host per instance (with alternates), then for
   * each instance sets host/node/zone, records the `create` action with the `conductor_schedule_and_build_instances`
   * event (the scheduler's explanation in `details`), deletes the build request and casts `build_and_run_instance`
   * to the host. When scheduling fails, every instance goes to ERROR with a fault (code 500 for NoValidHost, as
   * Nova), its build request is deleted and `compute_task.build_instances.error` is emitted.
   */
  async scheduleAndBuildInstances(context: RequestContext, params: BuildParameters): Promise<void> {
    const { requestSpec } = params
    const startTime = isoNow(this.clock)
    let result
    try {
      result = await this.selectDestinations(context, requestSpec)
    } catch (err) {
      const error = toComputeError(err)
      this.logger.warn({ err: error, req_id: context.requestId, instances: requestSpec.instanceUuids }, `failed to schedule instances: ${error.message}`)
      // NOTE: a reply lost to the transport (TRANSPORT) or late (TIMEOUT) may belong to a scheduler that claimed in
      // Placement all the same: give those claims back, or they would outlive the instances they were made for.
      const mayHaveClaimed = error.code === 'TRANSPORT' || error.code === 'TIMEOUT'
      for (const uuid of requestSpec.instanceUuids) {
        if (mayHaveClaimed) await this.placement.deleteAllocations(uuid).catch(() => undefined)
        await this.buryInstance(context, uuid, requestSpec, error, {
          event: 'conductor_schedule_and_build_instances',
          startTime,
          details: error.details ? JSON.stringify(error.details) : null,
        })
      }
      return
    }
    const details = safeJson(result.explanation)
    for (const [index, uuid] of requestSpec.instanceUuids.entries()) {
      const selections = result.selections[index] ?? []
      try {
        await this.buildOne(context, uuid, requestSpec, selections, params.adminPassword, startTime, details)
      } catch (err) {
        const error = toComputeError(err)
        this.logger.error({ err: error, req_id: context.requestId, instance_uuid: uuid }, `failed to build instance ${uuid} after scheduling: ${error.message}`)
        await this.placement.deleteAllocations(uuid).catch(() => undefined)
        await this.buryInstance(context, uuid, requestSpec, error, { event: 'conductor_schedule_and_build_instances', startTime, details })
      }
    }
  }

  /**
   * Nova `build_instances` on reschedule: claims the next alternate's allocation request itself (no scheduler
   * round trip) and casts the build to that host; an alternate whose claim fails is skipped. With none left the
   * instance goes to ERROR with `Exceeded maximum number of retries…`, naming every host's failure.
   */
  async buildInstances(context: RequestContext, args: BuildInstancesArgs): Promise<void> {
    const { instanceUuid: uuid, requestSpec } = args
    const startTime = isoNow(this.clock)
    const failures: BuildFailure[] = [...(args.retry?.failures ?? [])]
    const numAttempts = args.retry?.numAttempts ?? 1
    const instance = await this.instances.find(uuid)
    if (!instance || instance.taskState === 'deleting') {
      this.logger.info({ req_id: context.requestId, instance_uuid: uuid }, `instance ${uuid} was deleted while rescheduling; dropping the build`)
      await this.placement.deleteAllocations(uuid)
      return
    }
    for (const [index, selection] of args.hostList.entries()) {
      try {
        await this.claim(uuid, instance, selection)
      } catch (err) {
        const error = toComputeError(err)
        failures.push({ host: selection.serviceHost, reason: `claiming the alternate failed: ${error.message}` })
        this.logger.info({ req_id: context.requestId, instance_uuid: uuid, host: selection.serviceHost }, `could not claim alternate ${selection.serviceHost}: ${error.message}`)
        continue
      }
      let updated: Instance
      try {
        updated = await this.instances.update(uuid, this.placementPatch(instance, selection), { expectedTaskState: ['scheduling'], updatedAt: isoNow(this.clock) })
      } catch (err) {
        // deleted (or taken over) while we claimed: give the claim back and stop
        await this.placement.deleteAllocations(uuid)
        this.logger.info({ req_id: context.requestId, instance_uuid: uuid }, `instance ${uuid} changed while rescheduling: ${(err as Error).message}`)
        return
      }
      await this.recordEvent(context, 'create', { instanceUuid: uuid, event: 'conductor_build_instances', result: 'Success', startTime, host: this.host })
      const retry: BuildRetry = { numAttempts: numAttempts + 1, failures }
      await this.compute.buildAndRunInstance(context, selection.serviceHost, {
        instance: updated,
        image: requestSpec.image,
        requestSpec,
        hostList: args.hostList.slice(index),
        adminPassword: args.adminPassword,
        retry,
      })
      return
    }
    const listed = failures.map((f) => `${f.host}: ${f.reason}`).join('; ')
    const error = new ComputeError(
      'NO_VALID_HOST',
      `Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance ${uuid}.${listed ? ` Failures: ${listed}` : ''}`,
      { details: { instanceUuid: uuid, failures, numAttempts } },
    )
    await this.buryInstance(context, uuid, requestSpec, error, { event: 'conductor_build_instances', startTime, details: JSON.stringify({ failures }) })
  }

  // --- compute-facing DB proxy ------------------------------------------------------------------

  /** `instance_get`. */
  instanceGet(uuid: string, options: { readonly readDeleted?: boolean } = {}): Promise<Instance> {
    return this.instances.get(uuid, options)
  }

  /** `instance_update`, with Nova's compare-and-swap on task_state. */
  instanceUpdate(uuid: string, patch: InstancePatch, options: InstanceUpdateOptions = {}): Promise<Instance> {
    return this.instances.update(uuid, patch, { ...(options.expectedTaskState ? { expectedTaskState: options.expectedTaskState } : {}), updatedAt: isoNow(this.clock) })
  }

  /** `instance_destroy`: marks the instance deleted. */
  instanceDestroy(uuid: string): Promise<void> {
    return this.instances.markDeleted(uuid, isoNow(this.clock))
  }

  /** `instances_get_by_host`. */
  instancesGetByHost(host: string): Promise<Instance[]> {
    return this.instances.listByHost(host)
  }

  /** `instance_fault_create`. */
  async instanceFaultCreate(fault: InstanceFaultInput): Promise<void> {
    await this.db
      .insertInto('instance_faults')
      .values({
        instance_uuid: fault.instanceUuid,
        code: fault.code,
        message: truncate(fault.message, FAULT_MESSAGE_MAX),
        details: fault.details ?? null,
        host: fault.host ?? null,
        created_at: isoNow(this.clock),
      })
      .execute()
  }

  /** `action_start`. */
  async actionStart(context: RequestContext, input: ActionStartInput): Promise<void> {
    await this.actions.start(context, input.instanceUuid, input.action)
  }

  /** `action_event_start`. */
  actionEventStart(context: RequestContext, input: ActionEventStartInput): Promise<void> {
    return this.actions.eventStart(context, input)
  }

  /** `action_event_finish`. */
  actionEventFinish(context: RequestContext, input: ActionEventFinishInput): Promise<void> {
    return this.actions.eventFinish(context, input)
  }

  /** `service_update`: registers the service on its first report, then heartbeats it. */
  serviceUpdate(report: ServiceReport): Promise<ServiceRecord> {
    return this.hosts.reportService(report)
  }

  /**
   * `compute_node_update`: upserts the compute node from the report, then makes Placement match it: the root
   * provider (uuid = compute node uuid, name = hypervisor hostname) gets the node's inventories and traits, plus
   * `COMPUTE_STATUS_DISABLED` while the service is disabled.
   */
  async computeNodeUpdate(report: ComputeNodeReport): Promise<ComputeNodeRecord> {
    const { node, service } = await this.hosts.upsertComputeNode(report)
    const traits = new Set(report.traits)
    if (service.disabled === 1) traits.add(COMPUTE_STATUS_DISABLED)
    else traits.delete(COMPUTE_STATUS_DISABLED)
    const inventories: Record<string, Inventory> = {}
    for (const [rc, inv] of Object.entries(report.inventories)) inventories[rc] = fullInventory(inv)
    await this.placement.syncProviderTree({ uuid: node.uuid, name: node.hypervisor_hostname, inventories, traits: [...traits].sort() })
    return HostRecords.computeNodeRecord(node, service)
  }

  /** `allocations_get`. */
  allocationsGet(consumerUuid: string): Promise<ConsumerAllocations> {
    return this.placement.getAllocations(consumerUuid)
  }

  /** `allocations_delete`. */
  allocationsDelete(consumerUuid: string): Promise<void> {
    return this.placement.deleteAllocations(consumerUuid)
  }

  /** `notify`: relays a notification through the conductor's transport. */
  notify(notification: Notification): Promise<void> {
    return this.transport.notify(notification)
  }

  /**
   * `instance_group_admit`, the late server-group check (Nova `_validate_instance_group_policy`, which runs on the
   * compute host under a lock on the group): in one transaction that holds the group's row (`FOR UPDATE`; SQLite's
   * write lock), the other members of the instance's hard group count where they are admitted, that is placed on a
   * host and past `scheduling`. Anti-affinity: fewer than `max_server_per_host` (default 1) of them may be on
   * `host`; affinity: if any is admitted somewhere, one must be on `host`. A pass sets the instance `building`/
   * `spawning` (compare-and-swap from `scheduling` or none), so two racing builds never both pass. Instances in no
   * group, or a soft one, pass.
   */
  async instanceGroupAdmit(uuid: string, host: string): Promise<GroupAdmission> {
    const family = familyOf(this.db)
    return writeTransaction(this.db, family, async (trx) => {
      const instances = new InstanceRepository(trx)
      const admit = async (): Promise<GroupAdmission> => ({
        admitted: true,
        instance: await instances.update(uuid, { vmState: 'building', taskState: 'spawning' }, { expectedTaskState: ['scheduling', null], updatedAt: isoNow(this.clock) }),
      })
      const membership = await trx
        .selectFrom('instance_group_members as m')
        .innerJoin('instance_groups as g', 'g.id', 'm.group_id')
        .select(['g.id', 'g.policy', 'g.rules'])
        .where('m.instance_uuid', '=', uuid)
        .executeTakeFirst()
      if (!membership || (membership.policy !== 'affinity' && membership.policy !== 'anti-affinity')) return admit()
      let lock = trx.selectFrom('instance_groups').select('id').where('id', '=', membership.id)
      if (family !== 'sqlite') lock = lock.forUpdate()
      await lock.execute()
      let othersQ = trx
        .selectFrom('instance_group_members as m')
        .innerJoin('instances as i', 'i.uuid', 'm.instance_uuid')
        .select(['i.uuid', 'i.host'])
        .where('m.group_id', '=', membership.id)
        .where('i.uuid', '!=', uuid)
        .where('i.deleted', '=', 0)
        .where('i.host', 'is not', null)
        .where((eb) => eb.not(eb.and([eb('i.vm_state', '=', 'building'), eb.or([eb('i.task_state', '=', 'scheduling'), eb('i.task_state', 'is', null)])])))
      // NOTE: a locking read. Under MariaDB's REPEATABLE READ a plain SELECT reads the snapshot taken at the
      // transaction's first read (the membership query above, before the group lock was granted), so it would miss a
      // member admitted by the transaction we just waited for, and two anti-affinity members could share a host.
      if (family !== 'sqlite') othersQ = othersQ.forUpdate()
      const others = await othersQ.execute()
      if (membership.policy === 'anti-affinity') {
        const max = Number((JSON.parse(membership.rules) as Record<string, unknown>)['max_server_per_host'] ?? 1)
        const onHost = others.filter((o) => o.host === host).length
        if (onHost >= max) return { admitted: false, policy: membership.policy, reason: `Anti-affinity instance group policy was violated: ${onHost} member(s) already on ${host}, max_server_per_host is ${max}.` }
        return admit()
      }
      const hosts = [...new Set(others.map((o) => o.host as string))].sort()
      if (hosts.length && !hosts.includes(host)) return { admitted: false, policy: membership.policy, reason: `Affinity instance group policy was violated: the group's members are on ${hosts.join(', ')}, not ${host}.` }
      return admit()
    })
  }

  // --- internals --------------------------------------------------------------------------------

  private async buildOne(
    context: RequestContext,
    uuid: string,
    requestSpec: RequestSpec,
    selections: SelectionList,
    adminPassword: string | null,
    startTime: string,
    details: string | null,
  ): Promise<void> {
    const chosen = selections[0]
    if (!chosen) throw new ComputeError('NO_VALID_HOST', `No valid host was found. the scheduler returned no selection for instance ${uuid}`, { details: { instanceUuid: uuid } })
    const instance = await this.instances.find(uuid)
    const buildRequest = await this.db.selectFrom('build_requests').select(['id']).where('instance_uuid', '=', uuid).executeTakeFirst()
    if (!instance || !buildRequest) {
      // NOTE: as Nova: the user deleted the server while it was being scheduled; drop the claim and skip it.
      this.logger.info({ req_id: context.requestId, instance_uuid: uuid }, `instance ${uuid} was deleted during scheduling; dropping its allocations`)
      await this.placement.deleteAllocations(uuid)
      await this.deleteBuildRequest(uuid)
      return
    }
    let updated: Instance
    try {
      updated = await this.instances.update(uuid, this.placementPatch(instance, chosen), { expectedTaskState: ['scheduling'], updatedAt: isoNow(this.clock) })
    } catch (err) {
      if (ComputeError.is(err, 'CONFLICT') || ComputeError.is(err, 'NOT_FOUND')) {
        this.logger.info({ req_id: context.requestId, instance_uuid: uuid }, `instance ${uuid} changed during scheduling (${(err as Error).message}); dropping its allocations`)
        await this.placement.deleteAllocations(uuid)
        await this.deleteBuildRequest(uuid)
        return
      }
      throw err
    }
    await this.recordEvent(context, 'create', { instanceUuid: uuid, event: 'conductor_schedule_and_build_instances', result: 'Success', startTime, host: this.host, details })
    await this.deleteBuildRequest(uuid)
    await this.compute.buildAndRunInstance(context, chosen.serviceHost, {
      instance: updated,
      image: requestSpec.image,
      requestSpec: { ...requestSpec, instanceUuids: [uuid] },
      hostList: selections,
      adminPassword,
    })
  }

  private async selectDestinations(context: RequestContext, requestSpec: RequestSpec) {
    const ask = () => this.scheduler.selectDestinations(context, requestSpec, { returnAlternates: true })
    try {
      return await ask()
    } catch (err) {
      if (!this.retryLostSchedulerReply || !ComputeError.is(err, 'TRANSPORT')) throw err
      this.logger.warn({ err, req_id: context.requestId, instances: requestSpec.instanceUuids }, `the scheduler's reply was lost (${err.message}); asking again`)
    }
    // NOTE: ask again before touching Placement. The scheduler may still be placing the first request when the
    // connection drops, and a claim it made after ours were given back would leak. The second request leaves only once
    // the connection is back, long after the first one is done.
    try {
      return await ask()
    } catch (err) {
      if (!isConsumerGenerationConflict(err)) throw err
      // The first request did claim: its claims are what the second tripped over. Give them back, and ask a last time.
      this.logger.info({ req_id: context.requestId, instances: requestSpec.instanceUuids }, 'the lost reply had claimed in Placement; giving those claims back')
      for (const uuid of requestSpec.instanceUuids) await this.placement.deleteAllocations(uuid).catch(() => undefined)
      return await ask()
    }
  }

  private placementPatch(instance: Instance, selection: Selection): InstancePatch {
    return {
      host: selection.serviceHost,
      node: selection.nodename,
      availabilityZone: selection.availabilityZone ?? instance.availabilityZone ?? this.defaultAvailabilityZone,
    }
  }

  private async claim(uuid: string, instance: Instance, selection: Selection): Promise<void> {
    const current = await this.placement.getAllocations(uuid)
    await this.placement.putAllocations(uuid, {
      allocations: selection.allocationRequest.allocations,
      projectId: instance.projectId,
      userId: instance.userId,
      consumerGeneration: current.consumerGeneration,
    })
  }

  /** ERROR + fault + build request deleted + event + `compute_task.build_instances.error` (Nova's bury-in-cell0). */
  private async buryInstance(
    context: RequestContext,
    uuid: string,
    requestSpec: RequestSpec,
    error: ComputeError,
    event: { readonly event: string; readonly startTime: string; readonly details: string | null },
  ): Promise<void> {
    try {
      const instance = await this.instances.find(uuid)
      if (instance) {
        // NOTE: the fault first, so whoever sees the instance in ERROR also sees why.
        // NOTE: the fault keeps the counts; the scheduler's full explanation goes to the instance action event.
        const { explanation: _explanation, ...faultDetails } = (error.details ?? {}) as Record<string, unknown>
        await this.instanceFaultCreate({
          instanceUuid: uuid,
          code: faultCode(error.code),
          message: error.message,
          details: error.details ? JSON.stringify(faultDetails) : (error.stack ?? null),
          host: null,
        })
      }
      // NOTE: the build request goes before the instance shows ERROR, so whoever sees ERROR sees the build over (the
      // instance row, made by the API, is what lists and shows read meanwhile).
      await this.deleteBuildRequest(uuid).catch((err: unknown) => this.logger.error({ err, req_id: context.requestId, instance_uuid: uuid }, `failed to delete the build request of instance ${uuid}`))
      if (instance) {
        await this.instances.update(uuid, { vmState: 'error', taskState: null }, { updatedAt: isoNow(this.clock) })
        await this.recordEvent(context, 'create', { instanceUuid: uuid, event: event.event, result: 'Error', startTime: event.startTime, host: this.host, details: event.details, traceback: error.message })
      }
    } catch (err) {
      this.logger.error({ err, req_id: context.requestId, instance_uuid: uuid }, `failed to set instance ${uuid} to error: ${(err as Error).message}`)
    }
    await this.notifier.notify(context, 'error', 'compute_task.build_instances.error', computeTaskPayload(uuid, requestSpec, 'error', faultFromError(error, { moduleName: 'novum.conductor.manager', functionName: 'build_instances' })))
  }

  private async recordEvent(context: RequestContext, action: string, event: Parameters<InstanceActionLog['record']>[2]): Promise<void> {
    try {
      await this.actions.record(context, action, event)
    } catch (err) {
      this.logger.warn({ err, req_id: context.requestId, instance_uuid: event.instanceUuid }, `failed to record instance action event ${event.event}: ${(err as Error).message}`)
    }
  }

  private async deleteBuildRequest(uuid: string): Promise<void> {
    await this.db.deleteFrom('build_requests').where('instance_uuid', '=', uuid).execute()
  }
}

function fullInventory(inv: InventoryRecord): Inventory {
  return {
    total: inv.total,
    reserved: inv.reserved ?? 0,
    minUnit: inv.minUnit ?? 1,
    maxUnit: inv.maxUnit ?? inv.total,
    stepSize: inv.stepSize ?? 1,
    allocationRatio: inv.allocationRatio ?? 1,
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max)
}

function safeJson(value: unknown): string | null {
  if (value === undefined) return null
  try {
    return JSON.stringify(value)
  } catch {
    return null
  }
}
