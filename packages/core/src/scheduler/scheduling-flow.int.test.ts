import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RequestContext } from '../context.js'
import type { ComputeApi } from '../api/compute-api.js'
import { createDeployment, type Deployment } from '../composition/create-deployment.js'
import type { Instance } from '../model/instance.js'
import { FakeVirtDriver } from '../testing/fake-virt-driver.js'
import { createTestDatabase, databaseKindsUnderTest, type DatabaseKind, type TestDatabase } from '../testing/test-databases.js'
import { COMPUTE_MANAGERS } from '../tokens.js'
import type { SchedulerConfig } from './scheduler-manager.js'

/*
 * Scheduling through the whole boot path (ComputeApi → conductor → scheduler + Placement → compute with FakeVirtDriver,
 * over the in-memory transport) on every database: reschedules bounded by max_attempts, the late server-group check
 * on the compute host, and 200 concurrent boots at capacity for 50.
 */

interface Env {
  readonly tdb: TestDatabase
  readonly deployment: Deployment
  readonly api: ComputeApi
  readonly ctx: RequestContext
  readonly imageRef: string
  readonly drivers: ReadonlyMap<string, FakeVirtDriver>
}

interface HostSpec {
  readonly host: string
  readonly vcpus?: number
  readonly memoryMb?: number
}

async function startEnv(kind: DatabaseKind, hosts: readonly HostSpec[], scheduler: SchedulerConfig = {}, failSpawnFor?: (host: string, i: Instance) => boolean | string): Promise<Env> {
  const tdb = await createTestDatabase(kind)
  const drivers = new Map<string, FakeVirtDriver>()
  const deployment = createDeployment({
    database: { kind: 'handle', db: tdb.db },
    migrate: false,
    computeHosts: hosts.map((h) => {
      const driver = new FakeVirtDriver({
        hostname: h.host,
        vcpus: h.vcpus ?? 16,
        memoryMb: h.memoryMb ?? 32768,
        localGb: 500,
        allocationRatios: { cpu: 1, ram: 1, disk: 1 },
        ...(failSpawnFor ? { failSpawnFor: (i: Instance) => failSpawnFor(h.host, i) } : {}),
      })
      drivers.set(h.host, driver)
      return { host: h.host, driver }
    }),
    compute: { updateResourcesIntervalMs: 0, syncPowerStatesIntervalMs: 0, maxConcurrentBuilds: 0 },
    scheduler,
  })
  await deployment.start()
  const api = deployment.api
  const { user, project } = await api.identity.bootstrap({ adminUser: 'admin', adminPassword: 'secret' })
  const ctx: RequestContext = { requestId: 'req-flow', userId: user.id, projectId: project.id, roles: ['admin', 'member', 'reader'], isAdmin: true }
  await api.quotas.update(ctx, project.id, { instances: -1, cores: -1, ram: -1, server_group_members: -1 })
  await api.flavors.ensureDefaultFlavors()
  const image = await api.images.ensureDefaultImage()
  return { tdb, deployment, api: api.computeApi, ctx, imageRef: image.id, drivers }
}

