import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { RequestContext } from '../context.js'
import { createDeployment, type Deployment } from '../composition/create-deployment.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import { ComputeError } from '../errors/compute-error.js'
import { Notifier } from '../notifications/notifier.js'
import { PlacementService } from '../placement/placement-service.js'
import { FakeVirtDriver } from '../testing/fake-virt-driver.js'
import { makeInstance } from '../testing/make-instance.js'
import { createTestDatabase, databaseKindsUnderTest, type DatabaseKind, type TestDatabase } from '../testing/test-databases.js'
import { InMemoryTransport } from '../transport/in-memory-transport.js'
import type { Notification } from '../transport/transport.js'
import { isoNow } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import { AggregateService, type AggregatePlacement } from './aggregate-service.js'

/*
 * Host aggregates on every database: the API semantics (Nova's validations and messages), the mirroring of
 * membership into Placement (generation retries included), the notifications, and a boot into an availability
 * zone through the whole deployment with the Placement `member_of` request filter.
 */

const admin: RequestContext = { requestId: 'req-admin', userId: 'admin-user', projectId: 'admin', roles: ['admin'], isAdmin: true }
const member: RequestContext = { requestId: 'req-member', userId: 'u', projectId: 'p', roles: ['member'], isAdmin: false }

/** Placement's real service, with another writer's aggregate write slipped in before some of ours (a lost race). */
class RacingPlacement implements AggregatePlacement {
  /** How many of our writes lose the race to a concurrent one. */
  races: number
  setCalls = 0

  constructor(
    private readonly placement: PlacementService,
    races: number,
    private readonly intruder: string,
  ) {
    this.races = races
  }

  getAggregates(uuid: string): ReturnType<PlacementService['getAggregates']> {
    return this.placement.getAggregates(uuid)
  }

  async setAggregates(uuid: string, generation: number, aggregates: readonly string[]): ReturnType<PlacementService['setAggregates']> {
    this.setCalls++
    if (this.races > 0) {
      this.races--
      const current = await this.placement.getAggregates(uuid)
      await this.placement.setAggregates(uuid, current.resourceProviderGeneration, [...current.aggregates, this.intruder])
    }
    return this.placement.setAggregates(uuid, generation, aggregates)
  }
}

/** A logger that keeps its warnings, to check what mirroring failures report. */
function recordingLogger(warnings: string[]): Logger {
  const noop = (): void => {}
  const logger: Logger = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: (obj: Record<string, unknown> | string, msg?: string) => void warnings.push(typeof obj === 'string' ? obj : (msg ?? '')),
    error: noop,
    child: () => logger,
  }
  return logger
}

