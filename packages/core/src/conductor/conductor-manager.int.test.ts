import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAdminContext } from '../context.js'
import { COMPUTE_TOPIC, type BuildAndRunInstanceArgs } from '../compute/compute-rpc.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import { ComputeError } from '../errors/compute-error.js'
import type { Selection } from '../model/selection.js'
import { PlacementService } from '../placement/placement-service.js'
import { FakeVirtDriver } from '../testing/fake-virt-driver.js'
import { seedBuildingInstances } from '../testing/seed-instances.js'
import { createTestDatabase, type TestDatabase } from '../testing/test-databases.js'
import { InMemoryBroker, InMemoryTransport } from '../transport/in-memory-transport.js'
import type { Notification } from '../transport/transport.js'
import type { ProviderTreeUpdate } from '../virt/virt-driver.js'
import { ConductorComputeRpcClient } from './conductor-compute-rpc.js'
import { COMPUTE_STATUS_DISABLED, ConductorManager } from './conductor-manager.js'
import { ConductorTaskRpcClient } from './conductor-rpc.js'
import { listenTestScheduler } from './fixed-scheduler.test-helper.js'

interface Harness {
  readonly tdb: TestDatabase
  readonly placement: PlacementService
  readonly conductor: ConductorManager
  readonly tasks: ConductorTaskRpcClient
  readonly proxy: ConductorComputeRpcClient
  readonly instances: InstanceRepository
  readonly notifications: Notification[]
  /** build_and_run_instance casts received per host. */
  readonly builds: Map<string, BuildAndRunInstanceArgs[]>
  readonly transports: InMemoryTransport[]
}

let h: Harness

/** Registers a compute host the way a compute service would: service row, compute node, provider tree. */
async function registerHost(host: string, options: { vcpus?: number; memoryMb?: number } = {}): Promise<string> {
  const driver = new FakeVirtDriver({ hostname: host, ...options })
  await driver.init()
  const ctx = createAdminContext()
  await h.proxy.serviceUpdate(ctx, { host, binary: 'nova-compute', topic: 'compute' })
  const tree: ProviderTreeUpdate = { inventories: {}, traits: [] }
  await driver.updateProviderTree(host, tree)
  const record = await h.proxy.computeNodeUpdate(ctx, {
    host,
    nodename: host,
    resources: await driver.getAvailableResource(host),
    stats: { num_instances: '0' },
    inventories: tree.inventories,
    traits: tree.traits,
  })
  await driver.close()
  return record.uuid
}

/** A compute endpoint that only records the builds cast to `host`. */
async function captureBuilds(host: string): Promise<void> {
  const t = new InMemoryTransport({ broker: (h.transports[0] as InMemoryTransport).broker })
  h.transports.push(t)
  h.builds.set(host, [])
  await t.listen({ topic: COMPUTE_TOPIC, server: host }, {
    build_and_run_instance: (args) => void h.builds.get(host)!.push(args as unknown as BuildAndRunInstanceArgs),
  })
}

beforeEach(async () => {
  const tdb = await createTestDatabase('sqlite')
  const broker = new InMemoryBroker()
  const conductorTransport = new InMemoryTransport({ broker })
  const schedulerTransport = new InMemoryTransport({ broker })
  const clientTransport = new InMemoryTransport({ broker })
  const placement = new PlacementService(tdb.db)
  const conductor = new ConductorManager({ db: tdb.db, transport: conductorTransport, placement })
  await conductor.start()
  await listenTestScheduler(schedulerTransport, tdb.db, placement, { preferHosts: ['host-a', 'host-b', 'host-c'] })
  const notifications: Notification[] = []
  clientTransport.notifications().subscribe((n) => notifications.push(n))
  h = {
    tdb,
    placement,
    conductor,
    tasks: new ConductorTaskRpcClient(clientTransport),
    proxy: new ConductorComputeRpcClient(clientTransport),
    instances: new InstanceRepository(tdb.db),
    notifications,
    builds: new Map(),
    transports: [conductorTransport, schedulerTransport, clientTransport],
  }
})

afterEach(async () => {
  await h.conductor.stop()
  await Promise.all(h.transports.map((t) => t.close()))
  await h.tdb.destroy()
})

