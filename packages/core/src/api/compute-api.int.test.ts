import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { computeEndpoint } from '../compute/compute-endpoint.js'
import { ComputeManager } from '../compute/compute-manager.js'
import { ComputeRpcClient } from '../compute/compute-rpc.js'
import { ConductorComputeRpcClient } from '../conductor/conductor-compute-rpc.js'
import { ConductorTaskRpcClient } from '../conductor/conductor-rpc.js'
import type { RequestContext } from '../context.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import { ComputeError } from '../errors/compute-error.js'
import { DEFAULT_IMAGE_ID, ImageService } from '../image/image-service.js'
import type { ImageMeta } from '../model/image-meta.js'
import type { RequestSpec } from '../model/request-spec.js'
import { Policy } from '../policy/policy.js'
import { QuotaService } from '../quota/quota-service.js'
import { FakeVirtDriver } from '../testing/fake-virt-driver.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { PlacementService } from '../placement/placement-service.js'
import { InMemoryBroker, InMemoryTransport } from '../transport/in-memory-transport.js'
import type { RpcEndpoint } from '../transport/transport.js'
import type { Clock } from '../util/clock.js'
import { ComputeApi } from './compute-api.js'
import { FlavorService } from './flavor-service.js'
import { KeypairService } from './keypair-service.js'

class TestClock implements Clock {
  constructor(public ms = Date.parse('2026-03-01T12:00:00.000Z')) {}
  now(): number {
    return this.ms
  }
}

interface Received {
  readonly method: string
  readonly args: Record<string, unknown>
  readonly context: RequestContext
}

/** A real RPC endpoint that records what reaches it and lets a test wait for the n-th message. */
class Recorder {
  readonly received: Received[] = []
  private waiters: { n: number; resolve: () => void }[] = []

  endpoint(methods: readonly string[]): RpcEndpoint {
    return Object.fromEntries(
      methods.map((method) => [
        method,
        (args: Record<string, unknown>, context: RequestContext) => {
          this.received.push({ method, args, context })
          this.waiters = this.waiters.filter((w) => (this.received.length >= w.n ? (w.resolve(), false) : true))
        },
      ]),
    )
  }

  /** Resolves once `n` messages in total have arrived (the test's own timeout bounds the wait). */
  until(n: number): Promise<Received[]> {
    if (this.received.length >= n) return Promise.resolve(this.received)
    return new Promise((resolve) => this.waiters.push({ n, resolve: () => resolve(this.received) }))
  }
}

const COMPUTE_METHODS = [
  'build_and_run_instance', 'terminate_instance', 'stop_instance', 'start_instance', 'reboot_instance',
  'pause_instance', 'unpause_instance', 'suspend_instance', 'resume_instance',
] as const

