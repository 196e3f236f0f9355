import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allocationProblems, allocations, eventually, rabbitmqSkipReason, startMultiNode, type MultiNodeDeployment } from './multi-node-harness.js'
import { openstackCliSkipReason, openstackJson, runOpenstack, type OpenstackEnv } from './openstack-cli.js'

// Issue 4: MariaDB instead of PostgreSQL is a matter of configuration (`--database mysql://…`): the same
// processes create, migrate and use it.
const skip = openstackCliSkipReason() ?? rabbitmqSkipReason()

interface ListedServer {
  ID: string
  Status: string
  Host: string | null
}

describe.skipIf(skip !== undefined)('multi-node deployment on MariaDB', () => {
  let d: MultiNodeDeployment
  let env: OpenstackEnv

  beforeAll(async () => {
    d = await startMultiNode({ database: 'mysql', computes: 2, args: ['--report-interval', '2', '--service-down-time', '10'] })
    env = { ...d.env, OS_COMPUTE_API_VERSION: '2.37' }
  })
  afterAll(async () => {
    await d?.destroy()
  })

  it('was created and migrated on MariaDB by init', async () => {
    expect(d.databaseUrl).toMatch(/^mysql:\/\//)
    const tables = await d.db.introspection.getTables()
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['instances', 'services', 'allocations', 'resource_providers']))
  })

  it('boots 4 servers over the 2 compute processes and deletes them, Placement in step', async () => {
    const services = await openstackJson<{ Binary: string; State: string }[]>(['compute', 'service', 'list'], env)
    expect(services.map((s) => s.Binary).sort()).toEqual(['nova-compute', 'nova-compute', 'nova-conductor', 'nova-scheduler'])
    expect(services.every((s) => s.State === 'up')).toBe(true)
    await runOpenstack(['server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros-0.6.2-x86_64-disk', '--nic', 'none', '--min', '4', '--max', '4', 'maria'], env)
    const servers = await eventually('4 servers ACTIVE', async () => {
      const list = await openstackJson<ListedServer[]>(['server', 'list', '--long'], env)
      if (list.some((s) => s.Status === 'ERROR')) throw new Error('a server went to ERROR')
      return list.length === 4 && list.every((s) => s.Status === 'ACTIVE') ? list : undefined
    }, 120_000, 1000)
    expect(new Set(servers.map((s) => s.Host))).toEqual(new Set(['compute-1', 'compute-2']))
    expect(await allocationProblems(d.db)).toEqual([])
    await runOpenstack(['server', 'delete', ...servers.map((s) => s.ID)], env)
    await eventually('servers deleted', async () => ((await openstackJson<ListedServer[]>(['server', 'list'], env)).length === 0 ? true : undefined), 120_000, 1000)
    expect(await allocations(d.db)).toEqual([])
  })
})
