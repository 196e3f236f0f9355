import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAdminContext, type RequestContext } from '../context.js'
import { ConductorComputeRpcClient } from '../conductor/conductor-compute-rpc.js'
import { ConductorManager } from '../conductor/conductor-manager.js'
import { listenTestScheduler } from '../conductor/fixed-scheduler.test-helper.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import { ComputeError } from '../errors/compute-error.js'
import type { ImageMeta } from '../model/image-meta.js'
import type { Instance } from '../model/instance.js'
import { PowerState } from '../model/states.js'
import { PlacementService } from '../placement/placement-service.js'
import { FakeVirtDriver, type FakeVirtDriverConfig } from '../testing/fake-virt-driver.js'
import { seedBuildingInstances, type SeedInstancesOptions } from '../testing/seed-instances.js'
import { createTestDatabase, type TestDatabase } from '../testing/test-databases.js'
import { InMemoryBroker, InMemoryTransport } from '../transport/in-memory-transport.js'
import type { Notification } from '../transport/transport.js'
import type { SpawnOptions } from '../virt/virt-driver.js'
import { ComputeManager, type ComputeManagerOptions } from './compute-manager.js'
import { ComputeRpcClient } from './compute-rpc.js'

/** The fake driver, instrumented to count concurrent spawns and to hold them at a gate (an extended fake, not a mock). */
class GatedDriver extends FakeVirtDriver {
  running = 0
  peak = 0
  private open!: () => void
  private readonly gate = new Promise<void>((resolve) => {
    this.open = resolve
  })
  release(): void {
    this.open()
  }
  override async spawn(instance: Instance, image: ImageMeta, options: SpawnOptions): Promise<void> {
    this.running++
    this.peak = Math.max(this.peak, this.running)
    try {
      await this.gate
      await super.spawn(instance, image, options)
    } finally {
      this.running--
    }
  }
}

let tdb: TestDatabase
let broker: InMemoryBroker
let transports: InMemoryTransport[]
let conductor: ConductorManager
let placement: PlacementService
let instances: InstanceRepository
let computeRpc: ComputeRpcClient
let notifications: Notification[]
let computes: ComputeManager[]

const transport = (): InMemoryTransport => {
  const t = new InMemoryTransport({ broker })
  transports.push(t)
  return t
}

async function startCompute(host: string, driverConfig: Partial<FakeVirtDriverConfig> = {}, options: ComputeManagerOptions = {}, driver?: FakeVirtDriver): Promise<{ compute: ComputeManager; driver: FakeVirtDriver }> {
  const t = transport()
  const d = driver ?? new FakeVirtDriver({ hostname: host, ...driverConfig })
  const compute = new ComputeManager({ host, driver: d, conductor: new ConductorComputeRpcClient(t), transport: t, options })
  computes.push(compute)
  await compute.start()
  return { compute, driver: d }
}

/** Seeds instances like the API and casts schedule_and_build_instances, like the API. */
async function boot(options: SeedInstancesOptions = {}): Promise<{ context: RequestContext; uuids: string[] }> {
  const { context, instances: seeded, requestSpec } = await seedBuildingInstances(tdb.db, options)
  await conductor.scheduleAndBuildInstances(context, { requestSpec, adminPassword: null })
  return { context, uuids: seeded.map((i) => i.uuid) }
}

async function waitForState(uuid: string, expected: Partial<Instance>): Promise<Instance> {
  return vi.waitFor(
    async () => {
      const i = await instances.get(uuid, { readDeleted: true })
      expect(i).toMatchObject(expected)
      return i
    },
    { timeout: 5_000, interval: 5 },
  )
}

/** What the API does before casting an action: the action row and the transitional task_state. */
async function apiAction(uuid: string, action: string, taskState: string): Promise<{ context: RequestContext; instance: Instance }> {
  const context: RequestContext = { requestId: `req-${crypto.randomUUID()}`, userId: 'user-1', projectId: 'project-1', roles: ['member'], isAdmin: false }
  const now = new Date().toISOString()
  await tdb.db.insertInto('instance_actions').values({ action, instance_uuid: uuid, request_id: context.requestId, user_id: 'user-1', project_id: 'project-1', start_time: now, finish_time: null, message: null, created_at: now, updated_at: null }).execute()
  const instance = await instances.update(uuid, { taskState }, { expectedTaskState: [null], updatedAt: now })
  return { context, instance }
}