describe.each(databaseKindsUnderTest())('scheduling flow on %s', (kind) => {
  let env: Env | null = null
  afterEach(async () => {
    if (!env) return
    await env.deployment.stop()
    await env.tdb.destroy()
    env = null
  }, 120_000)

  const create = async (e: Env, name: string, extra: Partial<Parameters<ComputeApi['createServers']>[1]> = {}): Promise<string[]> => {
    const result = await e.api.createServers({ ...e.ctx, requestId: `req-${crypto.randomUUID()}` }, { name, imageRef: e.imageRef, flavorRef: '1', networks: 'none', ...extra })
    return result.instances.map((i) => i.uuid)
  }
  /** Waits until every instance has settled (ACTIVE or ERROR, no task); returns them. */
  const settled = (e: Env, uuids: readonly string[], timeoutMs = 60_000) =>
    vi.waitFor(
      async () => {
        const rows = await e.tdb.db.selectFrom('instances').select(['uuid', 'vm_state', 'task_state', 'host']).where('uuid', 'in', [...uuids]).execute()
        expect(rows.filter((r) => (r.vm_state === 'active' || r.vm_state === 'error') && r.task_state === null)).toHaveLength(uuids.length)
        return rows
      },
      { timeout: timeoutMs, interval: 20 },
    )
  const events = (e: Env, uuid: string) =>
    e.tdb.db
      .selectFrom('instance_actions_events as ev')
      .innerJoin('instance_actions as a', 'a.id', 'ev.action_id')
      .select(['ev.event', 'ev.result', 'ev.host'])
      .where('a.instance_uuid', '=', uuid)
      .orderBy('ev.id')
      .execute()
  const fault = async (e: Env, uuid: string) => (await e.tdb.db.selectFrom('instance_faults').select(['message', 'code']).where('instance_uuid', '=', uuid).orderBy('id', 'desc').executeTakeFirst()) ?? null

  it('reschedules a failing build onto alternates, at most max_attempts times in all', async () => {
    const hosts = ['compute-1', 'compute-2', 'compute-3', 'compute-4'].map((host) => ({ host }))
    env = await startEnv(kind, hosts, { maxAttempts: 2 }, (_host, i) => (i.displayName === 'doomed' ? `no luck on ${_host}` : false))
    const [uuid] = await create(env, 'doomed')
    await settled(env, [uuid!])
    // The event is finished just after the state changes, so wait for it too.
    const tried = await vi.waitFor(async () => {
      const list = (await events(env as Env, uuid!)).filter((x) => x.event === 'compute_build_and_run_instance')
      expect(list.map((x) => x.result)).toEqual(['Error', 'Error'])
      return list
    })
    expect(new Set(tried.map((x) => x.host)).size).toBe(2)
    const f = await fault(env, uuid!)
    expect(f?.message).toMatch(/^Exceeded maximum number of retries\. Exhausted all hosts available for retrying build failures for instance /)
    expect((f?.message.match(/no luck on compute-\d/g) ?? []).length).toBe(2)
    expect((await env.deployment.api.placement.getAllocations(uuid!)).allocations).toEqual({})
    const untouched = [...env.drivers.entries()].filter(([h]) => !tried.some((t) => t.host === h))
    expect(untouched.map(([, d]) => d.guest(uuid!))).toEqual([undefined, undefined])
  })

  it('the late check reschedules an anti-affinity member the scheduler put next to another (no group filters)', async () => {
    env = await startEnv(kind, [{ host: 'compute-1', memoryMb: 65536 }, { host: 'compute-2' }], { filters: ['ComputeFilter'], weighers: { RamWeigher: 1 } })
    const group = await env.deployment.api.serverGroups.create(env.ctx, { name: 'apart', policy: 'anti-affinity' })
    const [first] = await create(env, 'apart-1', { schedulerHints: { group: group.uuid } })
    expect((await settled(env, [first!]))[0]).toMatchObject({ vm_state: 'active', host: 'compute-1' })
    const [second] = await create(env, 'apart-2', { schedulerHints: { group: group.uuid } })
    expect((await settled(env, [second!]))[0]).toMatchObject({ vm_state: 'active', host: 'compute-2' })
    await vi.waitFor(async () =>
      expect((await events(env as Env, second!)).map((x) => `${x.event}:${x.result}:${x.host}`)).toEqual([
        'conductor_schedule_and_build_instances:Success:conductor',
        'compute_build_and_run_instance:Error:compute-1',
        'conductor_build_instances:Success:conductor',
        'compute_build_and_run_instance:Success:compute-2',
      ]),
    )
    // A policy reschedule is not a failed build of the host.
    const managers = env.deployment.resolver.get(COMPUTE_MANAGERS)
    expect(managers.map((m) => m.consecutiveFailedBuilds)).toEqual([0, 0])
    expect(env.drivers.get('compute-1')?.guest(second!)).toBeUndefined()
  })

  it('the late check errors an affinity member forced elsewhere, naming the violation', async () => {
    env = await startEnv(kind, [{ host: 'compute-1' }, { host: 'compute-2' }], { filters: ['ComputeFilter'] })
    const group = await env.deployment.api.serverGroups.create(env.ctx, { name: 'together', policy: 'affinity' })
    const [first] = await create(env, 'together-1', { schedulerHints: { group: group.uuid }, availabilityZone: 'nova:compute-1' })
    await settled(env, [first!])
    const [second] = await create(env, 'together-2', { schedulerHints: { group: group.uuid }, availabilityZone: 'nova:compute-2' })
    expect((await settled(env, [second!]))[0]).toMatchObject({ vm_state: 'error', host: null })
    expect((await fault(env, second!))?.message).toBe(
      `Build of instance ${second} was re-scheduled: Affinity instance group policy was violated: the group's members are on compute-1, not compute-2.`,
    )
    expect((await env.deployment.api.placement.getAllocations(second!)).allocations).toEqual({})
  })

  it('never lets racing anti-affinity boots share a host', async () => {
    env = await startEnv(kind, [{ host: 'compute-1' }, { host: 'compute-2' }, { host: 'compute-3' }])
    const group = await env.deployment.api.serverGroups.create(env.ctx, { name: 'race', policy: 'anti-affinity' })
    const uuids = (await Promise.all(Array.from({ length: 6 }, (_, n) => create(env as Env, `race-${n}`, { schedulerHints: { group: group.uuid } })))).flat()
    const rows = await settled(env, uuids)
    const active = rows.filter((r) => r.vm_state === 'active')
    expect(active.length).toBeGreaterThan(0)
    expect(active.length).toBeLessThanOrEqual(3)
    expect(new Set(active.map((r) => r.host)).size).toBe(active.length)
    for (const r of rows.filter((x) => x.vm_state === 'error')) expect((await env.deployment.api.placement.getAllocations(r.uuid)).allocations).toEqual({})
  })

  it('200 concurrent boots at capacity for 50: exactly 50 ACTIVE, 150 ERROR with NoValidHost, no allocation left behind', async () => {
    // Five hosts of 10 vCPUs (allocation ratio 1): room for exactly 50 m1.tiny.
    env = await startEnv(kind, Array.from({ length: 5 }, (_, i) => ({ host: `compute-${i + 1}`, vcpus: 10 })))
    const uuids = (await Promise.all(Array.from({ length: 200 }, (_, n) => create(env as Env, `stress-${n}`)))).flat()
    expect(uuids).toHaveLength(200)
    const rows = await settled(env, uuids, 240_000)
    const active = rows.filter((r) => r.vm_state === 'active')
    const errored = rows.filter((r) => r.vm_state === 'error')
    expect(active).toHaveLength(50)
    expect(errored).toHaveLength(150)
    const faults = await env.tdb.db.selectFrom('instance_faults').select(['instance_uuid', 'message']).where('instance_uuid', 'in', errored.map((r) => r.uuid)).execute()
    expect(new Set(faults.map((f) => f.instance_uuid)).size).toBe(150)
    for (const f of faults) expect(f.message).toMatch(/^No valid host was found\. /)
    // Every host full, and only the 50 ACTIVE instances hold allocations.
    const perHost = new Map<string, number>()
    for (const r of active) perHost.set(r.host as string, (perHost.get(r.host as string) ?? 0) + 1)
    expect([...perHost.values()]).toEqual([10, 10, 10, 10, 10])
    const allocations = await env.tdb.db.selectFrom('allocations').select(['consumer_id', 'resource_class', 'used']).execute()
    expect(new Set(allocations.map((a) => a.consumer_id))).toEqual(new Set(active.map((r) => r.uuid)))
    const sum = (rc: string) => allocations.filter((a) => a.resource_class === rc).reduce((n, a) => n + Number(a.used), 0)
    expect([sum('VCPU'), sum('MEMORY_MB'), sum('DISK_GB')]).toEqual([50, 50 * 512, 50 * 1])
    expect(await env.tdb.db.selectFrom('build_requests').select('id').execute()).toEqual([])
  }, 300_000)
})
