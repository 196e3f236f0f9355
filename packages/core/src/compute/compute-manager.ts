import type { Subscription } from 'rxjs'
import { createAdminContext, type RequestContext } from '../context.js'
import type { ConductorComputeRpcClient, ServiceRecord } from '../conductor/conductor-compute-rpc.js'
import { faultCode } from '../conductor/fault-code.js'
import { ConductorTaskRpcClient, type BuildFailure } from '../conductor/conductor-rpc.js'
import type { InstancePatch } from '../db/repositories/instance-repository.js'
import { ComputeError, toComputeError } from '../errors/compute-error.js'
import type { Instance } from '../model/instance.js'
import { POWER_STATE_NAMES, PowerState, TaskState, VmState } from '../model/states.js'
import { Notifier } from '../notifications/notifier.js'
import { faultFromError } from '../notifications/payloads.js'
import type { RpcListener, Transport } from '../transport/transport.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import type { ProviderTreeUpdate, RebootType, VirtDriver } from '../virt/virt-driver.js'
import type { VirtEvent, VirtLifecycleTransition } from '../virt/virt-event.js'
import { capabilityStats, driverSupports, type PublishedCapability } from './capability-stats.js'
import { computeEndpoint } from './compute-endpoint.js'
import { COMPUTE_TOPIC, type BuildAndRunInstanceArgs } from './compute-rpc.js'
import { tailConsoleLog } from './console-log.js'
import { KeyedLock } from './keyed-lock.js'
import { computeNodeUsage } from './resource-tracker.js'
import { Semaphore } from './semaphore.js'

/** Tunables of {@link ComputeManager} (Nova's `[DEFAULT]` compute options). */
export interface ComputeManagerOptions {
  /** Heartbeat period (Nova `report_interval`). @default 10000 */
  readonly reportIntervalMs?: number
  /** Resource tracker period (Nova `update_resources_interval`). 0 disables the periodic run. @default 60000 */
  readonly updateResourcesIntervalMs?: number
  /** Power-state sync period (Nova `sync_power_state_interval`). 0 disables it. @default 600000 */
  readonly syncPowerStatesIntervalMs?: number
  /** Builds running at once (Nova `max_concurrent_builds`); 0 is unlimited. @default 10 */
  readonly maxConcurrentBuilds?: number
  /** Graceful shutdown wait of a stop (Nova `shutdown_timeout`). @default 60 */
  readonly shutdownTimeoutSec?: number
  /** The service binary name in `services` and in notifications. @default 'nova-compute' */
  readonly binary?: string
  /**
   * Skip the late server-group check before a build (Nova `[workarounds] disable_group_policy_check_upcall`).
   * @default false
   */
  readonly disableGroupPolicyCheckUpcall?: boolean
}

/** What {@link ComputeManager} is built from. Note what is absent: a compute service has no database handle. */
export interface ComputeManagerConfig {
  /** The host name: the RPC server name on topic `compute`, the `host` of its instances and services row. */
  readonly host: string
  readonly driver: VirtDriver
  /** The conductor's database proxy: every read and write goes through it. */
  readonly conductor: ConductorComputeRpcClient
  /** For the reschedule cast to the conductor, notifications, and serving the `compute` topic. */
  readonly transport: Transport
  /** @default systemClock */
  readonly clock?: Clock
  /** @default silentLogger */
  readonly logger?: Logger
  readonly options?: ComputeManagerOptions
}

const BUILD_TASKS = new Set<string | null>([TaskState.SCHEDULING, TaskState.BLOCK_DEVICE_MAPPING, TaskState.NETWORKING, TaskState.SPAWNING])
const REBUILD_TASKS = new Set<string | null>([TaskState.REBUILDING, TaskState.REBUILD_BLOCK_DEVICE_MAPPING, TaskState.REBUILD_SPAWNING])
const CLEARED_AT_START = new Set<string | null>([
  TaskState.IMAGE_SNAPSHOT,
  TaskState.IMAGE_SNAPSHOT_PENDING,
  TaskState.IMAGE_PENDING_UPLOAD,
  TaskState.IMAGE_UPLOADING,
  TaskState.IMAGE_BACKUP,
  TaskState.RESIZE_PREP,
  TaskState.RESCUING,
  TaskState.UNRESCUING,
])
const SOFT_REBOOT_TASKS = [TaskState.REBOOTING, TaskState.REBOOT_PENDING, TaskState.REBOOT_STARTED] as const
const HARD_REBOOT_TASKS = [TaskState.REBOOTING_HARD, TaskState.REBOOT_PENDING_HARD, TaskState.REBOOT_STARTED_HARD] as const

const POWER_STATE_OF: Partial<Record<VirtLifecycleTransition, PowerState>> = {
  STARTED: PowerState.RUNNING,
  RESUMED: PowerState.RUNNING,
  STOPPED: PowerState.SHUTDOWN,
  PAUSED: PowerState.PAUSED,
  SUSPENDED: PowerState.SUSPENDED,
  CRASHED: PowerState.CRASHED,
}

/** Pause, unpause, suspend and resume: one shape in Nova's manager (`pause_instance` …), as data. */
interface PowerTransition {
  /** The RPC method, and the `compute_<method>` instance-action event. */
  readonly method: 'pause_instance' | 'unpause_instance' | 'suspend_instance' | 'resume_instance'
  /** The notification action: `instance.<action>.start` / `.end`. */
  readonly action: 'pause' | 'unpause' | 'suspend' | 'resume'
  readonly capability: PublishedCapability
  /** The transitional task state the API set. */
  readonly taskState: TaskState
  /** The vm_state the API accepted, and the guest's power state then. */
  readonly fromVmState: VmState
  readonly fromPower: PowerState
  /** The vm_state at the end, and the guest's power state then. */
  readonly toVmState: VmState
  readonly toPower: PowerState
  /**
   * Nova `_error_out_instance_on_exception` (suspend, resume): a driver failure other than "not implemented"
   * sets the instance to ERROR. Pause and unpause only clear the task (`reverts_task_state`).
   */
  readonly errorOnFailure: boolean
  /** Start-up recovery when the guest is still in `fromPower`: redo the action (Nova, for unpausing) or drop it. */
  readonly redoAtStart: boolean
  readonly run: (driver: VirtDriver, instance: Instance) => Promise<void>
}

