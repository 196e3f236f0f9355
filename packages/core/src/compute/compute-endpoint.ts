import type { Instance } from '../model/instance.js'
import type { RpcEndpoint } from '../transport/transport.js'
import type { RebootType } from '../virt/virt-driver.js'
import type { ComputeManager } from './compute-manager.js'
import type { BuildAndRunInstanceArgs } from './compute-rpc.js'

/**
 * The RPC endpoint of a compute service (topic `compute`, server = its host): each method of
 * `ComputeRpcClient` mapped onto a {@link ComputeManager} method. {@link ComputeManager.start} serves it; pass
 * it to a transport yourself only for custom wiring.
 */
export function computeEndpoint(manager: ComputeManager): RpcEndpoint {
  return {
    build_and_run_instance: (args, context) => manager.buildAndRunInstance(context, args as unknown as BuildAndRunInstanceArgs),
    terminate_instance: (args, context) => manager.terminateInstance(context, args.instance as Instance),
    stop_instance: (args, context) => manager.stopInstance(context, args.instance as Instance),
    start_instance: (args, context) => manager.startInstance(context, args.instance as Instance),
    reboot_instance: (args, context) => manager.rebootInstance(context, args.instance as Instance, args.rebootType as RebootType),
    pause_instance: (args, context) => manager.pauseInstance(context, args.instance as Instance),
    unpause_instance: (args, context) => manager.unpauseInstance(context, args.instance as Instance),
    suspend_instance: (args, context) => manager.suspendInstance(context, args.instance as Instance),
    resume_instance: (args, context) => manager.resumeInstance(context, args.instance as Instance),
    get_console_output: (args, context) =>
      manager.getConsoleOutput(context, args.instance as Instance, typeof args.tailLength === 'number' ? args.tailLength : null),
  }
}
