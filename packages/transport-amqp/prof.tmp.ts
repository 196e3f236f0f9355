import { readFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { AmqpTransport } from '/work/main/packages/transport-amqp/src/index.js'
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) / 100 }
const beam = Number(process.argv[2])
const exchange = `prof-${process.pid}`
const child = spawn(process.execPath, ['--conditions=@novum/source', '--import', 'tsx', '/work/main/packages/transport-amqp/bench/rpc.ts'], { env: { ...process.env, NOVUM_RPC_BENCH_ROLE: 'server', NOVUM_RPC_BENCH_EXCHANGE: exchange }, stdio: ['pipe', 'pipe', 'inherit'] })
await new Promise<void>((r) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && r()))
const client = new AmqpTransport({ exchange })
await client.init()
const callers = Number(process.argv[3] ?? 50)
const run = async (ms: number) => { const stop = performance.now() + ms; let n = 0
  await Promise.all(Array.from({ length: callers }, async () => { while (performance.now() < stop) { await client.call({ topic: 'bench_rpc' }, 'echo', { a: 1, instanceUuid: '6b3f1c1e-9a52-4d6e-8a0e-2a3c5d7e9f10' }); n++ } })); return n }
await run(1000)
const b0 = cpu(beam), s0 = cpu(child.pid!), c0 = process.cpuUsage()
const t0 = performance.now(); const n = await run(4000); const sec = (performance.now() - t0) / 1000
const c1 = process.cpuUsage()
console.log(`${callers} callers: ${(n / sec).toFixed(0)} calls/s; CPU per 1000 calls: broker ${((cpu(beam) - b0) / n * 1000 * 1000).toFixed(0)} ms, server ${((cpu(child.pid!) - s0) / n * 1e6).toFixed(0)} ms, client ${(((c1.user - c0.user) + (c1.system - c0.system)) / 1000 / n * 1000).toFixed(0)} ms`)
await client.close(); child.stdin!.end()
