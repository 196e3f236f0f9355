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
  }
}
