/**
 * Starts the multi-node deployment (examples/multi-node) as real processes for end-to-end tests: its supervisor,
 * which starts the api, conductor, scheduler and compute agents, over the real RabbitMQ and a real database.
 *
 * Each deployment gets its own RabbitMQ vhost (created and deleted with `rabbitmqctl`; queue names are not
 * scoped by exchange, so a vhost is what isolates two deployments on one broker), its own exchange name, its own
 * database (created by the deployment's `init`, dropped here), its own data directory and free ports.
 * {@link MultiNodeDeployment.destroy} stops every process (SIGTERM, then SIGKILL for anything left) and removes
 * all of it.
 *
 * The tests fail (they never skip) when RabbitMQ, the database or the CLI is missing, unless a developer opts out
 * outside CI with `NOVUM_SKIP_RABBITMQ=1`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createDatabase, type NovumDb } from '@novum/core'
import { login, type Session } from '../../examples/multi-node/src/client.js'
import { dropDatabase } from '../../examples/multi-node/src/database.js'
import type { SupervisorState } from '../../examples/multi-node/src/supervisor.js'
import { openrcEnv, type OpenstackEnv } from './openstack-cli.js'
import { freePort } from '../../scripts/bench-api.js'

const run = promisify(execFile)
const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The broker the tests use, without a vhost (`NOVUM_AMQP_URL`, else the local default). */
export const AMQP_BASE_URL = ((): string => {
  const u = new URL(process.env['NOVUM_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672')
  u.pathname = ''
  u.search = ''
  return u.toString().replace(/\/$/, '')
})()
const POSTGRES_URL = process.env['NOVUM_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const MYSQL_URL = process.env['NOVUM_TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test'

/** Outside CI only, `NOVUM_SKIP_RABBITMQ=1` skips these tests; in CI the opt-out is refused. */
export function rabbitmqSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['NOVUM_SKIP_RABBITMQ'] !== '1') return undefined
  if (env['CI'] === 'true') throw new Error('NOVUM_SKIP_RABBITMQ=1 is refused in CI (CI=true): run RabbitMQ instead')
  return 'NOVUM_SKIP_RABBITMQ=1'
}

/** Runs `rabbitmqctl --quiet <args>`; its failure says the broker is not there. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  try {
    return (await run('rabbitmqctl', ['--quiet', ...args], { timeout: 60_000 })).stdout
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`rabbitmqctl ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}. Is RabbitMQ installed and running (Debian: apt-get install rabbitmq-server)?`, { cause: err })
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every `everyMs` until it returns a value other than undefined; throws with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`)
    await sleep(everyMs)
  }
}

/** What a test can ask of {@link startMultiNode}. */
export interface MultiNodeOptions {
  /** @default 'postgres' */
  readonly database?: 'postgres' | 'mysql'
  /** @default 3 */
  readonly computes?: number
  /** Extra flags of `main.ts up` (`--fake-delay`, `--rpc-timeout`, …). */
  readonly args?: readonly string[]
}

/** A running multi-node deployment. */
export interface MultiNodeDeployment {
  readonly dataDir: string
  readonly databaseUrl: string
  /** The broker URL with this deployment's vhost. */
  readonly amqpUrl: string
  readonly vhost: string
  readonly exchange: string
  readonly ports: { readonly compute: number; readonly identity: number; readonly image: number; readonly placement: number }
  readonly password: string
  /** The `OS_*` environment for the openstack CLI. */
  readonly env: OpenstackEnv
  /** A REST session as admin (quotas, fast polling). */
  readonly session: Session
  /** A database handle for checks (Placement allocations, instances). */
  readonly db: NovumDb
  readonly supervisor: ChildProcess
  /** Everything the supervisor printed (its children's output too). */
  output(): string
  /** The supervisor's state file. */
  state(): SupervisorState
  /** The pid of a child (`api`, `conductor`, `scheduler`, `compute-2`, …); throws when it is not running. */
  pidOf(name: string): number
  /** `kill -USR2` the supervisor (start stopped children again) and wait until `name` runs with a new pid. */
  restart(name: string): Promise<number>
  /** Stops the supervisor and every child; keeps the data. */
  stop(): Promise<void>
  /** Stops everything, drops the database, deletes the vhost and the data directory. */
  destroy(): Promise<void>
}

