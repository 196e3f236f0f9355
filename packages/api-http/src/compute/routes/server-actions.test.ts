import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  ComputeManager, ConductorComputeRpcClient, ConductorManager, DEFAULT_IMAGE_ID, InMemoryTransport, InstanceRepository, PlacementService, SchedulerManager,
} from '@novum/core'
import { FakeVirtDriver, type FakeVirtDriverConfig } from '@novum/core/testing'
import { createApiTestEnv, type ApiTestEnv } from '../../api-test-env.test-helper.js'

/*
 * Pause, unpause, suspend, resume and the console log end to end: HTTP → ComputeApi → compute (cast or call)
 * → ComputeManager → FakeVirtDriver, with the real scheduler and conductor on one in-memory broker. Host
 * `compute-1` can do everything; `compute-basic`'s driver can neither pause, suspend nor show a console log.
 */
describe('server actions on running computes', () => {
  let env: ApiTestEnv
  const stoppers: (() => Promise<void>)[] = []
  const drivers = new Map<string, FakeVirtDriver>()

  beforeAll(async () => {
    env = await createApiTestEnv()
    const broker = env.transport.broker
    const transport = (): InMemoryTransport => {
      const t = new InMemoryTransport({ broker })
      stoppers.push(() => t.close())
      return t
    }
    const placement = new PlacementService(env.db)
    const scheduler = new SchedulerManager({ db: env.db, placement, transport: transport() })
    const conductor = new ConductorManager({ db: env.db, transport: transport(), placement })
    await scheduler.start()
    await conductor.start()
    stoppers.unshift(() => scheduler.stop(), () => conductor.stop())
    const hosts: [string, Partial<FakeVirtDriverConfig>][] = [
      ['compute-1', {}],
      ['compute-basic', { capabilities: { supportsPause: false, supportsSuspend: false, supportsConsoleOutput: false } }],
    ]
    for (const [host, config] of hosts) {
      const t = transport()
      const driver = new FakeVirtDriver({ hostname: host, ...config })
      drivers.set(host, driver)
      const compute = new ComputeManager({ host, driver, conductor: new ConductorComputeRpcClient(t), transport: t })
      await compute.start()
      stoppers.unshift(() => compute.stop())
    }
  })

  afterAll(async () => {
    for (const stop of stoppers) await stop()
    await env.close()
  })

  const action = (id: string, body: Record<string, unknown>) =>
    env.compute({ method: 'POST', url: `/v2.1/servers/${id}/action`, token: env.admin.token, payload: body })

  const show = async (id: string): Promise<Record<string, unknown>> =>
    (await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.admin.token })).json().server

  /** Boots a server on `host` (admin's forced-host zone form) and waits for it to be ACTIVE. */
  const bootOn = async (name: string, host: string): Promise<string> => {
    const res = await env.compute({
      method: 'POST', url: '/v2.1/servers', token: env.admin.token,
      payload: { server: { name, imageRef: DEFAULT_IMAGE_ID, flavorRef: '1', availability_zone: `nova:${host}` } },
    })
    expect(res.statusCode).toBe(202)
    const id = res.json().server.id as string
    await waitFor(id, { status: 'ACTIVE', 'OS-EXT-STS:task_state': null })
    return id
  }

  const waitFor = (id: string, expected: Record<string, unknown>) =>
    vi.waitFor(async () => expect(await show(id)).toMatchObject(expected), { timeout: 10_000, interval: 10 })

  it('pause → PAUSED, unpause → ACTIVE, suspend → SUSPENDED, resume → ACTIVE, each recorded as an instance action', async () => {
    const id = await bootOn('cycled', 'compute-1')
    const steps = [
      { body: { pause: null }, status: 'PAUSED', vmState: 'paused', powerState: 3 },
      { body: { unpause: null }, status: 'ACTIVE', vmState: 'active', powerState: 1 },
      { body: { suspend: null }, status: 'SUSPENDED', vmState: 'suspended', powerState: 7 },
      { body: { resume: null }, status: 'ACTIVE', vmState: 'active', powerState: 1 },
    ]
    for (const step of steps) {
      const res = await action(id, step.body)
      expect(res.statusCode).toBe(202)
      await waitFor(id, { status: step.status, 'OS-EXT-STS:vm_state': step.vmState, 'OS-EXT-STS:task_state': null, 'OS-EXT-STS:power_state': step.powerState })
    }
    const list = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions`, token: env.admin.token })
    const actions = list.json().instanceActions as { action: string; request_id: string }[]
    expect(actions.map((a) => a.action)).toEqual(['resume', 'suspend', 'unpause', 'pause', 'create'])
    const pause = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions/${actions[3]!.request_id}`, token: env.admin.token, version: '2.51' })
    expect(pause.json().instanceAction.events).toEqual([expect.objectContaining({ event: 'compute_pause_instance', result: 'Success' })])
    expect(drivers.get('compute-1')!.guest(id)?.powerState).toBe(1)
  })

  it('os-getConsoleOutput answers 200 with the boot log, or its last lines with length', async () => {
    const id = await bootOn('talkative', 'compute-1')
    const whole = await action(id, { 'os-getConsoleOutput': {} })
    expect(whole.statusCode).toBe(200)
    const output = whole.json().output as string
    expect(Object.keys(whole.json())).toEqual(['output'])
    expect(output).toContain('Linux version')
    expect(output).toContain(`booting image ${DEFAULT_IMAGE_ID}`)
    expect(output.endsWith('talkative login:\n')).toBe(true)
    const tail = await action(id, { 'os-getConsoleOutput': { length: 3 } })
    expect(tail.json()).toEqual({ output: '\ntalkative login:\n' })
    const asString = await action(id, { 'os-getConsoleOutput': { length: '3' } })
    expect(asString.json()).toEqual({ output: '\ntalkative login:\n' })
    const unlimited = await action(id, { 'os-getConsoleOutput': { length: -1 } })
    expect(unlimited.json()).toEqual({ output })
    const nullLength = await action(id, { 'os-getConsoleOutput': { length: null } })
    expect(nullLength.json()).toEqual({ output })
  })

  it('answers 501 notImplemented when the host cannot pause, suspend or show a console log, and changes nothing', async () => {
    const id = await bootOn('plain', 'compute-basic')
    for (const body of [{ pause: null }, { suspend: null }, { 'os-getConsoleOutput': { length: 5 } }]) {
      const res = await action(id, body)
      expect(res.statusCode).toBe(501)
      expect(res.json()).toEqual({ notImplemented: { code: 501, message: 'The requested functionality is not supported.' } })
    }
    expect(await show(id)).toMatchObject({ status: 'ACTIVE', 'OS-EXT-STS:task_state': null })
    const list = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions`, token: env.admin.token })
    expect(list.json().instanceActions.map((a: { action: string }) => a.action)).toEqual(['create'])
  })

  it('os-getConsoleOutput is a 404 when the guest has gone from its host', async () => {
    const id = await bootOn('vanished', 'compute-1')
    await drivers.get('compute-1')!.destroy(await new InstanceRepository(env.db).get(id))
    const res = await action(id, { 'os-getConsoleOutput': {} })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ itemNotFound: { code: 404, message: `Instance ${id} could not be found.` } })
  })
})
