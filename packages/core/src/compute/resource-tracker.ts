import type { Instance } from '../model/instance.js'
import type { InventoryRecord, NodeResources } from '../virt/virt-driver.js'

/** Task states that count as I/O work in the `io_workload` stat (Nova `compute/stats.py`). */
const IO_WORKLOAD_TASKS = new Set(['resize_migrating', 'rebuilding', 'resize_prep', 'image_snapshot', 'image_backup', 'rescuing', 'unshelving'])

/** vm_states whose instances no longer use the host. */
const NOT_ON_HOST = new Set(['deleted', 'shelved_offloaded'])

/** The usage and stats of one node, ready for `compute_node_update`. */
export interface NodeUsage {
  /** The driver's resources with the `*_used` fields recomputed from the instances. */
  readonly resources: NodeResources
  readonly stats: Record<string, string>
}

/**
 * Recomputes a node's usage from the instances recorded on it, as Nova's resource tracker does (the database,
 * not the hypervisor, is the source of usage): `vcpus_used` is the sum of the flavors' vCPUs, `memory_mb_used`
 * and `local_gb_used` start from the reserved amounts of the node's inventories and add each flavor's memory
 * and root + ephemeral disk. The stats are Nova's: `num_instances`, `num_vm_<vm_state>`, `num_task_<task_state>`
 * (`None` when idle), `num_os_type_None`, `num_proj_<project>`, `io_workload` and `failed_builds`.
 */
export function computeNodeUsage(
  resources: NodeResources,
  inventories: Readonly<Record<string, InventoryRecord>>,
  instances: readonly Instance[],
  failedBuilds = 0,
): NodeUsage {
  let vcpusUsed = 0
  let memoryMbUsed = inventories.MEMORY_MB?.reserved ?? 0
  let localGbUsed = inventories.DISK_GB?.reserved ?? 0
  const counts = new Map<string, number>()
  const bump = (key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1)
  let numInstances = 0
  let ioWorkload = 0
  for (const instance of instances) {
    if (NOT_ON_HOST.has(instance.vmState)) continue
    numInstances++
    vcpusUsed += instance.flavor.vcpus
    memoryMbUsed += instance.flavor.memoryMb
    localGbUsed += instance.flavor.rootGb + instance.flavor.ephemeralGb
    bump(`num_vm_${instance.vmState}`)
    bump(`num_task_${instance.taskState ?? 'None'}`)
    bump('num_os_type_None')
    bump(`num_proj_${instance.projectId}`)
    if (instance.vmState === 'building' || (instance.taskState !== null && IO_WORKLOAD_TASKS.has(instance.taskState))) ioWorkload++
  }
  const stats: Record<string, string> = { num_instances: String(numInstances), io_workload: String(ioWorkload), failed_builds: String(failedBuilds) }
  for (const [key, n] of [...counts].sort(([a], [b]) => a.localeCompare(b))) stats[key] = String(n)
  return {
    resources: {
      ...resources,
      vcpusUsed,
      memoryMbUsed,
      localGbUsed,
    },
    stats,
  }
}
