import type { RequestContext } from '../context.js'
import type { InstancePatch } from '../db/repositories/instance-repository.js'
import type { Instance } from '../model/instance.js'
import type { ConsumerAllocations } from '../placement/placement-client.js'
import { RpcClient } from '../transport/rpc-client.js'
import type { Notification, Transport } from '../transport/transport.js'
import type { InventoryRecord, NodeResources } from '../virt/virt-driver.js'
import { CONDUCTOR_TOPIC } from './conductor-rpc.js'

/** A `services` row as the conductor returns it to a service. */
export interface ServiceRecord {
  readonly id: number
  readonly uuid: string
  readonly host: string
  readonly binary: string
  readonly topic: string | null
  readonly reportCount: number
  readonly disabled: boolean
  readonly disabledReason: string | null
  readonly forcedDown: boolean
  readonly lastSeenUp: string | null
  readonly version: number
}

/** The arguments of `service_update`: who reports. */
export interface ServiceReport {
  readonly host: string
  /** e.g. `nova-compute`. */
  readonly binary: string
  readonly topic: string | null
}

/**
 * What a compute service reports for one node (`compute_node_update`): the driver's resources with usage
 * recomputed from the instances on the node (as Nova's resource tracker does), the stats, and the provider tree
 * the driver filled in.
 */
export interface ComputeNodeReport {
  readonly host: string
  readonly nodename: string
  readonly resources: NodeResources
  /** Nova's compute node stats: `num_instances`, `num_vm_<state>`, `num_task_<state>`, `num_proj_<id>`, `io_workload`, `failed_builds`. */
  readonly stats: Readonly<Record<string, string>>
  /** The node's inventories per resource class, as the driver's `updateProviderTree` filled them. */
  readonly inventories: Readonly<Record<string, InventoryRecord>>
  /** The node's traits (capabilities and image types) as the driver filled them. */
  readonly traits: readonly string[]
}

/** The compute node as recorded: its uuid is also its root resource provider's uuid. */
export interface ComputeNodeRecord {
  readonly id: number
  readonly uuid: string
  readonly host: string
  readonly hypervisorHostname: string
  readonly serviceId: number | null
  /** True when the compute service is disabled (the provider got `COMPUTE_STATUS_DISABLED`). */
  readonly serviceDisabled: boolean
}

/** The arguments of `instance_fault_create` (Nova `InstanceFault`). */
export interface InstanceFaultInput {
  readonly instanceUuid: string
  /** Nova's fault code: the error's HTTP-like code, 500 for most build failures (including NoValidHost). */
  readonly code: number
  /** Shown to users as `fault.message`; truncated to 255 characters when stored. */
  readonly message: string
  /** Shown to admins as `fault.details`. */
  readonly details?: string | null
  readonly host?: string | null
}

/** The arguments of `action_start`: a new instance action (`stop`, `reboot`, …) for the context's request. */
export interface ActionStartInput {
  readonly instanceUuid: string
  /** One of Nova's instance actions (`create`, `delete`, `stop`, `start`, `reboot`, …). */
  readonly action: string
}

/** The arguments of `action_event_start`. */
export interface ActionEventStartInput {
  readonly instanceUuid: string
  /** `compute_<method>` or `conductor_<method>`. */
  readonly event: string
  readonly host?: string | null
}

/** The arguments of `action_event_finish`. */
export interface ActionEventFinishInput {
  readonly instanceUuid: string
  readonly event: string
  readonly result: 'Success' | 'Error'
  readonly traceback?: string | null
  readonly details?: string | null
  readonly host?: string | null
}

/**
 * The answer of `instance_group_admit`: the instance admitted to the host (now `building`/`spawning`), or the
 * server-group policy it would break there.
 */
export type GroupAdmission =
  | { readonly admitted: true; readonly instance: Instance }
  | { readonly admitted: false; readonly policy: string; readonly reason: string }

/** Options of `instance_update`. */
export interface InstanceUpdateOptions {
  /** Compare-and-swap on task_state: the update happens only if the current value is one of these. */
  readonly expectedTaskState?: readonly (string | null)[]
}