const PAUSE: PowerTransition = {
  method: 'pause_instance', action: 'pause', capability: 'supportsPause', taskState: TaskState.PAUSING,
  fromVmState: VmState.ACTIVE, fromPower: PowerState.RUNNING, toVmState: VmState.PAUSED, toPower: PowerState.PAUSED,
  errorOnFailure: false, redoAtStart: false, run: (driver, instance) => driver.pause!(instance),
}
const UNPAUSE: PowerTransition = {
  method: 'unpause_instance', action: 'unpause', capability: 'supportsPause', taskState: TaskState.UNPAUSING,
  fromVmState: VmState.PAUSED, fromPower: PowerState.PAUSED, toVmState: VmState.ACTIVE, toPower: PowerState.RUNNING,
  errorOnFailure: false, redoAtStart: true, run: (driver, instance) => driver.unpause!(instance),
}
const SUSPEND: PowerTransition = {
  method: 'suspend_instance', action: 'suspend', capability: 'supportsSuspend', taskState: TaskState.SUSPENDING,
  fromVmState: VmState.ACTIVE, fromPower: PowerState.RUNNING, toVmState: VmState.SUSPENDED, toPower: PowerState.SUSPENDED,
  errorOnFailure: true, redoAtStart: false, run: (driver, instance) => driver.suspend!(instance),
}
const RESUME: PowerTransition = {
  method: 'resume_instance', action: 'resume', capability: 'supportsSuspend', taskState: TaskState.RESUMING,
  fromVmState: VmState.SUSPENDED, fromPower: PowerState.SUSPENDED, toVmState: VmState.ACTIVE, toPower: PowerState.RUNNING,
  errorOnFailure: true, redoAtStart: true, run: (driver, instance) => driver.resume!(instance),
}
const POWER_TRANSITION_OF_TASK: ReadonlyMap<string | null, PowerTransition> = new Map(
  [PAUSE, UNPAUSE, SUSPEND, RESUME].map((t) => [t.taskState, t]),
)

/** Error codes after which a failed build is not rescheduled (Nova's `BuildAbortException` family). */
const ABORT_BUILD_CODES = new Set(['INVALID', 'NOT_FOUND', 'FORBIDDEN', 'QUOTA'])

/**
 * A compute service (Nova `ComputeManager`): it runs instances on one host through a {@link VirtDriver}, and does
 * every database and Placement read or write through the conductor ({@link ConductorComputeRpcClient}).
 *
 * Guarantees: operations on one instance are serialised; at most `maxConcurrentBuilds` builds run at once; each
 * operation records a `compute_<method>` instance-action event (Success/Error) and the Nova notifications of
 * its action; state changes use Nova's compare-and-swap on task_state. Periodic work (heartbeat, resource
 * update, power-state sync) uses unref'd timers that {@link ComputeManager.stop} clears.
 *
 * @example
 * ```ts
 * const compute = new ComputeManager({
 *   host: 'compute-1', driver: new FakeVirtDriver({ hostname: 'compute-1' }),
 *   conductor: new ConductorComputeRpcClient(transport), transport,
 * })
 * await compute.start()
 * ```
 */
export class ComputeManager {
  /** The host name this service manages. */
  readonly host: string
  private readonly driver: VirtDriver
  private readonly conductor: ConductorComputeRpcClient
  private readonly taskApi: ConductorTaskRpcClient
  private readonly transport: Transport
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly notifier: Notifier
  private readonly binary: string
  private readonly reportIntervalMs: number
  private readonly updateResourcesIntervalMs: number
  private readonly syncPowerStatesIntervalMs: number
  private readonly shutdownTimeoutSec: number
  private readonly disableGroupPolicyCheck: boolean
  private readonly locks = new KeyedLock()
  private readonly buildSemaphore: Semaphore
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly timers: ReturnType<typeof setInterval>[] = []
  private readonly providerTrees = new Map<string, ProviderTreeUpdate>()
  private readonly nodeUuids = new Map<string, string>()
  private listener: RpcListener | null = null
  private eventSubscription: Subscription | null = null
  private service: ServiceRecord | null = null
  private resourceUpdate: Promise<void> | null = null
  private failedBuilds = 0
  private started = false

  constructor(config: ComputeManagerConfig) {
    const options = config.options ?? {}
    this.host = config.host
    this.driver = config.driver
    this.conductor = config.conductor
    this.transport = config.transport
    this.taskApi = new ConductorTaskRpcClient(config.transport)
    this.clock = config.clock ?? systemClock
    this.binary = options.binary ?? 'nova-compute'
    this.logger = (config.logger ?? silentLogger).child({ service: this.binary, host: config.host })
    this.notifier = new Notifier({ transport: config.transport, service: this.binary, host: config.host, clock: this.clock, logger: this.logger })
    this.reportIntervalMs = options.reportIntervalMs ?? 10_000
    this.updateResourcesIntervalMs = options.updateResourcesIntervalMs ?? 60_000
    this.syncPowerStatesIntervalMs = options.syncPowerStatesIntervalMs ?? 600_000
    this.shutdownTimeoutSec = options.shutdownTimeoutSec ?? 60
    this.disableGroupPolicyCheck = options.disableGroupPolicyCheckUpcall ?? false
    this.buildSemaphore = new Semaphore(options.maxConcurrentBuilds ?? 10)
  }

  /** The services row from the last report, or null before {@link ComputeManager.start}. */
  get serviceRecord(): ServiceRecord | null {
    return this.service
  }

  /** The compute node uuid (and root provider uuid) of each node, once reported. */
  get computeNodeUuids(): ReadonlyMap<string, string> {
    return this.nodeUuids
  }

  /** Builds holding a `maxConcurrentBuilds` permit, and builds waiting for one. */
  get buildSlots(): { readonly running: number; readonly waiting: number } {
    return { running: this.buildSemaphore.inUse, waiting: this.buildSemaphore.waiting }
  }

  /** Consecutive failed builds (Nova `failed_builds` stat; reset by a successful build). */
  get consecutiveFailedBuilds(): number {
    return this.failedBuilds
  }

  // --- lifecycle ----------------------------------------------------------------------------------

