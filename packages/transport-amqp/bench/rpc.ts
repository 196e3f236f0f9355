/**
 * `pnpm bench transport-amqp/rpc`: RPC over the real RabbitMQ at NOVUM_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672).
 *
 * The RPC server runs in a child process (this same file, started with NOVUM_RPC_BENCH_ROLE=server), as a real
 * service would. The callers run in the benchmark process and share one transport (one connection, one publish
 * channel, direct reply-to), the way a Nova service shares its RPC client. Broker, server process and caller
 * process share the machine's cores.
 *
 * Measured:
 * - `call` round trip (publish → handler → reply → promise resolved), p50 and p99, and calls/s, with 1, 10 and
 *   50 callers each issuing calls back to back for a fixed time after a warm-up;
 * - `cast` throughput with publisher confirms (persistent message, each cast's promise resolving on the broker's
 *   ack) with 50 casters back to back, and how long the server took to handle them all.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { defineBenchmark, type BenchFigure } from '../../../scripts/bench-api.js'
import { AmqpTransport } from '../src/index.js'

const URL_ = process.env['NOVUM_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672'
const TOPIC = 'bench_rpc'
const ROLE = process.env['NOVUM_RPC_BENCH_ROLE']
const MEASURE_MS = Number(process.env['NOVUM_RPC_BENCH_MS'] ?? 5000)

/** Server mode: listen, print "ready", serve until stdin closes. */
async function serve(exchange: string): Promise<void> {
  const transport = new AmqpTransport({ url: URL_, exchange, connectionName: `${exchange}-server` })
  let handledCasts = 0
  await transport.listen({ topic: TOPIC, server: 'bench-server' }, {
    echo: (args) => args,
    work: () => {
      handledCasts++
    },
    handled_casts: () => handledCasts,
  })
  process.stdout.write('ready\n')
  process.stdin.resume()
  await once(process.stdin, 'end')
  await transport.close()
}

if (ROLE === 'server') {
  const exchange = process.env['NOVUM_RPC_BENCH_EXCHANGE']
  if (!exchange) throw new Error('NOVUM_RPC_BENCH_EXCHANGE must be set in server mode')
  await serve(exchange)
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

interface Round {
  readonly callers: number
  readonly calls: number
  readonly seconds: number
  readonly p50: number
  readonly p99: number
}

const args = (i: number) => ({
  instanceUuid: '6b3f1c1e-9a52-4d6e-8a0e-2a3c5d7e9f10',
  host: 'compute-1',
  flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 },
  n: i,
})
const context = { requestId: 'req-4a1d3c8e-0b6f-4e5a-9c2d-7f8e9a0b1c2d', userId: 'admin', projectId: 'admin', roles: ['admin'], isAdmin: true }

/** `callers` loops issuing calls back to back for `durationMs`; returns latency percentiles and throughput. */
async function callRound(client: AmqpTransport, callers: number, durationMs: number): Promise<Round> {
  const latencies: number[] = []
  const stopAt = performance.now() + durationMs
  const started = performance.now()
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      let i = c
      while (performance.now() < stopAt) {
        const t0 = performance.now()
        await client.call({ topic: TOPIC }, 'echo', args(i), { context, timeoutMs: 30_000 })
        latencies.push(performance.now() - t0)
        i += callers
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const sorted = Float64Array.from(latencies).sort()
  return { callers, calls: latencies.length, seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) }
}

async function castRound(client: AmqpTransport, casters: number, total: number): Promise<{ confirmedPerSec: number; handledPerSec: number }> {
  const before = await client.call<number>({ topic: TOPIC, server: 'bench-server' }, 'handled_casts', {})
  const t0 = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: casters }, async () => {
      while (next < total) {
        const i = next++
        await client.cast({ topic: TOPIC }, 'work', args(i), { context })
      }
    }),
  )
  const confirmedSec = (performance.now() - t0) / 1000
  // the server has handled them all when its counter (read through its own server queue) has moved by `total`
  for (;;) {
    const handled = await client.call<number>({ topic: TOPIC, server: 'bench-server' }, 'handled_casts', {})
    if (handled - before >= total) break
    await new Promise((r) => setTimeout(r, 1))
  }
  const handledSec = (performance.now() - t0) / 1000
  return { confirmedPerSec: total / confirmedSec, handledPerSec: total / handledSec }
}