async function eventsOf(uuid: string): Promise<{ action: string; event: string; result: string | null }[]> {
  return tdb.db
    .selectFrom('instance_actions_events as e')
    .innerJoin('instance_actions as a', 'a.id', 'e.action_id')
    .select(['a.action', 'e.event', 'e.result'])
    .where('a.instance_uuid', '=', uuid)
    .orderBy('e.id')
    .execute()
}

const eventTypes = (uuid: string): string[] =>
  notifications.filter((n) => (n.payload['nova_object.data'] as Record<string, unknown> | undefined)?.uuid === uuid).map((n) => n.eventType)

beforeEach(async () => {
  tdb = await createTestDatabase('sqlite')
  broker = new InMemoryBroker()
  transports = []
  computes = []
  placement = new PlacementService(tdb.db)
  conductor = new ConductorManager({ db: tdb.db, transport: transport(), placement })
  await conductor.start()
  await listenTestScheduler(transport(), tdb.db, placement, { preferHosts: ['compute-1', 'compute-2'] })
  instances = new InstanceRepository(tdb.db)
  const client = transport()
  computeRpc = new ComputeRpcClient(client)
  notifications = []
  client.notifications().subscribe((n) => notifications.push(n))
})

afterEach(async () => {
  for (const c of computes) await c.stop()
  await conductor.stop()
  await Promise.all(transports.map((t) => t.close()))
  await tdb.destroy()
})

