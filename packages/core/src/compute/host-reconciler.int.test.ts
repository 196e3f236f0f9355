import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConductorComputeRpcClient } from '../conductor/conductor-compute-rpc.js'
import { ConductorManager } from '../conductor/conductor-manager.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import type { Instance } from '../model/instance.js'
import { PlacementService } from '../placement/placement-service.js'
import { FakeVirtDriver } from '../testing/fake-virt-driver.js'
import { makeImageMeta } from '../testing/make-instance.js'
import { seedBuildingInstances } from '../testing/seed-instances.js'
import { createTestDatabase, type TestDatabase } from '../testing/test-databases.js'
import { InMemoryBroker, InMemoryTransport } from '../transport/in-memory-transport.js'
import { ComputeHostReconciler } from './host-reconciler.js'

interface Harness {
  readonly tdb: TestDatabase
  readonly conductor: ConductorManager
  readonly transports: InMemoryTransport[]
  readonly proxy: ConductorComputeRpcClient
  readonly instances: InstanceRepository
  readonly driver: FakeVirtDriver
  readonly reconciler: ComputeHostReconciler
}

let h: Harness

beforeEach(async () => {
  const tdb = await createTestDatabase('sqlite')
  const broker = new InMemoryBroker()
  const conductorTransport = new InMemoryTransport({ broker })
  const computeTransport = new InMemoryTransport({ broker })
  const conductor = new ConductorManager({ db: tdb.db, transport: conductorTransport, placement: new PlacementService(tdb.db) })
  await conductor.start()
  const driver = new FakeVirtDriver({ hostname: 'compute-1' })
  await driver.init()
  const proxy = new ConductorComputeRpcClient(computeTransport)
  h = {
    tdb, conductor, driver, proxy,
    transports: [conductorTransport, computeTransport],
    instances: new InstanceRepository(tdb.db),
    reconciler: new ComputeHostReconciler({ host: 'compute-1', driver, conductor: proxy }),
  }
})

afterEach(async () => {
  await h.conductor.stop()
  await h.driver.close()
  await Promise.all(h.transports.map((t) => t.close()))
  await h.tdb.destroy()
})

/** Seeds `count` instances placed on `host` in the given state. */
async function placed(count: number, host: string, patch: { vmState: string; taskState: string | null }): Promise<Instance[]> {
  const { instances } = await seedBuildingInstances(h.tdb.db, { count })
  const out: Instance[] = []
  for (const i of instances) out.push(await h.instances.update(i.uuid, { host, node: host, ...patch }, { updatedAt: new Date().toISOString() }))
  return out
}

const faultsOf = (uuid: string) => h.tdb.db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).execute()

describe(ComputeHostReconciler.name, () => {
  describe('.failInterruptedBuilds', () => {
    it('sets each build of the host left scheduling or spawning to ERROR, after a fault that says why', async () => {
      const [spawning] = await placed(1, 'compute-1', { vmState: 'building', taskState: 'spawning' })
      const [scheduled] = await placed(1, 'compute-1', { vmState: 'building', taskState: 'scheduling' })
      const failed = await h.reconciler.failInterruptedBuilds()
      expect(failed.sort()).toEqual([spawning!.uuid, scheduled!.uuid].sort())
      for (const [instance, task] of [[spawning!, 'spawning'], [scheduled!, 'scheduling']] as const) {
        expect(await h.instances.get(instance.uuid)).toMatchObject({ vmState: 'error', taskState: null, host: 'compute-1' })
        const faults = await faultsOf(instance.uuid)
        expect(faults).toHaveLength(1)
        expect(faults[0]).toMatchObject({ code: 500, host: 'compute-1' })
        expect(faults[0]!.message).toContain(`the compute service on host compute-1 stopped while the instance was ${task}`)
      }
    })

    it('leaves active instances, other hosts, and builds being deleted alone', async () => {
      const [active] = await placed(1, 'compute-1', { vmState: 'active', taskState: null })
      const [elsewhere] = await placed(1, 'compute-2', { vmState: 'building', taskState: 'spawning' })
      const [deleting] = await placed(1, 'compute-1', { vmState: 'building', taskState: 'deleting' })
      expect(await h.reconciler.failInterruptedBuilds()).toEqual([])
      expect(await h.instances.get(active!.uuid)).toMatchObject({ vmState: 'active', taskState: null })
      expect(await h.instances.get(elsewhere!.uuid)).toMatchObject({ vmState: 'building', taskState: 'spawning' })
      expect(await h.instances.get(deleting!.uuid)).toMatchObject({ vmState: 'building', taskState: 'deleting' })
      expect(await h.tdb.db.selectFrom('instance_faults').selectAll().execute()).toEqual([])
    })
  })

  describe('.reapDeletedGuests', () => {
    it('destroys the guests of deleted instances and reports foreign and unknown guests without touching them', async () => {
      const [kept, deleted, moved] = await placed(3, 'compute-1', { vmState: 'active', taskState: null })
      for (const i of [kept!, deleted!, moved!]) await h.driver.spawn(i, makeImageMeta(), {})
      const stranger = { ...kept!, uuid: crypto.randomUUID() }
      await h.driver.spawn(stranger, makeImageMeta(), {})
      await h.instances.markDeleted(deleted!.uuid, new Date().toISOString())
      await h.instances.update(moved!.uuid, { host: 'compute-2', node: 'compute-2' }, { updatedAt: new Date().toISOString() })

      const result = await h.reconciler.reapDeletedGuests()

      expect(result).toEqual({ reaped: [deleted!.uuid], foreign: [moved!.uuid], unknown: [stranger.uuid] })
      expect((await h.driver.listInstanceUuids()).slice().sort()).toEqual([kept!.uuid, moved!.uuid, stranger.uuid].sort())
    })

    it('finds nothing to do on a host whose guests all belong to it', async () => {
      const [a] = await placed(1, 'compute-1', { vmState: 'active', taskState: null })
      await h.driver.spawn(a!, makeImageMeta(), {})
      expect(await h.reconciler.reapDeletedGuests()).toEqual({ reaped: [], foreign: [], unknown: [] })
      expect(await h.driver.listInstanceUuids()).toEqual([a!.uuid])
    })
  })
})