async function startServer(exchange: string, rootDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=@novum/source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    cwd: rootDir,
    env: { ...process.env, NOVUM_RPC_BENCH_ROLE: 'server', NOVUM_RPC_BENCH_EXCHANGE: exchange },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('ready\n')) resolve()
    })
  })
  child.removeAllListeners('exit')
  return child
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = once(child, 'exit')
  child.stdin!.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

/** Deletes the queues and exchanges the benchmark declared. */
async function cleanUp(exchange: string): Promise<void> {
  const { connect } = await import('amqplib')
  const model = await connect(URL_, { timeout: 3000 })
  try {
    const ch = await model.createChannel()
    await ch.deleteQueue(TOPIC)
    await ch.deleteQueue(`${TOPIC}.bench-server`)
    await ch.deleteExchange(`${TOPIC}_fanout`)
    await ch.deleteExchange(exchange)
    await ch.close()
  } finally {
    await model.close()
  }
}

export default defineBenchmark({
  description: `AmqpTransport RPC over the real RabbitMQ (${URL_.replace(/:[^:@/]*@/, ':***@')}); server in a child process; ${MEASURE_MS} ms per round`,
  async run({ rootDir, log }) {
    const exchange = `novum-bench-${process.pid}`
    const figures: BenchFigure[] = []
    let server: ChildProcess | undefined
    const client = new AmqpTransport({ url: URL_, exchange, connectionName: `${exchange}-client`, notificationSubscription: 'lazy' })
    try {
      server = await startServer(exchange, rootDir)
      await client.init()
      log('warm-up: 3000 calls at 10 callers')
      await callRound(client, 10, 1500)
      for (const callers of [1, 10, 50]) {
        const r = await callRound(client, callers, MEASURE_MS)
        const perSec = r.calls / r.seconds
        log(`${callers} caller(s): ${r.calls} calls in ${r.seconds.toFixed(1)} s → ${perSec.toFixed(0)} calls/s, p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms`)
        const note = `${r.calls} calls in ${r.seconds.toFixed(1)} s`
        const at50 = callers === 50
        figures.push({ figure: `call round trip p50, ${callers} caller(s)`, value: r.p50, unit: 'ms', ...(at50 ? { target: '≤ 1 ms', met: r.p50 <= 1 } : {}), note })
        figures.push({ figure: `call round trip p99, ${callers} caller(s)`, value: r.p99, unit: 'ms', note })
        figures.push({
          figure: `call throughput, ${callers} caller(s)`,
          value: Math.round(perSec),
          unit: 'calls/s',
          ...(at50 ? { target: '≥ 10000 calls/s', met: perSec >= 10_000 } : {}),
          note: at50 ? 'anchor: oslo.messaging 2,992 calls/s at 13.6 ms' : note,
        })
      }
      const total = 20_000
      log(`${total} casts with publisher confirms, 50 casters`)
      const casts = await castRound(client, 50, total)
      log(`casts: ${casts.confirmedPerSec.toFixed(0)}/s confirmed, ${casts.handledPerSec.toFixed(0)}/s handled`)
      figures.push({ figure: 'cast throughput with confirms (persistent), 50 casters', value: Math.round(casts.confirmedPerSec), unit: 'casts/s', note: `${total} casts, each awaited until the broker's ack` })
      figures.push({ figure: 'cast throughput, handled by the server', value: Math.round(casts.handledPerSec), unit: 'casts/s', note: 'first cast sent → last one handled' })
      return figures
    } finally {
      await client.close()
      if (server) await stopServer(server)
      await cleanUp(exchange).catch((err: unknown) => log(`clean-up failed: ${(err as Error).message}`))
    }
  },
})
