import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createAdminContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'
import { NoValidHostError } from '../errors/no-valid-host-error.js'
import { PlacementService } from '../placement/placement-service.js'
import { makeRequestSpec } from '../testing/scheduler-fixtures.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { explainHost, type SchedulingExplanation } from './explanation.js'
import { SchedulerManager, type SchedulerManagerOptions } from './scheduler-manager.js'
import { clearHosts, seedHost, testClock } from './seed-hosts.test-helper.js'

const ctx = createAdminContext('req-features')
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

/*
 * Request filters, dry runs, "why not host X" and explanations off, against Placement and host states in each database.
 */
describe.each(databaseKindsUnderTest())('scheduler features on %s', (kind) => {
  let tdb: TestDatabase
  let placement: PlacementService
  const scheduler = (options: Partial<SchedulerManagerOptions> = {}) => new SchedulerManager({ db: tdb.db, placement, clock: testClock, random: () => 0, ...options })

  /** A host aggregate with metadata, mirrored into Placement (as `nova-manage placement sync_aggregates` would). */
  async function aggregate(name: string, uuid: string, hosts: readonly string[], metadata: Readonly<Record<string, string>>): Promise<void> {
    const now = new Date(testClock.now()).toISOString()
    await tdb.db.insertInto('aggregates').values({ uuid, name, created_at: now, updated_at: null }).execute()
    const { id } = await tdb.db.selectFrom('aggregates').select('id').where('uuid', '=', uuid).executeTakeFirstOrThrow()
    for (const host of hosts) {
      await tdb.db.insertInto('aggregate_hosts').values({ aggregate_id: id, host }).execute()
      const node = await tdb.db.selectFrom('compute_nodes').select('uuid').where('host', '=', host).executeTakeFirstOrThrow()
      const current = await placement.getAggregates(node.uuid)
      await placement.setAggregates(node.uuid, current.resourceProviderGeneration, [...current.aggregates, uuid])
    }
    for (const [key, value] of Object.entries(metadata)) await tdb.db.insertInto('aggregate_metadata').values({ aggregate_id: id, key, value }).execute()
  }

  beforeAll(async () => {
    tdb = await createTestDatabase(kind)
    placement = new PlacementService(tdb.db)
  })
  beforeEach(async () => {
    await clearHosts(tdb.db)
  })
  afterAll(async () => {
    await tdb?.destroy()
  })

  describe('request filters', () => {
    it('records what each request filter did and forbids disabled computes in Placement by default', async () => {
      await seedHost(tdb.db, placement, { host: 'rf-1' })
      const result = await scheduler().selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)] }), { returnAlternates: false })
      // Zed's defaults: a zone is asked of Placement (nothing to do without one), disabled computes are forbidden.
      expect(result.explanation.requestFilters).toEqual([
        { requestFilter: 'AvailabilityZoneRequestFilter', changed: false },
        { requestFilter: 'ComputeStatusRequestFilter', changed: true },
      ])
      expect(result.explanation.placementQuery.rootRequired).toEqual(['!COMPUTE_STATUS_DISABLED'])
    })

    it('restricts a project to its aggregates (filter_tenant_id), and rejects it before Placement when one is required', async () => {
      for (const h of ['ten-1', 'ten-2', 'ten-3']) await seedHost(tdb.db, placement, { host: h, freeRamMb: h === 'ten-1' ? 16000 : 1000 })
      await aggregate('tenant-a', '33333333-3333-4333-8333-000000000001', ['ten-2', 'ten-3'], { filter_tenant_id: 'project-a' })
      const s = scheduler({ config: { requestFilters: ['TenantAggregateRequestFilter', 'ComputeStatusRequestFilter'] } })
      const placed = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)], projectId: 'project-a' }), { returnAlternates: false })
      expect(placed.selections[0]?.[0]?.serviceHost).toMatch(/^ten-[23]$/)
      expect(placed.explanation.placementQuery.groups[0]?.memberOf).toEqual([['33333333-3333-4333-8333-000000000001']])
      const anyone = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(2)], projectId: 'project-b' }), { returnAlternates: false })
      expect(anyone.selections[0]?.[0]?.serviceHost).toBe('ten-1')

      const strict = scheduler({ config: { requestFilters: ['require_tenant_aggregate'], pluginOptions: { TenantAggregateRequestFilter: { required: true } } } })
      const err = await rejection(strict.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(3)], projectId: 'project-b' }), { returnAlternates: false }))
      expect(err).toBeInstanceOf(NoValidHostError)
      expect(err.message).toBe(
        'No valid host was found. rejected by TenantAggregateRequestFilter before Placement was asked: no aggregate is reserved for project project-b (filter_tenant_id), and one is required',
      )
      expect(Object.keys((await placement.getAllocations(instance(3))).allocations)).toEqual([])
    })

    it('maps a zone to its aggregates in Placement with queryPlacementForAvailabilityZone', async () => {
      for (const h of ['az-1', 'az-2']) await seedHost(tdb.db, placement, { host: h, freeRamMb: h === 'az-1' ? 16000 : 1000 })
      await aggregate('zone-east', '33333333-3333-4333-8333-000000000002', ['az-2'], { availability_zone: 'east' })
      const result = await scheduler({ config: { queryPlacementForAvailabilityZone: true } }).selectDestinations(
        ctx,
        makeRequestSpec({ instanceUuids: [instance(1)], availabilityZone: 'east' }),
        { returnAlternates: false },
      )
      expect(result.selections[0]?.[0]).toMatchObject({ serviceHost: 'az-2', availabilityZone: 'east' })
      expect(result.explanation.candidateCount).toBe(1)
      expect(result.explanation.requestFilters?.map((r) => r.requestFilter)).toEqual(['AvailabilityZoneRequestFilter', 'ComputeStatusRequestFilter'])
    })

    it('sends an image only to hosts that support its disk format with ImageTypeRequestFilter', async () => {
      await seedHost(tdb.db, placement, { host: 'raw-only', traits: ['COMPUTE_IMAGE_TYPE_RAW'], freeRamMb: 16000 })
      await seedHost(tdb.db, placement, { host: 'qcow', traits: ['COMPUTE_IMAGE_TYPE_RAW', 'COMPUTE_IMAGE_TYPE_QCOW2'], freeRamMb: 1000 })
      const s = scheduler({ config: { requestFilters: ['ImageTypeRequestFilter', 'ComputeStatusRequestFilter'] } })
      const result = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)], image: { diskFormat: 'qcow2' } }), { returnAlternates: false })
      expect(result.selections[0]?.[0]?.serviceHost).toBe('qcow')
      const err = await rejection(s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(2)], image: { diskFormat: 'vmdk' } }), { returnAlternates: false }))
      expect(err.message).toBe('No valid host was found. 0 of 2 hosts: 2 had no trait COMPUTE_IMAGE_TYPE_VMDK in Placement')
    })
  })

  describe('dry run', () => {
    it('answers where a request would land and why not each other host, claiming nothing', async () => {
      const best = await seedHost(tdb.db, placement, { host: 'dry-best', freeRamMb: 16000 })
      await seedHost(tdb.db, placement, { host: 'dry-second', freeRamMb: 8000 })
      await seedHost(tdb.db, placement, { host: 'dry-off', disabled: true, disabledReason: 'maintenance' })
      await seedHost(tdb.db, placement, { host: 'dry-small', memoryMb: 1024 })
      const s = scheduler()
      const result = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)] }), { returnAlternates: true, dryRun: true })
      expect(result.selections[0]?.map((x) => x.serviceHost)).toEqual(['dry-best', 'dry-second'])
      expect(result.explanation.dryRun).toBe(true)
      expect(await placement.getAllocations(instance(1))).toMatchObject({ allocations: {} })
      expect((await placement.getProviderUsages(best)).usages['MEMORY_MB']).toBe(0)

      const e = result.explanation
      expect(e.hostCount).toBe(4)
      expect(explainHost(e, 'dry-best')).toMatchObject({ outcome: 'selected', instanceUuid: instance(1) })
      expect(explainHost(e, 'dry-second')).toMatchObject({ outcome: 'alternate', rank: 2, passedCount: 2 })
      expect(explainHost(e, 'dry-second').summary).toMatch(/^dry-second passed every filter and is an alternate: ranked 2 of 2 with weight [\d.]+ \(best [\d.]+\)$/)
      expect(explainHost(e, 'dry-off')).toEqual({ host: 'dry-off', outcome: 'rejected', by: 'ComputeFilter', reason: 'disabled (maintenance)', summary: 'dry-off was rejected by ComputeFilter: disabled (maintenance)' })
      expect(explainHost(e, 'dry-small')).toMatchObject({
        outcome: 'rejected',
        by: 'Placement',
        summary: 'dry-small was left out by Placement: too little MEMORY_MB: wants 2048 MEMORY_MB, free 1024 (capacity 1024, used 0)',
      })
      expect(explainHost(e, 'nowhere')).toMatchObject({ outcome: 'unknown' })
    })

    it('checks a multi-create against Placement usage without writing it', async () => {
      const only = await seedHost(tdb.db, placement, { host: 'dry-two', memoryMb: 4096 })
      const s = scheduler()
      const two = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1), instance(2)] }), { returnAlternates: false, dryRun: true })
      expect(two.selections.map((l) => l[0]?.serviceHost)).toEqual(['dry-two', 'dry-two'])
      const err = await rejection(s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1), instance(2), instance(3)] }), { returnAlternates: false, dryRun: true }))
      expect(err.message).toBe('No valid host was found. placed 2 of 3 instances before running out of hosts; then 0 of 1 hosts: 1 had no room left when claiming in Placement')
      expect((await placement.getProviderUsages(only)).usages['MEMORY_MB']).toBe(0)
      const real = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(4)] }), { returnAlternates: false })
      expect(real.selections[0]?.[0]?.serviceHost).toBe('dry-two')
    })
  })

  describe('explanations off', () => {
    it('keeps counts, selections and the NoValidHost summary, without per-host records', async () => {
      await seedHost(tdb.db, placement, { host: 'quiet-1' })
      await seedHost(tdb.db, placement, { host: 'quiet-off', disabled: true })
      const s = scheduler({ config: { explain: false } })
      const result = await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(1)] }), { returnAlternates: false })
      const e: SchedulingExplanation = result.explanation
      expect(e.instances).toEqual([{ instanceUuid: instance(1), filters: expect.any(Array), notApplicable: expect.any(Array), hosts: [], selected: result.selections[0]?.[0]?.computeNodeUuid, alternates: [], claimFailures: [] }])
      expect(e.hostCount).toBe(2)
      const err = await rejection(s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: [instance(2)], requestedHost: 'quiet-off' }), { returnAlternates: false }))
      expect(err.message).toBe('No valid host was found. 0 of 2 hosts: 1 rejected by RequestedDestination (requested host is quiet-off), 1 rejected by ComputeFilter (disabled)')
    })
  })
})
