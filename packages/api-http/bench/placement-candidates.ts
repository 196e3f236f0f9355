/**
 * `pnpm bench api-http/placement-candidates`: `GET /allocation_candidates` over real HTTP at 1,000 providers, set
 * up the way Placement's gate job (`gate/perfload-runner.sh` with placeload) sets them up.
 *
 * The Placement API runs in a child process (this same file, started with NOVUM_PLACEMENT_BENCH_ROLE=server):
 * a deployment with the api role only, on a SQLite file, with the four HTTP surfaces listening on loopback. The
 * benchmark process is the client, with one keep-alive connection, like the gate's curl/ab against a separate
 * server. Setup goes through the API too (as placeload does it): per provider `POST /resource_providers`,
 * `PUT …/inventories` (VCPU 24, MEMORY_MB 128000, DISK_GB 2000), `PUT …/aggregates` (placeload's cycle of one,
 * two or three of its aggregates, so every provider is in the gate's aggregate) and `PUT …/traits`
 * (HW_CPU_X86_AVX2), ten providers at a time.
 *
 * Measured, sequentially, after a warm-up, at `placement latest` (1.39), from sending the request to having the
 * whole body: the query `resources=VCPU:1,MEMORY_MB:256,DISK_GB:10` without and with `limit=1`, and the
 * gate's own query (plus `member_of=<aggregate>&required=HW_CPU_X86_AVX2`).
 *
 * Anchor: real Placement Zed answers the 1,000-provider query in 0.35 s (0.29–0.54), 0.30 s even with limit=1.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { defineBenchmark, type BenchFigure } from '../../../scripts/bench-api.js'

const ROLE = process.env['NOVUM_PLACEMENT_BENCH_ROLE']
const PROVIDERS = Number(process.env['NOVUM_PLACEMENT_BENCH_PROVIDERS'] ?? 1000)
const SAMPLES = Number(process.env['NOVUM_PLACEMENT_BENCH_SAMPLES'] ?? 200)
const WARMUP = 20
const CONCURRENCY = 10

/** placeload's aggregates; the first is the one the gate queries with `member_of`. */
const AGGREGATES = ['14a5c8a3-5a99-4e8f-88be-00d85fcb1c17', '66d98e7c-3c25-485d-a0dc-1cea651884de', 'a59dbb28-fd98-4c6e-9ec5-ae5f3d04b0aa']
const TRAIT = 'HW_CPU_X86_AVX2'
const QUERY = 'resources=VCPU:1,MEMORY_MB:256,DISK_GB:10'
const GATE_QUERY = `${QUERY}&member_of=${AGGREGATES[0]}&required=${TRAIT}`

/** Server mode: serve the API until stdin closes; print one JSON line with the URLs and an admin token. */
async function serve(dataDir: string): Promise<void> {
  const { createDeployment } = await import('@novum/core')
  const { createApiServers } = await import('../src/index.js')
  const deployment = createDeployment({ database: { kind: 'sqlite', filename: join(dataDir, 'novum.sqlite') }, roles: ['api'] })
  await deployment.start()
  const api = deployment.api
  await api.identity.bootstrap({ adminUser: 'admin', adminPassword: 'bench' })
  const { token } = await api.identity.authenticate({ userName: 'admin', password: 'bench', project: { name: 'admin' } })
  const servers = createApiServers(api, { endpoints: {} })
  const urls = await servers.listen({ host: '127.0.0.1', ports: { compute: 0, identity: 0, image: 0, placement: 0 } })
  process.stdout.write(`${JSON.stringify({ placement: urls.placement, token })}\n`)
  process.stdin.resume()
  await new Promise<void>((resolve) => process.stdin.once('end', resolve))
  await servers.close()
  await deployment.stop()
}

interface Response {
  readonly status: number
  readonly body: string
}

