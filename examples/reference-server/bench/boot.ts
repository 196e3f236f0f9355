import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { defineBenchmark, freePort, median, rssMb, sleep } from '../../../scripts/bench-api.js'
import { compute, login, waitAll, waitServer, type Session } from '../src/client.js'


async function createServer1(s: Session, name: string, flavorRef: string, imageRef: string): Promise<string> {
  const { body } = await compute<{ server: { id: string } }>(s, 'POST', '/servers', { server: { name, flavorRef, imageRef, networks: 'none' } })
  return body.server.id
}

export default defineBenchmark({
  description: 'boots against the reference server (built bundle, separate process, embedded default, 4 fake hosts)',
  async run({ rootDir, log }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'novum-bench-'))
    const ports = { compute: await freePort(), identity: await freePort(), image: await freePort(), placement: await freePort() }
    const password = 'bench-admin-password'
    const serverDir = resolve(rootDir, 'examples/reference-server')
    let child: ChildProcess | undefined
    try {
      log('building the reference server bundle')
      execFileSync('pnpm', ['run', 'build'], { cwd: serverDir, stdio: 'ignore' })
      const t0 = performance.now()
      child = spawn(process.execPath, ['dist/main.js'], {
        cwd: serverDir,
        env: {
          ...process.env,
          NOVUM_DATA_DIR: dataDir,
          NOVUM_COMPUTE_PORT: String(ports.compute),
          NOVUM_IDENTITY_PORT: String(ports.identity),
          NOVUM_IMAGE_PORT: String(ports.image),
          NOVUM_PLACEMENT_PORT: String(ports.placement),
          NOVUM_ADMIN_PASSWORD: password,
          NOVUM_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      })
      let firstAnswerMs = NaN
      for (;;) {
        try {
          const r = await fetch(`http://127.0.0.1:${ports.compute}/`)
          await r.text()
          firstAnswerMs = performance.now() - t0
          break
        } catch {
          if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`)
          if (performance.now() - t0 > 60_000) throw new Error('server did not answer within 60 s')
          await sleep(2)
        }
      }
      log(`first answered request after ${firstAnswerMs.toFixed(0)} ms`)
      const s = await login(`http://127.0.0.1:${ports.identity}`, 'admin', password, 'admin')
      let readyMs = NaN
      for (;;) {
        const { body } = await compute<{ hypervisors: { state: string }[] }>(s, 'GET', '/os-hypervisors/detail')
        if (body.hypervisors.length >= 4 && body.hypervisors.every((h) => h.state === 'up')) {
          readyMs = performance.now() - t0
          break
        }
        if (performance.now() - t0 > 60_000) throw new Error('hosts not up within 60 s')
        await sleep(2)
      }
      // Lift the admin project's quotas so 50 servers fit.
      await compute(s, 'PUT', `/os-quota-sets/${s.projectId}`, { quota_set: { instances: -1, cores: -1, ram: -1 } })
      const flavors = await compute<{ flavors: { id: string; name: string }[] }>(s, 'GET', '/flavors')
      const flavorRef = flavors.body.flavors.find((f) => f.name === 'm1.tiny')?.id
      const images = await fetch(`${s.imageUrl}/v2/images`, { headers: { 'x-auth-token': s.token } }).then((r) => r.json() as Promise<{ images: { id: string }[] }>)
      const imageRef = images.images[0]?.id
      if (!flavorRef || !imageRef) throw new Error('no m1.tiny flavor or no image')

      // Warm-up: one boot and delete that are not counted.
      const warm = await createServer1(s, 'warm-up', flavorRef, imageRef)
      await waitServer(s, warm, 'ACTIVE')
      await compute(s, 'DELETE', `/servers/${warm}`)
      await waitServer(s, warm, 'gone')

      log('10 single boots and deletes')
      const createTimes: number[] = []
      const deleteTimes: number[] = []
      for (let i = 0; i < 10; i++) {
        const c0 = performance.now()
        const id = await createServer1(s, `single-${i}`, flavorRef, imageRef)
        await waitServer(s, id, 'ACTIVE')
        createTimes.push(performance.now() - c0)
        const d0 = performance.now()
        await compute(s, 'DELETE', `/servers/${id}`)
        await waitServer(s, id, 'gone')
        deleteTimes.push(performance.now() - d0)
      }

      log('50 servers by 10 parallel clients')
      const b0 = performance.now()
      const ids: string[] = []
      await Promise.all(
        Array.from({ length: 10 }, async (_, c) => {
          for (let i = 0; i < 5; i++) ids.push(await createServer1(s, `batch-${c}-${i}`, flavorRef, imageRef))
        }),
      )
      await waitAll(s, ids, 'ACTIVE')
      const batchSec = (performance.now() - b0) / 1000
      const del0 = performance.now()
      await Promise.all(
        Array.from({ length: 10 }, async (_, c) => {
          for (const id of ids.slice(c * 5, c * 5 + 5)) await compute(s, 'DELETE', `/servers/${id}`)
        }),
      )
      await waitAll(s, ids, 'gone')
      const delSec = (performance.now() - del0) / 1000
      const rss = rssMb(child.pid!)

      const single = median(createTimes)
      const del = median(deleteTimes)
      return [
        { figure: 'single create→ACTIVE, median of 10', value: round(single), unit: 'ms', target: '≤ 20 ms', met: single <= 20, note: `min ${round(Math.min(...createTimes))}, max ${round(Math.max(...createTimes))}` },
        { figure: 'delete→gone, median of 10', value: round(del), unit: 'ms', target: '≤ 20 ms', met: del <= 20, note: `min ${round(Math.min(...deleteTimes))}, max ${round(Math.max(...deleteTimes))}` },
        { figure: '50 servers by 10 clients, create→all ACTIVE', value: round(50 / batchSec), unit: 'boots/s', target: '≥ 300 boots/s', met: 50 / batchSec >= 300, note: `${round(batchSec * 1000)} ms in all` },
        { figure: '50 servers by 10 clients, delete→all gone', value: round(50 / delSec), unit: 'deletes/s', note: `${round(delSec * 1000)} ms in all` },
        { figure: 'server RSS after the run', value: round(rss), unit: 'MB', target: '≤ 150 MB', met: rss <= 150 },
        { figure: 'launch to first answered request', value: round(firstAnswerMs), unit: 'ms', target: '≤ 1000 ms', met: firstAnswerMs <= 1000 },
        { figure: 'launch to all 4 hosts up (first compute heartbeat)', value: round(readyMs), unit: 'ms', target: '≤ 1000 ms', met: readyMs <= 1000 },
      ]
    } finally {
      if (child && child.exitCode === null) {
        child.kill('SIGTERM')
        await new Promise((r) => child!.once('exit', r))
      }
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
})

function round(x: number): number {
  return Math.round(x * 10) / 10
}
