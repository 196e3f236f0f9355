import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { liftQuotas } from '../../examples/multi-node/src/client.js'
import { allocationProblems, allocations, eventually, rabbitmqSkipReason, startMultiNode, type MultiNodeDeployment } from './multi-node-harness.js'
import { openstackCliSkipReason, openstackJson, runOpenstack, type OpenstackEnv } from './openstack-cli.js'

// Issue 4: the multi-node deployment (api, conductor, scheduler and 3 compute agents as separate processes over
// the real RabbitMQ and PostgreSQL) boots 20 servers from one `openstack server create --min 20 --max 20`.
const skip = openstackCliSkipReason() ?? rabbitmqSkipReason()

interface ListedServer {
  ID: string
  Name: string
  Status: string
  'Task State': string | null
  Host: string | null
}
interface ListedService {
  Binary: string
  Host: string
  State: string
  Status: string
}

describe.skipIf(skip !== undefined)('multi-node deployment on PostgreSQL, driven by the openstack CLI', () => {
  let d: MultiNodeDeployment
  let env: OpenstackEnv
  let ids: string[] = []

  beforeAll(async () => {
    d = await startMultiNode({ args: ['--report-interval', '2', '--service-down-time', '10'] })
    // `--nic none` needs compute microversion 2.37
    env = { ...d.env, OS_COMPUTE_API_VERSION: '2.37' }
    await liftQuotas(d.session)
  })
  afterAll(async () => {
    await d?.destroy()
  })

  it('runs each service as its own process, and every service reports up', async () => {
    const children = d.state().children
    expect(children.map((c) => c.name)).toEqual(['conductor', 'scheduler', 'compute-1', 'compute-2', 'compute-3', 'api'])
    expect(children.every((c) => c.state === 'running')).toBe(true)
    const pids = new Set([d.supervisor.pid, ...children.map((c) => c.pid)])
    expect(pids.size).toBe(7)
    const services = await openstackJson<ListedService[]>(['compute', 'service', 'list'], env)
    expect(services.map((s) => `${s.Binary}@${s.Host}`).filter((s) => s.startsWith('nova-compute')).sort()).toEqual([
      'nova-compute@compute-1', 'nova-compute@compute-2', 'nova-compute@compute-3',
    ])
    expect(services.map((s) => s.Binary).sort()).toEqual(['nova-compute', 'nova-compute', 'nova-compute', 'nova-conductor', 'nova-scheduler'])
    expect(services.every((s) => s.State === 'up' && s.Status === 'enabled')).toBe(true)
  })

  it('boots 20 servers with one CLI call: all end ACTIVE, spread over the 3 compute processes', async () => {
    const created = await runOpenstack(['server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros-0.6.2-x86_64-disk', '--nic', 'none', '--min', '20', '--max', '20', 'e2e'], env)
    expect(created.code).toBe(0)
    const servers = await eventually('20 servers ACTIVE', async () => {
      const list = await openstackJson<ListedServer[]>(['server', 'list', '--long'], env)
      const failed = list.find((s) => s.Status === 'ERROR')
      if (failed) throw new Error(`server ${failed.ID} went to ERROR`)
      return list.length === 20 && list.every((s) => s.Status === 'ACTIVE' && s['Task State'] === null) ? list : undefined
    }, 180_000, 1000)
    ids = servers.map((s) => s.ID)
    const perHost = new Map<string, number>()
    for (const s of servers) perHost.set(s.Host ?? 'none', (perHost.get(s.Host ?? 'none') ?? 0) + 1)
    expect([...perHost.keys()].sort()).toEqual(['compute-1', 'compute-2', 'compute-3'])
    // The RAM weigher spreads equal hosts evenly: 7/7/6.
    for (const n of perHost.values()) expect(n).toBeGreaterThanOrEqual(5)
    // Placement holds exactly one m1.tiny per server, on the server's host.
    expect(await allocationProblems(d.db)).toEqual([])
    expect(new Set((await allocations(d.db)).map((a) => a.consumer)).size).toBe(20)
    const hypervisors = await openstackJson<{ 'Hypervisor Hostname': string; State: string }[]>(['hypervisor', 'list'], env)
    expect(hypervisors.map((h) => `${h['Hypervisor Hostname']}:${h.State}`).sort()).toEqual(['compute-1:up', 'compute-2:up', 'compute-3:up'])
  })

  it('deletes the 20 servers: they and their allocations are gone', async () => {
    expect(ids).toHaveLength(20)
    await runOpenstack(['server', 'delete', ...ids], env)
    await eventually('every server deleted', async () => ((await openstackJson<ListedServer[]>(['server', 'list'], env)).length === 0 ? true : undefined), 120_000, 1000)
    expect(await allocations(d.db)).toEqual([])
  })
})
