import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createAdminContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'
import { NoValidHostError } from '../errors/no-valid-host-error.js'
import { PlacementService } from '../placement/placement-service.js'
import { makeRequestSpec } from '../testing/scheduler-fixtures.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { InMemoryTransport } from '../transport/in-memory-transport.js'
import { defineFilter } from './filter.js'
import { createInTreeRegistry } from './in-tree.js'
import { SchedulerManager, type SchedulerManagerOptions } from './scheduler-manager.js'
import { SchedulerRpcClient } from './scheduler-rpc.js'
import { clearHosts, seedHost, testClock } from './seed-hosts.test-helper.js'

const ctx = createAdminContext('req-test')
const instance = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

async function rejection(promise: Promise<unknown>): Promise<ComputeError> {
  try {
    await promise
  } catch (err) {
    if (ComputeError.is(err)) return err
    throw err
  }
  throw new Error('expected a rejection')
}

describe.each(databaseKindsUnderTest())('SchedulerManager on %s', (kind) => {
  let tdb: TestDatabase
  let placement: PlacementService
  let random: () => number

  const scheduler = (options: Partial<SchedulerManagerOptions> = {}) => new SchedulerManager({ db: tdb.db, placement, clock: testClock, random: () => random(), ...options })
  const claimedOn = async (uuid: string) => Object.keys((await placement.getAllocations(uuid)).allocations)

  beforeAll(async () => {
    tdb = await createTestDatabase(kind)
    placement = new PlacementService(tdb.db)
  })
  beforeEach(async () => {
    await clearHosts(tdb.db)
    random = () => 0
  })
  afterAll(async () => {
    await tdb?.destroy()
  })

  it('claims the best host and explains every filter verdict and weigher score', async () => {
    const big = await seedHost(tdb.db, placement, { host: 'big', freeRamMb: 16000 })
    await seedHost(tdb.db, placement, { host: 'small', freeRamMb: 4000 })
    await seedHost(tdb.db, placement, { host: 'off', disabled: true })
    const spec = makeRequestSpec({ instanceUuids: [instance(1)] })
    const result = await scheduler().selectDestinations(ctx, spec, { returnAlternates: false })
    expect(result.selections).toHaveLength(1)
    expect(result.selections[0]).toEqual([
      {
        serviceHost: 'big',
        nodename: 'big',
        computeNodeUuid: big,
        allocationRequest: { allocations: { [big]: { resources: { VCPU: 1, MEMORY_MB: 2048, DISK_GB: 20 } } }, mappings: { '': [big] } },
        allocationRequestVersion: '1.36',
        availabilityZone: 'nova',
      },
    ])
    expect(await claimedOn(instance(1))).toEqual([big])
    const first = result.explanation.instances[0]
    // Zed's default filters: for a plain flavor and image, in no server group, only ComputeFilter has anything to check.
    expect(first?.filters).toEqual(['ComputeFilter'])
    expect(first?.notApplicable).toEqual([
      'ComputeCapabilitiesFilter', 'ImagePropertiesFilter', 'ServerGroupAntiAffinityFilter', 'ServerGroupAffinityFilter',
      'MetricsWeigher', 'ServerGroupSoftAffinityWeigher', 'ServerGroupSoftAntiAffinityWeigher',
    ])
    const hosts = first?.hosts ?? []
    expect(hosts.map((h) => [h.host, h.weight === undefined ? null : 'weighed'])).toEqual([['big', 'weighed'], ['small', 'weighed'], ['off', null]])
    expect(hosts[2]?.rejectedBy).toEqual({ filter: 'ComputeFilter', reason: 'disabled' })
    expect(hosts[0]?.rejectedBy).toBeUndefined()
    const ram = hosts[0]?.weights?.find((w) => w.weigher === 'RamWeigher')
    expect(ram).toEqual({ weigher: 'RamWeigher', raw: 16000, normalized: 1, multiplier: 1, weighted: 1 })
    expect(hosts[1]?.weights?.find((w) => w.weigher === 'RamWeigher')?.normalized).toBe(0.25)
    const compact = await scheduler({ config: { explainTopHosts: 1 } }).selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(2)] }), { returnAlternates: false })
    expect(compact.explanation.instances[0]?.hosts.map((h) => h.weights !== undefined)).toEqual([true, false, false])
    expect(result.explanation).toMatchObject({ candidateCount: 3, hostCount: 3, placementRejections: [] })
  })

  it('spreads a multi-create over equal hosts and keeps spreading across requests', async () => {
    for (const h of ['eq-1', 'eq-2', 'eq-3', 'eq-4']) await seedHost(tdb.db, placement, { host: h })
    const s = scheduler()
    const multi = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1), instance(2), instance(3)] }), { returnAlternates: false })
    const first = multi.selections.map((l) => l[0]?.serviceHost)
    expect(new Set(first).size).toBe(3)
    const single = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(4)] }), { returnAlternates: false })
    expect([...first, single.selections[0]?.[0]?.serviceHost].sort()).toEqual(['eq-1', 'eq-2', 'eq-3', 'eq-4'])
  })

  it('picks among the best hostSubsetSize hosts with the random source', async () => {
    await seedHost(tdb.db, placement, { host: 'a', freeRamMb: 9000 })
    await seedHost(tdb.db, placement, { host: 'b', freeRamMb: 8000 })
    await seedHost(tdb.db, placement, { host: 'c', freeRamMb: 1000 })
    random = () => 0.99
    const result = await scheduler({ config: { hostSubsetSize: 2 } }).selectDestinations(ctx, makeRequestSpec(), { returnAlternates: false })
    expect(result.selections[0]?.[0]?.serviceHost).toBe('b')
  })

  it('returns maxAttempts − 1 unclaimed alternates, each with its own allocation request', async () => {
    const uuids: Record<string, string> = {}
    for (const [h, free] of [['alt-1', 9000], ['alt-2', 8000], ['alt-3', 7000], ['alt-4', 6000]] as const) uuids[h] = await seedHost(tdb.db, placement, { host: h, freeRamMb: free })
    const result = await scheduler().selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)] }), { returnAlternates: true })
    const list = result.selections[0] ?? []
    expect(list.map((s) => s.serviceHost)).toEqual(['alt-1', 'alt-2', 'alt-3'])
    for (const s of list) expect(Object.keys(s.allocationRequest.allocations)).toEqual([uuids[s.serviceHost]])
    expect(await claimedOn(instance(1))).toEqual([uuids['alt-1']])
    expect((await placement.getProviderUsages(uuids['alt-2'] as string)).usages['MEMORY_MB']).toBe(0)
    expect(result.explanation.instances[0]?.alternates).toEqual([uuids['alt-2'], uuids['alt-3']])
  })

  it('tries the next host when a claim fails', async () => {
    // "roomy" looks best to the RAM weigher (its record says 64 GiB free) but Placement only has room for one.
    const roomy = await seedHost(tdb.db, placement, { host: 'roomy', memoryMb: 65536, placementMemoryMb: 3000 })
    const other = await seedHost(tdb.db, placement, { host: 'other', memoryMb: 8192 })
    const s = scheduler({ config: { weighers: { RamWeigher: 1 } } })
    const result = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1), instance(2)] }), { returnAlternates: false })
    expect(result.selections.map((l) => l[0]?.serviceHost)).toEqual(['roomy', 'other'])
    expect(result.explanation.instances[1]?.claimFailures).toEqual([{ host: 'roomy', uuid: roomy, reason: expect.stringContaining('exceeds capacity 3000') }])
    expect(await claimedOn(instance(2))).toEqual([other])
  })

  it('fails with a summary that names the counts per filter and Placement reason', async () => {
    for (let i = 0; i < 7; i++) await seedHost(tdb.db, placement, { host: `dis-${i}`, disabled: true })
    for (let i = 0; i < 5; i++) await seedHost(tdb.db, placement, { host: `tiny-${i}`, memoryMb: 1024 })
    const err = await rejection(scheduler().selectDestinations(ctx, makeRequestSpec(), { returnAlternates: true }))
    expect(err).toBeInstanceOf(NoValidHostError)
    expect(err.message).toBe('No valid host was found. 0 of 12 hosts: 7 rejected by ComputeFilter (disabled), 5 had too little MEMORY_MB in Placement')
    const details = (err as NoValidHostError).explanation
    expect(details.hostCount).toBe(12)
    expect(details.rejections.filter((r) => r.by === 'Placement')[0]?.reason).toBe('too little MEMORY_MB: wants 2048 MEMORY_MB, free 1024 (capacity 1024, used 0)')
  })

  it('counts hosts Placement leaves out for the COMPUTE_STATUS_DISABLED trait', async () => {
    await seedHost(tdb.db, placement, { host: 'trait-off', traits: ['COMPUTE_STATUS_DISABLED'] })
    await seedHost(tdb.db, placement, { host: 'down', lastSeenAgoSec: 600 })
    const err = await rejection(scheduler().selectDestinations(ctx, makeRequestSpec(), { returnAlternates: false }))
    expect(err.message).toBe('No valid host was found. 0 of 2 hosts: 1 rejected by ComputeFilter (down (no recent heartbeat)), 1 had forbidden trait COMPUTE_STATUS_DISABLED in Placement')
  })

  it('is all or nothing: when one instance of a multi-create cannot be placed, no claim remains', async () => {
    await seedHost(tdb.db, placement, { host: 'grp-1' })
    await seedHost(tdb.db, placement, { host: 'grp-2' })
    const spec = makeRequestSpec({ instanceUuids: [instance(1), instance(2), instance(3)], instanceGroup: { policy: 'anti-affinity' } })
    const err = await rejection(scheduler().selectDestinations(ctx, spec, { returnAlternates: false }))
    expect(err.code).toBe('NO_VALID_HOST')
    expect(err.message).toContain('placed 2 of 3 instances before running out of hosts; then 0 of 2 hosts: 2 rejected by ServerGroupAntiAffinityFilter')
    for (const n of [1, 2, 3]) expect(await claimedOn(instance(n))).toEqual([])
  })

  it('keeps hard affinity on the first member’s host', async () => {
    await seedHost(tdb.db, placement, { host: 'aff-1', freeRamMb: 9000 })
    await seedHost(tdb.db, placement, { host: 'aff-2', freeRamMb: 1000 })
    const spec = makeRequestSpec({ instanceUuids: [instance(1), instance(2)], instanceGroup: { policy: 'affinity' } })
    const result = await scheduler().selectDestinations(ctx, spec, { returnAlternates: false })
    expect(result.selections.map((l) => l[0]?.serviceHost)).toEqual(['aff-1', 'aff-1'])
  })

  it('places a request only a child provider serves on the compute node at the root of its tree', async () => {
    await seedHost(tdb.db, placement, { host: 'flat-1' })
    const root = await seedHost(tdb.db, placement, { host: 'tree-1' })
    await placement.createResourceClass('CUSTOM_MAGIC')
    const child = await placement.createProvider({ name: 'tree-1-accel', parentProviderUuid: root })
    await placement.setInventories(child.uuid, child.generation, { CUSTOM_MAGIC: { total: 4 } })
    const extraSpecs = { 'resources:VCPU': '0', 'resources:MEMORY_MB': '0', 'resources:DISK_GB': '0', 'resources:CUSTOM_MAGIC': '1' }
    const result = await scheduler().selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)], flavor: { extraSpecs } }), { returnAlternates: true })
    expect(result.selections[0]?.[0]).toMatchObject({ serviceHost: 'tree-1', computeNodeUuid: root, allocationRequest: { allocations: { [child.uuid]: { resources: { CUSTOM_MAGIC: 1 } } } } })
    expect(result.explanation).toMatchObject({ candidateCount: 1, hostCount: 1 })
    expect(await claimedOn(instance(1))).toEqual([child.uuid])
  })

  it('honours ignore_hosts, a requested host and the availability zone', async () => {
    const now = new Date(testClock.now()).toISOString()
    await seedHost(tdb.db, placement, { host: 'z-1' })
    await seedHost(tdb.db, placement, { host: 'z-2' })
    await seedHost(tdb.db, placement, { host: 'z-3' })
    await tdb.db.insertInto('aggregates').values({ uuid: '22222222-2222-4222-8222-222222222222', name: 'zone-b', created_at: now, updated_at: null }).execute()
    const agg = await tdb.db.selectFrom('aggregates').select('id').where('name', '=', 'zone-b').executeTakeFirstOrThrow()
    await tdb.db.insertInto('aggregate_hosts').values([{ aggregate_id: agg.id, host: 'z-2' }, { aggregate_id: agg.id, host: 'z-3' }]).execute()
    await tdb.db.insertInto('aggregate_metadata').values({ aggregate_id: agg.id, key: 'availability_zone', value: 'zone-b' }).execute()
    // The aggregate is written straight to the database, not mirrored into Placement: the scheduler's own zone check
    // is what is tested here, so Placement is not asked for the zone.
    const s = scheduler({ config: { queryPlacementForAvailabilityZone: false } })
    const zoned = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)], availabilityZone: 'zone-b', ignoreHosts: ['z-2'] }), { returnAlternates: false })
    expect(zoned.selections[0]?.[0]).toMatchObject({ serviceHost: 'z-3', availabilityZone: 'zone-b' })
    const forced = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(2)], requestedHost: 'z-1' }), { returnAlternates: true })
    expect(forced.selections[0]?.map((x) => x.serviceHost)).toEqual(['z-1'])
    const err = await rejection(s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(3)], availabilityZone: 'zone-x' }), { returnAlternates: false }))
    expect(err.message).toContain('3 rejected by AvailabilityZoneFilter (in availability zone nova, not zone-x; in availability zone zone-b, not zone-x)')
  })

  it('fails the request with PLUGIN when a filter throws, leaving nothing claimed', async () => {
    await seedHost(tdb.db, placement, { host: 'bug-1' })
    const Broken = defineFilter({
      name: 'BrokenFilter',
      filter: () => {
        throw new Error('boom')
      },
    })
    const s = scheduler({ registry: createInTreeRegistry().register(Broken), config: { filters: ['ComputeFilter', 'BrokenFilter'] } })
    const err = await rejection(s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)] }), { returnAlternates: false }))
    expect(err.code).toBe('PLUGIN')
    expect(err.message).toBe('scheduler plugin "BrokenFilter" failed on host bug-1: boom')
    expect((err.cause as Error).message).toBe('boom')
    expect(await claimedOn(instance(1))).toEqual([])
  })

  it('runs only runOnRebuild filters for a same-host rebuild, claiming nothing', async () => {
    const uuid = await seedHost(tdb.db, placement, { host: 'rb-1', disabled: true, supportedInstances: [['x86_64', 'qemu', 'hvm']] })
    const s = scheduler()
    const ok = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)], isRebuild: true, requestedHost: 'rb-1' }), { returnAlternates: false })
    expect(ok.selections[0]?.[0]).toMatchObject({ serviceHost: 'rb-1', computeNodeUuid: uuid, allocationRequest: { allocations: {} } })
    // An image with no architecture, hypervisor or vm mode gives ImagePropertiesFilter nothing to check.
    expect(ok.explanation.instances[0]).toMatchObject({ filters: [], notApplicable: ['ImagePropertiesFilter'] })
    expect(ok.explanation.instances[0]?.hosts[0]?.rejectedBy).toBeUndefined()
    const err = await rejection(
      s.selectDestinations(ctx, makeRequestSpec({ isRebuild: true, requestedHost: 'rb-1', image: { properties: { hw_architecture: 'aarch64' } } }), { returnAlternates: false }),
    )
    expect(err.message).toContain('0 of 1 hosts: 1 rejected by ImagePropertiesFilter')
  })

  it('serves select_destinations on topic "scheduler", and NoValidHost crosses the transport', async () => {
    await seedHost(tdb.db, placement, { host: 'rpc-1' })
    const transport = new InMemoryTransport()
    const s = scheduler({ transport })
    await s.start()
    try {
      const client = new SchedulerRpcClient(transport)
      const result = await client.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)] }), { returnAlternates: true })
      expect(result.selections[0]?.[0]?.serviceHost).toBe('rpc-1')
      const err = await rejection(client.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(2)], flavor: { vcpus: 1000 } }), { returnAlternates: true }))
      expect(err).toBeInstanceOf(NoValidHostError)
      expect(err.message).toBe('No valid host was found. 0 of 1 hosts: 1 had too little VCPU in Placement')
    } finally {
      await s.stop()
      await transport.close()
    }
  })

  it('refuses an invalid configuration at construction', () => {
    expect(() => scheduler({ config: { filters: ['NoSuchFilter'] } })).toThrow('unknown filter "NoSuchFilter" (available: ')
    expect(() => scheduler({ config: { maxPlacementResults: 0 } })).toThrow('invalid scheduler maxPlacementResults 0: must be a positive integer')
    expect(() => new SchedulerManager({ placement })).toThrow('the scheduler needs a database (db) or a HostStateSource (hostStates)')
  })
})