describe(ComputeManager.name, () => {
  describe('.start', () => {
    it('registers the service, the compute node and its provider in Placement', async () => {
      const { compute } = await startCompute('compute-1', { vcpus: 16, memoryMb: 65_536, localGb: 500 })
      expect(compute.serviceRecord).toMatchObject({ host: 'compute-1', binary: 'nova-compute', reportCount: 1 })
      const node = await tdb.db.selectFrom('compute_nodes').selectAll().executeTakeFirstOrThrow()
      expect(node).toMatchObject({ host: 'compute-1', hypervisor_hostname: 'compute-1', vcpus: 16, memory_mb: 65_536, local_gb: 500, vcpus_used: 0, memory_mb_used: 512, running_vms: 0 })
      expect(compute.computeNodeUuids.get('compute-1')).toBe(node.uuid)
      const inv = await placement.getInventories(node.uuid)
      expect(inv.inventories.VCPU).toMatchObject({ total: 16, allocationRatio: 16 })
      expect(inv.inventories.DISK_GB).toMatchObject({ total: 500, allocationRatio: 1 })
      expect((await placement.getTraits(node.uuid)).traits).toEqual(expect.arrayContaining(['COMPUTE_IMAGE_TYPE_RAW', 'COMPUTE_DEVICE_TAGGING']))
    })

    it('heartbeats on its report interval with an unref-ed timer', async () => {
      const { compute } = await startCompute('compute-1', {}, { reportIntervalMs: 5 })
      await vi.waitFor(async () => {
        const row = await tdb.db.selectFrom('services').select('report_count').executeTakeFirstOrThrow()
        expect(row.report_count).toBeGreaterThanOrEqual(3)
      })
      expect(compute.serviceRecord?.reportCount).toBeGreaterThanOrEqual(2)
    })

    it('recovers instances left mid-operation: building → error, deleting → deleted, powering-off → stopped', async () => {
      const image: ImageMeta = { id: 'img', name: 'img', status: 'active', diskFormat: 'raw', containerFormat: 'bare', minRamMb: 0, minDiskGb: 0, size: null, properties: {} }
      // what a previous run of compute-1 left behind
      const { instances: seeded } = await seedBuildingInstances(tdb.db, { count: 3 })
      const [building, deleting, poweringOff] = seeded.map((i) => i.uuid) as [string, string, string]
      const now = new Date().toISOString()
      await instances.update(building, { host: 'compute-1', node: 'compute-1', taskState: 'spawning' }, { updatedAt: now })
      const driver = new FakeVirtDriver({ hostname: 'compute-1' })
      await driver.init()
      for (const [uuid, taskState] of [
        [deleting, 'deleting'],
        [poweringOff, 'powering-off'],
      ] as const) {
        const i = await instances.update(uuid, { host: 'compute-1', node: 'compute-1', vmState: 'active', taskState, powerState: PowerState.RUNNING, launchedAt: now }, { updatedAt: now })
        await driver.spawn(i, image, {})
      }
      await startCompute('compute-1', {}, {}, driver)
      expect(await instances.get(building)).toMatchObject({ vmState: 'error', taskState: null })
      expect(await instances.get(deleting, { readDeleted: true })).toMatchObject({ vmState: 'deleted' })
      expect(driver.guest(deleting)).toBeUndefined()
      expect(await instances.get(poweringOff)).toMatchObject({ vmState: 'stopped', taskState: null, powerState: PowerState.SHUTDOWN })
      expect(driver.guest(poweringOff)?.powerState).toBe(PowerState.SHUTDOWN)
    })
  })

  describe('.start recovery of pause and suspend', () => {
    it('finishes, redoes or drops an interrupted pause/unpause/suspend/resume by where the guest is', async () => {
      const image: ImageMeta = { id: 'img', name: 'img', status: 'active', diskFormat: 'raw', containerFormat: 'bare', minRamMb: 0, minDiskGb: 0, size: null, properties: {} }
      const { instances: seeded } = await seedBuildingInstances(tdb.db, { count: 4 })
      const [pausing, unpausing, suspending, resuming] = seeded.map((i) => i.uuid) as [string, string, string, string]
      const driver = new FakeVirtDriver({ hostname: 'compute-1' })
      await driver.init()
      const now = new Date().toISOString()
      const left = [
        // the pause reached the guest, its record did not
        { uuid: pausing, vmState: 'active', taskState: 'pausing', guest: PowerState.PAUSED },
        // the unpause never reached the guest: redone (Nova)
        { uuid: unpausing, vmState: 'paused', taskState: 'unpausing', guest: PowerState.PAUSED },
        // the suspend never reached the guest: dropped, back to active
        { uuid: suspending, vmState: 'active', taskState: 'suspending', guest: PowerState.RUNNING },
        // the resume never reached the guest: redone
        { uuid: resuming, vmState: 'suspended', taskState: 'resuming', guest: PowerState.SUSPENDED },
      ]
      for (const l of left) {
        const i = await instances.update(l.uuid, { host: 'compute-1', node: 'compute-1', vmState: l.vmState, taskState: l.taskState, powerState: PowerState.RUNNING, launchedAt: now }, { updatedAt: now })
        await driver.spawn(i, image, {})
        driver.simulatePowerChange(l.uuid, l.guest, { silent: true })
      }
      await startCompute('compute-1', {}, {}, driver)
      expect(await instances.get(pausing)).toMatchObject({ vmState: 'paused', taskState: null, powerState: PowerState.PAUSED })
      expect(await instances.get(unpausing)).toMatchObject({ vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      expect(await instances.get(suspending)).toMatchObject({ vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      expect(await instances.get(resuming)).toMatchObject({ vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      expect([pausing, unpausing, suspending, resuming].map((u) => driver.guest(u)?.powerState)).toEqual([
        PowerState.PAUSED, PowerState.RUNNING, PowerState.RUNNING, PowerState.RUNNING,
      ])
    })
  })

  describe('.buildAndRunInstance', () => {
    it('spawns the guest and ends active/none/RUNNING with launched_at, emitting create.start/.end and recording the event', async () => {
      const { driver } = await startCompute('compute-1')
      const { uuids } = await boot()
      const uuid = uuids[0]!
      const active = await waitForState(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      expect(active.launchedAt).not.toBeNull()
      expect(active.host).toBe('compute-1')
      expect(driver.guest(uuid)?.powerState).toBe(PowerState.RUNNING)
      await vi.waitFor(() => expect(eventTypes(uuid)).toEqual(['instance.create.start', 'instance.create.end']))
      const start = notifications.find((n) => n.eventType === 'instance.create.start')!
      expect(start.publisherId).toBe('nova-compute:compute-1')
      expect(start.payload['nova_object.data']).toMatchObject({ state: 'building', task_state: 'spawning' })
      const end = notifications.find((n) => n.eventType === 'instance.create.end')!
      expect(end.payload['nova_object.data']).toMatchObject({ state: 'active', task_state: null, power_state: 'running', host: 'compute-1' })
      await vi.waitFor(async () =>
        expect(await eventsOf(uuid)).toEqual([
          { action: 'create', event: 'conductor_schedule_and_build_instances', result: 'Success' },
          { action: 'create', event: 'compute_build_and_run_instance', result: 'Success' },
        ]),
      )
    })

    it('reports the new usage on the next resource update', async () => {
      const { compute } = await startCompute('compute-1')
      const { uuids } = await boot({ count: 2, flavor: { vcpus: 2, memoryMb: 1024, rootGb: 10 } })
      for (const uuid of uuids) await waitForState(uuid, { vmState: 'active' })
      await compute.updateAvailableResource()
      const node = await tdb.db.selectFrom('compute_nodes').selectAll().executeTakeFirstOrThrow()
      expect(node).toMatchObject({ vcpus_used: 4, memory_mb_used: 512 + 2048, local_gb_used: 20, running_vms: 2 })
      expect(JSON.parse(node.stats)).toMatchObject({ num_instances: '2', num_vm_active: '2', num_task_None: '2', 'num_proj_project-1': '2', failed_builds: '0' })
    })

    it('keeps at most maxConcurrentBuilds spawns running at once', async () => {
      const driver = new GatedDriver({ hostname: 'compute-1' })
      const { compute } = await startCompute('compute-1', {}, { maxConcurrentBuilds: 2 }, driver)
      const { uuids } = await boot({ count: 6, flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } })
      // every build has arrived: two hold a permit (and sit in spawn), four wait for one
      await vi.waitFor(() => expect(compute.buildSlots).toEqual({ running: 2, waiting: 4 }))
      await vi.waitFor(() => expect(driver.running).toBe(2))
      driver.release()
      for (const uuid of uuids) await waitForState(uuid, { vmState: 'active' })
      expect(driver.peak).toBe(2)
      await vi.waitFor(() => expect(compute.buildSlots).toEqual({ running: 0, waiting: 0 }))
    })

    it('reschedules a failed spawn to the alternate host through the conductor', async () => {
      const { driver: d1, compute: c1 } = await startCompute('compute-1', { failSpawnFor: () => 'fake hypervisor refused the guest' })
      const { driver: d2 } = await startCompute('compute-2')
      const { uuids } = await boot()
      const uuid = uuids[0]!
      const active = await waitForState(uuid, { vmState: 'active', taskState: null, host: 'compute-2' })
      expect(active.powerState).toBe(PowerState.RUNNING)
      expect(d1.guest(uuid)).toBeUndefined()
      expect(d2.guest(uuid)?.powerState).toBe(PowerState.RUNNING)
      const node2 = await tdb.db.selectFrom('compute_nodes').select('uuid').where('host', '=', 'compute-2').executeTakeFirstOrThrow()
      expect(Object.keys((await placement.getAllocations(uuid)).allocations)).toEqual([node2.uuid])
      expect(c1.consecutiveFailedBuilds).toBe(1)
      await vi.waitFor(async () =>
        expect((await eventsOf(uuid)).map((e) => `${e.event}:${e.result}`)).toEqual([
          'conductor_schedule_and_build_instances:Success',
          'compute_build_and_run_instance:Error',
          'conductor_build_instances:Success',
          'compute_build_and_run_instance:Success',
        ]),
      )
      expect(eventTypes(uuid)).toContain('instance.create.error')
    })

    it('puts the instance in ERROR with the driver message as fault when no alternate exists', async () => {
      await startCompute('compute-1', { failSpawnFor: () => 'fake hypervisor refused the guest' })
      const { uuids } = await boot()
      const uuid = uuids[0]!
      await waitForState(uuid, { vmState: 'error', taskState: null, host: null, node: null })
      const fault = await vi.waitFor(() => tdb.db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).executeTakeFirstOrThrow())
      expect(fault).toMatchObject({ code: 500, message: 'fake hypervisor refused the guest', host: 'compute-1' })
      expect((await placement.getAllocations(uuid)).allocations).toEqual({})
    })

    it('errors the instance naming every host after the last alternate fails too', async () => {
      await startCompute('compute-1', { failSpawnFor: () => 'no room on compute-1' })
      await startCompute('compute-2', { failSpawnFor: () => 'no room on compute-2' })
      const { uuids } = await boot()
      const uuid = uuids[0]!
      await waitForState(uuid, { vmState: 'error', taskState: null })
      const faults = await vi.waitFor(async () => {
        const rows = await tdb.db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).execute()
        expect(rows).toHaveLength(1)
        return rows
      })
      expect(faults[0]!.message).toBe(
        `Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance ${uuid}. Failures: compute-1: no room on compute-1; compute-2: no room on compute-2`,
      )
      expect((await placement.getAllocations(uuid)).allocations).toEqual({})
    })
  })

  describe('instance actions', () => {
    async function activeInstance(): Promise<{ uuid: string; driver: FakeVirtDriver }> {
      const { driver } = await startCompute('compute-1')
      const { uuids } = await boot()
      const uuid = uuids[0]!
      await waitForState(uuid, { vmState: 'active', taskState: null })
      return { uuid, driver }
    }

    it('stops and starts a server', async () => {
      const { uuid, driver } = await activeInstance()
      const stop = await apiAction(uuid, 'stop', 'powering-off')
      await computeRpc.stopInstance(stop.context, stop.instance)
      await waitForState(uuid, { vmState: 'stopped', taskState: null, powerState: PowerState.SHUTDOWN })
      expect(driver.guest(uuid)?.powerState).toBe(PowerState.SHUTDOWN)
      const start = await apiAction(uuid, 'start', 'powering-on')
      await computeRpc.startInstance(start.context, start.instance)
      await waitForState(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      await vi.waitFor(() => expect(eventTypes(uuid).slice(2)).toEqual(['instance.power_off.start', 'instance.power_off.end', 'instance.power_on.start', 'instance.power_on.end']))
      await vi.waitFor(async () =>
        expect((await eventsOf(uuid)).slice(2)).toEqual([
          { action: 'stop', event: 'compute_stop_instance', result: 'Success' },
          { action: 'start', event: 'compute_start_instance', result: 'Success' },
        ]),
      )
    })

    it.each(['SOFT', 'HARD'] as const)('reboots (%s) through the pending and started task states', async (type) => {
      const { uuid } = await activeInstance()
      const reboot = await apiAction(uuid, 'reboot', type === 'SOFT' ? 'rebooting' : 'rebooting_hard')
      await computeRpc.rebootInstance(reboot.context, reboot.instance, type)
      await waitForState(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      await vi.waitFor(() => expect(eventTypes(uuid).slice(2)).toEqual(['instance.reboot.start', 'instance.reboot.end']))
      const start = notifications.find((n) => n.eventType === 'instance.reboot.start')!
      expect((start.payload['nova_object.data'] as Record<string, unknown>).task_state).toBe(type === 'SOFT' ? 'reboot_pending' : 'reboot_pending_hard')
      await vi.waitFor(async () => expect((await eventsOf(uuid)).at(-1)).toEqual({ action: 'reboot', event: 'compute_reboot_instance', result: 'Success' }))
    })

    it('hard-reboots a stopped server back to active', async () => {
      const { uuid } = await activeInstance()
      const stop = await apiAction(uuid, 'stop', 'powering-off')
      await computeRpc.stopInstance(stop.context, stop.instance)
      await waitForState(uuid, { vmState: 'stopped', taskState: null })
      const reboot = await apiAction(uuid, 'reboot', 'rebooting_hard')
      await computeRpc.rebootInstance(reboot.context, reboot.instance, 'HARD')
      await waitForState(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
    })

    it('terminates a server: guest gone, allocations freed, instance deleted, delete.start/.end sent', async () => {
      const { uuid, driver } = await activeInstance()
      const del = await apiAction(uuid, 'delete', 'deleting')
      await computeRpc.terminateInstance(del.context, del.instance)
      await waitForState(uuid, { vmState: 'deleted', taskState: null })
      expect(driver.guest(uuid)).toBeUndefined()
      expect((await placement.getAllocations(uuid)).allocations).toEqual({})
      await vi.waitFor(() => expect(eventTypes(uuid).slice(2)).toEqual(['instance.delete.start', 'instance.delete.end']))
      const end = notifications.find((n) => n.eventType === 'instance.delete.end')!
      expect((end.payload['nova_object.data'] as Record<string, unknown>).state).toBe('deleted')
      await vi.waitFor(async () => expect((await eventsOf(uuid)).at(-1)).toEqual({ action: 'delete', event: 'compute_terminate_instance', result: 'Success' }))
    })

    it('pauses and unpauses a server, with pause/unpause notifications and events', async () => {
      const { uuid, driver } = await activeInstance()
      const pause = await apiAction(uuid, 'pause', 'pausing')
      await computeRpc.pauseInstance(pause.context, pause.instance)
      await waitForState(uuid, { vmState: 'paused', taskState: null, powerState: PowerState.PAUSED })
      expect(driver.guest(uuid)?.powerState).toBe(PowerState.PAUSED)
      const unpause = await apiAction(uuid, 'unpause', 'unpausing')
      await computeRpc.unpauseInstance(unpause.context, unpause.instance)
      await waitForState(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      expect(driver.guest(uuid)?.powerState).toBe(PowerState.RUNNING)
      await vi.waitFor(() => expect(eventTypes(uuid).slice(2)).toEqual(['instance.pause.start', 'instance.pause.end', 'instance.unpause.start', 'instance.unpause.end']))
      const data = (type: string) => notifications.find((n) => n.eventType === type)!.payload['nova_object.data'] as Record<string, unknown>
      expect(data('instance.pause.start')).toMatchObject({ state: 'active', task_state: 'pausing', power_state: 'running' })
      expect(data('instance.pause.end')).toMatchObject({ state: 'paused', task_state: null, power_state: 'paused' })
      expect(data('instance.unpause.end')).toMatchObject({ state: 'active', task_state: null, power_state: 'running' })
      expect(notifications.find((n) => n.eventType === 'instance.pause.end')!.payload['nova_object.name']).toBe('InstanceActionPayload')
      await vi.waitFor(async () =>
        expect((await eventsOf(uuid)).slice(2)).toEqual([
          { action: 'pause', event: 'compute_pause_instance', result: 'Success' },
          { action: 'unpause', event: 'compute_unpause_instance', result: 'Success' },
        ]),
      )
    })

    it('suspends and resumes a server, with suspend/resume notifications and events', async () => {
      const { uuid, driver } = await activeInstance()
      const suspend = await apiAction(uuid, 'suspend', 'suspending')
      await computeRpc.suspendInstance(suspend.context, suspend.instance)
      await waitForState(uuid, { vmState: 'suspended', taskState: null, powerState: PowerState.SUSPENDED })
      expect(driver.guest(uuid)?.powerState).toBe(PowerState.SUSPENDED)
      const resume = await apiAction(uuid, 'resume', 'resuming')
      await computeRpc.resumeInstance(resume.context, resume.instance)
      await waitForState(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      await vi.waitFor(() => expect(eventTypes(uuid).slice(2)).toEqual(['instance.suspend.start', 'instance.suspend.end', 'instance.resume.start', 'instance.resume.end']))
      await vi.waitFor(async () =>
        expect((await eventsOf(uuid)).slice(2)).toEqual([
          { action: 'suspend', event: 'compute_suspend_instance', result: 'Success' },
          { action: 'resume', event: 'compute_resume_instance', result: 'Success' },
        ]),
      )
    })

    it.each([
      { action: 'pause', taskState: 'pausing', capability: 'supportsPause' },
      { action: 'suspend', taskState: 'suspending', capability: 'supportsSuspend' },
    ] as const)('fails a $action the driver cannot do: NOT_IMPLEMENTED fault, task cleared, still active', async ({ action, taskState, capability }) => {
      const { driver } = await startCompute('compute-1', { capabilities: { [capability]: false } })
      const { uuids } = await boot()
      const uuid = uuids[0]!
      await waitForState(uuid, { vmState: 'active', taskState: null })
      const node = await tdb.db.selectFrom('compute_nodes').select('stats').where('host', '=', 'compute-1').executeTakeFirstOrThrow()
      expect(JSON.parse(node.stats)).toMatchObject({ [action === 'pause' ? 'supports_pause' : 'supports_suspend']: 'False', supports_console_output: 'True' })
      const act = await apiAction(uuid, action, taskState)
      await (action === 'pause' ? computeRpc.pauseInstance(act.context, act.instance) : computeRpc.suspendInstance(act.context, act.instance))
      await vi.waitFor(async () => expect((await eventsOf(uuid)).at(-1)).toEqual({ action, event: `compute_${action}_instance`, result: 'Error' }))
      expect(await instances.get(uuid)).toMatchObject({ vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      const fault = await tdb.db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).executeTakeFirstOrThrow()
      expect(fault).toMatchObject({ code: 501, message: `${action} is not supported by the virt driver of host compute-1`, host: 'compute-1' })
      expect(driver.guest(uuid)?.powerState).toBe(PowerState.RUNNING)
    })

    it('keeps the vm_state when the driver fails a pause, but errors the instance when it fails a suspend (as Nova)', async () => {
      const { driver } = await startCompute('compute-1', { failOperation: (op) => (op === 'pause' || op === 'suspend' ? `fake ${op} refused` : false) })
      const { uuids } = await boot({ count: 2 })
      const [paused, suspended] = uuids as [string, string]
      for (const uuid of uuids) await waitForState(uuid, { vmState: 'active', taskState: null })
      const pause = await apiAction(paused, 'pause', 'pausing')
      await computeRpc.pauseInstance(pause.context, pause.instance)
      const suspend = await apiAction(suspended, 'suspend', 'suspending')
      await computeRpc.suspendInstance(suspend.context, suspend.instance)
      await vi.waitFor(async () => expect((await eventsOf(paused)).at(-1)).toEqual({ action: 'pause', event: 'compute_pause_instance', result: 'Error' }))
      await vi.waitFor(async () => expect((await eventsOf(suspended)).at(-1)).toEqual({ action: 'suspend', event: 'compute_suspend_instance', result: 'Error' }))
      expect(await instances.get(paused)).toMatchObject({ vmState: 'active', taskState: null })
      expect(await instances.get(suspended)).toMatchObject({ vmState: 'error', taskState: null })
      const faults = await tdb.db.selectFrom('instance_faults').select(['instance_uuid', 'message']).where('instance_uuid', 'in', uuids).orderBy('id').execute()
      expect(faults).toEqual([
        { instance_uuid: paused, message: 'fake pause refused' },
        { instance_uuid: suspended, message: 'fake suspend refused' },
      ])
      expect(uuids.map((u) => driver.guest(u)?.powerState)).toEqual([PowerState.RUNNING, PowerState.RUNNING])
    })

    it('records an Error event and a fault, and clears the task, when the driver fails a stop', async () => {
      const { driver } = await startCompute('compute-1', { failOperation: (op) => (op === 'powerOff' ? 'acpi shutdown refused' : false) })
      const { uuids } = await boot()
      const uuid = uuids[0]!
      await waitForState(uuid, { vmState: 'active', taskState: null })
      const stop = await apiAction(uuid, 'stop', 'powering-off')
      await computeRpc.stopInstance(stop.context, stop.instance)
      await waitForState(uuid, { vmState: 'active', taskState: null })
      await vi.waitFor(async () => expect((await eventsOf(uuid)).at(-1)).toEqual({ action: 'stop', event: 'compute_stop_instance', result: 'Error' }))
      const fault = await tdb.db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).executeTakeFirstOrThrow()
      expect(fault.message).toBe('acpi shutdown refused')
      expect(driver.guest(uuid)?.powerState).toBe(PowerState.RUNNING)
    })
  })

  describe('.getConsoleOutput', () => {
    it("returns the guest's console log (boot lines of the fake driver), whole or its tail", async () => {
      const { driver } = await startCompute('compute-1')
      const { uuids, context } = await boot()
      const uuid = uuids[0]!
      const instance = await waitForState(uuid, { vmState: 'active', taskState: null })
      const whole = await computeRpc.getConsoleOutput(context, instance)
      expect(whole).toBe(`${driver.guest(uuid)!.consoleLog.join('\n')}\n`)
      expect(whole).toContain('Linux version')
      expect(whole).toContain(`${instance.hostname} login:`)
      // the log ends with a newline, so the last 3 pieces are the blank line, the prompt, and ''
      expect(await computeRpc.getConsoleOutput(context, instance, 3)).toBe(`\n${instance.hostname} login:\n`)
      expect(await computeRpc.getConsoleOutput(context, instance, 0)).toBe('')
      // no instance action for a read
      expect((await eventsOf(uuid)).map((e) => e.event)).not.toContain('compute_get_console_output')
    })

    it('rejects with NOT_FOUND, and records no fault, when the guest is not on the host', async () => {
      const { driver } = await startCompute('compute-1')
      const { uuids, context } = await boot()
      const uuid = uuids[0]!
      const instance = await waitForState(uuid, { vmState: 'active', taskState: null })
      await driver.destroy(instance)
      const err = await computeRpc.getConsoleOutput(context, instance).catch((e: unknown) => e)
      expect(ComputeError.is(err, 'NOT_FOUND')).toBe(true)
      expect(await tdb.db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).execute()).toEqual([])
    })

    it('rejects with NOT_IMPLEMENTED, and records a fault (Nova wrap_instance_fault), when the driver has no console output', async () => {
      await startCompute('compute-1', { capabilities: { supportsConsoleOutput: false } })
      const { uuids, context } = await boot()
      const uuid = uuids[0]!
      const instance = await waitForState(uuid, { vmState: 'active', taskState: null })
      const err = await computeRpc.getConsoleOutput(context, instance).catch((e: unknown) => e)
      expect(ComputeError.is(err, 'NOT_IMPLEMENTED')).toBe(true)
      expect((err as ComputeError).message).toBe('console output is not supported by the virt driver of host compute-1')
      const fault = await tdb.db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).executeTakeFirstOrThrow()
      expect(fault).toMatchObject({ code: 501, host: 'compute-1' })
    })
  })

  describe('power state sync', () => {
    it('leaves paused and suspended instances alone, on events and on the periodic sync', async () => {
      const { driver, compute } = await startCompute('compute-1')
      const { uuids } = await boot({ count: 2 })
      const [paused, suspended] = uuids as [string, string]
      for (const uuid of uuids) await waitForState(uuid, { vmState: 'active', taskState: null })
      const pause = await apiAction(paused, 'pause', 'pausing')
      await computeRpc.pauseInstance(pause.context, pause.instance)
      const suspend = await apiAction(suspended, 'suspend', 'suspending')
      await computeRpc.suspendInstance(suspend.context, suspend.instance)
      await waitForState(paused, { vmState: 'paused', taskState: null, powerState: PowerState.PAUSED })
      await waitForState(suspended, { vmState: 'suspended', taskState: null, powerState: PowerState.SUSPENDED })
      // a managed save (libvirt) reads as shut down: the sync records it and leaves the instance suspended
      driver.simulatePowerChange(suspended, PowerState.SHUTDOWN)
      await compute.syncPowerStates(createAdminContext())
      await compute.stop() // waits for the lifecycle events' handlers
      expect(await instances.get(paused)).toMatchObject({ vmState: 'paused', taskState: null, powerState: PowerState.PAUSED })
      expect(await instances.get(suspended)).toMatchObject({ vmState: 'suspended', taskState: null, powerState: PowerState.SHUTDOWN })
      expect(uuids.map((u) => driver.guest(u)?.powerState)).toEqual([PowerState.PAUSED, PowerState.SHUTDOWN])
      const actions = await tdb.db.selectFrom('instance_actions').select('action').where('instance_uuid', 'in', uuids).execute()
      expect(actions.map((a) => a.action)).not.toContain('stop')
    })

    it('drops a lifecycle event that no longer describes the guest (no stale PAUSED on a running guest)', async () => {
      const { driver, compute } = await startCompute('compute-1')
      const { uuids } = await boot()
      const uuid = uuids[0]!
      await waitForState(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
      // the guest pauses and runs again before the PAUSED event is handled
      driver.simulatePowerChange(uuid, PowerState.PAUSED)
      driver.simulatePowerChange(uuid, PowerState.RUNNING, { silent: true })
      await compute.stop() // waits for the event's handler
      expect(await instances.get(uuid)).toMatchObject({ vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
    })

    it('stops an active instance whose guest shut itself down (a lifecycle event)', async () => {
      const { driver } = await startCompute('compute-1')
      const { uuids } = await boot()
      const uuid = uuids[0]!
      await waitForState(uuid, { vmState: 'active', taskState: null })
      driver.simulatePowerChange(uuid, PowerState.SHUTDOWN)
      await waitForState(uuid, { vmState: 'stopped', taskState: null, powerState: PowerState.SHUTDOWN })
      const actions = await tdb.db.selectFrom('instance_actions').select(['action', 'user_id']).where('instance_uuid', '=', uuid).orderBy('id').execute()
      expect(actions).toEqual([
        { action: 'create', user_id: 'user-1' },
        { action: 'stop', user_id: null },
      ])
    })

    it('forces off a guest that runs although its instance is stopped (periodic sync)', async () => {
      const { driver, compute } = await startCompute('compute-1')
      const { uuids } = await boot()
      const uuid = uuids[0]!
      await waitForState(uuid, { vmState: 'active', taskState: null })
      const stop = await apiAction(uuid, 'stop', 'powering-off')
      await computeRpc.stopInstance(stop.context, stop.instance)
      await waitForState(uuid, { vmState: 'stopped', taskState: null })
      // the guest comes back on behind Nova's back, and its event is lost
      driver.simulatePowerChange(uuid, PowerState.RUNNING, { silent: true })
      await compute.syncPowerStates(createAdminContext())
      expect(driver.guest(uuid)?.powerState).toBe(PowerState.SHUTDOWN)
      expect(await instances.get(uuid)).toMatchObject({ vmState: 'stopped', taskState: null, powerState: PowerState.SHUTDOWN })
    })
  })
})