  /**
   * Starts the service, in Nova's order: driver init, service registration, recovery of instances left
   * mid-operation by a previous run (§2.5), a first resource update (compute node + provider tree), then serving
   * the `compute` topic as `host`, and finally the periodic heartbeat, resource update and power-state sync.
   */
  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    const context = createAdminContext()
    await this.driver.init()
    this.eventSubscription = this.driver.events().subscribe((event) => {
      this.track(this.handleLifecycleEvent(event))
    })
    this.service = await this.conductor.serviceUpdate(context, { host: this.host, binary: this.binary, topic: COMPUTE_TOPIC })
    await this.initInstances(context)
    await this.updateAvailableResource(context)
    this.listener = await this.transport.listen({ topic: COMPUTE_TOPIC, server: this.host }, computeEndpoint(this))
    this.every(this.reportIntervalMs, () => this.reportState())
    this.every(this.updateResourcesIntervalMs, () => this.updateAvailableResource(createAdminContext()))
    this.every(this.syncPowerStatesIntervalMs, () => this.syncPowerStates(createAdminContext()))
  }

  /** Stops the timers and the RPC server, waits for running work, and closes the driver. */
  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const timer of this.timers.splice(0)) clearInterval(timer)
    const listener = this.listener
    this.listener = null
    await listener?.stop()
    this.eventSubscription?.unsubscribe()
    this.eventSubscription = null
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    await this.driver.close()
  }

  // --- RPC: builds --------------------------------------------------------------------------------

  /**
   * Nova `build_and_run_instance`: under the instance's lock and the build semaphore, sets task `spawning`
   * (expecting `scheduling` or none), emits `instance.create.start`, spawns the guest, and records
   * `active`/none/RUNNING with `launched_at`, then `instance.create.end`. On a driver failure the guest is cleaned
   * up, the allocations are deleted, and the build is rescheduled through the conductor's `build_instances` with
   * the remaining alternates, or, when rescheduling is off (a single host, no retry), the instance goes to ERROR
   * with a fault.
   */
  buildAndRunInstance(context: RequestContext, args: BuildAndRunInstanceArgs): Promise<void> {
    const uuid = args.instance.uuid
    return this.locks.run(uuid, () => this.buildSemaphore.run(() => this.doBuildAndRunInstance(context, args)))
  }

  // --- RPC: instance actions ----------------------------------------------------------------------

  /** Nova `terminate_instance`: `instance.delete.start`, destroy the guest, delete allocations, mark deleted, `instance.delete.end`. */
  terminateInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.locks.run(instance.uuid, () => this.doTerminateInstance(context, instance))
  }

  /** Nova `stop_instance`: `powering-off` → `stopped`/none/SHUTDOWN, with `instance.power_off.start/.end`. */
  stopInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.locks.run(instance.uuid, () => this.doStopInstance(context, instance, { force: false }))
  }

  /** Nova `start_instance`: `powering-on` → `active`/none/RUNNING, with `instance.power_on.start/.end`. */
  startInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.locks.run(instance.uuid, () => this.doStartInstance(context, instance))
  }

  /**
   * Nova `reboot_instance`: SOFT walks `rebooting` → `reboot_pending` → `reboot_started` → `active`; HARD the
   * `*_hard` chain; with `instance.reboot.start/.end` (or `.error`).
   */
  rebootInstance(context: RequestContext, instance: Instance, rebootType: RebootType): Promise<void> {
    return this.locks.run(instance.uuid, () => this.doRebootInstance(context, instance, rebootType))
  }

  /**
   * Nova `pause_instance`: `instance.pause.start`, the driver's pause, then `paused`/none/PAUSED (expecting task
   * `pausing`) and `instance.pause.end`. A failure (a driver without `supportsPause` is `NOT_IMPLEMENTED`) clears
   * the task, keeps the vm_state, and records a fault and an Error event.
   */
  pauseInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.locks.run(instance.uuid, () => this.doPowerTransition(context, instance, PAUSE))
  }

  /** Nova `unpause_instance`: `unpausing` → `active`/none/RUNNING, with `instance.unpause.start/.end`; failures as pause. */
  unpauseInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.locks.run(instance.uuid, () => this.doPowerTransition(context, instance, UNPAUSE))
  }

  /**
   * Nova `suspend_instance`: `suspending` → `suspended`/none with the driver's power state (SUSPENDED, or SHUTDOWN
   * for a managed save), with `instance.suspend.start/.end`. A driver failure sets ERROR (Nova
   * `_error_out_instance_on_exception`); a driver without `supportsSuspend` only clears the task.
   */
  suspendInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.locks.run(instance.uuid, () => this.doPowerTransition(context, instance, SUSPEND))
  }

  /** Nova `resume_instance`: `resuming` → `active`/none/RUNNING, with `instance.resume.start/.end`; failures as suspend. */
  resumeInstance(context: RequestContext, instance: Instance): Promise<void> {
    return this.locks.run(instance.uuid, () => this.doPowerTransition(context, instance, RESUME))
  }

  /**
   * Nova `get_console_output` (an RPC call): the driver's console log, cut to its last `tailLength` pieces and
   * made ASCII ({@link tailConsoleLog}). Runs under the instance's lock, like every driver call for one guest,
   * so it waits for an operation in flight. No instance action is recorded (it changes nothing).
   *
   * Errors: `NOT_FOUND` when the guest is not on this host; `NOT_IMPLEMENTED` when the driver has no console
   * output; any other driver failure as thrown. Except for `NOT_FOUND`, a failure leaves an instance fault
   * (Nova `wrap_instance_fault`).
   */
  getConsoleOutput(context: RequestContext, instance: Instance, tailLength: number | null = null): Promise<string> {
    return this.locks.run(instance.uuid, () => this.doGetConsoleOutput(context, instance, tailLength))
  }

  // --- periodic tasks -----------------------------------------------------------------------------

  /** Heartbeats the services row (`report_count`, `last_seen_up`). */
  async reportState(): Promise<void> {
    try {
      this.service = await this.conductor.serviceUpdate(createAdminContext(), { host: this.host, binary: this.binary, topic: COMPUTE_TOPIC })
    } catch (err) {
      this.logger.warn({ err }, `heartbeat of ${this.binary} on ${this.host} failed: ${(err as Error).message}`)
    }
  }

  /**
   * Nova's `update_available_resource` (§5.4): per node, the driver's resources and provider tree, usage
   * recomputed from the instances on the node, then `compute_node_update` through the conductor (which also syncs
   * Placement). Concurrent calls share one run. Failures are logged, not thrown.
   */
  updateAvailableResource(context: RequestContext = createAdminContext()): Promise<void> {
    if (!this.resourceUpdate) {
      this.resourceUpdate = this.doUpdateAvailableResource(context).finally(() => {
        this.resourceUpdate = null
      })
    }
    return this.resourceUpdate
  }

  /** Nova `_sync_power_states`: compares every instance of the host with the driver and applies §2.5. */
  async syncPowerStates(context: RequestContext = createAdminContext()): Promise<void> {
    let instances: Instance[]
    try {
      instances = await this.conductor.instancesGetByHost(context, this.host)
    } catch (err) {
      this.logger.warn({ err }, `power state sync could not list instances: ${(err as Error).message}`)
      return
    }
    for (const instance of instances) {
      try {
        await this.locks.run(instance.uuid, () => this.syncInstancePowerState(context, instance.uuid))
      } catch (err) {
        this.logger.warn({ err, instance_uuid: instance.uuid }, `power state sync of ${instance.uuid} failed: ${(err as Error).message}`)
      }
    }
  }

  // --- internals: build ---------------------------------------------------------------------------

  private async doBuildAndRunInstance(context: RequestContext, args: BuildAndRunInstanceArgs): Promise<void> {
    const uuid = args.instance.uuid
    const log = this.logger.child({ req_id: context.requestId, instance_uuid: uuid })
    await this.eventStart(context, uuid, 'build_and_run_instance')
    let instance: Instance
    try {
      const group = args.requestSpec.instanceGroup
      if (group && (group.policy === 'affinity' || group.policy === 'anti-affinity') && !this.disableGroupPolicyCheck) {
        // The late server-group check: the conductor admits the instance (building/spawning) or names the violation.
        const admission = await this.conductor.instanceGroupAdmit(context, uuid, this.host)
        if (!admission.admitted) {
          await this.groupPolicyViolated(context, args, admission.reason)
          return
        }
        instance = admission.instance
      } else {
        instance = await this.conductor.instanceUpdate(context, uuid, { vmState: VmState.BUILDING, taskState: TaskState.SPAWNING }, { expectedTaskState: [TaskState.SCHEDULING, null] })
      }
    } catch (err) {
      // deleted, or being deleted, before the build started: the delete path cleans up
      log.info(`instance ${uuid} disappeared or changed before the build: ${(err as Error).message}`)
      if (ComputeError.is(err, 'NOT_FOUND')) await this.conductor.allocationsDelete(context, uuid).catch(() => undefined)
      await this.eventFinish(context, uuid, 'build_and_run_instance', err)
      return
    }
    await this.notifier.instanceAction(context, instance, 'instance.create.start')
    try {
      await this.driver.spawn(instance, args.image, {
        adminPassword: args.adminPassword,
        ...(args.hostList[0] ? { allocations: args.hostList[0].allocationRequest.allocations } : {}),
      })
    } catch (err) {
      await this.buildFailed(context, instance, args, toComputeError(err))
      return
    }
    const powerState = await this.powerStateOf(instance)
    try {
      instance = await this.conductor.instanceUpdate(
        context,
        uuid,
        { vmState: VmState.ACTIVE, taskState: null, powerState, launchedAt: isoNow(this.clock) },
        { expectedTaskState: [TaskState.SPAWNING] },
      )
    } catch (err) {
      // NOTE: as Nova: deleted during the build. A pending terminate (queued behind our lock) destroys the
      // guest; if the instance is already gone, nobody else will, so clean up here.
      log.info(`instance ${uuid} was deleted during the build: ${(err as Error).message}`)
      await this.notifier.instanceAction(context, instance, 'instance.create.error', { fault: faultFromError(err, { moduleName: 'novum.compute.manager', functionName: 'build_and_run_instance' }) })
      if (ComputeError.is(err, 'NOT_FOUND')) {
        await this.driver.destroy(instance).catch(() => undefined)
        await this.conductor.allocationsDelete(context, uuid).catch(() => undefined)
      }
      await this.eventFinish(context, uuid, 'build_and_run_instance', err)
      return
    }
    this.failedBuilds = 0
    await this.notifier.instanceAction(context, instance, 'instance.create.end')
    await this.eventFinish(context, uuid, 'build_and_run_instance')
    log.info(`instance ${uuid} spawned on ${this.host}`)
  }

  /**
   * A build the late server-group check refused (Nova `RescheduledByPolicyException`): nothing ran here, so the
   * claim goes and the build is rescheduled onto the next alternate, without counting as a failed build of this
   * host. With no alternate (and no retry) the instance goes to ERROR with the violation as its fault.
   */
  private async groupPolicyViolated(context: RequestContext, args: BuildAndRunInstanceArgs, reason: string): Promise<void> {
    const uuid = args.instance.uuid
    const log = this.logger.child({ req_id: context.requestId, instance_uuid: uuid })
    log.info(`build of instance ${uuid} on ${this.host} refused by the late server-group check: ${reason}`)
    const error = new ComputeError('CONFLICT', `Build of instance ${uuid} was re-scheduled: ${reason}`, { details: { code: 'RescheduledByPolicyException', instanceUuid: uuid, host: this.host } })
    await this.conductor.allocationsDelete(context, uuid).catch((err: unknown) => log.warn({ err }, `could not delete the allocations of ${uuid}`))
    const numAttempts = args.retry?.numAttempts ?? 1
    const failures: BuildFailure[] = [...(args.retry?.failures ?? []), { host: this.host, reason }]
    const clearHost: InstancePatch = { host: null, node: null }
    try {
      if (args.hostList.length > 1 || numAttempts > 1) {
        await this.conductor.instanceUpdate(context, uuid, clearHost, { expectedTaskState: [TaskState.SCHEDULING, null] })
        await this.eventFinish(context, uuid, 'build_and_run_instance', error)
        await this.taskApi
          .buildInstances(context, { instanceUuid: uuid, requestSpec: args.requestSpec, hostList: args.hostList.slice(1), adminPassword: args.adminPassword, retry: { numAttempts, failures } })
          .catch((err: unknown) => log.error({ err }, `could not reschedule instance ${uuid}: ${(err as Error).message}`))
        return
      }
      await this.conductor.instanceFaultCreate(context, { instanceUuid: uuid, code: faultCode(error.code), message: error.message, details: null, host: this.host })
      await this.conductor.instanceUpdate(context, uuid, { vmState: VmState.ERROR, taskState: null, ...clearHost }, { expectedTaskState: [TaskState.SCHEDULING, null] })
    } catch (err) {
      log.info(`instance ${uuid} changed before the reschedule: ${(err as Error).message}`)
    }
    await this.eventFinish(context, uuid, 'build_and_run_instance', error)
  }

  private async buildFailed(context: RequestContext, instance: Instance, args: BuildAndRunInstanceArgs, error: ComputeError): Promise<void> {
    const uuid = instance.uuid
    const log = this.logger.child({ req_id: context.requestId, instance_uuid: uuid })
    this.failedBuilds++
    log.warn({ err: error }, `build of instance ${uuid} failed on ${this.host}: ${error.message}`)
    await this.driver.destroy(instance).catch((err: unknown) => log.warn({ err }, `cleanup of failed guest ${uuid} failed`))
    await this.notifier.instanceAction(context, instance, 'instance.create.error', {
      fault: faultFromError(error, { moduleName: 'novum.compute.manager', functionName: 'build_and_run_instance' }),
    })
    // NOTE: as Nova: the claim on this host goes before the reschedule, so the conductor can claim an alternate.
    await this.conductor.allocationsDelete(context, uuid).catch((err: unknown) => log.warn({ err }, `could not delete the allocations of ${uuid}`))
    const numAttempts = args.retry?.numAttempts ?? 1
    const retryEnabled = args.hostList.length > 1 || numAttempts > 1
    const abort = ABORT_BUILD_CODES.has(error.code)
    const failures: BuildFailure[] = [...(args.retry?.failures ?? []), { host: this.host, reason: error.message }]
    // NOTE: as Nova (`_nil_out_instance_obj_host_and_node`): a build that left this host no longer names it.
    const clearHost: InstancePatch = { host: null, node: null }
    if (retryEnabled && !abort) {
      try {
        await this.conductor.instanceUpdate(context, uuid, { taskState: TaskState.SCHEDULING, ...clearHost }, { expectedTaskState: [TaskState.SPAWNING] })
      } catch (err) {
        log.info(`instance ${uuid} changed before the reschedule: ${(err as Error).message}`)
        await this.eventFinish(context, uuid, 'build_and_run_instance', error)
        return
      }
      await this.eventFinish(context, uuid, 'build_and_run_instance', error)
      await this.taskApi.buildInstances(context, {
        instanceUuid: uuid,
        requestSpec: args.requestSpec,
        hostList: args.hostList.slice(1),
        adminPassword: args.adminPassword,
        retry: { numAttempts, failures },
      })
      return
    }
    try {
      // NOTE: the fault first, so whoever sees the instance in ERROR also sees why.
      await this.conductor.instanceFaultCreate(context, { instanceUuid: uuid, code: faultCode(error.code), message: error.message, details: error.stack ?? null, host: this.host })
      await this.conductor.instanceUpdate(context, uuid, { vmState: VmState.ERROR, taskState: null, powerState: PowerState.NOSTATE, ...clearHost }, { expectedTaskState: [TaskState.SPAWNING] })
    } catch (err) {
      log.info(`instance ${uuid} changed before it could be set to error: ${(err as Error).message}`)
    }
    await this.eventFinish(context, uuid, 'build_and_run_instance', error)
  }

  // --- internals: actions -------------------------------------------------------------------------

  private async doTerminateInstance(context: RequestContext, instance: Instance): Promise<void> {
    const uuid = instance.uuid
    await this.eventStart(context, uuid, 'terminate_instance')
    await this.notifier.instanceAction(context, instance, 'instance.delete.start')
    try {
      await this.driver.destroy(instance)
      await this.conductor.allocationsDelete(context, uuid)
      await this.conductor.instanceDestroy(context, uuid)
    } catch (err) {
      await this.actionFailed(context, instance, 'terminate_instance', toComputeError(err), { vmState: VmState.ERROR, taskState: null })
      return
    }
    const deleted = await this.conductor.instanceGet(context, uuid, { readDeleted: true }).catch(() => ({ ...instance, vmState: VmState.DELETED, taskState: null, powerState: PowerState.NOSTATE }))
    await this.notifier.instanceAction(context, deleted, 'instance.delete.end')
    await this.eventFinish(context, uuid, 'terminate_instance')
  }

  private async doStopInstance(context: RequestContext, instance: Instance, options: { readonly force: boolean }): Promise<void> {
    const uuid = instance.uuid
    await this.eventStart(context, uuid, 'stop_instance')
    await this.notifier.instanceAction(context, instance, 'instance.power_off.start')
    let updated: Instance
    try {
      try {
        await this.driver.powerOff(instance, { timeoutSec: options.force ? 0 : this.shutdownTimeoutSec })
      } catch (err) {
        if (!ComputeError.is(err, 'NOT_FOUND')) throw err // a guest that is gone is off
      }
      const powerState = await this.powerStateOf(instance)
      updated = await this.conductor.instanceUpdate(context, uuid, { vmState: VmState.STOPPED, taskState: null, powerState }, { expectedTaskState: [TaskState.POWERING_OFF, null] })
    } catch (err) {
      await this.actionFailed(context, instance, 'stop_instance', toComputeError(err), { taskState: null }, [TaskState.POWERING_OFF])
      return
    }
    await this.notifier.instanceAction(context, updated, 'instance.power_off.end')
    await this.eventFinish(context, uuid, 'stop_instance')
  }

  private async doStartInstance(context: RequestContext, instance: Instance): Promise<void> {
    const uuid = instance.uuid
    await this.eventStart(context, uuid, 'start_instance')
    await this.notifier.instanceAction(context, instance, 'instance.power_on.start')
    let updated: Instance
    try {
      await this.driver.powerOn(instance)
      const powerState = await this.powerStateOf(instance)
      updated = await this.conductor.instanceUpdate(context, uuid, { vmState: VmState.ACTIVE, taskState: null, powerState }, { expectedTaskState: [TaskState.POWERING_ON] })
    } catch (err) {
      await this.actionFailed(context, instance, 'start_instance', toComputeError(err), { taskState: null }, [TaskState.POWERING_ON])
      return
    }
    await this.notifier.instanceAction(context, updated, 'instance.power_on.end')
    await this.eventFinish(context, uuid, 'start_instance')
  }

  private async doRebootInstance(context: RequestContext, instance: Instance, rebootType: RebootType): Promise<void> {
    const uuid = instance.uuid
    const soft = rebootType === 'SOFT'
    const family: readonly string[] = soft ? SOFT_REBOOT_TASKS : HARD_REBOOT_TASKS
    const pending = soft ? TaskState.REBOOT_PENDING : TaskState.REBOOT_PENDING_HARD
    const started = soft ? TaskState.REBOOT_STARTED : TaskState.REBOOT_STARTED_HARD
    await this.eventStart(context, uuid, 'reboot_instance')
    let current: Instance
    try {
      current = await this.conductor.instanceUpdate(context, uuid, { taskState: pending }, { expectedTaskState: family })
    } catch (err) {
      await this.eventFinish(context, uuid, 'reboot_instance', err)
      this.logger.info({ req_id: context.requestId, instance_uuid: uuid }, `reboot of ${uuid} skipped: ${(err as Error).message}`)
      return
    }
    await this.notifier.instanceAction(context, current, 'instance.reboot.start')
    try {
      current = await this.conductor.instanceUpdate(context, uuid, { taskState: started, powerState: await this.powerStateOf(current) }, { expectedTaskState: [pending] })
      await this.driver.reboot(current, rebootType)
    } catch (err) {
      const error = toComputeError(err)
      // NOTE: as Nova: a guest still running after a failed reboot stays active; otherwise the instance errors.
      const running = (await this.powerStateOf(current)) === PowerState.RUNNING
      await this.actionFailed(
        context,
        current,
        'reboot_instance',
        error,
        running ? { vmState: VmState.ACTIVE, taskState: null, powerState: PowerState.RUNNING } : { vmState: VmState.ERROR, taskState: null },
        undefined,
        'instance.reboot.error',
      )
      return
    }
    const powerState = await this.powerStateOf(current)
    const vmState = current.vmState === VmState.RESCUED ? VmState.RESCUED : VmState.ACTIVE
    let updated: Instance
    try {
      updated = await this.conductor.instanceUpdate(context, uuid, { vmState, taskState: null, powerState }, { expectedTaskState: [started] })
    } catch (err) {
      await this.eventFinish(context, uuid, 'reboot_instance', err)
      return
    }
    await this.notifier.instanceAction(context, updated, 'instance.reboot.end')
    await this.eventFinish(context, uuid, 'reboot_instance')
  }

  private async doPowerTransition(context: RequestContext, instance: Instance, t: PowerTransition): Promise<void> {
    const uuid = instance.uuid
    await this.eventStart(context, uuid, t.method)
    await this.notifier.instanceAction(context, instance, `instance.${t.action}.start`)
    try {
      if (!driverSupports(this.driver, t.capability)) {
        throw new ComputeError('NOT_IMPLEMENTED', `${t.action} is not supported by the virt driver of host ${this.host}`, {
          details: { instanceUuid: uuid, host: this.host, capability: t.capability },
        })
      }
      await t.run(this.driver, instance)
    } catch (err) {
      const error = toComputeError(err)
      const errored = t.errorOnFailure && error.code !== 'NOT_IMPLEMENTED'
      await this.actionFailed(context, instance, t.method, error, errored ? { vmState: VmState.ERROR, taskState: null } : { taskState: null }, [t.taskState])
      return
    }
    let updated: Instance
    try {
      const powerState = await this.powerStateOf(instance)
      updated = await this.conductor.instanceUpdate(context, uuid, { vmState: t.toVmState, taskState: null, powerState }, { expectedTaskState: [t.taskState] })
    } catch (err) {
      // deleted or reset while the driver worked: the CAS keeps whatever happened meanwhile
      await this.actionFailed(context, instance, t.method, toComputeError(err), { taskState: null }, [t.taskState])
      return
    }
    await this.notifier.instanceAction(context, updated, `instance.${t.action}.end`)
    await this.eventFinish(context, uuid, t.method)
  }

  private async doGetConsoleOutput(context: RequestContext, instance: Instance, tailLength: number | null): Promise<string> {
    const uuid = instance.uuid
    let output: string
    try {
      if (!driverSupports(this.driver, 'supportsConsoleOutput')) {
        throw new ComputeError('NOT_IMPLEMENTED', `console output is not supported by the virt driver of host ${this.host}`, {
          details: { instanceUuid: uuid, host: this.host, capability: 'supportsConsoleOutput' },
        })
      }
      output = await this.driver.getConsoleOutput!(instance)
    } catch (err) {
      const error = toComputeError(err)
      if (error.code !== 'NOT_FOUND') await this.recordFault(context, uuid, error)
      throw error
    }
    return tailConsoleLog(output, tailLength)
  }

  /** Writes an instance fault through the conductor; a failure to write it is logged, not thrown. */
  private async recordFault(context: RequestContext, instanceUuid: string, error: ComputeError): Promise<void> {
    await this.conductor
      .instanceFaultCreate(context, { instanceUuid, code: faultCode(error.code), message: error.message, details: error.stack ?? null, host: this.host })
      .catch((err: unknown) => this.logger.warn({ err, req_id: context.requestId, instance_uuid: instanceUuid }, `could not record the fault of ${instanceUuid}`))
  }

  /** Records a failed action: state patch, fault, optional error notification, and the Error event. */
  private async actionFailed(
    context: RequestContext,
    instance: Instance,
    method: string,
    error: ComputeError,
    patch: InstancePatch,
    expectedTaskState?: readonly (string | null)[],
    errorEvent?: string,
  ): Promise<void> {
    const log = this.logger.child({ req_id: context.requestId, instance_uuid: instance.uuid })
    log.warn({ err: error }, `${method} of instance ${instance.uuid} failed: ${error.message}`)
    let updated = instance
    await this.recordFault(context, instance.uuid, error)
    try {
      updated = await this.conductor.instanceUpdate(context, instance.uuid, patch, expectedTaskState ? { expectedTaskState } : {})
    } catch (err) {
      log.info(`could not record the failure state of ${instance.uuid}: ${(err as Error).message}`)
    }
    if (errorEvent) {
      await this.notifier.instanceAction(context, updated, errorEvent, { fault: faultFromError(error, { moduleName: 'novum.compute.manager', functionName: method }) })
    }
    await this.eventFinish(context, instance.uuid, method, error)
  }

  // --- internals: start-up recovery and power sync ------------------------------------------------

  /** Nova `_init_instance` for every instance of the host (§2.5). */
  private async initInstances(context: RequestContext): Promise<void> {
    let instances: Instance[]
    try {
      instances = await this.conductor.instancesGetByHost(context, this.host)
    } catch (err) {
      this.logger.error({ err }, `could not list the instances of ${this.host} at start-up: ${(err as Error).message}`)
      return
    }
    for (const instance of instances) {
      try {
        await this.locks.run(instance.uuid, () => this.initInstance(context, instance))
      } catch (err) {
        this.logger.error({ err, instance_uuid: instance.uuid }, `start-up recovery of instance ${instance.uuid} failed: ${(err as Error).message}`)
      }
    }
  }

  private async initInstance(context: RequestContext, instance: Instance): Promise<void> {
    const uuid = instance.uuid
    const task = instance.taskState
    const log = this.logger.child({ instance_uuid: uuid })
    if (instance.vmState === VmState.SOFT_DELETED || instance.vmState === VmState.DELETED) return
    if (instance.vmState === VmState.ERROR && task !== TaskState.DELETING) return
    if (instance.vmState === VmState.BUILDING || BUILD_TASKS.has(task)) {
      log.info(`instance ${uuid} was left building (task ${task ?? 'None'}); setting it to error`)
      await this.conductor.instanceUpdate(context, uuid, { vmState: VmState.ERROR, taskState: null })
      return
    }
    if (REBUILD_TASKS.has(task) && (instance.vmState === VmState.ACTIVE || instance.vmState === VmState.STOPPED)) {
      await this.conductor.instanceUpdate(context, uuid, { vmState: VmState.ERROR, taskState: null })
      return
    }
    if (task === TaskState.DELETING) {
      log.info(`instance ${uuid} was left deleting; finishing the delete`)
      await this.doTerminateInstance(context, instance)
      return
    }
    if (task === TaskState.POWERING_OFF) {
      await this.doStopInstance(context, instance, { force: false })
      return
    }
    if (task === TaskState.POWERING_ON) {
      await this.doStartInstance(context, instance)
      return
    }
    const powerState = await this.powerStateOf(instance)
    if (task !== null && (SOFT_REBOOT_TASKS as readonly string[]).includes(task)) {
      // NOTE: as Nova `_retry_reboot`: a soft reboot of a guest that is not running is retried as a hard one.
      if (powerState === PowerState.RUNNING) {
        await this.doRebootInstance(context, instance, 'SOFT')
      } else {
        const hard = await this.conductor.instanceUpdate(context, uuid, { taskState: TaskState.REBOOTING_HARD }, { expectedTaskState: [task] })
        await this.doRebootInstance(context, hard, 'HARD')
      }
      return
    }
    if (task !== null && (HARD_REBOOT_TASKS as readonly string[]).includes(task)) {
      await this.doRebootInstance(context, instance, 'HARD')
      return
    }
    const transition = POWER_TRANSITION_OF_TASK.get(task)
    if (transition) {
      await this.recoverPowerTransition(context, instance, transition, powerState)
      return
    }
    if (CLEARED_AT_START.has(task)) {
      await this.conductor.instanceUpdate(context, uuid, { taskState: null, powerState }, { expectedTaskState: [task] })
      return
    }
    if (instance.powerState !== powerState && task === null) {
      await this.conductor.instanceUpdate(context, uuid, { powerState }, { expectedTaskState: [null] })
    }
  }

  /**
   * Nova `_init_instance` for an instance left pausing, unpausing, suspending or resuming, decided by where its
   * guest is now: already at the action's power state → record the action's outcome; still where it started →
   * redo the action (unpause, resume; Nova redoes an unpause) or drop it (pause, suspend: back to the vm_state
   * it had; Nova does so for pausing); anything else → clear the task and let the power-state sync judge.
   *
   * NOTE: Nova handles only pausing/unpausing here and leaves suspending/resuming stuck; Novum treats the four alike.
   */
  private async recoverPowerTransition(context: RequestContext, instance: Instance, t: PowerTransition, powerState: PowerState): Promise<void> {
    const uuid = instance.uuid
    const expected = { expectedTaskState: [t.taskState] }
    // NOTE: a managed save (libvirt) reads as SHUTDOWN, so a suspend may have completed with the guest shut down.
    const reached = powerState === t.toPower || (t === SUSPEND && powerState === PowerState.SHUTDOWN)
    this.logger.info({ instance_uuid: uuid }, `instance ${uuid} was left ${t.taskState} with its guest ${POWER_STATE_NAMES[powerState]}`)
    if (reached) {
      await this.conductor.instanceUpdate(context, uuid, { vmState: t.toVmState, taskState: null, powerState }, expected)
    } else if (powerState === t.fromPower && t.redoAtStart) {
      await this.doPowerTransition(context, instance, t)
    } else if (powerState === t.fromPower) {
      await this.conductor.instanceUpdate(context, uuid, { vmState: t.fromVmState, taskState: null, powerState }, expected)
    } else {
      await this.conductor.instanceUpdate(context, uuid, { taskState: null, powerState }, expected)
    }
  }

  private async handleLifecycleEvent(event: VirtEvent): Promise<void> {
    const state = POWER_STATE_OF[event.transition]
    if (state === undefined) return
    const context = createAdminContext()
    try {
      await this.locks.run(event.instanceUuid, () => this.syncInstancePowerState(context, event.instanceUuid, state))
    } catch (err) {
      this.logger.warn({ err, instance_uuid: event.instanceUuid }, `power state sync of ${event.instanceUuid} failed: ${(err as Error).message}`)
    }
  }

  /**
   * Nova `_sync_instance_power_state` (§2.5), under the instance's lock: skipped while a task is in flight, and
   * judged on the driver's power state read now, under the lock. An event whose power state is no longer the
   * guest's (a PAUSED handled after the unpause that followed it) is dropped, as Nova's `handle_lifecycle_event`
   * does, so a stale event never overwrites the state a later action recorded.
   */
  private async syncInstancePowerState(context: RequestContext, uuid: string, eventState?: PowerState): Promise<void> {
    let instance: Instance
    try {
      instance = await this.conductor.instanceGet(context, uuid)
    } catch (err) {
      if (ComputeError.is(err, 'NOT_FOUND')) return
      throw err
    }
    if (instance.host !== this.host || instance.taskState !== null) return
    const driverState = await this.powerStateOf(instance)
    if (eventState !== undefined && driverState !== eventState) return
    if (instance.powerState !== driverState) {
      try {
        instance = await this.conductor.instanceUpdate(context, uuid, { powerState: driverState }, { expectedTaskState: [null] })
      } catch (err) {
        if (ComputeError.is(err, 'CONFLICT') || ComputeError.is(err, 'NOT_FOUND')) return
        throw err
      }
    }
    const log = this.logger.child({ instance_uuid: uuid })
    switch (instance.vmState) {
      case VmState.ACTIVE:
        if (driverState === PowerState.SHUTDOWN || driverState === PowerState.CRASHED || driverState === PowerState.SUSPENDED) {
          log.warn(`instance ${uuid} is active but its guest is ${driverState === PowerState.CRASHED ? 'crashed' : driverState === PowerState.SUSPENDED ? 'suspended' : 'shut down'}; stopping it`)
          await this.stopFromSync(context, instance, false)
        }
        return
      case VmState.STOPPED:
        if (driverState !== PowerState.NOSTATE && driverState !== PowerState.SHUTDOWN && driverState !== PowerState.CRASHED) {
          log.warn(`instance ${uuid} is stopped but its guest is running; forcing it off`)
          await this.stopFromSync(context, instance, true)
        }
        return
      case VmState.PAUSED:
        if (driverState === PowerState.SHUTDOWN || driverState === PowerState.CRASHED) {
          log.warn(`instance ${uuid} is paused but its guest is shut down; forcing a stop`)
          await this.stopFromSync(context, instance, true)
        }
        return
      default:
        return
    }
  }

  /** What Nova's `compute_api.stop`/`force_stop` do from the power sync: a `stop` action, task `powering-off`, then the stop. */
  private async stopFromSync(context: RequestContext, instance: Instance, force: boolean): Promise<void> {
    const stopping = await this.conductor.instanceUpdate(context, instance.uuid, { taskState: TaskState.POWERING_OFF }, { expectedTaskState: [null] })
    await this.conductor.actionStart(context, { instanceUuid: instance.uuid, action: 'stop' }).catch((err: unknown) => {
      this.logger.warn({ err, instance_uuid: instance.uuid }, `could not record the stop action of ${instance.uuid}`)
    })
    await this.doStopInstance(context, stopping, { force })
  }

  // --- internals: resources -----------------------------------------------------------------------

  private async doUpdateAvailableResource(context: RequestContext): Promise<void> {
    try {
      const nodes = await this.driver.getAvailableNodes()
      const instances = await this.conductor.instancesGetByHost(context, this.host)
      for (const nodename of nodes) {
        const resources = await this.driver.getAvailableResource(nodename)
        const previous = this.providerTrees.get(nodename)
        const tree: ProviderTreeUpdate = {
          inventories: previous ? structuredClone(previous.inventories) : {},
          traits: previous ? [...previous.traits] : [],
        }
        await this.driver.updateProviderTree(nodename, tree)
        const onNode = instances.filter((i) => (i.node ?? nodename) === nodename)
        const usage = computeNodeUsage(resources, tree.inventories, onNode, this.failedBuilds)
        const record = await this.conductor.computeNodeUpdate(context, {
          host: this.host,
          nodename,
          resources: usage.resources,
          stats: { ...usage.stats, ...capabilityStats(this.driver) },
          inventories: tree.inventories,
          traits: tree.traits,
        })
        this.providerTrees.set(nodename, tree)
        this.nodeUuids.set(nodename, record.uuid)
      }
    } catch (err) {
      this.logger.error({ err }, `updating the resources of ${this.host} failed: ${(err as Error).message}`)
    }
  }

  // --- internals: helpers -------------------------------------------------------------------------

  private async powerStateOf(instance: Instance): Promise<PowerState> {
    try {
      return (await this.driver.getInfo(instance)).state
    } catch (err) {
      if (ComputeError.is(err, 'NOT_FOUND')) return PowerState.NOSTATE
      throw err
    }
  }

  private async eventStart(context: RequestContext, instanceUuid: string, method: string): Promise<void> {
    try {
      await this.conductor.actionEventStart(context, { instanceUuid, event: `compute_${method}`, host: this.host })
    } catch (err) {
      this.logger.debug({ err, instance_uuid: instanceUuid }, `no instance action for compute_${method} of ${instanceUuid}: ${(err as Error).message}`)
    }
  }

  private async eventFinish(context: RequestContext, instanceUuid: string, method: string, error?: unknown): Promise<void> {
    try {
      await this.conductor.actionEventFinish(context, {
        instanceUuid,
        event: `compute_${method}`,
        result: error === undefined ? 'Success' : 'Error',
        traceback: error === undefined ? null : error instanceof Error ? (error.stack ?? error.message) : String(error),
        host: this.host,
      })
    } catch (err) {
      this.logger.debug({ err, instance_uuid: instanceUuid }, `could not finish event compute_${method} of ${instanceUuid}: ${(err as Error).message}`)
    }
  }

  private every(intervalMs: number, task: () => Promise<void>): void {
    if (intervalMs <= 0) return
    const timer = setInterval(() => this.track(task()), intervalMs)
    timer.unref?.()
    this.timers.push(timer)
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch((err: unknown) => this.logger.error({ err }, `background task failed: ${(err as Error).message}`))
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p))
  }
}
