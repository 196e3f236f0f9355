import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RequestContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import type { Clock } from '../util/clock.js'
import { AvailabilityZoneService } from './availability-zone-service.js'
import { HypervisorService } from './hypervisor-service.js'
import { PlacementService } from '../placement/placement-service.js'
import { ServiceService } from './service-service.js'

class TestClock implements Clock {
  constructor(public ms = Date.parse('2026-03-01T12:00:00.000Z')) {}
  now(): number {
    return this.ms
  }
}

const admin: RequestContext = { requestId: 'req-a', userId: 'admin-user', projectId: 'admin', roles: ['admin'], isAdmin: true }
const member: RequestContext = { requestId: 'req-m', userId: 'u', projectId: 'p', roles: ['member'], isAdmin: false }

describe.each(databaseKindsUnderTest())('hypervisors, services and zones on %s', (kind) => {
  let t: TestDatabase
  let clock: TestClock
  let hypervisors: HypervisorService
  let services: ServiceService
  let placement: PlacementService
  let zones: AvailabilityZoneService
  const ids: Record<string, number> = {}

  const iso = (offsetMs = 0) => new Date(clock.now() + offsetMs).toISOString()

  async function addService(host: string, binary: string, opts: { lastSeenMsAgo?: number; disabled?: boolean } = {}): Promise<number> {
    await t.db
      .insertInto('services')
      .values({
        uuid: crypto.randomUUID(), host, binary, topic: binary.replace('nova-', ''), report_count: 1, disabled: opts.disabled ? 1 : 0,
        disabled_reason: opts.disabled ? 'maintenance' : null, forced_down: 0, last_seen_up: iso(-(opts.lastSeenMsAgo ?? 0)), version: 1,
        created_at: iso(-3600_000), updated_at: null, deleted_at: null,
      })
      .execute()
    return (await t.db.selectFrom('services').select('id').where('host', '=', host).where('binary', '=', binary).executeTakeFirstOrThrow()).id
  }

  async function addNode(host: string, serviceId: number): Promise<string> {
    const uuid = crypto.randomUUID()
    await t.db
      .insertInto('compute_nodes')
      .values({
        uuid, service_id: serviceId, host, hypervisor_hostname: `${host}.local`, hypervisor_type: 'fake', hypervisor_version: 1000,
        vcpus: 8, memory_mb: 16384, local_gb: 100, vcpus_used: 2, memory_mb_used: 1024, local_gb_used: 10, free_ram_mb: 15360, free_disk_gb: 90,
        disk_available_least: 90, current_workload: 0, running_vms: 1, host_ip: '192.0.2.1', cpu_info: '{"arch":"x86_64"}', supported_instances: '[]',
        stats: '{}', metrics: '{}', cpu_allocation_ratio: 16, ram_allocation_ratio: 1.5, disk_allocation_ratio: 1, created_at: iso(), updated_at: iso(), deleted_at: null,
      })
      .execute()
    return uuid
  }

  beforeAll(async () => {
    t = await createTestDatabase(kind)
    clock = new TestClock()
    hypervisors = new HypervisorService(t.db, undefined, clock)
    placement = new PlacementService(t.db)
    services = new ServiceService(t.db, undefined, clock, undefined, { placement })
    zones = new AvailabilityZoneService(t.db, undefined, clock)
    ids.c1 = await addService('c1', 'nova-compute')
    ids.c2 = await addService('c2', 'nova-compute', { lastSeenMsAgo: 61_000 })
    ids.c3 = await addService('c3', 'nova-compute', { disabled: true })
    ids.conductor = await addService('ctl', 'nova-conductor')
    await addNode('c1', ids.c1)
    await addNode('c2', ids.c2)
    await addNode('c3', ids.c3)
    const now = iso()
    await t.db.insertInto('aggregates').values({ uuid: crypto.randomUUID(), name: 'rack-b', created_at: now, updated_at: null }).execute()
    const agg = await t.db.selectFrom('aggregates').select('id').where('name', '=', 'rack-b').executeTakeFirstOrThrow()
    await t.db.insertInto('aggregate_metadata').values({ aggregate_id: agg.id, key: 'availability_zone', value: 'az-b' }).execute()
    await t.db.insertInto('aggregate_hosts').values({ aggregate_id: agg.id, host: 'c3' }).execute()
    await t.db
      .insertInto('instances')
      .values({
        uuid: '11111111-1111-1111-1111-111111111111', display_name: 'vm', description: null, hostname: 'vm', project_id: 'p', user_id: 'u', image_ref: 'i',
        flavor: '{}', vm_state: 'active', task_state: null, power_state: 1, host: 'c1', node: 'c1.local', availability_zone: 'nova', key_name: null,
        key_data: null, user_data: null, metadata: '{}', system_metadata: '{}', networks: '"none"', access_ip_v4: null, access_ip_v6: null,
        config_drive: '', progress: 0, locked: 0, locked_by: null, locked_reason: null, reservation_id: 'r-1', launch_index: 0, launched_at: now,
        terminated_at: null, created_at: now, updated_at: null, deleted_at: null, deleted: 0,
      })
      .execute()
  })
  afterAll(async () => {
    await t?.destroy()
  })

  describe(HypervisorService.name, () => {
    it('lists compute nodes with state from the heartbeat and status from the service', async () => {
      const list = await hypervisors.detail(admin)
      expect(list.map((h) => [h.hypervisorHostname, h.state, h.status])).toEqual([
        ['c1.local', 'up', 'enabled'],
        ['c2.local', 'down', 'enabled'],
        ['c3.local', 'up', 'disabled'],
      ])
      expect(list[0]).toMatchObject({ vcpus: 8, memoryMb: 16384, freeRamMb: 15360, runningVms: 1, cpuInfo: { arch: 'x86_64' }, service: { host: 'c1', id: ids.c1 } })
      expect(list[2]?.service.disabledReason).toBe('maintenance')
    })

    it('shows one by id or uuid, with servers when asked', async () => {
      const [first] = await hypervisors.list(admin)
      expect((await hypervisors.show(admin, String(first?.id))).hypervisorHostname).toBe('c1.local')
      const withServers = await hypervisors.show(admin, first?.uuid ?? '', { withServers: true })
      expect(withServers.servers).toEqual([{ uuid: '11111111-1111-1111-1111-111111111111', name: 'vm' }])
      await expect(hypervisors.show(admin, 999)).rejects.toThrowError("Hypervisor with ID '999' could not be found.")
    })

    it('filters by hostname pattern, pages and sums statistics', async () => {
      expect((await hypervisors.list(admin, { hostnamePattern: 'c2' })).map((h) => h.hypervisorHostname)).toEqual(['c2.local'])
      await expect(hypervisors.list(admin, { hostnamePattern: 'zz' })).rejects.toThrowError("No hypervisor matching 'zz' could be found.")
      const [first] = await hypervisors.list(admin)
      expect((await hypervisors.list(admin, { marker: first?.id ?? 0, limit: 1 })).map((h) => h.hypervisorHostname)).toEqual(['c2.local'])
      expect(await hypervisors.statistics(admin)).toMatchObject({ count: 3, vcpus: 24, memoryMb: 3 * 16384, runningVms: 3 })
    })

    it('is admin only', async () => {
      await expect(hypervisors.list(member)).rejects.toThrowError("Policy doesn't allow os_compute_api:os-hypervisors:list to be performed.")
      await expect(hypervisors.detail(member)).rejects.toThrowError("Policy doesn't allow os_compute_api:os-hypervisors:list-detail to be performed.")
      await expect(hypervisors.show(member, 1)).rejects.toThrowError("Policy doesn't allow os_compute_api:os-hypervisors:show to be performed.")
    })
  })

  describe(ServiceService.name, () => {
    it('lists services with zone, status and state, filtered by host or binary', async () => {
      const all = await services.list(admin)
      expect(all.map((s) => [s.host, s.binary, s.zone, s.status, s.state])).toEqual([
        ['c1', 'nova-compute', 'nova', 'enabled', 'up'],
        ['c2', 'nova-compute', 'nova', 'enabled', 'down'],
        ['c3', 'nova-compute', 'az-b', 'disabled', 'up'],
        ['ctl', 'nova-conductor', 'internal', 'enabled', 'up'],
      ])
      expect((await services.list(admin, { binary: 'nova-conductor' })).map((s) => s.host)).toEqual(['ctl'])
      expect((await services.list(admin, { host: 'c2' })).map((s) => s.binary)).toEqual(['nova-compute'])
      await expect(services.list(member)).rejects.toThrowError("Policy doesn't allow os_compute_api:os-services:list to be performed.")
    })

    it('disables, enables and forces down a compute service, refusing other binaries', async () => {
      const c2 = (await services.list(admin, { host: 'c2' }))[0]!
      expect(await services.update(admin, c2.uuid, { status: 'disabled', disabledReason: 'broken' })).toMatchObject({ status: 'disabled', disabledReason: 'broken' })
      expect(await services.update(admin, c2.id, { status: 'enabled' })).toMatchObject({ status: 'enabled', disabledReason: null })
      expect(await services.updateByHost(admin, 'c2', 'nova-compute', { forcedDown: true })).toMatchObject({ forcedDown: true, state: 'down' })
      await expect(services.update(admin, c2.uuid, { status: 'enabled', disabledReason: 'x' })).rejects.toThrowError(
        "Specifying 'disabled_reason' with status 'enabled' is invalid.",
      )
      await expect(services.update(admin, ids.conductor ?? 0, { status: 'disabled' })).rejects.toThrowError(
        'Updating a nova-conductor service is not supported. Only nova-compute services can be updated.',
      )
      await expect(services.update(admin, 'nope', { status: 'disabled' })).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
      await services.updateByHost(admin, 'c2', 'nova-compute', { forcedDown: false })
    })

    it('refuses to delete a compute service hosting instances, and deletes an idle one with its nodes', async () => {
      await expect(services.delete(admin, ids.c1 ?? 0)).rejects.toThrowError(
        'Unable to delete compute service that is hosting instances. Migrate or delete the instances first.',
      )
      const extra = await addService('c9', 'nova-compute')
      const node = await addNode('c9', extra)
      // Its provider, in an aggregate: both leave Placement with the service, as in Nova.
      const rp = await placement.createProvider({ uuid: node, name: 'c9.local' })
      await placement.setAggregates(node, rp.generation, ['7c0d8c3e-1111-4222-8333-444455556666'])
      await services.delete(admin, extra)
      expect((await services.list(admin, { host: 'c9' }))).toEqual([])
      expect((await hypervisors.list(admin)).map((h) => h.hypervisorHostname)).not.toContain('c9.local')
      expect(await placement.getProvider(node)).toBeNull()
      expect(await t.db.selectFrom('resource_provider_aggregates').select('aggregate_uuid').execute()).toEqual([])
    })
  })

  describe(AvailabilityZoneService.name, () => {
    it('lists available zones first, hides internal, and marks zones with only disabled services unavailable', async () => {
      expect(await zones.list(member)).toEqual([
        { zoneName: 'nova', zoneState: { available: true }, hosts: null },
        { zoneName: 'az-b', zoneState: { available: false }, hosts: null },
      ])
    })

    it('details hosts and services per zone for admins, internal included', async () => {
      const detail = await zones.detail(admin)
      expect(detail.map((z) => [z.zoneName, z.zoneState.available])).toEqual([['internal', true], ['nova', true], ['az-b', false]])
      const nova = detail.find((z) => z.zoneName === 'nova')
      expect(nova?.hosts?.c1?.['nova-compute']).toMatchObject({ available: true, active: true })
      expect(nova?.hosts?.c2?.['nova-compute']).toMatchObject({ available: false, active: true })
      expect(detail.find((z) => z.zoneName === 'internal')?.hosts?.ctl?.['nova-conductor']?.available).toBe(true)
      await expect(zones.detail(member)).rejects.toThrowError("Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed.")
    })
  })
})
