import { describe, expect, it } from 'vitest'
import { makeInstance } from '../testing/make-instance.js'
import type { NodeResources } from '../virt/virt-driver.js'
import { computeNodeUsage } from './resource-tracker.js'

const resources: NodeResources = {
  vcpus: 32,
  memoryMb: 131_072,
  localGb: 2000,
  vcpusUsed: 99,
  memoryMbUsed: 99,
  localGbUsed: 99,
  hypervisorType: 'fake',
  hypervisorVersion: 1000,
  hypervisorHostname: 'h1',
  cpuInfo: {},
  diskAvailableLeast: 1900,
  supportedInstances: [],
}

describe(computeNodeUsage.name, () => {
  it('recomputes usage from the instances plus the reserved amounts, and builds Nova stats', () => {
    const usage = computeNodeUsage(
      resources,
      { MEMORY_MB: { total: 131_072, reserved: 512 }, DISK_GB: { total: 2000, reserved: 10 } },
      [
        makeInstance({ vmState: 'active', projectId: 'p1', flavor: { vcpus: 2, memoryMb: 4096, rootGb: 40, ephemeralGb: 10 } }),
        makeInstance({ vmState: 'building', taskState: 'spawning', projectId: 'p2', flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } }),
        makeInstance({ vmState: 'deleted', projectId: 'p1', flavor: { vcpus: 8, memoryMb: 8192, rootGb: 80 } }),
      ],
      3,
    )
    expect(usage.resources).toMatchObject({ vcpus: 32, vcpusUsed: 3, memoryMbUsed: 512 + 4608, localGbUsed: 10 + 51, diskAvailableLeast: 1900 })
    expect(usage.stats).toEqual({
      num_instances: '2',
      io_workload: '1',
      failed_builds: '3',
      num_os_type_None: '2',
      num_proj_p1: '1',
      num_proj_p2: '1',
      num_task_None: '1',
      num_task_spawning: '1',
      num_vm_active: '1',
      num_vm_building: '1',
    })
  })

  it('reports only the reserved amounts for an empty node', () => {
    const usage = computeNodeUsage(resources, { MEMORY_MB: { total: 1, reserved: 512 } }, [])
    expect(usage.resources).toMatchObject({ vcpusUsed: 0, memoryMbUsed: 512, localGbUsed: 0 })
    expect(usage.stats).toEqual({ num_instances: '0', io_workload: '0', failed_builds: '0' })
  })
})