/** A keep-alive HTTP client for one Placement endpoint. */
function client(base: string, token: string): (method: string, path: string, body?: unknown) => Promise<Response> {
  const url = new URL(base)
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body)
      const req = httpRequest(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers: {
            'x-auth-token': token,
            'openstack-api-version': 'placement latest',
            accept: 'application/json',
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

export default defineBenchmark({
  description: `GET /allocation_candidates over HTTP at ${PROVIDERS} providers set up like Placement's gate job (separate server process, SQLite)`,
  async run({ log }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'novum-bench-placement-'))
    let child: ChildProcess | undefined
    try {
      child = spawn(process.execPath, ['--conditions=@novum/source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, NOVUM_PLACEMENT_BENCH_ROLE: 'server', NOVUM_PLACEMENT_BENCH_DIR: dataDir },
        stdio: ['pipe', 'pipe', 'inherit'],
      })
      const exited = new Promise<never>((_, reject) => child?.once('exit', (code) => reject(new Error(`the server exited with ${code}`))))
      const line = await Promise.race([new Promise<string>((resolve) => createInterface({ input: child!.stdout! }).once('line', resolve)), exited])
      const { placement, token } = JSON.parse(line) as { placement: string; token: string }
      const call = client(placement, token)

      log(`creating ${PROVIDERS} providers through the API (inventory, aggregates, trait), ${CONCURRENCY} at a time`)
      const setupStart = performance.now()
      let next = 0
      const expectOk = (r: Response, what: string): Response => {
        if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${r.body}`)
        return r
      }
      const worker = async (): Promise<void> => {
        for (let i = next++; i < PROVIDERS; i = next++) {
          const uuid = crypto.randomUUID()
          const rp = JSON.parse(expectOk(await call('POST', '/resource_providers', { uuid, name: uuid }), 'create provider').body) as { generation: number }
          const inv = expectOk(
            await call('PUT', `/resource_providers/${uuid}/inventories`, {
              resource_provider_generation: rp.generation,
              inventories: { VCPU: { total: 24 }, MEMORY_MB: { total: 128000 }, DISK_GB: { total: 2000 } },
            }),
            'set inventory',
          )
          const gen = (JSON.parse(inv.body) as { resource_provider_generation: number }).resource_provider_generation
          const aggs = expectOk(
            await call('PUT', `/resource_providers/${uuid}/aggregates`, { resource_provider_generation: gen, aggregates: AGGREGATES.slice(0, (i % 3) + 1) }),
            'set aggregates',
          )
          const gen2 = (JSON.parse(aggs.body) as { resource_provider_generation: number }).resource_provider_generation
          expectOk(await call('PUT', `/resource_providers/${uuid}/traits`, { resource_provider_generation: gen2, traits: [TRAIT] }), 'set traits')
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      const setupS = (performance.now() - setupStart) / 1000
      log(`setup took ${setupS.toFixed(1)} s`)

      const measure = async (label: string, query: string, expected: number): Promise<{ median: number; p90: number; bytes: number }> => {
        const path = `/allocation_candidates?${query}`
        const first = expectOk(await call('GET', path), label)
        const count = (JSON.parse(first.body) as { allocation_requests: unknown[] }).allocation_requests.length
        if (count !== expected) throw new Error(`${label}: expected ${expected} candidates, got ${count}`)
        for (let i = 0; i < WARMUP; i++) await call('GET', path)
        const times: number[] = []
        for (let i = 0; i < SAMPLES; i++) {
          const t0 = performance.now()
          const r = await call('GET', path)
          times.push(performance.now() - t0)
          if (r.status !== 200) throw new Error(`${label}: HTTP ${r.status}`)
        }
        times.sort((a, b) => a - b)
        const result = { median: percentile(times, 50), p90: percentile(times, 90), bytes: first.body.length }
        log(`${label}: median ${result.median.toFixed(2)} ms, p90 ${result.p90.toFixed(2)} ms (${count} candidates, ${(result.bytes / 1024).toFixed(0)} KiB)`)
        return result
      }

      const all = await measure('no limit', QUERY, PROVIDERS)
      const one = await measure('limit=1', `${QUERY}&limit=1`, 1)
      const gate = await measure('gate query', GATE_QUERY, PROVIDERS)
      const note = (m: { bytes: number }, n: number) => `${SAMPLES} sequential requests, keep-alive, ${n} candidate(s), ${(m.bytes / 1024).toFixed(0)} KiB body`
      const figures: BenchFigure[] = [
        { figure: `candidates at ${PROVIDERS} providers, HTTP, median`, value: all.median, unit: 'ms', target: '≤ 5 ms', met: all.median <= 5, note: `${note(all, PROVIDERS)}; Placement Zed: 350 ms` },
        { figure: `candidates at ${PROVIDERS} providers, HTTP, p90`, value: all.p90, unit: 'ms' },
        { figure: `candidates at ${PROVIDERS} providers, limit=1, HTTP, median`, value: one.median, unit: 'ms', target: '≤ 1 ms', met: one.median <= 1, note: `${note(one, 1)}; Placement Zed: 300 ms` },
        { figure: `candidates at ${PROVIDERS} providers, limit=1, HTTP, p90`, value: one.p90, unit: 'ms' },
        { figure: `gate query (+member_of, required) at ${PROVIDERS} providers, HTTP, median`, value: gate.median, unit: 'ms', note: note(gate, PROVIDERS) },
        { figure: `gate query (+member_of, required) at ${PROVIDERS} providers, HTTP, p90`, value: gate.p90, unit: 'ms' },
        { figure: `setup of ${PROVIDERS} providers through the API (4 requests each, ${CONCURRENCY} concurrent)`, value: setupS, unit: 's' },
      ]
      return figures
    } finally {
      if (child && child.exitCode === null) {
        const gone = new Promise<void>((resolve) => child?.once('exit', () => resolve()))
        child.stdin?.end()
        const killer = setTimeout(() => child?.kill('SIGKILL'), 10_000)
        await gone
        clearTimeout(killer)
      }
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
})

if (ROLE === 'server') {
  serve(process.env['NOVUM_PLACEMENT_BENCH_DIR'] as string).catch((err: unknown) => {
    process.stderr.write(`placement bench server failed: ${String((err as Error).stack ?? err)}\n`)
    process.exit(1)
  })
}