describe(ConductorManager.name, () => {
  describe('.scheduleAndBuildInstances', () => {
    it('places each instance, records the create event with the explanation, deletes the build request and casts the build', async () => {
      await registerHost('host-a')
      await registerHost('host-b')
      await captureBuilds('host-a')
      const { context, instances, requestSpec } = await seedBuildingInstances(h.tdb.db, { count: 2 })
      await h.conductor.scheduleAndBuildInstances(context, { requestSpec, adminPassword: 'secret' })
      await vi.waitFor(() => expect(h.builds.get('host-a')).toHaveLength(2))
      for (const seeded of instances) {
        const instance = await h.instances.get(seeded.uuid)
        expect(instance).toMatchObject({ host: 'host-a', node: 'host-a', availabilityZone: 'nova', vmState: 'building', taskState: 'scheduling' })
        const allocations = await h.placement.getAllocations(seeded.uuid)
        expect(Object.values(allocations.allocations)[0]?.resources).toEqual({ VCPU: 1, MEMORY_MB: 2048, DISK_GB: 20 })
      }
      expect(await h.tdb.db.selectFrom('build_requests').selectAll().execute()).toEqual([])
      const events = await h.tdb.db
        .selectFrom('instance_actions_events as e')
        .innerJoin('instance_actions as a', 'a.id', 'e.action_id')
        .select(['a.action', 'a.request_id', 'e.event', 'e.result', 'e.details'])
        .execute()
      expect(events).toHaveLength(2)
      for (const e of events) {
        expect(e).toMatchObject({ action: 'create', request_id: context.requestId, event: 'conductor_schedule_and_build_instances', result: 'Success' })
        expect(JSON.parse(e.details ?? 'null')).toEqual({ scheduler: 'test', hosts: ['host-a', 'host-b'] })
      }
      // one action per instance: the API's, reused
      expect(await h.tdb.db.selectFrom('instance_actions').select('id').execute()).toHaveLength(2)
      const cast = h.builds.get('host-a')![0]!
      expect(cast.adminPassword).toBe('secret')
      expect(cast.hostList.map((s: Selection) => s.serviceHost)).toEqual(['host-a', 'host-b'])
      expect(cast.requestSpec.instanceUuids).toEqual([cast.instance.uuid])
      expect(cast.instance.host).toBe('host-a')
      expect(cast.retry).toBeUndefined()
    })

    it('puts every instance in ERROR with a code-500 NoValidHost fault when scheduling fails', async () => {
      await registerHost('host-a', { vcpus: 1, memoryMb: 1024 })
      const { context, instances, requestSpec } = await seedBuildingInstances(h.tdb.db, { count: 2, flavor: { memoryMb: 4096 } })
      await h.conductor.scheduleAndBuildInstances(context, { requestSpec, adminPassword: null })
      for (const seeded of instances) {
        expect(await h.instances.get(seeded.uuid)).toMatchObject({ vmState: 'error', taskState: null, host: null })
      }
      const faults = await h.tdb.db.selectFrom('instance_faults').selectAll().execute()
      expect(faults).toHaveLength(2)
      for (const f of faults) {
        expect(f.code).toBe(500)
        expect(f.message).toMatch(/^No valid host was found\. 0 of 1 hosts/)
      }
      expect(await h.tdb.db.selectFrom('build_requests').selectAll().execute()).toEqual([])
      const results = await h.tdb.db.selectFrom('instance_actions_events').select(['event', 'result']).execute()
      expect(results).toEqual([
        { event: 'conductor_schedule_and_build_instances', result: 'Error' },
        { event: 'conductor_schedule_and_build_instances', result: 'Error' },
      ])
      const actions = await h.tdb.db.selectFrom('instance_actions').select(['message']).execute()
      expect(actions.map((a) => a.message)).toEqual(['Error', 'Error'])
      await vi.waitFor(() => expect(h.notifications.filter((n) => n.eventType === 'compute_task.build_instances.error')).toHaveLength(2))
      const n = h.notifications.find((x) => x.eventType === 'compute_task.build_instances.error')!
      expect(n).toMatchObject({ priority: 'error', publisherId: 'nova-conductor:conductor' })
      expect(n.payload['nova_object.name']).toBe('ComputeTaskPayload')
    })

    it('drops the claim of an instance deleted while it was scheduled', async () => {
      await registerHost('host-a')
      await captureBuilds('host-a')
      const { context, instances, requestSpec } = await seedBuildingInstances(h.tdb.db)
      const uuid = instances[0]!.uuid
      // the user deletes the server before the conductor gets the scheduler's answer
      await h.tdb.db.deleteFrom('build_requests').where('instance_uuid', '=', uuid).execute()
      await h.instances.markDeleted(uuid, new Date().toISOString())
      await h.conductor.scheduleAndBuildInstances(context, { requestSpec, adminPassword: null })
      expect((await h.placement.getAllocations(uuid)).allocations).toEqual({})
      expect(h.builds.get('host-a')).toEqual([])
    })
  })

  describe('.buildInstances (reschedule)', () => {
    it('claims the next alternate itself and casts the build there with the retry record', async () => {
      await registerHost('host-a')
      await registerHost('host-b')
      await captureBuilds('host-a')
      await captureBuilds('host-b')
      const { context, instances, requestSpec } = await seedBuildingInstances(h.tdb.db)
      await h.conductor.scheduleAndBuildInstances(context, { requestSpec, adminPassword: null })
      await vi.waitFor(() => expect(h.builds.get('host-a')).toHaveLength(1))
      const first = h.builds.get('host-a')![0]!
      const uuid = instances[0]!.uuid
      // what compute-a does when the spawn fails: free the claim, back to scheduling, cast build_instances
      await h.placement.deleteAllocations(uuid)
      await h.instances.update(uuid, { taskState: 'scheduling', host: null, node: null }, { updatedAt: new Date().toISOString() })
      await h.tasks.buildInstances(context, {
        instanceUuid: uuid,
        requestSpec: first.requestSpec,
        hostList: first.hostList.slice(1),
        adminPassword: null,
        retry: { numAttempts: 1, failures: [{ host: 'host-a', reason: 'fake spawn failure' }] },
      })
      await vi.waitFor(() => expect(h.builds.get('host-b')).toHaveLength(1))
      const second = h.builds.get('host-b')![0]!
      expect(second.retry).toEqual({ numAttempts: 2, failures: [{ host: 'host-a', reason: 'fake spawn failure' }] })
      expect(second.hostList.map((s) => s.serviceHost)).toEqual(['host-b'])
      expect(await h.instances.get(uuid)).toMatchObject({ host: 'host-b', node: 'host-b', taskState: 'scheduling' })
      const hostBNode = await h.tdb.db.selectFrom('compute_nodes').select('uuid').where('host', '=', 'host-b').executeTakeFirstOrThrow()
      expect(Object.keys((await h.placement.getAllocations(uuid)).allocations)).toEqual([hostBNode.uuid])
      const events = await h.tdb.db.selectFrom('instance_actions_events').select(['event', 'result']).orderBy('id').execute()
      expect(events.map((e) => e.event)).toEqual(['conductor_schedule_and_build_instances', 'conductor_build_instances'])
    })

    it('skips an alternate whose claim fails, and errors the instance naming every failure when none is left', async () => {
      await registerHost('host-a')
      const hostB = await registerHost('host-b', { vcpus: 1, memoryMb: 1024 })
      const { context, instances, requestSpec } = await seedBuildingInstances(h.tdb.db)
      const uuid = instances[0]!.uuid
      await h.instances.update(uuid, { host: 'host-a', node: 'host-a' }, { updatedAt: new Date().toISOString() })
      // an alternate that no longer fits: host-b lost its room
      const tooBig: Selection = {
        serviceHost: 'host-b',
        nodename: 'host-b',
        computeNodeUuid: hostB,
        allocationRequest: { allocations: { [hostB]: { resources: { VCPU: 1, MEMORY_MB: 4096, DISK_GB: 20 } } } },
        allocationRequestVersion: '1.36',
        availabilityZone: null,
      }
      await h.conductor.buildInstances(context, {
        instanceUuid: uuid,
        requestSpec,
        hostList: [tooBig],
        adminPassword: null,
        retry: { numAttempts: 1, failures: [{ host: 'host-a', reason: 'fake spawn failure on host-a' }] },
      })
      expect(await h.instances.get(uuid)).toMatchObject({ vmState: 'error', taskState: null })
      const fault = await h.tdb.db.selectFrom('instance_faults').selectAll().executeTakeFirstOrThrow()
      expect(fault.code).toBe(500)
      expect(fault.message).toMatch(new RegExp(`^Exceeded maximum number of retries\\. Exhausted all hosts available for retrying build failures for instance ${uuid}\\. Failures: host-a: fake spawn failure on host-a; host-b: claiming the alternate failed`))
      expect(fault.message.length).toBeLessThanOrEqual(255)
      expect(JSON.parse(fault.details ?? '{}').failures).toHaveLength(2)
      expect((await h.placement.getAllocations(uuid)).allocations).toEqual({})
    })
  })

  describe('compute-facing DB proxy', () => {
    it('registers a service on its first report and heartbeats it afterwards', async () => {
      const ctx = createAdminContext()
      const first = await h.proxy.serviceUpdate(ctx, { host: 'host-a', binary: 'nova-compute', topic: 'compute' })
      const second = await h.proxy.serviceUpdate(ctx, { host: 'host-a', binary: 'nova-compute', topic: 'compute' })
      expect(first).toMatchObject({ host: 'host-a', binary: 'nova-compute', reportCount: 1, disabled: false, forcedDown: false })
      expect(second.id).toBe(first.id)
      expect(second.uuid).toBe(first.uuid)
      expect(second.reportCount).toBe(2)
      expect(second.lastSeenUp).not.toBeNull()
    })

    it('upserts the compute node and syncs its provider, adding COMPUTE_STATUS_DISABLED while the service is disabled', async () => {
      const uuid = await registerHost('host-a', { vcpus: 8 })
      const node = await h.tdb.db.selectFrom('compute_nodes').selectAll().executeTakeFirstOrThrow()
      expect(node).toMatchObject({ uuid, host: 'host-a', hypervisor_hostname: 'host-a', vcpus: 8, cpu_allocation_ratio: 16, ram_allocation_ratio: 1.5, disk_allocation_ratio: 1 })
      const provider = await h.placement.getProvider(uuid)
      expect(provider).toMatchObject({ uuid, name: 'host-a' })
      const inventories = await h.placement.getInventories(uuid)
      expect(inventories.inventories.VCPU).toMatchObject({ total: 8, allocationRatio: 16 })
      expect(inventories.inventories.MEMORY_MB).toMatchObject({ reserved: 512, allocationRatio: 1.5 })
      expect((await h.placement.getTraits(uuid)).traits).not.toContain(COMPUTE_STATUS_DISABLED)

      await h.tdb.db.updateTable('services').set({ disabled: 1, disabled_reason: 'maintenance' }).execute()
      const again = await registerHost('host-a', { vcpus: 8 })
      expect(again).toBe(uuid)
      expect((await h.placement.getTraits(uuid)).traits).toContain(COMPUTE_STATUS_DISABLED)
      expect(await h.tdb.db.selectFrom('compute_nodes').select('id').execute()).toHaveLength(1)
    })

    it('refuses a compute node report from an unregistered service', async () => {
      const err = await h.proxy
        .computeNodeUpdate(createAdminContext(), {
          host: 'ghost',
          nodename: 'ghost',
          resources: { vcpus: 1, memoryMb: 1, localGb: 1, vcpusUsed: 0, memoryMbUsed: 0, localGbUsed: 0, hypervisorType: 'fake', hypervisorVersion: 1, hypervisorHostname: 'ghost', cpuInfo: {}, diskAvailableLeast: 1, supportedInstances: [] },
          stats: {},
          inventories: {},
          traits: [],
        })
        .catch((e: unknown) => e)
      expect(ComputeError.is(err, 'NOT_FOUND')).toBe(true)
      expect((err as Error).message).toContain('compute service on host ghost is not registered')
    })

    it('reads and updates instances with the task_state compare-and-swap, across the transport', async () => {
      const { context, instances } = await seedBuildingInstances(h.tdb.db)
      const uuid = instances[0]!.uuid
      const updated = await h.proxy.instanceUpdate(context, uuid, { taskState: 'spawning', host: 'host-a' }, { expectedTaskState: ['scheduling', null] })
      expect(updated).toMatchObject({ taskState: 'spawning', host: 'host-a' })
      const conflict = await h.proxy.instanceUpdate(context, uuid, { taskState: null }, { expectedTaskState: ['scheduling'] }).catch((e: unknown) => e)
      expect(ComputeError.is(conflict, 'CONFLICT')).toBe(true)
      expect((conflict as ComputeError).details).toMatchObject({ code: 'UnexpectedTaskState', actual: 'spawning' })
      expect((await h.proxy.instancesGetByHost(context, 'host-a')).map((i) => i.uuid)).toEqual([uuid])
      await h.proxy.instanceDestroy(context, uuid)
      const missing = await h.proxy.instanceGet(context, uuid).catch((e: unknown) => e)
      expect(ComputeError.is(missing, 'NOT_FOUND')).toBe(true)
      expect(await h.proxy.instanceGet(context, uuid, { readDeleted: true })).toMatchObject({ vmState: 'deleted', taskState: null })
    })

    it('records action events under the request, falling back to the latest action for work without a project', async () => {
      const { context, instances } = await seedBuildingInstances(h.tdb.db)
      const uuid = instances[0]!.uuid
      await h.proxy.actionEventStart(context, { instanceUuid: uuid, event: 'compute_build_and_run_instance', host: 'host-a' })
      await h.proxy.actionEventFinish(context, { instanceUuid: uuid, event: 'compute_build_and_run_instance', result: 'Success' })
      const periodic = createAdminContext()
      await h.proxy.actionEventStart(periodic, { instanceUuid: uuid, event: 'compute_stop_instance' })
      await h.proxy.actionEventFinish(periodic, { instanceUuid: uuid, event: 'compute_stop_instance', result: 'Error', traceback: 'boom' })
      const rows = await h.tdb.db.selectFrom('instance_actions_events').select(['event', 'result', 'host', 'traceback', 'finish_time']).orderBy('id').execute()
      expect(rows.map(({ finish_time: _f, ...r }) => r)).toEqual([
        { event: 'compute_build_and_run_instance', result: 'Success', host: 'host-a', traceback: null },
        { event: 'compute_stop_instance', result: 'Error', host: null, traceback: 'boom' },
      ])
      expect(rows.every((r) => r.finish_time !== null)).toBe(true)
      const stranger = { ...context, requestId: 'req-other' }
      const err = await h.proxy.actionEventStart(stranger, { instanceUuid: uuid, event: 'compute_x' }).catch((e: unknown) => e)
      expect(ComputeError.is(err, 'NOT_FOUND')).toBe(true)
      await h.proxy.actionStart(stranger, { instanceUuid: uuid, action: 'stop' })
      await h.proxy.actionEventStart(stranger, { instanceUuid: uuid, event: 'compute_stop_instance' })
      expect(await h.tdb.db.selectFrom('instance_actions').select('action').orderBy('id').execute()).toEqual([{ action: 'create' }, { action: 'stop' }])
    })

    it('stores faults with the message cut to 255 characters', async () => {
      const { context, instances } = await seedBuildingInstances(h.tdb.db)
      await h.proxy.instanceFaultCreate(context, { instanceUuid: instances[0]!.uuid, code: 500, message: 'x'.repeat(400), details: 'full text', host: 'host-a' })
      const fault = await h.tdb.db.selectFrom('instance_faults').selectAll().executeTakeFirstOrThrow()
      expect(fault).toMatchObject({ code: 500, message: 'x'.repeat(255), details: 'full text', host: 'host-a' })
    })

    it('reads and deletes allocations, and relays notifications', async () => {
      const uuid = await registerHost('host-a')
      const consumer = crypto.randomUUID()
      await h.placement.putAllocations(consumer, { allocations: { [uuid]: { resources: { VCPU: 2 } } }, projectId: 'p', userId: 'u', consumerGeneration: null })
      const ctx = createAdminContext()
      expect((await h.proxy.allocationsGet(ctx, consumer)).allocations[uuid]?.resources).toEqual({ VCPU: 2 })
      await h.proxy.allocationsDelete(ctx, consumer)
      expect((await h.proxy.allocationsGet(ctx, consumer)).allocations).toEqual({})
      await h.proxy.notify(ctx, { priority: 'info', eventType: 'test.relay', publisherId: 'nova-compute:host-a', timestamp: new Date(0).toISOString(), messageId: 'm1', payload: {} })
      await vi.waitFor(() => expect(h.notifications.map((n) => n.eventType)).toContain('test.relay'))
    })
  })
})
