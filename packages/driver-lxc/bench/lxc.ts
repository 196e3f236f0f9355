/**
 * `pnpm bench driver-lxc/lxc`: LXC containers through {@link LxcDriver} against the bare lxc-* commands, on this
 * machine's real LXC.
 *
 * Measured (each single figure is the median of interleaved runs, bare and driver alternating so that the machine's
 * load hits both alike; each container is destroyed, untimed, after its run):
 * - create→RUNNING from the busybox template: bare `lxc-create -t busybox` + `lxc-start` + `lxc-wait RUNNING`
 *   against `LxcDriver.spawn` (template mode), and the ratio (target ≤ 1.1×);
 * - create→RUNNING from a rootfs tarball: bare `tar -x` + `lxc-create -t none` + `lxc-start` + `lxc-wait` against
 *   `LxcDriver.spawn` with the image cached (image mode), and the ratio;
 * - 20 containers started concurrently, both ways, for both root filesystems (wall time until all run);
 * - create→ACTIVE through the Compute API of the reference server (in this process, SQLite, in-process transport,
 *   LXC driver): POST /servers, then GET every 5 ms until ACTIVE; with a tarball image and with the default image
 *   (no data: busybox template). Target ≤ 1.5 s.
 *
 * Everything runs under a temporary directory and is destroyed at the end, also on failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { x } from 'tinyexec'
import { createAdminContext, type ImageMeta, type Instance } from '@novum/core'
import { makeImageMeta, makeInstance } from '@novum/core/testing'
import { defineBenchmark, freePort, median, sleep, type BenchFigure } from '../../../scripts/bench-api.js'
import { compute, login, waitServer } from '../../../examples/reference-server/src/client.js'
import { defaultOptions } from '../../../examples/reference-server/src/config.js'
import { startReferenceServer, type RunningReferenceServer } from '../../../examples/reference-server/src/server.js'
import { destroyContainers, LxcDriver, LxcTools } from '../src/index.js'

const RUNS = Number(process.env['NOVUM_LXC_BENCH_RUNS'] ?? 7)
const CONCURRENT = 20
const IMAGE_ID = '7e57b0b0-0000-4000-8000-00000000b0b0'

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits
const spread = (xs: readonly number[]): string => `n=${xs.length}, min ${round(Math.min(...xs))}, max ${round(Math.max(...xs))}`

/** Runs one command like the bare anchor does (tinyexec, the C locale); throws with its stderr. */
async function sh(command: string, args: readonly string[]): Promise<void> {
  const r = await x(command, args, { nodePath: false, throwOnError: false, timeout: 300_000, nodeOptions: { env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] } })
  if (r.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${r.exitCode}: ${r.stderr}`)
}

/** Bare create→RUNNING from the busybox template. */
async function bareTemplate(lxcPath: string, name: string, conf: string): Promise<void> {
  await sh('lxc-create', ['-P', lxcPath, '-n', name, '-t', 'busybox', '-f', conf])
  await sh('lxc-start', ['-P', lxcPath, '-n', name])
  await sh('lxc-wait', ['-P', lxcPath, '-n', name, '-s', 'RUNNING', '-t', '30'])
}

/** Bare create→RUNNING from a rootfs tarball: what an operator would type. */
async function bareImage(lxcPath: string, name: string, tarball: string): Promise<void> {
  const dir = join(lxcPath, name)
  mkdirSync(join(dir, 'rootfs'), { recursive: true })
  const conf = join(lxcPath, `.${name}.conf`)
  writeFileSync(
    conf,
    ['lxc.include = /usr/share/lxc/config/common.conf', `lxc.rootfs.path = dir:${dir}/rootfs`, 'lxc.autodev = 1', 'lxc.net.0.type = empty', ''].join('\n'),
  )
  await sh('tar', ['--numeric-owner', '-xpf', tarball, '-C', join(dir, 'rootfs')])
  await sh('lxc-create', ['-P', lxcPath, '-n', name, '-t', 'none', '-f', conf])
  await sh('lxc-start', ['-P', lxcPath, '-n', name])
  await sh('lxc-wait', ['-P', lxcPath, '-n', name, '-s', 'RUNNING', '-t', '30'])
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

export default defineBenchmark({
  description: `LXC: create→RUNNING through LxcDriver vs bare lxc-* (${RUNS} runs each), ${CONCURRENT} at once, API create→ACTIVE`,
  async run({ log }) {
    const root = mkdtempSync(join(tmpdir(), 'novum-lxc-bench-'))
    const barePath = join(root, 'bare')
    const driverPath = join(root, 'driver')
    const serverData = join(root, 'server')
    const serverLxc = join(root, 'server-lxc')
    const prefix = 'novum-bench-'
    const drivers: LxcDriver[] = []
    let server: RunningReferenceServer | undefined
    try {
      mkdirSync(barePath, { recursive: true })
      const empty = join(root, 'empty.conf')
      writeFileSync(empty, 'lxc.net.0.type = empty\n')

      log('building the busybox rootfs tarball')
      const scratch = new LxcTools({ lxcPath: join(root, 'scratch'), timeoutMs: 120_000 })
      mkdirSync(scratch.lxcPath, { recursive: true })
      await scratch.create('tpl', { template: 'busybox', configFile: empty })
      const tarball = join(root, 'busybox-rootfs.tar.gz')
      await sh('tar', ['--numeric-owner', '-czf', tarball, '-C', join(scratch.lxcPath, 'tpl', 'rootfs'), '.'])
      await scratch.destroy('tpl')

      const images = { download: async (_id: string, dest: string) => void (await sh('cp', [tarball, dest])) }
      const image: ImageMeta = makeImageMeta({ id: IMAGE_ID, name: 'busybox-rootfs', properties: { lxc_halt_signal: 'SIGPWR', lxc_reboot_signal: 'SIGTERM' } })
      const noData: ImageMeta = makeImageMeta({ id: 'no-data', name: 'no-data' })
      const driver = new LxcDriver({
        hostname: 'bench',
        lxcPath: driverPath,
        namePrefix: prefix,
        template: 'busybox',
        images,
        monitor: true,
        pollIntervalMs: 0,
      })
      // NOTE: a driver without an image source builds every root filesystem with the template.
      const templateDriver = new LxcDriver({ hostname: 'bench', lxcPath: driverPath, namePrefix: prefix, template: 'busybox', monitor: false, pollIntervalMs: 0 })
      drivers.push(driver, templateDriver)
      await driver.init()
      await templateDriver.init()
      const instance = (): Instance => makeInstance({ uuid: crypto.randomUUID(), flavor: { vcpus: 1, memoryMb: 128, rootGb: 1 } })
      // Warm-up, untimed: the image cache, the page cache of busybox and the tools.
      for (const run of [() => driver.spawn(instance(), image, {}), () => templateDriver.spawn(instance(), noData, {})]) await run()
      await destroyContainers({ lxcPath: driverPath, prefix })

      log(`single create→RUNNING, template, ${RUNS} runs each`)
      const bareT: number[] = []
      const drvT: number[] = []
      for (let i = 0; i < RUNS; i++) {
        const name = `${prefix}bare-t${i}`
        bareT.push(await timed(() => bareTemplate(barePath, name, empty)))
        await sh('lxc-destroy', ['-P', barePath, '-n', name, '-f'])
        const inst = instance()
        drvT.push(await timed(() => templateDriver.spawn(inst, noData, {})))
        await templateDriver.destroy(inst)
      }

      log(`single create→RUNNING, rootfs tarball, ${RUNS} runs each`)
      const bareI: number[] = []
      const drvI: number[] = []
      for (let i = 0; i < RUNS; i++) {
        const name = `${prefix}bare-i${i}`
        bareI.push(await timed(() => bareImage(barePath, name, tarball)))
        await sh('lxc-destroy', ['-P', barePath, '-n', name, '-f'])
        const inst = instance()
        drvI.push(await timed(() => driver.spawn(inst, image, {})))
        await driver.destroy(inst)
      }

      log(`${CONCURRENT} containers at once`)
      const many = async (start: (i: number) => Promise<unknown>): Promise<number> => timed(() => Promise.all(Array.from({ length: CONCURRENT }, (_, i) => start(i))))
      const bareManyT = await many((i) => bareTemplate(barePath, `${prefix}many-t${i}`, empty))
      await destroyContainers({ lxcPath: barePath, prefix })
      const drvManyT = await many(() => templateDriver.spawn(instance(), noData, {}))
      await destroyContainers({ lxcPath: driverPath, prefix })
      const bareManyI = await many((i) => bareImage(barePath, `${prefix}many-i${i}`, tarball))
      await destroyContainers({ lxcPath: barePath, prefix })
      const drvManyI = await many(() => driver.spawn(instance(), image, {}))
      await destroyContainers({ lxcPath: driverPath, prefix })

      log('API create→ACTIVE through the reference server with the LXC driver')
      const ports = { computePort: await freePort(), identityPort: await freePort(), imagePort: await freePort(), placementPort: await freePort() }
      const password = 'bench-admin-password'
      server = await startReferenceServer(
        defaultOptions({
          dataDir: serverData,
          ...ports,
          adminPassword: password,
          logLevel: 'warn',
          driver: 'lxc',
          computeHost: 'lxc-bench',
          reportIntervalSec: 2,
          driverSettings: { lxc_path: serverLxc, name_prefix: prefix, template: 'busybox' },
        }),
      )
      await server.deployment.api.images.create(createAdminContext(), {
        id: IMAGE_ID,
        name: 'busybox-rootfs',
        diskFormat: 'raw',
        containerFormat: 'bare',
        visibility: 'public',
        location: tarball,
        properties: { lxc_halt_signal: 'SIGPWR', lxc_reboot_signal: 'SIGTERM' },
      })
      const s = await login(server.urls.identity, 'admin', password, 'admin')
      for (;;) {
        const { body } = await compute<{ hypervisors: { state: string }[] }>(s, 'GET', '/os-hypervisors/detail')
        if (body.hypervisors.length > 0 && body.hypervisors.every((h) => h.state === 'up')) break
        await sleep(50)
      }
      const flavors = await compute<{ flavors: { id: string; name: string }[] }>(s, 'GET', '/flavors')
      const flavorRef = flavors.body.flavors.find((f) => f.name === 'm1.tiny')!.id
      const defaultImage = (await server.deployment.api.images.list(createAdminContext())).find((i) => i.id !== IMAGE_ID)!.id
      const apiBoot = async (imageRef: string): Promise<number> => {
        const t0 = performance.now()
        const { body } = await compute<{ server: { id: string } }>(s, 'POST', '/servers', { server: { name: 'bench', flavorRef, imageRef, networks: 'none' } })
        await waitServer(s, body.server.id, 'ACTIVE', 120_000, 5)
        const ms = performance.now() - t0
        await compute(s, 'DELETE', `/servers/${body.server.id}`)
        await waitServer(s, body.server.id, 'gone', 120_000, 5)
        return ms
      }
      await apiBoot(IMAGE_ID) // warm-up
      const apiI: number[] = []
      const apiT: number[] = []
      for (let i = 0; i < RUNS; i++) {
        apiI.push(await apiBoot(IMAGE_ID))
        apiT.push(await apiBoot(defaultImage))
      }

      const ratioT = median(drvT) / median(bareT)
      const ratioI = median(drvI) / median(bareI)
      const figures: BenchFigure[] = [
        { figure: 'create→RUNNING, busybox template, bare lxc-create/start/wait', value: round(median(bareT)), unit: 'ms', note: spread(bareT) },
        { figure: 'create→RUNNING, busybox template, LxcDriver.spawn', value: round(median(drvT)), unit: 'ms', note: spread(drvT) },
        { figure: 'driver / bare, busybox template', value: round(ratioT, 2), unit: '×', target: '≤ 1.1×', met: ratioT <= 1.1 },
        { figure: 'create→RUNNING, rootfs tarball, bare tar + lxc-create -t none/start/wait', value: round(median(bareI)), unit: 'ms', note: spread(bareI) },
        { figure: 'create→RUNNING, rootfs tarball, LxcDriver.spawn (image cached)', value: round(median(drvI)), unit: 'ms', note: spread(drvI) },
        { figure: 'driver / bare, rootfs tarball', value: round(ratioI, 2), unit: '×', target: '≤ 1.1×', met: ratioI <= 1.1 },
        { figure: `${CONCURRENT} at once, busybox template, bare`, value: round(bareManyT), unit: 'ms' },
        { figure: `${CONCURRENT} at once, busybox template, LxcDriver`, value: round(drvManyT), unit: 'ms', target: '≤ 1.1× bare', met: drvManyT <= 1.1 * bareManyT, note: `${round(drvManyT / bareManyT, 2)}× bare` },
        { figure: `${CONCURRENT} at once, rootfs tarball, bare`, value: round(bareManyI), unit: 'ms' },
        { figure: `${CONCURRENT} at once, rootfs tarball, LxcDriver`, value: round(drvManyI), unit: 'ms', target: '≤ 1.1× bare', met: drvManyI <= 1.1 * bareManyI, note: `${round(drvManyI / bareManyI, 2)}× bare` },
        { figure: 'API create→ACTIVE with LXC, rootfs tarball image, median', value: round(median(apiI)), unit: 'ms', target: '≤ 1500 ms', met: median(apiI) <= 1500, note: spread(apiI) },
        { figure: 'API create→ACTIVE with LXC, image without data (busybox template), median', value: round(median(apiT)), unit: 'ms', target: '≤ 1500 ms', met: median(apiT) <= 1500, note: spread(apiT) },
      ]
      return figures
    } finally {
      await server?.stop().catch((err: unknown) => log(`stopping the server failed: ${String(err)}`))
      await Promise.allSettled(drivers.map((d) => d.close()))
      for (const lxcPath of [barePath, driverPath, serverLxc, join(root, 'scratch')]) {
        await destroyContainers({ lxcPath, prefix }).catch(() => undefined)
        await destroyContainers({ lxcPath, prefix: 'tpl' }).catch(() => undefined)
        await Promise.resolve(x('lxc-monitor', ['-P', lxcPath, '-Q'], { throwOnError: false, nodePath: false })).catch(() => undefined)
      }
      rmSync(root, { recursive: true, force: true })
    }
  },
})
