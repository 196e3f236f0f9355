import type { InstancePatch } from '../db/repositories/instance-repository.js'
import type { Notification, RpcEndpoint } from '../transport/transport.js'
import type {
  ActionEventFinishInput,
  ActionEventStartInput,
  ActionStartInput,
  ComputeNodeReport,
  InstanceFaultInput,
  ServiceReport,
} from './conductor-compute-rpc.js'
import type { ConductorManager } from './conductor-manager.js'
import type { BuildInstancesArgs, BuildParameters } from './conductor-rpc.js'

/**
 * The RPC endpoint of the `conductor` topic: the task API (`schedule_and_build_instances`, `build_instances`)
 * and the compute-facing database proxy, each method mapped onto a {@link ConductorManager} method. The wire
 * names and arguments are those of `ConductorTaskRpcClient` and `ConductorComputeRpcClient`.
 *
 * @example
 * ```ts
 * await transport.listen({ topic: CONDUCTOR_TOPIC, server: 'conductor-1' }, conductorEndpoint(manager))
 * ```
 */
export function conductorEndpoint(manager: ConductorManager): RpcEndpoint {
  return {
    schedule_and_build_instances: (args, context) => manager.scheduleAndBuildInstances(context, args as unknown as BuildParameters),
    build_instances: (args, context) => manager.buildInstances(context, args as unknown as BuildInstancesArgs),

    instance_get: (args) => manager.instanceGet(args.uuid as string, { readDeleted: args.readDeleted === true }),
    instance_update: (args) =>
      manager.instanceUpdate(args.uuid as string, args.patch as InstancePatch, {
        ...(Array.isArray(args.expectedTaskState) ? { expectedTaskState: args.expectedTaskState as (string | null)[] } : {}),
      }),
    instance_destroy: (args) => manager.instanceDestroy(args.uuid as string),
    instances_get_by_host: (args) => manager.instancesGetByHost(args.host as string),
    instance_fault_create: (args) => manager.instanceFaultCreate(args as unknown as InstanceFaultInput),
    action_start: (args, context) => manager.actionStart(context, args as unknown as ActionStartInput),
    action_event_start: (args, context) => manager.actionEventStart(context, args as unknown as ActionEventStartInput),
    action_event_finish: (args, context) => manager.actionEventFinish(context, args as unknown as ActionEventFinishInput),
    service_update: (args) => manager.serviceUpdate(args as unknown as ServiceReport),
    compute_node_update: (args) => manager.computeNodeUpdate(args as unknown as ComputeNodeReport),
    allocations_get: (args) => manager.allocationsGet(args.consumerUuid as string),
    allocations_delete: (args) => manager.allocationsDelete(args.consumerUuid as string),
    notify: (args) => manager.notify(args.notification as Notification),
    instance_group_admit: (args) => manager.instanceGroupAdmit(args.uuid as string, args.host as string),
  }
}
