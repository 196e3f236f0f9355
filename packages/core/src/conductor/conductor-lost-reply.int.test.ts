import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createAdminContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { Selection } from '../model/selection.js'
import { PlacementService } from '../placement/placement-service.js'
import { SCHEDULER_TOPIC, type SelectDestinationsResult } from '../scheduler/scheduler-rpc.js'
import { FakeVirtDriver } from '../testing/fake-virt-driver.js'
import { seedBuildingInstances } from '../testing/seed-instances.js'
import { createTestDatabase, type TestDatabase } from '../testing/test-databases.js'
import { InMemoryBroker, InMemoryTransport } from '../transport/in-memory-transport.js'
import type { ProviderTreeUpdate } from '../virt/virt-driver.js'
import { ConductorComputeRpcClient } from './conductor-compute-rpc.js'
import { ConductorManager } from './conductor-manager.js'

// The conductor's side of a scheduler reply lost to the broker: the scheduler claimed in Placement, then the
// conductor saw `TRANSPORT` (or `TIMEOUT`) instead of the selections.
describe('ConductorManager.scheduleAndBuildInstances when the scheduler reply is lost', () => {
  let tdb: TestDatabase
  let placement: PlacementService
  let conductor: ConductorManager
  let transports: InMemoryTransport[]
  let retrying: ConductorManager

  beforeEach(async () => {
    tdb = await createTestDatabase('sqlite')
    const broker = new InMemoryBroker()
    transports = [new InMemoryTransport({ broker }), new InMemoryTransport({ broker }), new InMemoryTransport({ broker })]
    placement = new PlacementService(tdb.db)
    conductor = new ConductorManager({ db: tdb.db, transport: transports[0]!, placement })
    await conductor.start()
    retrying = new ConductorManager({ db: tdb.db, transport: transports[0]!, placement, options: { retryLostSchedulerReply: true } })
    // Register host-a as a compute service would (service row, compute node, provider with inventory).
    const proxy = new ConductorComputeRpcClient(transports[1]!)
    const driver = new FakeVirtDriver({ hostname: 'host-a' })
    await driver.init()
    const ctx = createAdminContext()
    await proxy.serviceUpdate(ctx, { host: 'host-a', binary: 'nova-compute', topic: 'compute' })
    const tree: ProviderTreeUpdate = { inventories: {}, traits: [] }
    await driver.updateProviderTree('host-a', tree)
    await proxy.computeNodeUpdate(ctx, { host: 'host-a', nodename: 'host-a', resources: await driver.getAvailableResource('host-a'), stats: {}, inventories: tree.inventories, traits: [] })
    await driver.close()
  })

  afterEach(async () => {
    await conductor.stop()
    await Promise.all(transports.map((t) => t.close()))
    await tdb.destroy()
  })

  it.each(['TRANSPORT', 'TIMEOUT'] as const)('on %s: ERROR with a fault, and the claims the scheduler made are given back', async (code) => {
    await transports[2]!.listen({ topic: SCHEDULER_TOPIC, server: 'lossy' }, {
      select_destinations: async (args) => {
        const spec = args.requestSpec as RequestSpec
        const [candidate] = (await placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 } }] })).allocationRequests
        for (const uuid of spec.instanceUuids) {
          await placement.putAllocations(uuid, { allocations: candidate!.allocations, projectId: spec.projectId, userId: spec.userId, consumerGeneration: null })
        }
        throw new ComputeError(code, code === 'TRANSPORT' ? 'connection lost while waiting for the reply' : 'timed out waiting for a reply')
      },
    })
    const { context, instances, requestSpec } = await seedBuildingInstances(tdb.db, { count: 2, flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } })
    await conductor.scheduleAndBuildInstances(context, { requestSpec, adminPassword: null })
    for (const i of instances) {
      const row = await tdb.db.selectFrom('instances').select(['vm_state', 'task_state']).where('uuid', '=', i.uuid).executeTakeFirstOrThrow()
      expect(row).toEqual({ vm_state: 'error', task_state: null })
      const faults = await tdb.db.selectFrom('instance_faults').select(['message']).where('instance_uuid', '=', i.uuid).execute()
      expect(faults.map((f) => f.message)).toEqual([code === 'TRANSPORT' ? 'connection lost while waiting for the reply' : 'timed out waiting for a reply'])
      expect((await placement.getAllocations(i.uuid)).allocations).toEqual({})
    }
    expect(await tdb.db.selectFrom('allocations').selectAll().execute()).toEqual([])
  })

  it('with retryLostSchedulerReply, asks again; claims the lost answer made are given back before a last attempt', async () => {
    let calls = 0
    await transports[2]!.listen({ topic: SCHEDULER_TOPIC, server: 'flaky' }, {
      select_destinations: async (args): Promise<SelectDestinationsResult> => {
        calls++
        const spec = args.requestSpec as RequestSpec
        const [candidate] = (await placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 } }] })).allocationRequests
        const node = await tdb.db.selectFrom('compute_nodes').select(['uuid']).executeTakeFirstOrThrow()
        for (const uuid of spec.instanceUuids) {
          await placement.putAllocations(uuid, { allocations: candidate!.allocations, projectId: spec.projectId, userId: spec.userId, consumerGeneration: null })
        }
        if (calls === 1) throw new ComputeError('TRANSPORT', 'connection lost while waiting for the reply')
        const selection: Selection = {
          serviceHost: 'host-a', nodename: 'host-a', computeNodeUuid: node.uuid, allocationRequest: { allocations: candidate!.allocations },
          allocationRequestVersion: '1.36', availabilityZone: null,
        }
        return { selections: spec.instanceUuids.map(() => [selection]), explanation: {} }
      },
    })
    const { context, instances, requestSpec } = await seedBuildingInstances(tdb.db, { count: 2, flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } })
    await retrying.scheduleAndBuildInstances(context, { requestSpec, adminPassword: null })
    // 1: claimed, reply lost; 2: trips over the first claims (consumer generation conflict); 3: claims afresh
    expect(calls).toBe(3)
    for (const i of instances) {
      const row = await tdb.db.selectFrom('instances').select(['vm_state', 'task_state', 'host']).where('uuid', '=', i.uuid).executeTakeFirstOrThrow()
      expect(row).toEqual({ vm_state: 'building', task_state: 'scheduling', host: 'host-a' })
      expect(Object.values((await placement.getAllocations(i.uuid)).allocations)[0]?.resources).toEqual({ VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 })
    }
    expect(await tdb.db.selectFrom('instance_faults').selectAll().execute()).toEqual([])
  })

  it('with retryLostSchedulerReply, a request lost before the scheduler saw it is simply sent again', async () => {
    let calls = 0
    await transports[2]!.listen({ topic: SCHEDULER_TOPIC, server: 'lost' }, {
      select_destinations: async (args): Promise<SelectDestinationsResult> => {
        calls++
        if (calls === 1) throw new ComputeError('TRANSPORT', 'connection lost before the request arrived')
        const spec = args.requestSpec as RequestSpec
        const [candidate] = (await placement.getAllocationCandidates({ groups: [{ suffix: '', resources: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 } }] })).allocationRequests
        const node = await tdb.db.selectFrom('compute_nodes').select(['uuid']).executeTakeFirstOrThrow()
        for (const uuid of spec.instanceUuids) {
          await placement.putAllocations(uuid, { allocations: candidate!.allocations, projectId: spec.projectId, userId: spec.userId, consumerGeneration: null })
        }
        const selection: Selection = {
          serviceHost: 'host-a', nodename: 'host-a', computeNodeUuid: node.uuid, allocationRequest: { allocations: candidate!.allocations },
          allocationRequestVersion: '1.36', availabilityZone: null,
        }
        return { selections: spec.instanceUuids.map(() => [selection]), explanation: {} }
      },
    })
    const { context, instances, requestSpec } = await seedBuildingInstances(tdb.db, { flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } })
    await retrying.scheduleAndBuildInstances(context, { requestSpec, adminPassword: null })
    expect(calls).toBe(2)
    const row = await tdb.db.selectFrom('instances').select(['host', 'vm_state']).where('uuid', '=', instances[0]!.uuid).executeTakeFirstOrThrow()
    expect(row).toEqual({ host: 'host-a', vm_state: 'building' })
  })

  it('with retryLostSchedulerReply, does not ask again after a real scheduling failure', async () => {
    let calls = 0
    await transports[2]!.listen({ topic: SCHEDULER_TOPIC, server: 'picky' }, {
      select_destinations: () => {
        calls++
        throw new ComputeError('NO_VALID_HOST', 'No valid host was found. ')
      },
    })
    const { context, instances, requestSpec } = await seedBuildingInstances(tdb.db)
    await retrying.scheduleAndBuildInstances(context, { requestSpec, adminPassword: null })
    expect(calls).toBe(1)
    const row = await tdb.db.selectFrom('instances').select(['vm_state']).where('uuid', '=', instances[0]!.uuid).executeTakeFirstOrThrow()
    expect(row.vm_state).toBe('error')
  })
})
