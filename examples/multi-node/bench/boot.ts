import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { cpuMs, defineBenchmark, freePort, median, pidsNamed, rssMb, sleep, type BenchFigure } from '../../../scripts/bench-api.js'
import { compute, liftQuotas, login, waitAll, waitServer, type Session } from '../src/client.js'
import { dropDatabase } from '../src/database.js'
import type { SupervisorState } from '../src/supervisor.js'

// The reference server's boot benchmark (examples/reference-server/bench/boot.ts), same method, against the
// multi-process deployment: api, conductor, scheduler and 3 compute agents (fake driver) as separate processes over
// RabbitMQ and PostgreSQL, started from the built bundle with its default liveness settings.

const run = promisify(execFile)
const round = (x: number) => Math.round(x * 10) / 10
const IMAGE = '6b4a9c2e-7f0d-4c1a-9e55-0c1a2b3c4d5e'


async function createOne(s: Session, name: string): Promise<string> {
  const { body } = await compute<{ server: { id: string } }>(s, 'POST', '/servers', { server: { name, flavorRef: '1', imageRef: IMAGE, networks: 'none' } })
  return body.server.id
}

/** `count` servers by `clients` parallel clients; resolves when all are ACTIVE; returns the ids and the seconds taken. */
async function batch(s: Session, prefix: string, count: number, clients: number): Promise<{ ids: string[]; seconds: number }> {
  const t0 = performance.now()
  const ids: string[] = []
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; i < count; i += clients) ids.push(await createOne(s, `${prefix}-${i}`))
    }),
  )
  await waitAll(s, ids, 'ACTIVE')
  return { ids, seconds: (performance.now() - t0) / 1000 }
}

async function deleteAll(s: Session, ids: readonly string[], clients: number): Promise<number> {
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; i < ids.length; i += clients) await compute(s, 'DELETE', `/servers/${ids[i]!}`)
    }),
  )
  await waitAll(s, ids, 'gone')
  return (performance.now() - t0) / 1000
}