describe.each(databaseKindsUnderTest())('ComputeApi on %s', (kind) => {
  let t: TestDatabase
  let clock: TestClock
  let api: ComputeApi
  let quotas: QuotaService
  let flavors: FlavorService
  let images: ImageService
  let keypairs: KeypairService
  let conductor: Recorder
  let compute: Recorder
  let broker: InMemoryBroker
  const transports: InMemoryTransport[] = []
  let seq = 0
  let alice: RequestContext
  let bob: RequestContext
  const admin: RequestContext = { requestId: 'req-admin', userId: 'admin-user', projectId: 'admin', roles: ['admin', 'member', 'reader'], isAdmin: true }

  beforeAll(async () => {
    t = await createTestDatabase(kind)
    clock = new TestClock()
    const policy = new Policy()
    quotas = new QuotaService(t.db, policy, clock)
    flavors = new FlavorService(t.db, policy, clock)
    images = new ImageService(t.db, policy, clock)
    keypairs = new KeypairService(t.db, quotas, policy, clock)
    await flavors.ensureDefaultFlavors()
    await images.ensureDefaultImage()

    broker = new InMemoryBroker()
    const apiTransport = new InMemoryTransport({ broker })
    const conductorTransport = new InMemoryTransport({ broker })
    const computeTransport = new InMemoryTransport({ broker })
    transports.push(apiTransport, conductorTransport, computeTransport)
    conductor = new Recorder()
    compute = new Recorder()
    await conductorTransport.listen({ topic: 'conductor', server: 'conductor-1' }, conductor.endpoint(['schedule_and_build_instances', 'build_instances']))
    await computeTransport.listen({ topic: 'compute', server: 'compute-1' }, compute.endpoint(COMPUTE_METHODS))
    api = new ComputeApi(t.db, new ConductorTaskRpcClient(apiTransport), new ComputeRpcClient(apiTransport), flavors, images, keypairs, quotas, policy, clock)

    const now = new Date(clock.now()).toISOString()
    await t.db
      .insertInto('services')
      .values({
        uuid: crypto.randomUUID(), host: 'compute-1', binary: 'nova-compute', topic: 'compute', report_count: 1, disabled: 0, disabled_reason: null,
        forced_down: 0, last_seen_up: now, version: 1, created_at: now, updated_at: now, deleted_at: null,
      })
      .execute()
  })
  afterAll(async () => {
    for (const tr of transports) await tr.close()
    await t?.destroy()
  })
  beforeEach(() => {
    seq++
    alice = { requestId: `req-alice-${seq}`, userId: `alice-${seq}`, projectId: `p-alice-${seq}`, roles: ['member', 'reader'], isAdmin: false }
    bob = { requestId: `req-bob-${seq}`, userId: `bob-${seq}`, projectId: `p-bob-${seq}`, roles: ['member', 'reader'], isAdmin: false }
  })

  const rowsOf = async (projectId: string) => ({
    instances: await t.db.selectFrom('instances').select(['uuid', 'deleted']).where('project_id', '=', projectId).execute(),
    buildRequests: await t.db.selectFrom('build_requests').select('instance_uuid').where('project_id', '=', projectId).execute(),
    actions: await t.db.selectFrom('instance_actions').select('action').where('project_id', '=', projectId).execute(),
  })

  /** Makes an instance look built on compute-1 (what the conductor and compute would do). */
  async function launch(uuid: string, vmState = 'active'): Promise<void> {
    await new InstanceRepository(t.db).update(
      uuid,
      { host: 'compute-1', node: 'compute-1', vmState, taskState: null, powerState: 1, launchedAt: new Date(clock.now()).toISOString() },
      { updatedAt: new Date(clock.now()).toISOString() },
    )
  }

  async function createOne(ctx: RequestContext, name = 'web'): Promise<string> {
    const result = await api.createServers(ctx, { name, imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none' })
    return result.instances[0]!.uuid
  }

  async function rejection(p: Promise<unknown>): Promise<ComputeError> {
    const err = await p.then(() => null, (e: unknown) => e)
    expect(ComputeError.is(err)).toBe(true)
    return err as ComputeError
  }

  describe('.createServers', () => {
    it('records the instance, its build request and create action in one go, then casts to the conductor', async () => {
      const before = conductor.received.length
      const result = await api.createServers(alice, {
        name: 'web', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none', metadata: { role: 'web' }, description: 'd',
      })
      expect(result.reservationId).toMatch(/^r-[a-z0-9]{8}$/)
      expect(result.adminPass).toHaveLength(12)
      expect(result.instances).toHaveLength(1)
      const server = result.instances[0]!
      expect(server).toMatchObject({
        displayName: 'web', hostname: 'web', vmState: 'building', taskState: 'scheduling', projectId: alice.projectId, userId: alice.userId,
        imageRef: DEFAULT_IMAGE_ID, metadata: { role: 'web' }, description: 'd', host: null, launchIndex: 0, networks: 'none', fault: null,
      })
      expect(server.flavor).toMatchObject({ id: '1', name: 'm1.tiny', memoryMb: 512 })
      const rows = await rowsOf(alice.projectId ?? '')
      expect(rows.buildRequests.map((r) => r.instance_uuid)).toEqual([server.uuid])
      expect(rows.actions.map((a) => a.action)).toEqual(['create'])

      const [msg] = (await conductor.until(before + 1)).slice(before)
      expect(msg?.method).toBe('schedule_and_build_instances')
      expect(msg?.context.requestId).toBe(alice.requestId)
      const spec = msg?.args.requestSpec as RequestSpec
      expect(spec).toMatchObject({ instanceUuids: [server.uuid], projectId: alice.projectId, isRebuild: false, availabilityZone: null })
      expect(spec.flavor.id).toBe('1')
      expect(spec.image.id).toBe(DEFAULT_IMAGE_ID)
      expect(msg?.args.adminPassword).toBe(result.adminPass)
    })

    it('creates max_count instances with indexed hostnames and one reservation id', async () => {
      const before = conductor.received.length
      const result = await api.createServers(alice, { name: 'Batch Node', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'auto', minCount: 2, maxCount: 3 })
      expect(result.instances.map((i) => [i.launchIndex, i.hostname, i.reservationId])).toEqual([
        [0, 'batch-node-1', result.reservationId],
        [1, 'batch-node-2', result.reservationId],
        [2, 'batch-node-3', result.reservationId],
      ])
      const [msg] = (await conductor.until(before + 1)).slice(before)
      expect((msg?.args.requestSpec as RequestSpec).instanceUuids).toEqual(result.instances.map((i) => i.uuid))
    })

    it('copies the keypair into the instance', async () => {
      const kp = await keypairs.create(alice, { name: 'k1', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x' })
      const result = await api.createServers(alice, { name: 'k', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', keyName: 'k1', networks: 'none' })
      expect(result.instances[0]).toMatchObject({ keyName: 'k1', keyData: kp.publicKey })
    })

    it.each([
      ['an unknown flavor', { flavorRef: 'm1.huge' }, 'INVALID', 'Invalid flavorRef provided.'],
      ['an unknown image', { imageRef: '00000000-0000-0000-0000-000000000000' }, 'INVALID', 'Image 00000000-0000-0000-0000-000000000000 could not be found.'],
      ['an unknown keypair', { keyName: 'nope' }, 'INVALID', 'Invalid key_name provided.'],
      ['an unknown zone', { availabilityZone: 'mars' }, 'INVALID', 'The requested availability zone is not available'],
      ['min_count > max_count', { minCount: 3, maxCount: 2 }, 'INVALID', 'min_count must be <= max_count'],
      ['too many metadata items', { metadata: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v'])) }, 'QUOTA', 'Maximum number of metadata items exceeds 128'],
      ['a forced host from a non-admin', { availabilityZone: 'nova:compute-1' }, 'FORBIDDEN', "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed."],
      ['bad user data', { userData: 'not base64 !!' }, 'INVALID', 'User data needs to be valid base 64.'],
      ['a port with max_count 2', { networks: [{ port: 'p' }], maxCount: 2 }, 'INVALID', 'Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.'],
    ] as const)('refuses %s and writes nothing', async (_what, overrides, code, message) => {
      const before = conductor.received.length
      const err = await rejection(api.createServers(alice, { name: 'x', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none', ...overrides }))
      expect(err.code).toBe(code)
      expect(err.message).toBe(message)
      expect(await rowsOf(alice.projectId ?? '')).toEqual({ instances: [], buildRequests: [], actions: [] })
      expect(conductor.received.length).toBe(before)
    })

    it('rolls back every row when the database fails in the middle of the create transaction', async () => {
      // A real trigger makes the database refuse the `create` action row of this request, after the instance and
      // build request rows of the same transaction were written.
      const boom = { ...alice, requestId: 'req-boom' }
      if (kind === 'sqlite') {
        await sql`create trigger boom before insert on instance_actions when new.request_id = 'req-boom' begin select raise(abort, 'boom'); end`.execute(t.db)
      } else if (kind === 'postgres') {
        await sql`create function boom() returns trigger as $$ begin if new.request_id = 'req-boom' then raise exception 'boom'; end if; return new; end $$ language plpgsql`.execute(t.db)
        await sql`create trigger boom before insert on instance_actions for each row execute function boom()`.execute(t.db)
      } else {
        await sql.raw(`create trigger boom before insert on instance_actions for each row begin if new.request_id = 'req-boom' then signal sqlstate '45000' set message_text = 'boom'; end if; end`).execute(t.db)
      }
      try {
        const before = conductor.received.length
        const err = await api.createServers(boom, { name: 'x', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none', minCount: 2 }).catch((e: unknown) => e)
        expect(String((err as Error).message)).toContain('boom')
        expect(await rowsOf(alice.projectId ?? '')).toEqual({ instances: [], buildRequests: [], actions: [] })
        expect(conductor.received.length).toBe(before)
      } finally {
        await sql`drop trigger ${sql.raw(kind === 'postgres' ? 'boom on instance_actions' : 'boom')}`.execute(t.db)
        if (kind === 'postgres') await sql`drop function boom()`.execute(t.db)
      }
      expect((await api.createServers(alice, { name: 'after', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none' })).instances).toHaveLength(1)
    })

    it('refuses malformed access IPs', async () => {
      const err = await rejection(api.createServers(alice, { name: 'x', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none', accessIpV4: '300.1.1.1' }))
      expect(err.code).toBe('INVALID')
      expect(err.message).toContain('accessIPv4')
    })

    it('refuses an image that is not active, or needs more memory or disk than the flavor has', async () => {
      const queued = await images.create(alice, { name: 'queued' })
      expect((await rejection(api.createServers(alice, { name: 'x', imageRef: queued.id, flavorRef: '1', networks: 'none' }))).message).toBe(`Image ${queued.id} is not active.`)
      const big = await images.create(alice, { name: 'big', minRam: 1024, location: '/x' })
      expect((await rejection(api.createServers(alice, { name: 'x', imageRef: big.id, flavorRef: '1', networks: 'none' }))).message).toBe(
        "Flavor's memory is too small for requested image.",
      )
      const wide = await images.create(alice, { name: 'wide', minDisk: 5, location: '/x' })
      expect((await rejection(api.createServers(alice, { name: 'x', imageRef: wide.id, flavorRef: '1', networks: 'none' }))).message).toBe(
        "Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is 1073741824 bytes, minimum size is 5368709120 bytes.",
      )
      expect((await rowsOf(alice.projectId ?? '')).instances).toEqual([])
    })

    it('enforces the instances quota with Nova\'s 403 message, reducing max_count when min_count fits', async () => {
      await quotas.update(admin, alice.projectId ?? '', { instances: 2 })
      const first = await api.createServers(alice, { name: 'q', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none', minCount: 1, maxCount: 5 })
      expect(first.instances).toHaveLength(2)
      const err = await rejection(api.createServers(alice, { name: 'q', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none' }))
      expect(err.code).toBe('QUOTA')
      expect(err.message).toBe('Quota exceeded for instances: Requested 1, but already used 2 of 2 instances')
      const rows = await rowsOf(alice.projectId ?? '')
      expect(rows.instances).toHaveLength(2)
      expect(rows.buildRequests).toHaveLength(2)
    })

    it('never ends over quota when creates race (the recheck undoes the loser)', async () => {
      await quotas.update(admin, alice.projectId ?? '', { instances: 1 })
      const before = conductor.received.length
      const outcomes = await Promise.allSettled(
        Array.from({ length: 4 }, () => api.createServers(alice, { name: 'race', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none' })),
      )
      for (const o of outcomes) if (o.status === 'rejected') expect(ComputeError.is(o.reason, 'QUOTA')).toBe(true)
      const fulfilled = outcomes.filter((o) => o.status === 'fulfilled').length
      const rows = await rowsOf(alice.projectId ?? '')
      const live = rows.instances.filter((r) => r.deleted === 0)
      expect(live.length).toBeLessThanOrEqual(1)
      expect(live.length).toBe(fulfilled)
      expect(rows.buildRequests.map((b) => b.instance_uuid).sort()).toEqual(live.map((r) => r.uuid).sort())
      await conductor.until(before + fulfilled)
      expect(conductor.received.length - before).toBe(fulfilled)
    })
  })

  describe('.listServers / .getServer', () => {
    it('shows a project only its own servers; admins may list all tenants', async () => {
      const a = await createOne(alice, 'alpha')
      const b = await createOne(bob, 'bravo')
      expect((await api.listServers(alice)).map((s) => s.uuid)).toEqual([a])
      expect((await api.listServers(bob)).map((s) => s.uuid)).toEqual([b])
      await expect(api.getServer(bob, a)).rejects.toThrowError(`Instance ${a} could not be found.`)
      await expect(api.listServers(alice, { allTenants: true })).rejects.toThrowError(
        "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.",
      )
      const all = (await api.listServers(admin, { allTenants: true })).map((s) => s.uuid)
      expect(all).toEqual(expect.arrayContaining([a, b]))
      expect((await api.listServers(admin, { allTenants: true, projectId: bob.projectId ?? '' })).map((s) => s.uuid)).toEqual([b])
      expect((await api.getServer(admin, a)).uuid).toBe(a)
    })

    it('filters by status and name, sorts and pages', async () => {
      const u1 = await createOne(alice, 'app-1')
      clock.ms += 1000
      const u2 = await createOne(alice, 'app-2')
      clock.ms += 1000
      const u3 = await createOne(alice, 'db-1')
      await launch(u2)
      expect((await api.listServers(alice)).map((s) => s.uuid)).toEqual([u3, u2, u1])
      expect((await api.listServers(alice, { status: 'ACTIVE' })).map((s) => s.uuid)).toEqual([u2])
      expect((await api.listServers(alice, { status: 'BUILD' })).map((s) => s.uuid)).toEqual([u3, u1])
      expect((await api.listServers(alice, { name: '^app' })).map((s) => s.uuid)).toEqual([u2, u1])
      expect((await api.listServers(alice, { sortKey: 'display_name', sortDir: 'asc', limit: 2 })).map((s) => s.displayName)).toEqual(['app-1', 'app-2'])
      expect((await api.listServers(alice, { marker: u3, limit: 1 })).map((s) => s.uuid)).toEqual([u2])
      await expect(api.listServers(alice, { status: 'NOPE' })).rejects.toThrowError('Invalid status value')
      await expect(api.listServers(alice, { marker: 'nope' })).rejects.toThrowError('marker [nope] not found')
    })

    it('shows the latest fault of a server in error', async () => {
      const uuid = await createOne(alice)
      await new InstanceRepository(t.db).update(uuid, { vmState: 'error', taskState: null }, { updatedAt: new Date(clock.now()).toISOString() })
      const at = (s: number) => new Date(clock.now() + s).toISOString()
      await t.db.insertInto('instance_faults').values({ instance_uuid: uuid, code: 500, message: 'older', details: null, host: null, created_at: at(1) }).execute()
      await t.db.insertInto('instance_faults').values({ instance_uuid: uuid, code: 500, message: 'No valid host was found. 0 of 1 hosts', details: 'x', host: null, created_at: at(2) }).execute()
      expect((await api.getServer(alice, uuid)).fault).toMatchObject({ code: 500, message: 'No valid host was found. 0 of 1 hosts' })
      expect((await api.listServers(alice, { status: 'ERROR' }))[0]?.fault?.message).toBe('No valid host was found. 0 of 1 hosts')
    })
  })

  describe('.updateServer and metadata', () => {
    it('renames and describes a server', async () => {
      const uuid = await createOne(alice)
      const s = await api.updateServer(alice, uuid, { name: 'renamed', description: 'new', accessIpV4: '10.0.0.1' })
      expect(s).toMatchObject({ displayName: 'renamed', description: 'new', accessIpV4: '10.0.0.1' })
      await expect(api.updateServer(bob, uuid, { name: 'x' })).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
    })

    it('merges, replaces and deletes metadata with guards and the metadata quota', async () => {
      const uuid = await createOne(alice)
      await expect(api.updateServerMetadata(alice, uuid, { a: '1' })).rejects.toThrowError(`Cannot 'update metadata' instance ${uuid} while it is in vm_state building`)
      await launch(uuid)
      expect(await api.updateServerMetadata(alice, uuid, { a: '1' })).toEqual({ a: '1' })
      expect(await api.updateServerMetadata(alice, uuid, { b: '2' })).toEqual({ a: '1', b: '2' })
      expect(await api.updateServerMetadata(alice, uuid, { c: '3' }, { replace: true })).toEqual({ c: '3' })
      await api.deleteServerMetadataItem(alice, uuid, 'c')
      expect(await api.getServerMetadata(alice, uuid)).toEqual({})
      await expect(api.deleteServerMetadataItem(alice, uuid, 'c')).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
      await quotas.update(admin, alice.projectId ?? '', { metadata_items: 1 })
      await expect(api.updateServerMetadata(alice, uuid, { x: '1', y: '2' })).rejects.toThrowError('Maximum number of metadata items exceeds 1')
    })
  })

  describe('power actions', () => {
    it('stops an active server: task powering-off, a stop cast, and a stop action', async () => {
      const uuid = await createOne(alice)
      await launch(uuid)
      const before = compute.received.length
      await api.stopServer(alice, uuid)
      expect((await api.getServer(alice, uuid)).taskState).toBe('powering-off')
      const [msg] = (await compute.until(before + 1)).slice(before)
      expect(msg?.method).toBe('stop_instance')
      expect((msg?.args.instance as { uuid: string }).uuid).toBe(uuid)
      const err = await rejection(api.stopServer(alice, uuid))
      expect(err.code).toBe('CONFLICT')
      expect(err.message).toBe(`Cannot 'stop' instance ${uuid} while it is in task_state powering-off`)
    })

    it('applies Nova\'s vm_state, launched_at, host and lock guards with its 409 wording', async () => {
      const uuid = await createOne(alice)
      expect((await rejection(api.stopServer(alice, uuid))).message).toBe(`Instance ${uuid} is not ready`)
      await new InstanceRepository(t.db).update(uuid, { host: 'compute-1', vmState: 'active', taskState: null }, { updatedAt: new Date(clock.now()).toISOString() })
      expect((await rejection(api.stopServer(alice, uuid))).message).toBe(`Cannot 'stop' instance ${uuid} while it is in launched_at None`)
      await launch(uuid, 'stopped')
      const stopErr = await rejection(api.stopServer(alice, uuid))
      expect(stopErr.code).toBe('CONFLICT')
      expect(stopErr.message).toBe(`Cannot 'stop' instance ${uuid} while it is in vm_state stopped`)
      expect((await rejection(api.rebootServer(alice, uuid, 'SOFT'))).message).toBe(`Cannot 'reboot' instance ${uuid} while it is in vm_state stopped`)
      await launch(uuid, 'active')
      expect((await rejection(api.startServer(alice, uuid))).message).toBe(`Cannot 'start' instance ${uuid} while it is in vm_state active`)
      await api.lockServer(admin, uuid)
      expect((await rejection(api.stopServer(alice, uuid))).message).toBe(`Instance ${uuid} is locked`)
      await expect(api.unlockServer(alice, uuid)).rejects.toThrowError(
        "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed.",
      )
      await api.stopServer(admin, uuid)
      expect((await api.getServer(alice, uuid)).taskState).toBe('powering-off')
    })

    it('starts a stopped server and records the action', async () => {
      const uuid = await createOne(alice)
      await launch(uuid, 'stopped')
      const before = compute.received.length
      await api.startServer(alice, uuid)
      expect((await api.getServer(alice, uuid)).taskState).toBe('powering-on')
      expect((await compute.until(before + 1))[before]?.method).toBe('start_instance')
      expect((await api.listInstanceActions(alice, uuid)).map((a) => a.action)).toEqual(['start', 'create'])
    })

    it('lets a HARD reboot preempt a reboot in flight, but not a SOFT one', async () => {
      const uuid = await createOne(alice)
      await launch(uuid, 'active')
      const before = compute.received.length
      await api.rebootServer(alice, uuid, 'SOFT')
      expect((await api.getServer(alice, uuid)).taskState).toBe('rebooting')
      expect((await rejection(api.rebootServer(alice, uuid, 'SOFT'))).message).toBe(`Cannot 'reboot' instance ${uuid} while it is in task_state rebooting`)
      await api.rebootServer(alice, uuid, 'HARD')
      expect((await api.getServer(alice, uuid)).taskState).toBe('rebooting_hard')
      const msgs = (await compute.until(before + 2)).slice(before)
      expect(msgs.map((m) => [m.method, m.args.rebootType])).toEqual([['reboot_instance', 'SOFT'], ['reboot_instance', 'HARD']])
      await new InstanceRepository(t.db).update(uuid, { vmState: 'error', taskState: 'powering-off' }, { updatedAt: new Date(clock.now()).toISOString() })
      expect((await rejection(api.rebootServer(alice, uuid, 'HARD'))).message).toBe(`Cannot 'reboot' instance ${uuid} while it is in task_state powering-off`)
    })

    it('turns a lost compare-and-swap race into CONFLICT, never an internal error', async () => {
      const uuid = await createOne(alice)
      await launch(uuid)
      const outcomes = await Promise.allSettled([api.stopServer(alice, uuid), api.stopServer(alice, uuid), api.stopServer(alice, uuid)])
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
      for (const o of outcomes) if (o.status === 'rejected') expect(ComputeError.is(o.reason, 'CONFLICT')).toBe(true)
      expect((await api.listInstanceActions(alice, uuid)).filter((a) => a.action === 'stop')).toHaveLength(1)
    })
  })

  describe('pause, unpause, suspend, resume', () => {
    /** Records a compute node for `host` whose stats carry what its compute service published. */
    async function addNode(host: string, stats: Record<string, string>): Promise<void> {
      const now = new Date(clock.now()).toISOString()
      await t.db
        .insertInto('compute_nodes')
        .values({
          uuid: crypto.randomUUID(), service_id: null, host, hypervisor_hostname: host, hypervisor_type: 'fake', hypervisor_version: 1, vcpus: 8,
          memory_mb: 8192, local_gb: 100, vcpus_used: 0, memory_mb_used: 0, local_gb_used: 0, free_ram_mb: 8192, free_disk_gb: 100,
          disk_available_least: 100, current_workload: 0, running_vms: 0, host_ip: null, cpu_info: '{}', supported_instances: '[]',
          stats: JSON.stringify(stats), metrics: '{}', cpu_allocation_ratio: 16, ram_allocation_ratio: 1.5, disk_allocation_ratio: 1,
          created_at: now, updated_at: now, deleted_at: null,
        })
        .execute()
    }

    it.each([
      { act: 'pause', from: 'active', task: 'pausing', method: 'pause_instance' },
      { act: 'unpause', from: 'paused', task: 'unpausing', method: 'unpause_instance' },
      { act: 'suspend', from: 'active', task: 'suspending', method: 'suspend_instance' },
      { act: 'resume', from: 'suspended', task: 'resuming', method: 'resume_instance' },
    ] as const)('$act: from $from, task $task, a $method cast and a $act action; a second one is a 409', async ({ act, from, task, method }) => {
      const uuid = await createOne(alice)
      await launch(uuid, from)
      const call = { pause: api.pauseServer, unpause: api.unpauseServer, suspend: api.suspendServer, resume: api.resumeServer }[act].bind(api)
      const before = compute.received.length
      await call(alice, uuid)
      expect(await api.getServer(alice, uuid)).toMatchObject({ vmState: from, taskState: task })
      const [msg] = (await compute.until(before + 1)).slice(before)
      expect(msg?.method).toBe(method)
      expect(msg?.args.instance).toMatchObject({ uuid, taskState: task })
      expect(msg?.context.requestId).toBe(alice.requestId)
      expect((await api.listInstanceActions(alice, uuid)).map((a) => a.action)).toEqual([act, 'create'])
      const again = await rejection(call(alice, uuid))
      expect(again.code).toBe('CONFLICT')
      expect(again.message).toBe(`Cannot '${act}' instance ${uuid} while it is in task_state ${task}`)
    })

    it("applies Nova's vm_state, launched_at and lock guards with its 409 wording", async () => {
      const uuid = await createOne(alice)
      await new InstanceRepository(t.db).update(uuid, { host: 'compute-1', vmState: 'active', taskState: null }, { updatedAt: new Date(clock.now()).toISOString() })
      expect((await rejection(api.pauseServer(alice, uuid))).message).toBe(`Cannot 'pause' instance ${uuid} while it is in launched_at None`)
      await launch(uuid, 'stopped')
      for (const [call, act] of [[api.pauseServer, 'pause'], [api.suspendServer, 'suspend'], [api.unpauseServer, 'unpause'], [api.resumeServer, 'resume']] as const) {
        const err = await rejection(call.call(api, alice, uuid))
        expect(err.code).toBe('CONFLICT')
        expect(err.message).toBe(`Cannot '${act}' instance ${uuid} while it is in vm_state stopped`)
        expect(err.details).toMatchObject({ code: 'InstanceInvalidState', attr: 'vm_state', state: 'stopped', action: act })
      }
      await launch(uuid, 'paused')
      expect((await rejection(api.suspendServer(alice, uuid))).message).toBe(`Cannot 'suspend' instance ${uuid} while it is in vm_state paused`)
      expect((await rejection(api.resumeServer(alice, uuid))).message).toBe(`Cannot 'resume' instance ${uuid} while it is in vm_state paused`)
      await launch(uuid, 'active')
      expect((await rejection(api.unpauseServer(alice, uuid))).message).toBe(`Cannot 'unpause' instance ${uuid} while it is in vm_state active`)
      // the lock is checked before the state, as Nova's decorators run
      await api.lockServer(admin, uuid)
      expect((await rejection(api.unpauseServer(alice, uuid))).message).toBe(`Instance ${uuid} is locked`)
      expect((await rejection(api.pauseServer(alice, uuid))).message).toBe(`Instance ${uuid} is locked`)
      await api.pauseServer(admin, uuid)
      expect((await api.getServer(alice, uuid)).taskState).toBe('pausing')
      expect((await rejection(api.pauseServer(bob, uuid))).code).toBe('NOT_FOUND')
    })

    it("is NOT_IMPLEMENTED (Nova's 501) without any change when the host's driver cannot do it", async () => {
      await addNode('compute-bare', { num_instances: '1', supports_pause: 'False', supports_suspend: 'False', supports_console_output: 'False' })
      await addNode('compute-full', { num_instances: '1', supports_pause: 'True', supports_suspend: 'True' })
      const uuid = await createOne(alice)
      const now = new Date(clock.now()).toISOString()
      const repo = new InstanceRepository(t.db)
      await repo.update(uuid, { host: 'compute-bare', node: 'compute-bare', vmState: 'active', taskState: null, launchedAt: now }, { updatedAt: now })
      for (const call of [api.pauseServer, api.suspendServer]) {
        const err = await rejection(call.call(api, alice, uuid))
        expect(err.code).toBe('NOT_IMPLEMENTED')
        expect(err.message).toBe('The requested functionality is not supported.')
      }
      expect(await api.getServer(alice, uuid)).toMatchObject({ vmState: 'active', taskState: null })
      expect((await api.listInstanceActions(alice, uuid)).map((a) => a.action)).toEqual(['create'])
      // the state guard still comes first
      await repo.update(uuid, { vmState: 'stopped' }, { updatedAt: now })
      expect((await rejection(api.pauseServer(alice, uuid))).code).toBe('CONFLICT')
      // a host that can, or that has not said (no compute node row), is let through
      for (const host of ['compute-full', 'compute-1']) {
        await repo.update(uuid, { host, node: host, vmState: 'active', taskState: null }, { updatedAt: now })
        await api.pauseServer(alice, uuid)
        expect((await api.getServer(alice, uuid)).taskState).toBe('pausing')
      }
    })
  })

  describe('.getConsoleOutput', () => {
    const image = (id: string): ImageMeta => ({ id, name: id, status: 'active', diskFormat: 'raw', containerFormat: 'bare', minRamMb: 0, minDiskGb: 0, size: null, properties: {} })
    const drivers = new Map<string, FakeVirtDriver>()

    beforeAll(async () => {
      // real compute services (not started: they need no database for this) answering get_console_output
      for (const [host, config] of [['console-1', {}], ['console-bare', { capabilities: { supportsConsoleOutput: false } }]] as const) {
        const tr = new InMemoryTransport({ broker })
        transports.push(tr)
        const driver = new FakeVirtDriver({ hostname: host, ...config })
        await driver.init()
        drivers.set(host, driver)
        const manager = new ComputeManager({ host, driver, conductor: new ConductorComputeRpcClient(tr), transport: tr })
        await tr.listen({ topic: 'compute', server: host }, computeEndpoint(manager))
      }
    })

    /** A server booted on `host`, with its guest on the fake hypervisor (unless `guest` is false). */
    async function bootOn(host: string, options: { guest?: boolean; imageId?: string; vmState?: string } = {}): Promise<string> {
      const uuid = await createOne(alice)
      const now = new Date(clock.now()).toISOString()
      const instance = await new InstanceRepository(t.db).update(
        uuid,
        { host, node: host, vmState: options.vmState ?? 'active', taskState: null, powerState: 1, launchedAt: now },
        { updatedAt: now },
      )
      if (options.guest ?? true) await drivers.get(host)!.spawn(instance, image(options.imageId ?? 'img-1'), {})
      return uuid
    }

    it("returns the guest's console log; length keeps its last pieces (as a string too); -1 and null mean all", async () => {
      const uuid = await bootOn('console-1')
      const whole = await api.getConsoleOutput(alice, uuid)
      expect(whole).toBe(`${drivers.get('console-1')!.guest(uuid)!.consoleLog.join('\n')}\n`)
      expect(whole).toContain('booting image img-1')
      expect(whole).toMatch(/login:\n$/)
      expect(await api.getConsoleOutput(alice, uuid, 3)).toBe('\nweb login:\n')
      expect(await api.getConsoleOutput(alice, uuid, '3')).toBe('\nweb login:\n')
      expect(await api.getConsoleOutput(alice, uuid, 0)).toBe('')
      expect(await api.getConsoleOutput(alice, uuid, -1)).toBe(whole)
      expect(await api.getConsoleOutput(alice, uuid, '-1')).toBe(whole)
      expect(await api.getConsoleOutput(alice, uuid, null)).toBe(whole)
      // no instance action for a read
      expect((await api.listInstanceActions(alice, uuid)).map((a) => a.action)).toEqual(['create'])
    })

    it('works in any vm_state and task_state while the server has a host', async () => {
      const uuid = await bootOn('console-1', { vmState: 'stopped' })
      await new InstanceRepository(t.db).update(uuid, { taskState: 'powering-on' }, { updatedAt: new Date(clock.now()).toISOString() })
      expect(await api.getConsoleOutput(alice, uuid, 1)).toBe('')
    })

    it('strips control characters but tab and newline, and replaces non-ASCII bytes, as Nova does', async () => {
      const uuid = await bootOn('console-1', { imageId: 'img\r\x1b[1m\x07\tbeep-é' })
      const output = await api.getConsoleOutput(alice, uuid)
      expect(output).toContain('booting image img[1m\tbeep-\ufffd\ufffd (raw)\n')
      expect([...output].filter((c) => c < ' ' && c !== '\t' && c !== '\n')).toEqual([])
    })

    it.each([
      [-2, 'Invalid input for field/attribute length. Value: -2. -2 is less than the minimum of -1'],
      ['-5', 'Invalid input for field/attribute length. Value: -5. -5 is less than the minimum of -1'],
      ['abc', "Invalid input for field/attribute length. Value: abc. 'abc' does not match '^-?[0-9]+$'"],
      ['1.5', "Invalid input for field/attribute length. Value: 1.5. '1.5' does not match '^-?[0-9]+$'"],
      [1.5, "Invalid input for field/attribute length. Value: 1.5. 1.5 is not of type 'integer', 'string', 'null'"],
    ] as const)('length %j is INVALID: %s', async (length, message) => {
      const uuid = await bootOn('console-1')
      const err = await rejection(api.getConsoleOutput(alice, uuid, length))
      expect(err.code).toBe('INVALID')
      expect(err.message).toBe(message)
    })

    it('is CONFLICT "not ready" without a host, NOT_FOUND for another project or a guest gone, NOT_IMPLEMENTED without driver support', async () => {
      const building = await createOne(alice)
      const notReady = await rejection(api.getConsoleOutput(alice, building))
      expect(notReady.code).toBe('CONFLICT')
      expect(notReady.message).toBe(`Instance ${building} is not ready`)

      const uuid = await bootOn('console-1')
      const hidden = await rejection(api.getConsoleOutput(bob, uuid))
      expect(hidden.code).toBe('NOT_FOUND')
      expect(typeof (await api.getConsoleOutput(admin, uuid))).toBe('string')

      const gone = await bootOn('console-1', { guest: false })
      const notFound = await rejection(api.getConsoleOutput(alice, gone))
      expect(notFound.code).toBe('NOT_FOUND')
      expect(notFound.message).toBe(`Instance ${gone} could not be found.`)

      const bare = await bootOn('console-bare')
      const notImplemented = await rejection(api.getConsoleOutput(alice, bare))
      expect(notImplemented.code).toBe('NOT_IMPLEMENTED')
      expect(notImplemented.message).toBe('The requested functionality is not supported.')
    })
  })

  describe('.deleteServer', () => {
    it('deletes a server that has no host yet without involving compute', async () => {
      const uuid = await createOne(alice)
      const before = compute.received.length
      await api.deleteServer(alice, uuid)
      await expect(api.getServer(alice, uuid)).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
      const rows = await rowsOf(alice.projectId ?? '')
      expect(rows.buildRequests).toEqual([])
      expect(rows.instances[0]?.deleted).not.toBe(0)
      expect(compute.received.length).toBe(before)
      expect((await api.listInstanceActions(alice, uuid)).map((a) => a.action)).toEqual(['delete', 'create'])
      expect((await api.listServers(admin, { allTenants: true, deleted: true, projectId: alice.projectId ?? '' })).map((s) => [s.uuid, s.vmState])).toEqual([[uuid, 'deleted']])
    })

    it('removes allocations the scheduler already claimed when a server is deleted before it has a host', async () => {
      const placement = new PlacementService(t.db, { clock })
      const withPlacement = new ComputeApi(
        t.db, new ConductorTaskRpcClient(transports[0]!), new ComputeRpcClient(transports[0]!), flavors, images, keypairs, quotas, new Policy(), clock, undefined, {}, placement,
      )
      const rp = crypto.randomUUID()
      const inv = (total: number) => ({ total, reserved: 0, minUnit: 1, maxUnit: total, stepSize: 1, allocationRatio: 1 })
      await placement.syncProviderTree({ uuid: rp, name: `node-${rp}`, traits: [], inventories: { VCPU: inv(8), MEMORY_MB: inv(8192) } })
      const uuid = (await withPlacement.createServers(alice, { name: 'claimed', imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', networks: 'none' })).instances[0]!.uuid
      await placement.putAllocations(uuid, { allocations: { [rp]: { resources: { VCPU: 1, MEMORY_MB: 512 } } }, projectId: alice.projectId ?? '', userId: alice.userId ?? '', consumerGeneration: null })
      expect(Object.keys((await placement.getAllocations(uuid)).allocations)).toEqual([rp])
      await withPlacement.deleteServer(alice, uuid)
      expect((await placement.getAllocations(uuid)).allocations).toEqual({})
    })

    it('casts terminate_instance for a server on an up host, in any task state', async () => {
      const uuid = await createOne(alice)
      await launch(uuid)
      await api.stopServer(alice, uuid)
      const before = compute.received.length
      await api.deleteServer(alice, uuid)
      expect((await api.getServer(alice, uuid)).taskState).toBe('deleting')
      expect((await compute.until(before + 1))[before]?.method).toBe('terminate_instance')
    })

    it('deletes locally when the compute service is down', async () => {
      const uuid = await createOne(alice)
      await launch(uuid)
      const before = compute.received.length
      clock.ms += 61_000
      try {
        await api.deleteServer(alice, uuid)
      } finally {
        clock.ms -= 61_000
      }
      await expect(api.getServer(alice, uuid)).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
      expect(compute.received.length).toBe(before)
    })

    it('refuses a locked server to its owner', async () => {
      const uuid = await createOne(alice)
      await api.lockServer(alice, uuid, 'keep')
      expect((await api.getServer(alice, uuid))).toMatchObject({ locked: true, lockedBy: 'owner', lockedReason: 'keep' })
      expect((await rejection(api.deleteServer(alice, uuid))).message).toBe(`Instance ${uuid} is locked`)
      await api.unlockServer(alice, uuid)
      await api.deleteServer(alice, uuid)
    })
  })

  describe('instance actions', () => {
    it('lists actions newest first and shows one with events (traceback for admins only)', async () => {
      const uuid = await createOne(alice)
      const action = await t.db.selectFrom('instance_actions').select('id').where('instance_uuid', '=', uuid).executeTakeFirstOrThrow()
      await t.db
        .insertInto('instance_actions_events')
        .values({ action_id: action.id, event: 'conductor_schedule_and_build_instances', start_time: new Date(clock.now()).toISOString(), finish_time: null, result: 'Error', traceback: 'tb', host: 'c1', details: '{"why":"x"}' })
        .execute()
      const list = await api.listInstanceActions(alice, uuid)
      expect(list).toEqual([expect.objectContaining({ action: 'create', requestId: alice.requestId, instanceUuid: uuid, userId: alice.userId })])
      const mine = await api.getInstanceAction(alice, uuid, alice.requestId)
      expect(mine.events).toEqual([expect.objectContaining({ event: 'conductor_schedule_and_build_instances', result: 'Error', traceback: null, details: null })])
      const asAdmin = await api.getInstanceAction(admin, uuid, alice.requestId)
      expect(asAdmin.events[0]).toMatchObject({ traceback: 'tb', details: '{"why":"x"}' })
      await expect(api.getInstanceAction(alice, uuid, 'req-nope')).rejects.toThrowError(`Action for request_id req-nope on instance ${uuid} not found`)
      await expect(api.listInstanceActions(bob, uuid)).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
    })
  })
})
