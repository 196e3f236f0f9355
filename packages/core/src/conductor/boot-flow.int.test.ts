import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { RequestContext } from '../context.js'
import { ComputeManager } from '../compute/compute-manager.js'
import { ComputeRpcClient } from '../compute/compute-rpc.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import type { Instance } from '../model/instance.js'
import { PowerState } from '../model/states.js'
import { PlacementService } from '../placement/placement-service.js'
import { SchedulerManager } from '../scheduler/scheduler-manager.js'
import { FakeVirtDriver } from '../testing/fake-virt-driver.js'
import { seedBuildingInstances, type SeedInstancesOptions } from '../testing/seed-instances.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { InMemoryBroker, InMemoryTransport } from '../transport/in-memory-transport.js'
import type { Notification } from '../transport/transport.js'
import { ConductorComputeRpcClient } from './conductor-compute-rpc.js'
import { ConductorManager } from './conductor-manager.js'
import { ConductorTaskRpcClient } from './conductor-rpc.js'

/*
 * The boot flow end to end, over every database: API-side rows → conductor → scheduler (claims in Placement) →
 * compute (FakeVirtDriver), each service on its own InMemoryTransport sharing one broker.
 */
describe.each(databaseKindsUnderTest())('boot flow on %s', (kind) => {
  let tdb: TestDatabase
  let transports: InMemoryTransport[]
  let scheduler: SchedulerManager
  let conductor: ConductorManager
  let computes: ComputeManager[]
  let drivers: Map<string, FakeVirtDriver>
  let placement: PlacementService
  let instances: InstanceRepository
  let tasks: ConductorTaskRpcClient
  let computeRpc: ComputeRpcClient
  let notifications: Notification[]
  /** Instances whose first spawn attempt fails, wherever it lands. */
  const failedOnce = new Set<string>()

  beforeAll(async () => {
    tdb = await createTestDatabase(kind)
    const broker = new InMemoryBroker()
    transports = []
    const transport = (): InMemoryTransport => {
      const t = new InMemoryTransport({ broker })
      transports.push(t)
      return t
    }
    placement = new PlacementService(tdb.db)
    scheduler = new SchedulerManager({ db: tdb.db, placement, transport: transport() })
    conductor = new ConductorManager({ db: tdb.db, transport: transport(), placement })
    await scheduler.start()
    await conductor.start()
    drivers = new Map()
    computes = []
    for (const host of ['compute-1', 'compute-2']) {
      const driver = new FakeVirtDriver({
        hostname: host,
        failSpawnFor: (i: Instance) => {
          if (i.displayName.startsWith('doomed')) return `no luck on ${host}`
          if (i.displayName.startsWith('flaky') && !failedOnce.has(i.uuid)) {
            failedOnce.add(i.uuid)
            return `first attempt failed on ${host}`
          }
          return false
        },
      })
      drivers.set(host, driver)
      const t = transport()
      const compute = new ComputeManager({ host, driver, conductor: new ConductorComputeRpcClient(t), transport: t })
      await compute.start()
      computes.push(compute)
    }
    instances = new InstanceRepository(tdb.db)
    const client = transport()
    tasks = new ConductorTaskRpcClient(client)
    computeRpc = new ComputeRpcClient(client)
    notifications = []
    client.notifications().subscribe((n) => notifications.push(n))
  }, 120_000)

  afterAll(async () => {
    for (const c of computes ?? []) await c.stop()
    await conductor?.stop()
    await scheduler?.stop()
    await Promise.all((transports ?? []).map((t) => t.close()))
    await tdb?.destroy()
  }, 120_000)

  /** What the API does for a create: rows, build request and action, then the cast. */
  async function create(options: SeedInstancesOptions = {}): Promise<{ context: RequestContext; uuids: string[] }> {
    const seeded = await seedBuildingInstances(tdb.db, options)
    await tasks.scheduleAndBuildInstances(seeded.context, { requestSpec: seeded.requestSpec, adminPassword: null })
    return { context: seeded.context, uuids: seeded.instances.map((i) => i.uuid) }
  }

  /** What the API does for an action: the action row and the transitional task_state (CAS), then the cast. */
  async function act(uuid: string, action: string, taskState: string): Promise<{ context: RequestContext; instance: Instance }> {
    const context: RequestContext = { requestId: `req-${crypto.randomUUID()}`, userId: 'user-1', projectId: 'project-1', roles: ['member'], isAdmin: false }
    const now = new Date().toISOString()
    await tdb.db.insertInto('instance_actions').values({ action, instance_uuid: uuid, request_id: context.requestId, user_id: 'user-1', project_id: 'project-1', start_time: now, finish_time: null, message: null, created_at: now, updated_at: null }).execute()
    const instance = await instances.update(uuid, { taskState }, { expectedTaskState: [null], updatedAt: now })
    return { context, instance }
  }

  const waitFor = (uuid: string, expected: Partial<Instance>): Promise<Instance> =>
    vi.waitFor(
      async () => {
        const i = await instances.get(uuid, { readDeleted: true })
        expect(i).toMatchObject(expected)
        return i
      },
      { timeout: 15_000, interval: 10 },
    )

  const providerOf = async (host: string): Promise<string> =>
    (await tdb.db.selectFrom('compute_nodes').select('uuid').where('host', '=', host).executeTakeFirstOrThrow()).uuid

  const events = (uuid: string): Promise<{ event: string; result: string | null; host: string | null }[]> =>
    tdb.db
      .selectFrom('instance_actions_events as e')
      .innerJoin('instance_actions as a', 'a.id', 'e.action_id')
      .select(['e.event', 'e.result', 'e.host'])
      .where('a.instance_uuid', '=', uuid)
      .orderBy('e.id')
      .execute()

  it('builds a server to ACTIVE with its allocations on the chosen host', async () => {
    const { uuids } = await create({ name: 'web' })
    const uuid = uuids[0]!
    const active = await waitFor(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
    expect(active.launchedAt).not.toBeNull()
    expect(['compute-1', 'compute-2']).toContain(active.host)
    expect(drivers.get(active.host!)!.guest(uuid)?.powerState).toBe(PowerState.RUNNING)
    const allocations = await placement.getAllocations(uuid)
    expect(Object.keys(allocations.allocations)).toEqual([await providerOf(active.host!)])
    expect(Object.values(allocations.allocations)[0]?.resources).toEqual({ VCPU: 1, MEMORY_MB: 2048, DISK_GB: 20 })
    expect(await tdb.db.selectFrom('build_requests').select('id').where('instance_uuid', '=', uuid).execute()).toEqual([])
    await vi.waitFor(async () =>
      expect((await events(uuid)).map((e) => `${e.event}:${e.result}`)).toEqual(['conductor_schedule_and_build_instances:Success', 'compute_build_and_run_instance:Success']),
    )
    const explanation = await tdb.db.selectFrom('instance_actions_events').select('details').where('event', '=', 'conductor_schedule_and_build_instances').executeTakeFirstOrThrow()
    expect(explanation.details).not.toBeNull()
    await vi.waitFor(() => expect(notifications.filter((n) => n.eventType.startsWith('instance.create.') && (n.payload['nova_object.data'] as { uuid?: string }).uuid === uuid).map((n) => n.eventType)).toEqual(['instance.create.start', 'instance.create.end']))
  })

  it('stops, starts and reboots (soft and hard) a server', async () => {
    const { uuids } = await create({ name: 'power' })
    const uuid = uuids[0]!
    await waitFor(uuid, { vmState: 'active', taskState: null })
    const stop = await act(uuid, 'stop', 'powering-off')
    await computeRpc.stopInstance(stop.context, stop.instance)
    const stopped = await waitFor(uuid, { vmState: 'stopped', taskState: null, powerState: PowerState.SHUTDOWN })
    expect(drivers.get(stopped.host!)!.guest(uuid)?.powerState).toBe(PowerState.SHUTDOWN)
    const start = await act(uuid, 'start', 'powering-on')
    await computeRpc.startInstance(start.context, start.instance)
    await waitFor(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
    const soft = await act(uuid, 'reboot', 'rebooting')
    await computeRpc.rebootInstance(soft.context, soft.instance, 'SOFT')
    await waitFor(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
    const hard = await act(uuid, 'reboot', 'rebooting_hard')
    await computeRpc.rebootInstance(hard.context, hard.instance, 'HARD')
    await waitFor(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
    await vi.waitFor(async () =>
      expect((await events(uuid)).slice(2).map((e) => `${e.event}:${e.result}`)).toEqual([
        'compute_stop_instance:Success',
        'compute_start_instance:Success',
        'compute_reboot_instance:Success',
        'compute_reboot_instance:Success',
      ]),
    )
  })

  it('deletes a server and frees its allocations', async () => {
    const { uuids } = await create({ name: 'short-lived' })
    const uuid = uuids[0]!
    const active = await waitFor(uuid, { vmState: 'active', taskState: null })
    const del = await act(uuid, 'delete', 'deleting')
    await computeRpc.terminateInstance(del.context, del.instance)
    await waitFor(uuid, { vmState: 'deleted', taskState: null })
    expect((await placement.getAllocations(uuid)).allocations).toEqual({})
    expect(drivers.get(active.host!)!.guest(uuid)).toBeUndefined()
  })

  it('reschedules a build that fails on its first host to the other one', async () => {
    const { uuids } = await create({ name: 'flaky' })
    const uuid = uuids[0]!
    const active = await waitFor(uuid, { vmState: 'active', taskState: null, powerState: PowerState.RUNNING })
    const history = await vi.waitFor(async () => {
      const e = await events(uuid)
      expect(e.map((x) => `${x.event}:${x.result}`)).toEqual([
        'conductor_schedule_and_build_instances:Success',
        'compute_build_and_run_instance:Error',
        'conductor_build_instances:Success',
        'compute_build_and_run_instance:Success',
      ])
      return e
    })
    const failedHost = history[1]!.host
    expect(failedHost).not.toBe(active.host)
    expect(drivers.get(failedHost!)!.guest(uuid)).toBeUndefined()
    expect(Object.keys((await placement.getAllocations(uuid)).allocations)).toEqual([await providerOf(active.host!)])
  })

  it('puts a server that fits nowhere in ERROR with a NoValidHost fault', async () => {
    const { uuids } = await create({ name: 'huge', flavor: { id: 'huge', name: 'huge', memoryMb: 10_000_000 } })
    const uuid = uuids[0]!
    await waitFor(uuid, { vmState: 'error', taskState: null, host: null })
    const fault = await tdb.db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).executeTakeFirstOrThrow()
    expect(fault.code).toBe(500)
    expect(fault.message).toMatch(/^No valid host was found/)
    expect((await placement.getAllocations(uuid)).allocations).toEqual({})
  })

  it('errors a server whose build fails on every host, naming each failure', async () => {
    const { uuids } = await create({ name: 'doomed' })
    const uuid = uuids[0]!
    await waitFor(uuid, { vmState: 'error', taskState: null })
    const fault = await vi.waitFor(() => tdb.db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).executeTakeFirstOrThrow())
    expect(fault.message).toMatch(/^Exceeded maximum number of retries\. Exhausted all hosts available for retrying build failures/)
    expect(fault.message).toContain('no luck on compute-1')
    expect(fault.message).toContain('no luck on compute-2')
    expect((await placement.getAllocations(uuid)).allocations).toEqual({})
  })
})
