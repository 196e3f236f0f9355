import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { PlacementService } from '../placement/placement-service.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { DatabaseHostStateSource } from './host-state-source.js'
import { clearHosts, seedHost, TEST_NOW, testClock } from './seed-hosts.test-helper.js'

describe.each(databaseKindsUnderTest())('DatabaseHostStateSource on %s', (kind) => {
  let tdb: TestDatabase
  let placement: PlacementService
  let source: DatabaseHostStateSource

  beforeAll(async () => {
    tdb = await createTestDatabase(kind)
    placement = new PlacementService(tdb.db)
    source = new DatabaseHostStateSource(tdb.db, { clock: testClock, serviceDownTimeSec: 60 })
  })
  beforeEach(async () => {
    await clearHosts(tdb.db)
  })
  afterAll(async () => {
    await tdb?.destroy()
  })

  it('builds host states from the compute node, its service, aggregates, instances and provider traits', async () => {
    const uuid = await seedHost(tdb.db, placement, {
      host: 'cmp-1',
      vcpus: 8,
      memoryMb: 16384,
      freeRamMb: 12000,
      diskGb: 200,
      traits: ['HW_CPU_X86_AVX2', 'COMPUTE_NET_ATTACH_INTERFACE'],
      stats: { num_instances: '2', io_workload: '1', failed_builds: '3' },
    })
    const now = new Date(TEST_NOW).toISOString()
    await tdb.db.insertInto('aggregates').values({ uuid: '11111111-1111-4111-8111-111111111111', name: 'fast', created_at: now, updated_at: null }).execute()
    const agg = await tdb.db.selectFrom('aggregates').select('id').where('name', '=', 'fast').executeTakeFirstOrThrow()
    await tdb.db.insertInto('aggregate_hosts').values({ aggregate_id: agg.id, host: 'cmp-1' }).execute()
    await tdb.db.insertInto('aggregate_metadata').values([
      { aggregate_id: agg.id, key: 'availability_zone', value: 'az-1' },
      { aggregate_id: agg.id, key: 'ram_weight_multiplier', value: '2' },
    ]).execute()
    for (const [i, node] of ['cmp-1', 'cmp-1', 'other'].entries()) {
      await tdb.db
        .insertInto('instances')
        .values({
          uuid: `00000000-0000-4000-8000-00000000000${i}`, display_name: `vm${i}`, hostname: `vm${i}`, project_id: 'p', user_id: 'u', image_ref: 'img', flavor: '{}',
          vm_state: 'active', task_state: null, power_state: 1, host: node === 'other' ? 'other' : 'cmp-1', node, availability_zone: null, key_name: null, key_data: null,
          user_data: null, metadata: '{}', system_metadata: '{}', networks: '"none"', access_ip_v4: null, access_ip_v6: null, config_drive: '', progress: 0, locked: 0,
          locked_by: null, locked_reason: null, reservation_id: 'r', launch_index: 0, launched_at: null, terminated_at: null, created_at: now, updated_at: null,
          deleted_at: null, deleted: 0, description: null,
        })
        .execute()
    }
    const [state] = await source.getHostStates([uuid])
    expect(state).toMatchObject({
      host: 'cmp-1',
      nodename: 'cmp-1',
      uuid,
      vcpusTotal: 8,
      freeRamMb: 12000,
      totalUsableRamMb: 16384,
      freeDiskMb: 200 * 1024,
      numInstances: 2,
      numIoOps: 1,
      failedBuilds: 3,
      cpuInfo: { arch: 'x86_64' },
      supportedInstances: [['x86_64', 'qemu', 'hvm']],
      service: { disabled: false, forcedDown: false, up: true, disabledReason: null },
      traits: ['COMPUTE_NET_ATTACH_INTERFACE', 'HW_CPU_X86_AVX2'],
      instanceUuids: ['00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000001'],
    })
    expect(state?.aggregates).toEqual([
      { id: agg.id, uuid: '11111111-1111-4111-8111-111111111111', name: 'fast', availabilityZone: 'az-1', metadata: { availability_zone: 'az-1', ram_weight_multiplier: '2' } },
    ])
  })

  it.each([
    { seed: { lastSeenAgoSec: 5 }, service: { up: true, disabled: false, forcedDown: false } },
    { seed: { lastSeenAgoSec: 61 }, service: { up: false } },
    { seed: { forcedDown: true }, service: { up: false, forcedDown: true } },
    { seed: { disabled: true, disabledReason: 'maintenance' }, service: { up: true, disabled: true, disabledReason: 'maintenance' } },
  ])('service liveness: $seed → $service', async ({ seed, service }) => {
    const uuid = await seedHost(tdb.db, placement, { host: 'live-1', ...seed })
    const [state] = await source.getHostStates([uuid])
    expect(state?.service).toMatchObject(service)
  })

  it('rereads a compute node record when its updated_at moves, and takes traits from the caller when given', async () => {
    const uuid = await seedHost(tdb.db, placement, { host: 'fresh-1', freeRamMb: 1000, traits: ['HW_CPU_X86_AVX2'] })
    expect((await source.getHostStates([uuid]))[0]?.freeRamMb).toBe(1000)
    await tdb.db.updateTable('compute_nodes').set({ free_ram_mb: 500 }).where('uuid', '=', uuid).execute()
    expect((await source.getHostStates([uuid]))[0]?.freeRamMb).toBe(1000)
    await tdb.db.updateTable('compute_nodes').set({ free_ram_mb: 400, updated_at: new Date(TEST_NOW + 60_000).toISOString() }).where('uuid', '=', uuid).execute()
    expect((await source.getHostStates([uuid]))[0]?.freeRamMb).toBe(400)
    expect((await source.getHostStates([uuid], { traits: new Map([[uuid, ['CUSTOM_GIVEN']]]) }))[0]?.traits).toEqual(['CUSTOM_GIVEN'])
  })

  it('keeps the order asked for and leaves out unknown nodes', async () => {
    const a = await seedHost(tdb.db, placement, { host: 'ord-a' })
    const b = await seedHost(tdb.db, placement, { host: 'ord-b' })
    const states = await source.getHostStates([b, '99999999-9999-4999-8999-999999999999', a])
    expect(states.map((s) => s.host)).toEqual(['ord-b', 'ord-a'])
    expect((await source.getHostStatesByHost('ord-a')).map((s) => s.uuid)).toEqual([a])
  })

  it('uses the same number of queries for 2 hosts as for 25', async () => {
    const uuids: string[] = []
    for (let i = 0; i < 25; i++) uuids.push(await seedHost(tdb.db, placement, { host: `q-${i}` }))
    const count = async (ids: string[]) => {
      let queries = 0
      const counted = tdb.db.withPlugin({ transformQuery: (args) => (queries++, args.node), transformResult: async (args) => args.result })
      const states = await new DatabaseHostStateSource(counted, { clock: testClock }).getHostStates(ids)
      return { queries, states: states.length }
    }
    const few = await count(uuids.slice(0, 2))
    const many = await count(uuids)
    expect(few.states).toBe(2)
    expect(many.states).toBe(25)
    expect(many.queries).toBe(few.queries)
  })
})
