import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compute, liftQuotas, listServers, type ServerDetail } from '../../examples/multi-node/src/client.js'
import { allocationProblems, allocations, eventually, rabbitmqctl, rabbitmqSkipReason, startMultiNode, type MultiNodeDeployment } from './multi-node-harness.js'
import { openstackCliSkipReason, openstackJson, runOpenstack, type OpenstackEnv } from './openstack-cli.js'

// Issue 4: RabbitMQ's app stopped and started again (`rabbitmqctl stop_app` / `start_app`) while 50 boots are in
// flight. Every request must end ACTIVE or with a clear error, no server may stay in a task state, and every
// process must reconnect on its own (same processes, no restart). Spawns take SPAWN_MS so builds are in flight.
const skip = openstackCliSkipReason() ?? rabbitmqSkipReason()

const SPAWN_MS = 1500
const OUTAGE_MS = 4000
const SERVICES = ['conductor', 'scheduler', 'compute-1', 'compute-2', 'compute-3', 'api']

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe.skipIf(skip !== undefined)('multi-node: RabbitMQ restarted while 50 boots are in flight', () => {
  let d: MultiNodeDeployment
  let env: OpenstackEnv
  let pidsBefore: Record<string, number>
  let ids: string[] = []
  let brokerStopped = false
  /** From `start_app` returning to every service's connection open again. */
  let reconnectMs = Number.NaN

  /** The connection names (`novum:<service>:<pid>`) open on this deployment's vhost. */
  const connections = async (): Promise<string[]> => {
    const lines = (await rabbitmqctl('list_connections', '--no-table-headers', 'vhost', 'client_properties')).split('\n')
    return lines.filter((l) => l.startsWith(`${d.vhost}\t`)).map((l) => /"connection_name","([^"]+)"/.exec(l)?.[1] ?? '').filter(Boolean)
  }

  beforeAll(async () => {
    d = await startMultiNode({ args: ['--report-interval', '2', '--service-down-time', '10', '--rpc-timeout', '30', '--fake-delay', `spawn=${SPAWN_MS}`] })
    env = { ...d.env, OS_COMPUTE_API_VERSION: '2.37' }
    await liftQuotas(d.session)
    pidsBefore = Object.fromEntries(SERVICES.map((n) => [n, d.pidOf(n)]))
  })
  afterAll(async () => {
    // Never leave the broker stopped, whatever happened above.
    if (brokerStopped) await rabbitmqctl('start_app').catch(() => undefined)
    await d?.destroy()
  })

  it('every service holds one connection to its vhost before the restart', async () => {
    const names = await connections()
    for (const n of SERVICES) expect(names).toContain(`novum:${n}:${pidsBefore[n]}`)
  })

  it('ends every one of the 50 requests ACTIVE or in ERROR with a fault, and none in a task state', async () => {
    const accepted: string[] = []
    let outage: Promise<void> | null = null
    // 10 clients post 5 boots each; when half are accepted the broker's app stops, so later posts (their cast to the
    // conductor) wait for it, and the builds already accepted are being scheduled or spawned.
    const clients = Array.from({ length: 10 }, async (_, c) => {
      for (let i = 0; i < 5; i++) {
        const { body } = await compute<{ server: { id: string } }>(d.session, 'POST', '/servers', {
          server: { name: `bounce-${c}-${i}`, flavorRef: '1', imageRef: '6b4a9c2e-7f0d-4c1a-9e55-0c1a2b3c4d5e', networks: 'none' },
        })
        accepted.push(body.server.id)
        if (accepted.length === 25) {
          outage = (async () => {
            brokerStopped = true
            await rabbitmqctl('stop_app')
            await sleep(OUTAGE_MS)
            await rabbitmqctl('start_app')
            brokerStopped = false
            const back = Date.now()
            await eventually('every service reconnected', async () => {
              const now = await connections()
              return SERVICES.every((n) => now.includes(`novum:${n}:${pidsBefore[n]}`)) ? true : undefined
            }, 60_000, 100)
            reconnectMs = Date.now() - back
          })()
        }
      }
    })
    await Promise.all(clients)
    expect(outage).not.toBeNull()
    await outage
    ids = accepted
    expect(new Set(ids).size).toBe(50)
    const settled = await eventually('all 50 settled (no task state, ACTIVE or ERROR)', async () => {
      const mine = (await listServers(d.session)).filter((s) => ids.includes(s.id))
      return mine.length === 50 && mine.every((s) => s['OS-EXT-STS:task_state'] === null && (s.status === 'ACTIVE' || s.status === 'ERROR')) ? mine : undefined
    }, 180_000, 500)
    const errored: ServerDetail[] = settled.filter((s) => s.status === 'ERROR')
    for (const s of errored) expect(s.fault?.message, `server ${s.id} is ERROR without a fault`).toMatch(/\S/)
    console.info(
      `broker restart: ${settled.length - errored.length} ACTIVE, ${errored.length} ERROR${errored.length ? ` (${errored[0]!.fault!.message})` : ''}; ` +
        `every service reconnected ${reconnectMs} ms after start_app returned`,
    )
    expect(settled.filter((s) => s.status === 'ACTIVE').length + errored.length).toBe(50)
  })

  it('every process reconnected on its own: same pids, one connection each, every service up', async () => {
    expect(Number.isFinite(reconnectMs)).toBe(true)
    for (const n of SERVICES) expect(d.pidOf(n)).toBe(pidsBefore[n])
    expect(d.state().children.every((c) => c.restarts === 0)).toBe(true)
    const names = await eventually('6 connections back', async () => {
      const now = await connections()
      return SERVICES.every((n) => now.includes(`novum:${n}:${pidsBefore[n]}`)) ? now : undefined
    }, 60_000, 500)
    expect(names).toHaveLength(SERVICES.length)
    const services = await eventually('every service up', async () => {
      const list = await openstackJson<{ Binary: string; State: string }[]>(['compute', 'service', 'list'], env)
      return list.length === 5 && list.every((s) => s.State === 'up') ? list : undefined
    }, 60_000, 1000)
    expect(services.map((s) => s.Binary).sort()).toEqual(['nova-compute', 'nova-compute', 'nova-compute', 'nova-conductor', 'nova-scheduler'])
  })

  it('boots a new server after the restart, and Placement matches the servers', async () => {
    const created = await openstackJson<{ id: string; status: string }>(
      ['server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros-0.6.2-x86_64-disk', '--nic', 'none', '--wait', 'after-restart'],
      env,
    )
    expect(created.status).toBe('ACTIVE')
    ids.push(created.id)
    expect(await allocationProblems(d.db)).toEqual([])
  })

  it('deletes everything: no server, no allocation left', async () => {
    await runOpenstack(['server', 'delete', ...ids], env)
    await eventually('every server deleted', async () => ((await listServers(d.session)).length === 0 ? true : undefined), 120_000, 500)
    expect(await allocations(d.db)).toEqual([])
  })
})
