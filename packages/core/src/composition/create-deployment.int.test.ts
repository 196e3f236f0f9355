import { afterEach, describe, expect, it } from 'vitest'
import { createAdminContext } from '../context.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import { FakeVirtDriver } from '../testing/fake-virt-driver.js'
import { makeImageMeta } from '../testing/make-instance.js'
import { seedBuildingInstances } from '../testing/seed-instances.js'
import { createTestDatabase, type TestDatabase } from '../testing/test-databases.js'
import type { Clock } from '../util/clock.js'
import { createDeployment, type Deployment } from './create-deployment.js'

// The deployment options issue 4 added: service_down_time and rpc_response_timeout for every service of a
// process, heartbeats of the conductor and scheduler, retries of the compute's conductor calls, and the
// reconciliation of compute hosts at start.

function manualClock(start: number): Clock & { advance(ms: number): void } {
  let now = start
  return { now: () => now, advance: (ms) => void (now += ms) }
}

let tdb: TestDatabase | undefined
let deployment: Deployment | undefined

afterEach(async () => {
  await deployment?.stop().catch(() => undefined)
  deployment = undefined
  await tdb?.destroy().catch(() => undefined)
  tdb = undefined
})

describe('createDeployment', () => {
  it('serviceReport lists the conductor and scheduler in os-services, and serviceDownTimeSec decides when each is down', async () => {
    tdb = await createTestDatabase('sqlite')
    const clock = manualClock(Date.parse('2026-03-01T12:00:00Z'))
    deployment = createDeployment({
      database: { kind: 'handle', db: tdb.db },
      computeHosts: [{ host: 'compute-1', driver: new FakeVirtDriver({ hostname: 'compute-1', clock }) }],
      // heartbeats far apart: the clock, not a timer, decides what the API sees
      compute: { reportIntervalMs: 3_600_000, updateResourcesIntervalMs: 0, syncPowerStatesIntervalMs: 0 },
      serviceReport: { host: 'ctl-1', intervalMs: 3_600_000 },
      serviceDownTimeSec: 5,
      clock,
    })
    await deployment.start()
    const ctx = createAdminContext()
    const states = async () =>
      Object.fromEntries((await deployment!.api.services.list(ctx)).map((s) => [`${s.binary}@${s.host}`, s.state]))
    expect(await states()).toEqual({ 'nova-scheduler@ctl-1': 'up', 'nova-conductor@ctl-1': 'up', 'nova-compute@compute-1': 'up' })
    clock.advance(5_000)
    expect(Object.values(await states())).toEqual(['up', 'up', 'up'])
    clock.advance(1_000)
    expect(await states()).toEqual({ 'nova-scheduler@ctl-1': 'down', 'nova-conductor@ctl-1': 'down', 'nova-compute@compute-1': 'down' })
    expect((await deployment.api.hypervisors.list(ctx)).map((h) => h.state)).toEqual(['down'])
  })

  it('without serviceReport, only compute services report (as before)', async () => {
    tdb = await createTestDatabase('sqlite')
    deployment = createDeployment({
      database: { kind: 'handle', db: tdb.db },
      computeHosts: [{ host: 'compute-1', driver: new FakeVirtDriver({ hostname: 'compute-1' }) }],
    })
    await deployment.start()
    expect((await deployment.api.services.list(createAdminContext())).map((s) => s.binary)).toEqual(['nova-compute'])
  })

  it('rpcTimeoutMs bounds the calls of a compute service: with no conductor its start fails with TIMEOUT', async () => {
    deployment = createDeployment({
      roles: ['compute'],
      computeHosts: [{ host: 'compute-1', driver: new FakeVirtDriver({ hostname: 'compute-1' }) }],
      rpcTimeoutMs: 100,
      computeRpcRetries: 2,
    })
    await expect(deployment.start()).rejects.toMatchObject({ code: 'TIMEOUT', details: { topic: 'conductor', timeoutMs: 100 } })
  })

  it('reconcileComputeHosts: a build left by a dead process goes to ERROR with a fault, a deleted instance loses its guest', async () => {
    tdb = await createTestDatabase('sqlite')
    const repo = new InstanceRepository(tdb.db)
    const now = () => new Date().toISOString()
    const { instances } = await seedBuildingInstances(tdb.db, { count: 2 })
    const [building, deleted] = instances
    await repo.update(building!.uuid, { host: 'compute-1', node: 'compute-1', taskState: 'spawning' }, { updatedAt: now() })
    const gone = await repo.update(deleted!.uuid, { host: 'compute-1', node: 'compute-1', vmState: 'active', taskState: null }, { updatedAt: now() })
    const driver = new FakeVirtDriver({ hostname: 'compute-1' })
    await driver.init()
    await driver.spawn(gone, makeImageMeta(), {})
    await repo.markDeleted(deleted!.uuid, now())

    deployment = createDeployment({ database: { kind: 'handle', db: tdb.db }, computeHosts: [{ host: 'compute-1', driver }], reconcileComputeHosts: true })
    await deployment.start()

    expect(await repo.get(building!.uuid)).toMatchObject({ vmState: 'error', taskState: null })
    const faults = await tdb.db.selectFrom('instance_faults').select(['message']).where('instance_uuid', '=', building!.uuid).execute()
    expect(faults[0]?.message).toMatch(/was interrupted: the compute service on host compute-1 stopped while the instance was spawning/)
    expect(await driver.listInstanceUuids()).toEqual([])
  })
})