describe.each(databaseKindsUnderTest())('AggregateService on %s', (kind) => {
  let t: TestDatabase
  let placement: PlacementService
  let aggregates: AggregateService
  let transport: InMemoryTransport
  const notifications: Notification[] = []
  const warnings: string[] = []
  /** Compute node (= resource provider) uuid per host; `c4` has no provider. */
  const nodes: Record<string, string> = {}

  async function addComputeHost(host: string, withProvider = true): Promise<void> {
    const now = isoNow()
    await t.db
      .insertInto('services')
      .values({
        uuid: crypto.randomUUID(), host, binary: 'nova-compute', topic: 'compute', report_count: 1, disabled: 0, disabled_reason: null, forced_down: 0,
        last_seen_up: now, version: 1, created_at: now, updated_at: now, deleted_at: null,
      })
      .execute()
    const service = await t.db.selectFrom('services').select('id').where('host', '=', host).executeTakeFirstOrThrow()
    const uuid = crypto.randomUUID()
    await t.db
      .insertInto('compute_nodes')
      .values({
        uuid, service_id: service.id, host, hypervisor_hostname: `${host}.node`, hypervisor_type: 'fake', hypervisor_version: 1000, vcpus: 8, memory_mb: 16384,
        local_gb: 100, vcpus_used: 0, memory_mb_used: 0, local_gb_used: 0, free_ram_mb: 16384, free_disk_gb: 100, disk_available_least: 100, current_workload: 0,
        running_vms: 0, host_ip: '192.0.2.1', cpu_info: '{}', supported_instances: '[]', stats: '{}', metrics: '{}', cpu_allocation_ratio: 16,
        ram_allocation_ratio: 1.5, disk_allocation_ratio: 1, created_at: now, updated_at: now, deleted_at: null,
      })
      .execute()
    if (withProvider) await placement.createProvider({ uuid, name: `${host}.node` })
    nodes[host] = uuid
  }

  const providerAggregates = async (host: string) => (await placement.getAggregates(nodes[host] as string)).aggregates
  const expectError = async (p: Promise<unknown>, code: string, message: string) => {
    const err = await p.then(() => null, (e: unknown) => e)
    expect(ComputeError.is(err), `expected a ComputeError, got ${String(err)}`).toBe(true)
    expect(err).toMatchObject({ code, message })
  }

  beforeAll(async () => {
    t = await createTestDatabase(kind)
    placement = new PlacementService(t.db)
    transport = new InMemoryTransport()
    transport.notifications().subscribe((n) => notifications.push(n))
    const notifier = new Notifier({ transport, service: 'nova-api', host: 'api-1' })
    aggregates = new AggregateService(t.db, placement, undefined, undefined, recordingLogger(warnings), { notifier })
    for (const host of ['c1', 'c2', 'c3']) await addComputeHost(host)
    await addComputeHost('c4', false)
    const now = isoNow()
    await t.db.insertInto('services').values({
      uuid: crypto.randomUUID(), host: 'ctl', binary: 'nova-conductor', topic: 'conductor', report_count: 1, disabled: 0, disabled_reason: null, forced_down: 0,
      last_seen_up: now, version: 1, created_at: now, updated_at: null, deleted_at: null,
    }).execute()
  })
  afterAll(async () => {
    await transport?.close()
    await t?.destroy()
  })

  describe('.create, .get, .list', () => {
    it('creates an aggregate, with an availability zone as its metadata', async () => {
      const plain = await aggregates.create(admin, { name: 'plain' })
      expect(plain).toMatchObject({ name: 'plain', availabilityZone: null, hosts: [], metadata: {}, updatedAt: null })
      expect(plain.uuid).toMatch(/^[0-9a-f-]{36}$/)
      expect(Number.isInteger(plain.id)).toBe(true)
      const zoned = await aggregates.create(admin, { name: 'zoned', availabilityZone: 'az-z' })
      expect(zoned).toMatchObject({ availabilityZone: 'az-z', metadata: { availability_zone: 'az-z' } })
      expect(await aggregates.get(admin, String(zoned.id))).toEqual(zoned)
      expect((await aggregates.list(admin)).map((a) => a.name)).toEqual(expect.arrayContaining(['plain', 'zoned']))
      await aggregates.delete(admin, plain.id)
      await aggregates.delete(admin, zoned.id)
    })

    it.each([
      { req: { name: 'dup' }, code: 'CONFLICT', message: 'Aggregate dup already exists.' },
      { req: { name: 'az-int', availabilityZone: 'internal' }, code: 'INVALID', message: 'Cannot create aggregate az-int. Reason: Availability zone internal is reserved for internal services.' },
      { req: { name: 'az-blank', availabilityZone: ' ' }, code: 'INVALID', message: 'Cannot create aggregate az-blank. Reason: Aggregate az-blank does not support empty named availability zone.' },
    ])('refuses $req with $code', async ({ req, code, message }) => {
      const dup = await aggregates.create(admin, { name: 'dup' })
      await expectError(aggregates.create(admin, req), code, message)
      await aggregates.delete(admin, dup.id)
    })

    it.each([
      { id: 'abc', code: 'INVALID', message: 'Invalid input received: id must be an integer' },
      { id: '1.5', code: 'INVALID', message: 'Invalid input received: id must be an integer' },
      { id: ' 987654 ', code: 'NOT_FOUND', message: 'Aggregate 987654 could not be found.' },
      { id: '99999999999999999999', code: 'NOT_FOUND', message: 'Aggregate 99999999999999999999 could not be found.' },
      { id: 4294967296, code: 'NOT_FOUND', message: 'Aggregate 4294967296 could not be found.' },
    ])('reads id $id as Nova does: $code', async ({ id, code, message }) => {
      await expectError(aggregates.get(admin, id), code, message)
    })

    it('is admin only', async () => {
      await expectError(aggregates.list(member), 'FORBIDDEN', "Policy doesn't allow os_compute_api:os-aggregates:index to be performed.")
      await expectError(aggregates.create(member, { name: 'x' }), 'FORBIDDEN', "Policy doesn't allow os_compute_api:os-aggregates:create to be performed.")
      await expectError(aggregates.addHost(member, 1, 'c1'), 'FORBIDDEN', "Policy doesn't allow os_compute_api:os-aggregates:add_host to be performed.")
      await expectError(aggregates.setMetadata(member, 1, {}), 'FORBIDDEN', "Policy doesn't allow os_compute_api:os-aggregates:set_metadata to be performed.")
    })
  })

  describe('.addHost and .removeHost', () => {
    let rack: Awaited<ReturnType<AggregateService['create']>>
    beforeAll(async () => {
      rack = await aggregates.create(admin, { name: 'rack-1', availabilityZone: 'az1' })
    })
    afterAll(async () => {
      await aggregates.removeHost(admin, rack.id, 'c1')
      await aggregates.delete(admin, rack.id)
    })

    it('adds a host and mirrors it into the resource provider of its compute node', async () => {
      const agg = rack
      const added = await aggregates.addHost(admin, agg.id, 'c1')
      expect(added.hosts).toEqual(['c1'])
      expect(await providerAggregates('c1')).toEqual([agg.uuid])
      expect(await providerAggregates('c2')).toEqual([])
      // A second, zone-less aggregate: the provider keeps both uuids.
      const plain = await aggregates.create(admin, { name: 'ssd' })
      await aggregates.addHost(admin, plain.id, 'c1')
      expect(await providerAggregates('c1')).toEqual([agg.uuid, plain.uuid].sort())
      await aggregates.removeHost(admin, plain.id, 'c1')
      expect(await providerAggregates('c1')).toEqual([agg.uuid])
      await aggregates.delete(admin, plain.id)
    })

    it.each([
      { host: 'nope', code: 'NOT_FOUND', message: 'Compute host nope could not be found.' },
      { host: 'ctl', code: 'NOT_FOUND', message: 'Compute host ctl could not be found.' },
      { host: 'C1', code: 'NOT_FOUND', message: 'Compute host C1 could not be found.' },
      { host: 'c1', code: 'CONFLICT', message: 'already has host c1.' },
    ])('refuses to add $host: $code', async ({ host, code, message }) => {
      const err = await aggregates.addHost(admin, rack.id, host).then(() => null, (e: unknown) => e)
      expect(err).toMatchObject({ code })
      expect((err as Error).message).toContain(message)
    })

    it('refuses to put a host into a second availability zone (409, as Nova)', async () => {
      const other = await aggregates.create(admin, { name: 'rack-2', availabilityZone: 'az2' })
      await expectError(
        aggregates.addHost(admin, other.id, 'c1'),
        'CONFLICT',
        `Cannot add host to aggregate ${other.id}. Reason: One or more hosts already in availability zone(s) ['az1'].`,
      )
      // The same zone in another aggregate is fine.
      const same = await aggregates.create(admin, { name: 'rack-1b', availabilityZone: 'az1' })
      await aggregates.addHost(admin, same.id, 'c1')
      await aggregates.removeHost(admin, same.id, 'c1')
      await aggregates.delete(admin, same.id)
      await aggregates.delete(admin, other.id)
    })

    it('removes a host (Placement first); unknown host, aggregate or membership is a 404 with Nova\'s message', async () => {
      const agg = await aggregates.create(admin, { name: 'rack-3' })
      await aggregates.addHost(admin, agg.id, 'c2')
      expect(await providerAggregates('c2')).toEqual([agg.uuid])
      await expectError(aggregates.removeHost(admin, agg.id, 'c3'), 'NOT_FOUND', `Cannot remove host c3 in aggregate ${agg.id}`)
      await expectError(aggregates.removeHost(admin, agg.id, 'ghost'), 'NOT_FOUND', `Cannot remove host ghost in aggregate ${agg.id}`)
      await expectError(aggregates.removeHost(admin, 987654, 'c2'), 'NOT_FOUND', 'Cannot remove host c2 in aggregate 987654')
      await expectError(aggregates.removeHost(admin, 'x', 'c2'), 'INVALID', 'Invalid input received: id must be an integer')
      expect((await aggregates.removeHost(admin, agg.id, 'c2')).hosts).toEqual([])
      expect(await providerAggregates('c2')).toEqual([])
      await aggregates.delete(admin, agg.id)
    })

    it('keeps a host added when its node has no resource provider yet, and says so in the log', async () => {
      const agg = await aggregates.create(admin, { name: 'no-rp' })
      warnings.length = 0
      expect((await aggregates.addHost(admin, agg.id, 'c4')).hosts).toEqual(['c4'])
      expect(warnings.join('\n')).toContain(`failed to associate c4.node with placement aggregate ${agg.uuid}`)
      expect((await aggregates.removeHost(admin, agg.id, 'c4')).hosts).toEqual([])
      await aggregates.delete(admin, agg.id)
    })

    it('retries a write that lost the provider generation race, keeping the other writer’s aggregate', async () => {
      const intruder = crypto.randomUUID()
      const racing = new RacingPlacement(placement, 2, intruder)
      const service = new AggregateService(t.db, racing)
      const agg = await service.create(admin, { name: 'racy' })
      await service.addHost(admin, agg.id, 'c3')
      expect(racing.setCalls).toBe(3)
      expect(await providerAggregates('c3')).toEqual([agg.uuid, intruder].sort())
      racing.races = 1
      await service.removeHost(admin, agg.id, 'c3')
      expect(await providerAggregates('c3')).toEqual([intruder])
      const { resourceProviderGeneration } = await placement.getAggregates(nodes.c3 as string)
      await placement.setAggregates(nodes.c3 as string, resourceProviderGeneration, [])
      await service.delete(admin, agg.id)
    })

    it('gives up after the configured attempts: an add is kept and logged, a remove is a 409 that changes nothing', async () => {
      const racing = new RacingPlacement(placement, 100, crypto.randomUUID())
      const log: string[] = []
      const service = new AggregateService(t.db, racing, undefined, undefined, recordingLogger(log), { placementAttempts: 2 })
      const agg = await service.create(admin, { name: 'hopeless' })
      expect((await service.addHost(admin, agg.id, 'c3')).hosts).toEqual(['c3'])
      expect(racing.setCalls).toBe(2)
      expect(log.join('\n')).toContain('failed to associate c3.node')
      expect(await providerAggregates('c3')).not.toContain(agg.uuid)
      // Let the add through, then make the remove lose every race.
      racing.races = 0
      const mirrored = await placement.getAggregates(nodes.c3 as string)
      await placement.setAggregates(nodes.c3 as string, mirrored.resourceProviderGeneration, [agg.uuid])
      racing.races = 100
      await expectError(service.removeHost(admin, agg.id, 'c3'), 'CONFLICT', `Cannot remove host c3 in aggregate ${agg.id}`)
      expect((await service.get(admin, agg.id)).hosts).toEqual(['c3'])
      racing.races = 0
      await service.removeHost(admin, agg.id, 'c3')
      expect(await providerAggregates('c3')).not.toContain(agg.uuid)
      await service.delete(admin, agg.id)
      const left = await placement.getAggregates(nodes.c3 as string)
      await placement.setAggregates(nodes.c3 as string, left.resourceProviderGeneration, [])
    })
  })

  describe('.update and .setMetadata', () => {
    it('renames; a taken name is a CONFLICT', async () => {
      const a = await aggregates.create(admin, { name: 'old-name' })
      const b = await aggregates.create(admin, { name: 'taken' })
      const renamed = await aggregates.update(admin, a.id, { name: 'new-name' })
      expect(renamed).toMatchObject({ name: 'new-name' })
      expect(renamed.updatedAt).not.toBeNull()
      await expectError(aggregates.update(admin, a.id, { name: 'taken' }), 'CONFLICT', 'Aggregate taken already exists.')
      expect((await aggregates.update(admin, a.id, { name: 'new-name' })).name).toBe('new-name')
      await aggregates.delete(admin, a.id)
      await aggregates.delete(admin, b.id)
    })

    it('sets and deletes metadata keys (null deletes, a missing key is no error)', async () => {
      const agg = await aggregates.create(admin, { name: 'meta' })
      expect((await aggregates.setMetadata(admin, agg.id, { ssd: 'true', gpu: 'a100' })).metadata).toEqual({ ssd: 'true', gpu: 'a100' })
      const updated = await aggregates.setMetadata(admin, agg.id, { ssd: 'false', gpu: null, absent: null })
      expect(updated.metadata).toEqual({ ssd: 'false' })
      expect(updated.updatedAt).not.toBeNull()
      expect((await aggregates.setMetadata(admin, agg.id, { availability_zone: 'az-meta' })).availabilityZone).toBe('az-meta')
      await aggregates.delete(admin, agg.id)
    })

    it.each([
      { target: 'a', how: 'update', zone: null, reason: 'Aggregate zones-a does not support empty named availability zone' },
      { target: 'a', how: 'update', zone: 'internal', reason: 'Availability zone internal is reserved for internal services' },
      { target: 'a', how: 'meta', zone: null, reason: 'Aggregate zones-a does not support empty named availability zone' },
      { target: 'a', how: 'meta', zone: '', reason: 'Aggregate zones-a does not support empty named availability zone' },
      { target: 'c', how: 'update', zone: 'az-a', reason: "One or more hosts already in availability zone(s) ['az-b']" },
      { target: 'c', how: 'meta', zone: 'az-c', reason: "One or more hosts already in availability zone(s) ['az-a', 'az-b']" },
    ] as { target: string; how: string; zone: string | null; reason: string }[])('refuses a zone change of zones-$target by $how to $zone', async ({ target, how, zone, reason }) => {
      // zones-a (az-a) holds c2, zones-b (az-b) holds c3, zones-c (no zone) holds both.
      const a = await aggregates.create(admin, { name: 'zones-a', availabilityZone: 'az-a' })
      const b = await aggregates.create(admin, { name: 'zones-b', availabilityZone: 'az-b' })
      const c = await aggregates.create(admin, { name: 'zones-c' })
      const members = [[a, 'c2'], [b, 'c3'], [c, 'c2'], [c, 'c3']] as const
      for (const [agg, host] of members) await aggregates.addHost(admin, agg.id, host)
      const subject = target === 'a' ? a : c
      try {
        if (how === 'update') {
          await expectError(aggregates.update(admin, subject.id, { availabilityZone: zone }), 'INVALID', `Cannot update aggregate ${subject.id}. Reason: ${reason}.`)
        } else {
          await expectError(aggregates.setMetadata(admin, subject.id, { availability_zone: zone }), 'INVALID', `Cannot update metadata of aggregate ${subject.id}. Reason: ${reason}.`)
        }
        expect((await aggregates.get(admin, subject.id)).availabilityZone).toBe(subject.availabilityZone)
      } finally {
        for (const [agg, host] of members) await aggregates.removeHost(admin, agg.id, host)
        for (const agg of [a, b, c]) await aggregates.delete(admin, agg.id)
      }
    })

    it('refuses to move a zone whose hosts run instances (Zed), but allows the same zone or a rename', async () => {
      const agg = await aggregates.create(admin, { name: 'busy', availabilityZone: 'az-busy' })
      await aggregates.addHost(admin, agg.id, 'c3')
      const repo = new InstanceRepository(t.db)
      const instance = makeInstance({ host: 'c3' })
      await repo.create({ ...instance, createdAt: isoNow() })
      await repo.update(instance.uuid, { host: 'c3', node: 'c3.node' }, { updatedAt: isoNow() })
      try {
        await expectError(aggregates.update(admin, agg.id, { availabilityZone: 'az-moved' }), 'INVALID', `Cannot update aggregate ${agg.id}. Reason: One or more hosts contain instances in this zone.`)
        await expectError(
          aggregates.setMetadata(admin, agg.id, { availability_zone: 'az-moved' }),
          'INVALID',
          `Cannot update metadata of aggregate ${agg.id}. Reason: One or more hosts contain instances in this zone.`,
        )
        expect((await aggregates.update(admin, agg.id, { name: 'busy-2', availabilityZone: 'az-busy' })).name).toBe('busy-2')
        await repo.markDeleted(instance.uuid, isoNow())
        expect((await aggregates.update(admin, agg.id, { availabilityZone: 'az-moved' })).availabilityZone).toBe('az-moved')
      } finally {
        await aggregates.removeHost(admin, agg.id, 'c3')
        await aggregates.delete(admin, agg.id)
      }
    })
  })

  describe('.delete', () => {
    it('deletes only an empty aggregate', async () => {
      const agg = await aggregates.create(admin, { name: 'to-delete', availabilityZone: 'az-d' })
      await aggregates.addHost(admin, agg.id, 'c2')
      await expectError(aggregates.delete(admin, agg.id), 'INVALID', `Cannot remove host from aggregate ${agg.id}. Reason: Host aggregate is not empty.`)
      await aggregates.removeHost(admin, agg.id, 'c2')
      await aggregates.delete(admin, agg.id)
      await expectError(aggregates.get(admin, agg.id), 'NOT_FOUND', `Aggregate ${agg.id} could not be found.`)
      expect(await t.db.selectFrom('aggregate_metadata').select('id').where('aggregate_id', '=', agg.id).execute()).toEqual([])
      await expectError(aggregates.delete(admin, agg.id), 'NOT_FOUND', `Aggregate ${agg.id} could not be found.`)
    })

    it('answers the 2.81 image pre-cache with NOT_IMPLEMENTED once the request is valid', async () => {
      const agg = await aggregates.create(admin, { name: 'cache' })
      const image = crypto.randomUUID()
      await expectError(aggregates.cacheImages(admin, agg.id, [image, image]), 'INVALID', 'Duplicate images in request')
      await expectError(aggregates.cacheImages(admin, 987654, [image]), 'NOT_FOUND', 'Aggregate 987654 could not be found.')
      await expectError(aggregates.cacheImages(member, agg.id, [image]), 'FORBIDDEN', "Policy doesn't allow compute:aggregates:images to be performed.")
      await expectError(aggregates.cacheImages(admin, agg.id, [image]), 'NOT_IMPLEMENTED', `Image pre-caching is not supported (aggregate ${agg.id}).`)
      await aggregates.delete(admin, agg.id)
    })
  })

  it("sends Nova's versioned aggregate notifications with AggregatePayload", async () => {
    notifications.length = 0
    const agg = await aggregates.create(admin, { name: 'notified', availabilityZone: 'az-n' })
    await aggregates.addHost(admin, agg.id, 'c2')
    await aggregates.setMetadata(admin, agg.id, { k: 'v' })
    await aggregates.update(admin, agg.id, { name: 'notified-2' })
    await aggregates.removeHost(admin, agg.id, 'c2')
    await aggregates.delete(admin, agg.id)
    await vi.waitFor(() => expect(notifications.length).toBe(12))
    expect(notifications.map((n) => n.eventType)).toEqual([
      'aggregate.create.start', 'aggregate.create.end', 'aggregate.add_host.start', 'aggregate.add_host.end',
      'aggregate.update_metadata.start', 'aggregate.update_metadata.end', 'aggregate.update_prop.start', 'aggregate.update_prop.end',
      'aggregate.remove_host.start', 'aggregate.remove_host.end', 'aggregate.delete.start', 'aggregate.delete.end',
    ])
    expect(notifications.every((n) => n.publisherId === 'nova-api:api-1' && n.priority === 'info' && n.requestId === admin.requestId)).toBe(true)
    expect(notifications[0]?.payload).toEqual({
      'nova_object.name': 'AggregatePayload', 'nova_object.namespace': 'nova', 'nova_object.version': '1.1',
      'nova_object.data': { id: null, uuid: agg.uuid, name: 'notified', hosts: null, metadata: { availability_zone: 'az-n' } },
    })
    expect(notifications[3]?.payload['nova_object.data']).toEqual({ id: agg.id, uuid: agg.uuid, name: 'notified', hosts: ['c2'], metadata: { availability_zone: 'az-n' } })
    expect(notifications[6]?.payload['nova_object.data']).toMatchObject({ name: 'notified-2' })
  })
})