/**
 * Typed client of the conductor's database proxy, as compute services use it (Nova's remoted objects through
 * `ConductorAPI`). A compute service holds no database handle: every read and write of instances, faults,
 * instance actions, services, compute nodes and Placement goes through these calls.
 *
 * Errors come back rebuilt: `NOT_FOUND` for a missing instance, `CONFLICT` (details `code: 'UnexpectedTaskState'`)
 * when an `expectedTaskState` does not match.
 *
 * Versions: 1.0 — `instance_get`, `instance_update`, `instance_destroy`, `instances_get_by_host`,
 * `instance_fault_create`, `action_start`, `action_event_start`, `action_event_finish`, `service_update`,
 * `compute_node_update`, `allocations_get`, `allocations_delete`, `notify`. 1.1 — `instance_group_admit`.
 */
export class ConductorComputeRpcClient extends RpcClient {
  constructor(transport: Transport, timeoutMs = 60_000) {
    super(transport, { topic: CONDUCTOR_TOPIC }, timeoutMs)
  }

  /** The instance; `NOT_FOUND` if it does not exist (or is deleted, unless `readDeleted`). */
  instanceGet(context: RequestContext, uuid: string, options: { readonly readDeleted?: boolean } = {}): Promise<Instance> {
    return this.call('instance_get', { uuid, readDeleted: options.readDeleted ?? false }, context)
  }

  /** Applies `patch` (with an optional task_state compare-and-swap) and returns the updated instance. */
  instanceUpdate(context: RequestContext, uuid: string, patch: InstancePatch, options: InstanceUpdateOptions = {}): Promise<Instance> {
    return this.call('instance_update', { uuid, patch, ...(options.expectedTaskState ? { expectedTaskState: options.expectedTaskState } : {}) }, context)
  }

  /** Marks the instance deleted (vm_state `deleted`, `deleted_at`/`terminated_at` set); a no-op if already gone. */
  instanceDestroy(context: RequestContext, uuid: string): Promise<void> {
    return this.call('instance_destroy', { uuid }, context)
  }

  /** The live instances whose host is `host`. */
  instancesGetByHost(context: RequestContext, host: string): Promise<Instance[]> {
    return this.call('instances_get_by_host', { host }, context)
  }

  /** Records an instance fault. */
  instanceFaultCreate(context: RequestContext, fault: InstanceFaultInput): Promise<void> {
    return this.call('instance_fault_create', { ...fault }, context)
  }

  /** Starts an instance action for the context's request (used by work a compute service starts itself). */
  actionStart(context: RequestContext, input: ActionStartInput): Promise<void> {
    return this.call('action_start', { ...input }, context)
  }

  /** Records the start of an action event; `NOT_FOUND` when the request has no action on the instance. */
  actionEventStart(context: RequestContext, input: ActionEventStartInput): Promise<void> {
    return this.call('action_event_start', { ...input }, context)
  }

  /** Records the end (Success/Error) of an action event. */
  actionEventFinish(context: RequestContext, input: ActionEventFinishInput): Promise<void> {
    return this.call('action_event_finish', { ...input }, context)
  }

  /** Registers the service on its first report, then heartbeats it (`last_seen_up`, `report_count`). */
  serviceUpdate(context: RequestContext, report: ServiceReport): Promise<ServiceRecord> {
    return this.call('service_update', { ...report }, context)
  }

  /** Upserts the compute node and syncs its resource provider (inventories, traits) in Placement. */
  computeNodeUpdate(context: RequestContext, report: ComputeNodeReport): Promise<ComputeNodeRecord> {
    return this.call('compute_node_update', { ...report }, context)
  }

  /** The consumer's allocations in Placement. */
  allocationsGet(context: RequestContext, consumerUuid: string): Promise<ConsumerAllocations> {
    return this.call('allocations_get', { consumerUuid }, context)
  }

  /** Removes every allocation of the consumer (a no-op if it has none). */
  allocationsDelete(context: RequestContext, consumerUuid: string): Promise<void> {
    return this.call('allocations_delete', { consumerUuid }, context)
  }

  /** Relays a notification through the conductor's transport. */
  notify(context: RequestContext, notification: Notification): Promise<void> {
    return this.call('notify', { notification }, context)
  }

  /**
   * The late server-group check (since 1.1): whether the instance may start building on `host` given where the
   * other members of its hard (anti-)affinity group already are; when it may, the instance is set to
   * `building`/`spawning` (expecting task `scheduling` or none) in the same transaction. Errors as `instanceUpdate`.
   */
  instanceGroupAdmit(context: RequestContext, uuid: string, host: string): Promise<GroupAdmission> {
    return this.call('instance_group_admit', { uuid, host }, context)
  }
}
