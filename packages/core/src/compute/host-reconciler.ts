import { createAdminContext, type RequestContext } from '../context.js'
import type { ConductorComputeRpcClient } from '../conductor/conductor-compute-rpc.js'
import { ComputeError } from '../errors/compute-error.js'
import type { Instance } from '../model/instance.js'
import { TaskState, VmState } from '../model/states.js'
import { silentLogger, type Logger } from '../util/logger.js'
import type { VirtDriver } from '../virt/virt-driver.js'

/** What {@link ComputeHostReconciler} works on: one compute host, its driver and the conductor's database proxy. */
export interface ComputeHostReconcilerConfig {
  readonly host: string
  readonly driver: VirtDriver
  readonly conductor: ConductorComputeRpcClient
  /** @default silentLogger */
  readonly logger?: Logger
}

/** What {@link ComputeHostReconciler.reapDeletedGuests} found on the hypervisor. */
export interface GuestReconciliation {
  /** Guests whose instance is deleted in the database: destroyed. */
  readonly reaped: readonly string[]
  /** Guests whose instance lives on another host: left alone (logged), as Nova does without an evacuation record. */
  readonly foreign: readonly string[]
  /** Guests the database does not know at all: left alone (logged). */
  readonly unknown: readonly string[]
}

/** The task states of a build that had not finished (Nova `_init_instance`). */
const BUILD_TASKS: ReadonlySet<string | null> = new Set([TaskState.SCHEDULING, TaskState.BLOCK_DEVICE_MAPPING, TaskState.NETWORKING, TaskState.SPAWNING])

/**
 * What a compute host reconciles when its service starts again after dying (a crash, `kill -9`, a host reboot),
 * in two steps around {@link ComputeManager.start}:
 *
 * 1. {@link ComputeHostReconciler.failInterruptedBuilds}, **before** the manager starts: every instance of the
 *    host still building (vm_state `building`, or task `scheduling`/`block_device_mapping`/`networking`/`spawning`)
 *    was being built by the process that died, so its build will never finish. Each gets an instance fault naming
 *    the interruption and then goes to ERROR with no task (compare-and-swap on its task, so an instance that moved
 *    meanwhile is left alone). Nova's `_init_instance` sets the same ERROR state but records no fault; Novum adds
 *    the fault so the user sees why. Its allocations stay, as in Nova: deleting the server frees them.
 * 2. {@link ComputeHostReconciler.reapDeletedGuests}, **after** the manager started (the driver is initialised):
 *    guests on the hypervisor whose instance is deleted in the database (typically deleted through the API's local
 *    delete while the host was down) are destroyed, as Nova's `_cleanup_running_deleted_instances` does with
 *    `running_deleted_instance_action = reap`. Guests of instances on another host, and guests unknown to the
 *    database, are only logged.
 *
 * Every failure on one instance is logged and the others are still handled; neither method throws for one
 * instance (a failure to list the host's instances does throw).
 *
 * @example
 * ```ts
 * const reconciler = new ComputeHostReconciler({ host: 'compute-1', driver, conductor: new ConductorComputeRpcClient(transport) })
 * await reconciler.failInterruptedBuilds()
 * await computeManager.start()
 * await reconciler.reapDeletedGuests()
 * ```
 */
export class ComputeHostReconciler {
  private readonly logger: Logger

  constructor(private readonly config: ComputeHostReconcilerConfig) {
    this.logger = (config.logger ?? silentLogger).child({ service: 'nova-compute', host: config.host })
  }

  /** Step 1: fault + ERROR for each build of this host left unfinished; returns their uuids. */
  async failInterruptedBuilds(context: RequestContext = createAdminContext()): Promise<string[]> {
    const { host, conductor } = this.config
    const instances = await conductor.instancesGetByHost(context, host)
    const failed: string[] = []
    for (const instance of instances) {
      if (!isInterruptedBuild(instance)) continue
      const task = instance.taskState
      const message =
        `Build of instance ${instance.uuid} was interrupted: the compute service on host ${host} stopped ` +
        `while the instance was ${task ?? instance.vmState}. The instance was set to ERROR when the service started again.`
      try {
        await conductor.instanceFaultCreate(context, { instanceUuid: instance.uuid, code: 500, message, details: null, host })
        await conductor.instanceUpdate(context, instance.uuid, { vmState: VmState.ERROR, taskState: null }, { expectedTaskState: [task] })
        failed.push(instance.uuid)
        this.logger.warn({ instance_uuid: instance.uuid }, message)
      } catch (err) {
        if (ComputeError.is(err, 'CONFLICT') || ComputeError.is(err, 'NOT_FOUND')) {
          this.logger.info({ instance_uuid: instance.uuid }, `instance ${instance.uuid} changed while being reconciled: ${(err as Error).message}`)
        } else {
          this.logger.error({ err, instance_uuid: instance.uuid }, `could not set interrupted build ${instance.uuid} to error: ${(err as Error).message}`)
        }
      }
    }
    return failed
  }

  /** Step 2: destroys the guests of deleted instances; reports what it found. Needs an initialised driver. */
  async reapDeletedGuests(context: RequestContext = createAdminContext()): Promise<GuestReconciliation> {
    const { host, driver, conductor } = this.config
    const guests = await driver.listInstanceUuids()
    const live = new Set((await conductor.instancesGetByHost(context, host)).map((i) => i.uuid))
    const reaped: string[] = []
    const foreign: string[] = []
    const unknown: string[] = []
    for (const uuid of guests) {
      if (live.has(uuid)) continue
      let instance: Instance
      try {
        instance = await conductor.instanceGet(context, uuid, { readDeleted: true })
      } catch (err) {
        if (ComputeError.is(err, 'NOT_FOUND')) {
          unknown.push(uuid)
          this.logger.warn({ instance_uuid: uuid }, `guest ${uuid} on host ${host} belongs to no known instance; leaving it`)
        } else {
          this.logger.error({ err, instance_uuid: uuid }, `could not look up the instance of guest ${uuid}: ${(err as Error).message}`)
        }
        continue
      }
      if (instance.deletedAt !== null || instance.vmState === VmState.DELETED) {
        try {
          await driver.destroy(instance)
          reaped.push(uuid)
          this.logger.warn({ instance_uuid: uuid }, `destroyed the guest of deleted instance ${uuid} on host ${host}`)
        } catch (err) {
          this.logger.error({ err, instance_uuid: uuid }, `could not destroy the guest of deleted instance ${uuid}: ${(err as Error).message}`)
        }
      } else if (instance.host !== host) {
        foreign.push(uuid)
        this.logger.warn({ instance_uuid: uuid }, `guest ${uuid} on host ${host} belongs to an instance on host ${instance.host ?? 'none'}; leaving it`)
      }
    }
    return { reaped, foreign, unknown }
  }
}

function isInterruptedBuild(instance: Instance): boolean {
  if (instance.taskState === TaskState.DELETING) return false
  return instance.vmState === VmState.BUILDING || BUILD_TASKS.has(instance.taskState)
}