describe.each(databaseKindsUnderTest())('booting into an aggregate’s availability zone on %s', (kind: DatabaseKind) => {
  let t: TestDatabase | null = null
  let deployment: Deployment | null = null
  afterEach(async () => {
    await deployment?.stop()
    await t?.destroy()
    deployment = null
    t = null
  }, 120_000)

  it('lands every server on the zone’s host, through Placement member_of (query_placement_for_availability_zone)', async () => {
    t = await createTestDatabase(kind)
    const hosts = ['compute-1', 'compute-2', 'compute-3']
    deployment = createDeployment({
      database: { kind: 'handle', db: t.db },
      migrate: false,
      computeHosts: hosts.map((host) => ({ host, driver: new FakeVirtDriver({ hostname: host, vcpus: 16, memoryMb: 32768, localGb: 500, allocationRatios: { cpu: 1, ram: 1, disk: 1 } }) })),
      compute: { updateResourcesIntervalMs: 0, syncPowerStatesIntervalMs: 0 },
      scheduler: { queryPlacementForAvailabilityZone: true },
    })
    await deployment.start()
    const api = deployment.api
    const { user, project } = await api.identity.bootstrap({ adminUser: 'admin', adminPassword: 'secret' })
    const ctx: RequestContext = { requestId: 'req-az', userId: user.id, projectId: project.id, roles: ['admin', 'member', 'reader'], isAdmin: true }
    await api.quotas.update(ctx, project.id, { instances: -1, cores: -1, ram: -1 })
    await api.flavors.ensureDefaultFlavors()
    const image = await api.images.ensureDefaultImage()

    const agg = await api.aggregates.create(ctx, { name: 'agg1', availabilityZone: 'az1' })
    await api.aggregates.addHost(ctx, agg.id, 'compute-3')
    const node = await t.db.selectFrom('compute_nodes').select('uuid').where('host', '=', 'compute-3').executeTakeFirstOrThrow()
    expect((await api.placement.getAggregates(node.uuid)).aggregates).toEqual([agg.uuid])
    expect((await api.availabilityZones.list(ctx)).map((z) => z.zoneName).sort()).toEqual(['az1', 'nova'])

    const { instances } = await api.computeApi.createServers(ctx, { name: 'in-az1', imageRef: image.id, flavorRef: '1', networks: 'none', availabilityZone: 'az1', minCount: 3, maxCount: 3 })
    const db = t.db
    const rows = await vi.waitFor(
      async () => {
        const r = await db.selectFrom('instances').select(['vm_state', 'task_state', 'host', 'availability_zone']).where('uuid', 'in', instances.map((i) => i.uuid)).execute()
        expect(r.filter((x) => x.vm_state === 'active' && x.task_state === null)).toHaveLength(3)
        return r
      },
      { timeout: 60_000, interval: 25 },
    )
    expect(rows.map((r) => [r.host, r.availability_zone])).toEqual([['compute-3', 'az1'], ['compute-3', 'az1'], ['compute-3', 'az1']])

    // Once the host leaves the aggregate, its provider leaves the Placement aggregate and az1 is gone.
    expect((await api.aggregates.removeHost(ctx, agg.id, 'compute-3')).hosts).toEqual([])
    expect((await api.placement.getAggregates(node.uuid)).aggregates).toEqual([])
    const late = await api.computeApi.createServers(ctx, { name: 'late', imageRef: image.id, flavorRef: '1', networks: 'none', availabilityZone: 'az1' }).then(() => null, (e: unknown) => e)
    expect(late).toMatchObject({ code: 'INVALID', message: 'The requested availability zone is not available' })
  }, 120_000)
})
