import { firstValueFrom, take, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import type { RequestContext } from '../context.js'
import { NoValidHostError } from '../errors/no-valid-host-error.js'
import { makeInstance } from '../testing/make-instance.js'
import { InMemoryTransport } from '../transport/in-memory-transport.js'
import type { Notification } from '../transport/transport.js'
import { Notifier } from './notifier.js'
import { computeTaskPayload, faultFromError, instanceActionPayload } from './payloads.js'

const clock = { now: () => Date.parse('2026-11-22T10:00:00.000Z') }
const userContext: RequestContext = { requestId: 'req-1', userId: 'user-1', projectId: 'project-1', roles: ['member'], isAdmin: false }

describe(Notifier.name, () => {
  it("sends Nova's versioned envelope with an InstanceActionPayload", async () => {
    const transport = new InMemoryTransport()
    const notifier = new Notifier({ transport, service: 'nova-compute', host: 'compute-1', clock })
    const instance = makeInstance({ host: 'compute-1', node: 'compute-1', vmState: 'stopped', powerState: 4, taskState: null, launchedAt: '2026-11-22T09:00:00.000Z' })
    const received = firstValueFrom(transport.notifications())
    await notifier.instanceAction(userContext, instance, 'instance.power_off.end')
    const n = await received
    expect(n).toMatchObject({ priority: 'info', eventType: 'instance.power_off.end', publisherId: 'nova-compute:compute-1', timestamp: '2026-11-22T10:00:00.000Z', requestId: 'req-1' })
    expect(n.messageId).toMatch(/^[0-9a-f-]{36}$/)
    expect(n.payload).toMatchObject({ 'nova_object.name': 'InstanceActionPayload', 'nova_object.namespace': 'nova', 'nova_object.version': '1.8' })
    const data = n.payload['nova_object.data'] as Record<string, unknown>
    expect(data).toMatchObject({
      uuid: instance.uuid,
      display_name: instance.displayName,
      host: 'compute-1',
      node: 'compute-1',
      image_uuid: instance.imageRef,
      state: 'stopped',
      power_state: 'shutdown',
      task_state: null,
      tenant_id: 'project-1',
      user_id: 'user-1',
      launched_at: '2026-11-22T09:00:00.000Z',
      request_id: 'req-1',
      action_initiator_user: 'user-1',
      action_initiator_project: 'project-1',
      fault: null,
    })
    expect(data.flavor).toMatchObject({ 'nova_object.name': 'FlavorPayload', 'nova_object.version': '1.4', 'nova_object.data': { flavorid: '2', memory_mb: 2048, vcpus: 1 } })
    await transport.close()
  })

  it('uses InstanceCreatePayload for instance.create.* and priority error with a fault for .error', async () => {
    const transport = new InMemoryTransport()
    const notifier = new Notifier({ transport, service: 'nova-compute', host: 'compute-1', clock })
    const instance = makeInstance({ vmState: 'building', taskState: 'spawning', powerState: 0 })
    const received = firstValueFrom(transport.notifications().pipe(take(2), toArray()))
    await notifier.instanceAction(userContext, instance, 'instance.create.start')
    await notifier.instanceAction(userContext, instance, 'instance.create.error', { fault: faultFromError(new Error('disk full'), { functionName: 'build_and_run_instance' }) })
    const [start, error] = (await received) as [Notification, Notification]
    expect(start.payload['nova_object.name']).toBe('InstanceCreatePayload')
    expect(start.payload['nova_object.version']).toBe('1.12')
    expect((start.payload['nova_object.data'] as Record<string, unknown>).power_state).toBe('pending')
    expect((start.payload['nova_object.data'] as Record<string, unknown>).instance_name).toBe(instance.instanceName)
    expect(error.priority).toBe('error')
    const fault = (error.payload['nova_object.data'] as Record<string, unknown>).fault as Record<string, unknown>
    expect(fault['nova_object.name']).toBe('ExceptionPayload')
    expect(fault['nova_object.data']).toMatchObject({ exception: 'Error', exception_message: 'disk full', function_name: 'build_and_run_instance' })
    await transport.close()
  })

  it('leaves out the request id for work without a project (periodic tasks), as Nova does', () => {
    const payload = instanceActionPayload({ requestId: 'req-periodic', userId: null, projectId: null, roles: ['admin'], isAdmin: true }, makeInstance())
    expect(payload['nova_object.data'].request_id).toBeNull()
  })

  it('builds the ComputeTaskPayload of compute_task.build_instances.error', () => {
    const err = new NoValidHostError({ hostCount: 2, rejections: [], summary: '0 of 2 hosts' })
    const payload = computeTaskPayload('uuid-1', null, 'error', faultFromError(err))
    expect(payload).toMatchObject({
      'nova_object.name': 'ComputeTaskPayload',
      'nova_object.version': '1.0',
      'nova_object.data': { instance_uuid: 'uuid-1', state: 'error', request_spec: null, reason: { 'nova_object.data': { exception: 'NoValidHostError', exception_message: 'No valid host was found. 0 of 2 hosts' } } },
    })
  })

  it('never rejects when the transport fails, and emits nothing when disabled', async () => {
    const transport = new InMemoryTransport()
    await transport.close()
    const warnings: string[] = []
    const logger = { trace() {}, debug() {}, info() {}, error() {}, warn: (_o: unknown, m?: string) => void warnings.push(m ?? ''), child: () => logger }
    const notifier = new Notifier({ transport, service: 'nova-compute', host: 'h', logger })
    await expect(notifier.instanceAction(null, makeInstance(), 'instance.delete.end')).resolves.toBeUndefined()
    expect(warnings).toEqual(['failed to send notification instance.delete.end: cannot send notification instance.delete.end: transport is closed'])

    const live = new InMemoryTransport()
    const seen: Notification[] = []
    const sub = live.notifications().subscribe((n) => seen.push(n))
    const silent = new Notifier({ transport: live, service: 'nova-compute', host: 'h', enabled: false })
    await silent.instanceAction(null, makeInstance(), 'instance.delete.end')
    await new Promise((r) => setImmediate(r))
    expect(seen).toEqual([])
    sub.unsubscribe()
    await live.close()
  })
})