export default defineBenchmark({
  description: 'boots against the multi-node deployment (built bundle; api, conductor, scheduler, 3 fake compute agents as processes; RabbitMQ + PostgreSQL)',
  async run({ rootDir, log }) {
    const dir = resolve(rootDir, 'examples/multi-node')
    const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
    const vhost = `novum-bench-${id}`
    const databaseUrl = `${(process.env['NOVUM_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres').replace(/\/[^/]*$/, '')}/novum_bench_${id}`
    const amqp = new URL(process.env['NOVUM_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672')
    amqp.pathname = `/${vhost}`
    const dataDir = mkdtempSync(join(tmpdir(), 'novum-multi-node-bench-'))
    const ports = { compute: await freePort(), identity: await freePort(), image: await freePort(), placement: await freePort() }
    const password = 'bench-admin-password'
    let child: ChildProcess | undefined
    try {
      log('building the multi-node bundle')
      execFileSync('pnpm', ['run', 'build'], { cwd: dir, stdio: 'ignore' })
      await run('rabbitmqctl', ['--quiet', 'add_vhost', vhost])
      await run('rabbitmqctl', ['--quiet', 'set_permissions', '-p', vhost, decodeURIComponent(amqp.username || 'guest'), '.*', '.*', '.*'])
      const t0 = performance.now()
      // NOTE: NOVUM_BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to the supervisor, whose children
      // inherit its Node.js arguments: a way to profile every process of the deployment under this load.
      const nodeArgs = (process.env['NOVUM_BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean)
      child = spawn(
        process.execPath,
        [
          ...nodeArgs,
          'dist/main.js', 'up', '--data-dir', dataDir, '--database', databaseUrl, '--amqp-url', amqp.toString(), '--admin-password', password,
          '--compute-port', String(ports.compute), '--identity-port', String(ports.identity), '--image-port', String(ports.image),
          '--placement-port', String(ports.placement), '--log-level', 'warn',
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
      )
      let out = ''
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()))
      for (;;) {
        if (out.includes('Novum multi-node deployment ready')) break
        if (child.exitCode !== null) throw new Error(`the deployment exited with ${child.exitCode}:\n${out}`)
        if (performance.now() - t0 > 120_000) throw new Error(`the deployment was not ready within 120 s:\n${out}`)
        await sleep(5)
      }
      const readyMs = performance.now() - t0
      log(`deployment ready after ${readyMs.toFixed(0)} ms`)
      const s = await login(`http://127.0.0.1:${ports.identity}`, 'admin', password, 'admin')
      await liftQuotas(s)

      // Warm-up: one boot and delete per compute agent, not counted.
      const warm = await batch(s, 'warm-up', 3, 3)
      await deleteAll(s, warm.ids, 3)

      log('10 single boots and deletes')
      const createTimes: number[] = []
      const deleteTimes: number[] = []
      for (let i = 0; i < 10; i++) {
        const c0 = performance.now()
        const sid = await createOne(s, `single-${i}`)
        await waitServer(s, sid, 'ACTIVE')
        createTimes.push(performance.now() - c0)
        const d0 = performance.now()
        await compute(s, 'DELETE', `/servers/${sid}`)
        await waitServer(s, sid, 'gone')
        deleteTimes.push(performance.now() - d0)
      }

      // CPU per boot, by process: the deployment's processes, the broker and the database server (every postgres process).
      const children = (JSON.parse(readFileSync(join(dataDir, 'supervisor.json'), 'utf8')) as SupervisorState).children
      const cpu = (): Record<string, number> => {
        const sum = (pids: readonly number[]) => pids.reduce((n, pid) => n + (cpuMs(pid) || 0), 0)
        return { ...Object.fromEntries(children.map((c) => [c.name.replace(/-\d+$/, ''), 0])), ...children.reduce<Record<string, number>>((acc, c) => {
          const key = c.name.replace(/-\d+$/, '')
          acc[key] = (acc[key] ?? 0) + cpuMs(c.pid!)
          return acc
        }, {}), bench: cpuMs(process.pid), rabbitmq: sum(pidsNamed('beam.smp')), postgres: sum(pidsNamed('postgres')) }
      }

      log('50 servers by 10 parallel clients (3 runs)')
      const runs: { boots: number; deletes: number; cpu: Record<string, number> }[] = []
      for (let r = 0; r < 3; r++) {
        const before = cpu()
        const b = await batch(s, `batch${r}`, 50, 10)
        const after = cpu()
        const del = await deleteAll(s, b.ids, 10)
        runs.push({ boots: 50 / b.seconds, deletes: 50 / del, cpu: Object.fromEntries(Object.keys(after).map((k) => [k, ((after[k] ?? 0) - (before[k] ?? 0)) / 50])) })
      }
      const cpuPerBoot = Object.fromEntries(Object.keys(runs[0]!.cpu).map((k) => [k, median(runs.map((x) => x.cpu[k] ?? 0))]))
      const cpuTotal = Object.entries(cpuPerBoot).filter(([k]) => k !== 'bench').reduce((n, [, v]) => n + v, 0)
      log('200 servers by 20 parallel clients')
      const big = await batch(s, 'big', 200, 20)
      const bigDel = await deleteAll(s, big.ids, 20)

      const state = JSON.parse(readFileSync(join(dataDir, 'supervisor.json'), 'utf8')) as SupervisorState
      const rss = Object.fromEntries([['supervisor', rssMb(child.pid!)], ...state.children.map((c) => [c.name, rssMb(c.pid!)] as const)])
      const totalRss = Object.values(rss).reduce((a, b) => a + b, 0)

      const single = median(createTimes)
      const del = median(deleteTimes)
      const boots = median(runs.map((x) => x.boots))
      const deletes = median(runs.map((x) => x.deletes))
      const figures: BenchFigure[] = [
        { figure: 'single create→ACTIVE, median of 10', value: round(single), unit: 'ms', note: `min ${round(Math.min(...createTimes))}, max ${round(Math.max(...createTimes))}` },
        { figure: 'delete→gone, median of 10', value: round(del), unit: 'ms', note: `min ${round(Math.min(...deleteTimes))}, max ${round(Math.max(...deleteTimes))}` },
        {
          figure: '50 servers by 10 clients, create→all ACTIVE, median of 3', value: round(boots), unit: 'boots/s', target: '≥ 100 boots/s', met: boots >= 100,
          note: `runs ${runs.map((x) => round(x.boots)).join(', ')}; Nova all-in-one here: 0.58–1.22`,
        },
        {
          figure: 'CPU per boot in the 50-server batch (all processes but the benchmark client), median of 3', value: round(cpuTotal), unit: 'ms',
          note: Object.entries(cpuPerBoot).map(([k, v]) => `${k} ${round(v)}`).join(', '),
        },
        { figure: '50 servers by 10 clients, delete→all gone, median of 3', value: round(deletes), unit: 'deletes/s', note: `runs ${runs.map((x) => round(x.deletes)).join(', ')}` },
        { figure: '200 servers by 20 clients, create→all ACTIVE', value: round(200 / big.seconds), unit: 'boots/s', note: `${round(big.seconds * 1000)} ms in all; delete→gone ${round(200 / bigDel)}/s` },
        { figure: 'launch to every service ready (init + 6 processes)', value: round(readyMs), unit: 'ms' },
        { figure: 'RSS of all 7 processes after the run', value: round(totalRss), unit: 'MB', note: Object.entries(rss).map(([n, mb]) => `${n} ${Math.round(mb)}`).join(', ') },
      ]
      return figures
    } finally {
      if (child && child.exitCode === null) {
        child.kill('SIGTERM')
        await new Promise((r) => child!.once('exit', r))
      }
      await dropDatabase(databaseUrl).catch(() => undefined)
      await run('rabbitmqctl', ['--quiet', 'delete_vhost', vhost]).catch(() => undefined)
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
})
