import type { Observable } from 'rxjs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createAdminContext } from '../context.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import { ComputeError } from '../errors/compute-error.js'
import type { Instance } from '../model/instance.js'
import { PlacementService } from '../placement/placement-service.js'
import { seedBuildingInstances } from '../testing/seed-instances.js'
import { createTestDatabase, type TestDatabase } from '../testing/test-databases.js'
import { InMemoryBroker, InMemoryTransport } from '../transport/in-memory-transport.js'
import type { CallOptions, CastOptions, Notification, RpcEndpoint, RpcListener, Target, Transport } from '../transport/transport.js'
import { ConductorManager } from './conductor-manager.js'
import { RetryingConductorComputeRpcClient } from './retrying-conductor-compute-rpc.js'

/**
 * A transport that loses the connection on purpose: the next calls of a method fail with `TRANSPORT`, either
 * before the request leaves (`'before'`) or after the handler ran and only the reply was lost (`'after'`), as an
 * AMQP connection that drops mid-call does. Everything else goes through the in-memory transport underneath.
 */
class LossyTransport implements Transport {
  readonly sent: string[] = []
  private readonly losses = new Map<string, ('before' | 'after')[]>()

  constructor(private readonly inner: InMemoryTransport) {}

  /** The next calls of `method` lose the connection, in this order. */
  lose(method: string, ...when: ('before' | 'after')[]): void {
    this.losses.set(method, [...(this.losses.get(method) ?? []), ...when])
  }

  async call<R = unknown>(target: Target, method: string, args: Record<string, unknown>, options?: CallOptions): Promise<R> {
    const loss = this.losses.get(method)?.shift()
    if (loss === 'before') throw new ComputeError('TRANSPORT', `connection lost before ${method} was sent`)
    this.sent.push(method)
    const result = await this.inner.call<R>(target, method, args, options)
    if (loss === 'after') throw new ComputeError('TRANSPORT', `connection lost while waiting for the reply to ${method}`)
    return result
  }
  cast(target: Target, method: string, args: Record<string, unknown>, options?: CastOptions): Promise<void> {
    return this.inner.cast(target, method, args, options)
  }
  listen(target: { readonly topic: string; readonly server: string }, endpoint: RpcEndpoint): Promise<RpcListener> {
    return this.inner.listen(target, endpoint)
  }
  notify(notification: Notification): Promise<void> {
    return this.inner.notify(notification)
  }
  notifications(): Observable<Notification> {
    return this.inner.notifications()
  }
  close(): Promise<void> {
    return this.inner.close()
  }
}

let tdb: TestDatabase
let conductor: ConductorManager
let inner: InMemoryTransport[]
let lossy: LossyTransport
let client: RetryingConductorComputeRpcClient
let repo: InstanceRepository
let instance: Instance
const context = createAdminContext()

beforeEach(async () => {
  tdb = await createTestDatabase('sqlite')
  const broker = new InMemoryBroker()
  inner = [new InMemoryTransport({ broker }), new InMemoryTransport({ broker })]
  conductor = new ConductorManager({ db: tdb.db, transport: inner[0]!, placement: new PlacementService(tdb.db) })
  await conductor.start()
  lossy = new LossyTransport(inner[1]!)
  client = new RetryingConductorComputeRpcClient(lossy, 2000, { retries: 2, delayMs: 1 })
  repo = new InstanceRepository(tdb.db)
  const { instances } = await seedBuildingInstances(tdb.db)
  instance = await repo.update(instances[0]!.uuid, { host: 'compute-1', node: 'compute-1' }, { updatedAt: new Date().toISOString() })
})

afterEach(async () => {
  await conductor.stop()
  await Promise.all(inner.map((t) => t.close()))
  await tdb.destroy()
})

describe(RetryingConductorComputeRpcClient.name, () => {
  it('sends a call again when the connection was lost before it left', async () => {
    lossy.lose('instances_get_by_host', 'before', 'before')
    const found = await client.instancesGetByHost(context, 'compute-1')
    expect(found.map((i) => i.uuid)).toEqual([instance.uuid])
    expect(lossy.sent).toEqual(['instances_get_by_host'])
  })

  it('gives up after `retries` attempts with the TRANSPORT error', async () => {
    lossy.lose('instances_get_by_host', 'before', 'before', 'before')
    await expect(client.instancesGetByHost(context, 'compute-1')).rejects.toMatchObject({ code: 'TRANSPORT' })
  })

  it('treats a retried compare-and-swap update that finds its own result as done', async () => {
    lossy.lose('instance_update', 'after')
    const updated = await client.instanceUpdate(context, instance.uuid, { vmState: 'building', taskState: 'spawning' }, { expectedTaskState: ['scheduling', null] })
    expect(updated).toMatchObject({ uuid: instance.uuid, vmState: 'building', taskState: 'spawning' })
    expect(lossy.sent).toEqual(['instance_update', 'instance_update', 'instance_get'])
    expect(await repo.get(instance.uuid)).toMatchObject({ taskState: 'spawning' })
  })

  it('still reports a real conflict after a retry: someone else changed the task meanwhile', async () => {
    lossy.lose('instance_update', 'before')
    await repo.update(instance.uuid, { taskState: 'deleting' }, { updatedAt: new Date().toISOString() })
    await expect(
      client.instanceUpdate(context, instance.uuid, { vmState: 'building', taskState: 'spawning' }, { expectedTaskState: ['scheduling', null] }),
    ).rejects.toMatchObject({ code: 'CONFLICT' })
    expect(await repo.get(instance.uuid)).toMatchObject({ taskState: 'deleting' })
  })

  it('does not retry a conflict that no retry caused, nor a timeout', async () => {
    await repo.update(instance.uuid, { taskState: 'deleting' }, { updatedAt: new Date().toISOString() })
    await expect(client.instanceUpdate(context, instance.uuid, { taskState: 'spawning' }, { expectedTaskState: ['scheduling'] })).rejects.toMatchObject({ code: 'CONFLICT' })
    expect(lossy.sent).toEqual(['instance_update'])
    await conductor.stop()
    const quick = new RetryingConductorComputeRpcClient(lossy, 50, { retries: 2, delayMs: 1 })
    await expect(quick.instanceGet(context, instance.uuid)).rejects.toMatchObject({ code: 'TIMEOUT' })
    expect(lossy.sent.filter((m) => m === 'instance_get')).toHaveLength(1)
  })
})