/** Throws a clear error unless RabbitMQ and the database server answer. */
async function assertReachable(databaseServerUrl: string): Promise<void> {
  await rabbitmqctl('status')
  const kind = databaseServerUrl.startsWith('mysql') ? 'mysql' : 'postgres'
  const db = createDatabase({ kind, url: databaseServerUrl, poolSize: 1 })
  try {
    await db.selectNoFrom((eb) => eb.val(1).as('one')).execute()
  } catch (err) {
    throw new Error(`the ${kind} server at ${databaseServerUrl} is not reachable: ${(err as Error).message}`, { cause: err })
  } finally {
    await db.destroy()
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

/** Starts a deployment and resolves once the supervisor printed that every service is ready. */
export async function startMultiNode(options: MultiNodeOptions = {}): Promise<MultiNodeDeployment> {
  const family = options.database ?? 'postgres'
  const serverUrl = family === 'postgres' ? POSTGRES_URL : MYSQL_URL
  await assertReachable(serverUrl)
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  const vhost = `novum-e2e-${id}`
  const exchange = `novum-e2e-${id}`
  const databaseUrl = withDatabase(serverUrl, `novum_e2e_${id}`)
  const dataDir = mkdtempSync(join(tmpdir(), 'novum-multi-node-e2e-'))
  await rabbitmqctl('add_vhost', vhost)
  const user = new URL(AMQP_BASE_URL).username || 'guest'
  await rabbitmqctl('set_permissions', '-p', vhost, decodeURIComponent(user), '.*', '.*', '.*')
  const amqpUrl = `${AMQP_BASE_URL}/${encodeURIComponent(vhost)}`
  const ports = { compute: await freePort(), identity: await freePort(), image: await freePort(), placement: await freePort() }
  const password = 'e2e-admin-password'
  const args = [
    '--conditions=@novum/source', '--import', 'tsx', 'src/main.ts', 'up',
    '--data-dir', dataDir, '--database', databaseUrl, '--amqp-url', amqpUrl, '--exchange', exchange,
    '--computes', String(options.computes ?? 3),
    '--compute-port', String(ports.compute), '--identity-port', String(ports.identity),
    '--image-port', String(ports.image), '--placement-port', String(ports.placement),
    '--admin-password', password, '--log-level', process.env['NOVUM_LOG_LEVEL'] ?? 'warn',
    ...(options.args ?? []),
  ]
  const supervisor = spawn(process.execPath, args, {
    cwd: join(rootDir, 'examples/multi-node'),
    env: { ...process.env },
    // the IPC channel makes the supervisor stop everything if this test process dies
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  let out = ''
  supervisor.stdout!.on('data', (b: Buffer) => (out += b.toString()))
  supervisor.stderr!.on('data', (b: Buffer) => (out += b.toString()))
  const exited = new Promise<void>((r) => supervisor.once('exit', () => r()))
  const statePath = join(dataDir, 'supervisor.json')
  const state = (): SupervisorState => JSON.parse(readFileSync(statePath, 'utf8')) as SupervisorState
  const cleanups: (() => Promise<void>)[] = []

  const stop = async (): Promise<void> => {
    if (supervisor.exitCode === null && supervisor.signalCode === null) {
      supervisor.kill('SIGTERM')
      const killer = setTimeout(() => supervisor.kill('SIGKILL'), 90_000)
      await exited
      clearTimeout(killer)
    }
    // Whatever the supervisor could not stop (it was killed itself) goes now: no process outlives the test.
    if (existsSync(statePath)) {
      for (const c of state().children) {
        if (c.pid === null) continue
        try {
          process.kill(c.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
  }
  const destroy = async (): Promise<void> => {
    await stop()
    for (const c of cleanups.splice(0)) await c().catch(() => undefined)
    await dropDatabase(databaseUrl).catch(() => undefined)
    await rabbitmqctl('delete_vhost', vhost).catch(() => undefined)
    rmSync(dataDir, { recursive: true, force: true })
  }

  try {
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`multi-node deployment not ready within 180 s:\n${out}`)), 180_000)
      const onData = () => {
        if (/Novum multi-node deployment ready/.test(out)) {
          clearTimeout(timer)
          res()
        }
      }
      supervisor.stdout!.on('data', onData)
      supervisor.once('exit', (code) => {
        clearTimeout(timer)
        rej(new Error(`multi-node supervisor exited with ${code} before it was ready:\n${out}`))
      })
    })
    const db = createDatabase({ kind: family, url: databaseUrl, poolSize: 2 })
    cleanups.push(() => db.destroy())
    const session = await login(`http://127.0.0.1:${ports.identity}`, 'admin', password, 'admin')
    const pidOf = (name: string): number => {
      const c = state().children.find((x) => x.name === name)
      if (!c || c.pid === null || c.state !== 'running') throw new Error(`${name} is not running (${JSON.stringify(c)})`)
      return c.pid
    }
    return {
      dataDir, databaseUrl, amqpUrl, vhost, exchange, ports, password, session, db, supervisor,
      env: openrcEnv({ authUrl: `http://127.0.0.1:${ports.identity}/v3`, username: 'admin', password, projectName: 'admin' }),
      output: () => out,
      state,
      pidOf,
      async restart(name) {
        const before = state().children.find((x) => x.name === name)?.pid ?? null
        supervisor.kill('SIGUSR2')
        return eventually(`${name} running again`, async () => {
          const c = state().children.find((x) => x.name === name)
          return c && c.state === 'running' && c.pid !== null && c.pid !== before ? c.pid : undefined
        }, 120_000)
      },
      stop,
      destroy,
    }
  } catch (err) {
    await destroy()
    throw err
  }
}

/** A Placement allocation as stored: which consumer holds how much of what on which provider. */
export interface AllocationRow {
  readonly consumer: string
  readonly provider: string
  readonly resourceClass: string
  readonly used: number
}

/** Every allocation, with its provider's name (the compute node's hypervisor hostname). */
export async function allocations(db: NovumDb): Promise<AllocationRow[]> {
  const rows = await db
    .selectFrom('allocations as a')
    .innerJoin('resource_providers as rp', 'rp.id', 'a.resource_provider_id')
    .select(['a.consumer_id as consumer', 'rp.name as provider', 'a.resource_class as resourceClass', 'a.used as used'])
    .execute()
  return rows.map((r) => ({ ...r, used: Number(r.used) }))
}

/**
 * Placement agrees with the instances: every consumer is a live instance, and each live instance placed on a host
 * holds exactly its flavor there (VCPU, MEMORY_MB, DISK_GB). Returns the problems found (none: no leak).
 */
export async function allocationProblems(db: NovumDb): Promise<string[]> {
  const live = await db.selectFrom('instances').select(['uuid', 'host', 'vm_state', 'flavor']).where('deleted', '=', 0).execute()
  const byUuid = new Map(live.map((i) => [i.uuid, i]))
  const rows = await allocations(db)
  const problems: string[] = []
  const held = new Map<string, AllocationRow[]>()
  for (const r of rows) {
    if (!byUuid.has(r.consumer)) problems.push(`allocation of ${r.resourceClass} on ${r.provider} held by ${r.consumer}, which is no live instance`)
    held.set(r.consumer, [...(held.get(r.consumer) ?? []), r])
  }
  for (const i of live) {
    const mine = held.get(i.uuid) ?? []
    if (i.host === null) {
      if (mine.length > 0) problems.push(`instance ${i.uuid} has no host but holds ${mine.length} allocations`)
      continue
    }
    const flavor = JSON.parse(i.flavor) as { vcpus: number; memoryMb: number; rootGb: number; ephemeralGb: number }
    const want = { VCPU: flavor.vcpus, MEMORY_MB: flavor.memoryMb, DISK_GB: flavor.rootGb + flavor.ephemeralGb }
    const got = Object.fromEntries(mine.filter((r) => r.provider === i.host).map((r) => [r.resourceClass, r.used]))
    for (const [rc, n] of Object.entries(want)) {
      if (n > 0 && got[rc] !== n) problems.push(`instance ${i.uuid} (${i.vm_state}) on ${i.host} holds ${got[rc] ?? 0} ${rc}, expected ${n}`)
    }
    if (mine.some((r) => r.provider !== i.host)) problems.push(`instance ${i.uuid} on ${i.host} holds allocations elsewhere`)
  }
  return problems
}
