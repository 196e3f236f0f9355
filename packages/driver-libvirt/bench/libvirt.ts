/**
 * `pnpm bench libvirt`: what LibvirtDriver adds over bare libvirt, and what the protocol client costs per call.
 *
 * - spawn: `LibvirtDriver.spawn` (lookup, overlay on the cached image, XML, define, start) against the same define
 *   and start done bare with the raw protocol client (overlay made beforehand) and with `virsh`; then each one's
 *   time from the start call to the guest's console marker (the guest's own boot dominates that);
 * - teardown: `LibvirtDriver.destroy` (destroy, undefine, remove the instance directory) against bare destroy +
 *   undefine;
 * - calls: sequential and pipelined `CONNECT_GET_VERSION` round trips of the client against `virsh version` run once
 *   per call.
 *
 * One guest at a time, under the guest lock the tests use; domains are named `novumbench-…` and removed at the end.
 */
import { execFile, execFileSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeInstance } from '@novum/core/testing'
import { defineBenchmark, median, type BenchFigure } from '../../../scripts/bench-api.js'
import { buildDomainXml } from '../src/driver/domain-xml.js'
import { LibvirtDriver } from '../src/driver/libvirt-driver.js'
import { uuidToBytes } from '../src/driver/uuid.js'
import { LibvirtClient } from '../src/protocol/client.js'
import { DomainUndefineFlags } from '../src/protocol/libvirt-constants.js'
import {
  acquireGuestLock, countOccurrences, destroyDomainsWithPrefix, GUEST_MARKER, TEST_GUEST_CMDLINE, testGuestImage, testGuestImageSource,
} from '../src/testing/test-guest.js'

const run = promisify(execFile)
const PREFIX = 'novumbench-'
const ROUNDS = 7

const spread = (xs: readonly number[], digits = 0) => `n=${xs.length}, min ${Math.min(...xs).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)}`

async function waitForMarker(path: string, timeoutMs = 180_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '')
    if (countOccurrences(text, GUEST_MARKER) >= 1) return
    if (performance.now() > deadline) throw new Error(`no boot marker in ${path} within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export default defineBenchmark({
  description: 'LibvirtDriver over bare libvirt (define+start, destroy+undefine) on TCG guests, and protocol calls vs virsh',
  async run({ rootDir, log }) {
    log('running scripts/setup-libvirt.sh')
    execFileSync('bash', [join(rootDir, 'scripts', 'setup-libvirt.sh')], { stdio: ['ignore', 'ignore', 'inherit'] })
    const release = await acquireGuestLock({ holder: 'bench driver-libvirt' })
    const dir = await mkdtemp('/var/tmp/novum-libvirt-bench-')
    await chmod(dir, 0o755)
    const client = await LibvirtClient.connect({ uri: 'qemu:///system' })
    const driver = new LibvirtDriver({ instancesPath: join(dir, 'driver'), images: testGuestImageSource(), namePrefix: PREFIX, network: 'none' })
    const figures: BenchFigure[] = []
    try {
      await destroyDomainsWithPrefix(PREFIX)
      await driver.init()
      const flavor = { vcpus: 1, memoryMb: 256, rootGb: 1, ephemeralGb: 0 }
      // warm the image cache (and QEMU's pages) with one untimed boot
      const warm = makeInstance({ uuid: crypto.randomUUID(), instanceName: 'warm', flavor })
      await driver.spawn(warm, testGuestImage(), {})
      await waitForMarker(join(driver.instanceDir(warm), 'console.log'))
      await driver.destroy(warm)
      const base = join(dir, 'driver', '_base')
      const image = testGuestImage()

      const bare = { overlay: [] as number[], spawn: [] as number[], marker: [] as number[], teardown: [] as number[] }
      const drv = { spawn: [] as number[], marker: [] as number[], teardown: [] as number[] }
      const cli = { spawn: [] as number[], teardown: [] as number[] }
      for (let round = 0; round < ROUNDS; round++) {
        log(`round ${round + 1}/${ROUNDS}`)
        // bare libvirt through the raw client: the overlay is made beforehand, the XML prebuilt
        {
          const uuid = crypto.randomUUID()
          const idir = join(dir, 'bare', uuid)
          await mkdir(idir, { recursive: true, mode: 0o755 })
          await chmod(join(dir, 'bare'), 0o755)
          const tOverlay = performance.now()
          await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', join(base, image.id), join(idir, 'disk'), String(1024 ** 3)])
          bare.overlay.push(performance.now() - tOverlay)
          const consoleLog = join(idir, 'console.log')
          const xml = buildDomainXml({
            name: `${PREFIX}bare-${round}`, uuid, type: 'qemu', memoryMb: 256, vcpus: 1,
            kernel: join(base, image.properties['kernel_id']!), initrd: join(base, image.properties['ramdisk_id']!), cmdline: TEST_GUEST_CMDLINE,
            disks: [{ path: join(idir, 'disk'), format: 'qcow2', target: 'vda' }], interfaces: [], consoleLogPath: consoleLog,
          })
          const t0 = performance.now()
          const { dom } = await client.call('DOMAIN_DEFINE_XML_FLAGS', { xml, flags: 0 })
          await client.call('DOMAIN_CREATE', { dom })
          const t1 = performance.now()
          await waitForMarker(consoleLog)
          const t2 = performance.now()
          await client.call('DOMAIN_DESTROY', { dom })
          await client.call('DOMAIN_UNDEFINE_FLAGS', { dom, flags: DomainUndefineFlags.MANAGED_SAVE })
          const t3 = performance.now()
          bare.spawn.push(t1 - t0)
          bare.marker.push(t2 - t1)
          bare.teardown.push(t3 - t2)
          await rm(idir, { recursive: true, force: true })
        }
        // the driver
        {
          const instance = makeInstance({ uuid: crypto.randomUUID(), instanceName: `drv-${round}`, flavor })
          const t0 = performance.now()
          await driver.spawn(instance, image, {})
          const t1 = performance.now()
          await waitForMarker(join(driver.instanceDir(instance), 'console.log'))
          const t2 = performance.now()
          await driver.destroy(instance)
          const t3 = performance.now()
          drv.spawn.push(t1 - t0)
          drv.marker.push(t2 - t1)
          drv.teardown.push(t3 - t2)
        }
        // virsh, one process per command (define + start; destroy + undefine), without waiting for the guest
        {
          const uuid = crypto.randomUUID()
          const idir = join(dir, 'virsh', uuid)
          await mkdir(idir, { recursive: true, mode: 0o755 })
          await chmod(join(dir, 'virsh'), 0o755)
          await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', join(base, image.id), join(idir, 'disk'), String(1024 ** 3)])
          const name = `${PREFIX}virsh-${round}`
          const file = join(idir, 'domain.xml')
          await writeFile(file, buildDomainXml({
            name, uuid, type: 'qemu', memoryMb: 256, vcpus: 1,
            kernel: join(base, image.properties['kernel_id']!), initrd: join(base, image.properties['ramdisk_id']!), cmdline: TEST_GUEST_CMDLINE,
            disks: [{ path: join(idir, 'disk'), format: 'qcow2', target: 'vda' }], interfaces: [], consoleLogPath: join(idir, 'console.log'),
          }))
          const t0 = performance.now()
          await run('virsh', ['-q', '-c', 'qemu:///system', 'define', file])
          await run('virsh', ['-q', '-c', 'qemu:///system', 'start', name])
          const t1 = performance.now()
          await waitForMarker(join(idir, 'console.log'))
          const t2 = performance.now()
          await run('virsh', ['-q', '-c', 'qemu:///system', 'destroy', name])
          await run('virsh', ['-q', '-c', 'qemu:///system', 'undefine', name])
          const t3 = performance.now()
          cli.spawn.push(t1 - t0)
          cli.teardown.push(t3 - t2)
          await rm(idir, { recursive: true, force: true })
        }
      }
      const ratio = median(drv.spawn) / median(bare.spawn)
      const bareWithOverlay = bare.spawn.map((x, i) => x + bare.overlay[i]!)
      const ratioWithOverlay = median(drv.spawn) / median(bareWithOverlay)
      figures.push(
        { figure: 'bare define+start (raw protocol client), median', value: median(bare.spawn), unit: 'ms', note: spread(bare.spawn) },
        { figure: 'virsh define + virsh start, median', value: median(cli.spawn), unit: 'ms', note: spread(cli.spawn) },
        { figure: 'driver spawn (lookup, overlay, XML, define, start), median', value: median(drv.spawn), unit: 'ms', note: spread(drv.spawn) },
        { figure: 'driver spawn / bare define+start', value: ratio, unit: '×', target: '≤ 1.05×', met: ratio <= 1.05, note: `driver − bare = ${(median(drv.spawn) - median(bare.spawn)).toFixed(0)} ms; the driver also writes the overlay and looks the domain up` },
        { figure: 'bare `qemu-img create` overlay (the driver writes it in-process), median', value: median(bare.overlay), unit: 'ms', note: spread(bare.overlay) },
        { figure: 'driver spawn / bare (overlay + define + start)', value: ratioWithOverlay, unit: '×', target: '≤ 1.05×', met: ratioWithOverlay <= 1.05, note: 'the same work done bare' },
        { figure: 'bare start → console marker (guest boot), median', value: median(bare.marker) / 1000, unit: 's', note: spread(bare.marker.map((x) => x / 1000), 1) },
        { figure: 'driver spawn → console marker (guest boot), median', value: median(drv.marker) / 1000, unit: 's', note: spread(drv.marker.map((x) => x / 1000), 1) },
        { figure: 'bare destroy+undefine, median', value: median(bare.teardown), unit: 'ms', note: spread(bare.teardown) },
        { figure: 'virsh destroy + virsh undefine, median', value: median(cli.teardown), unit: 'ms', note: spread(cli.teardown) },
        { figure: 'driver destroy (destroy, undefine, rm instance dir), median', value: median(drv.teardown), unit: 'ms', note: spread(drv.teardown) },
        {
          figure: 'driver destroy / bare destroy+undefine',
          value: median(drv.teardown) / median(bare.teardown),
          unit: '×',
        },
      )

      log('protocol calls')
      for (let i = 0; i < 200; i++) await client.call('CONNECT_GET_VERSION')
      const N = 5000
      const samples: number[] = []
      for (let i = 0; i < N; i++) {
        const t = performance.now()
        await client.call('CONNECT_GET_VERSION')
        samples.push(performance.now() - t)
      }
      const sorted = [...samples].sort((a, b) => a - b)
      const p99 = sorted[Math.floor(N * 0.99)]!
      const t0 = performance.now()
      await Promise.all(Array.from({ length: N }, () => client.call('CONNECT_GET_VERSION')))
      const pipelinedPerS = N / ((performance.now() - t0) / 1000)
      const lookups: number[] = []
      const uuid = uuidToBytes(crypto.randomUUID())
      for (let i = 0; i < 1000; i++) {
        const t = performance.now()
        await client.call('DOMAIN_LOOKUP_BY_UUID', { uuid }).catch(() => undefined)
        lookups.push(performance.now() - t)
      }
      const virshMs: number[] = []
      for (let i = 0; i < 20; i++) {
        const t = performance.now()
        await run('virsh', ['-q', '-c', 'qemu:///system', 'version'])
        virshMs.push(performance.now() - t)
      }
      figures.push(
        { figure: 'protocol call (CONNECT_GET_VERSION), sequential, median', value: median(samples), unit: 'ms', target: '≤ 2 ms', met: median(samples) <= 2, note: `p99 ${p99.toFixed(3)} ms, n=${N}` },
        { figure: 'protocol calls/s, sequential', value: 1000 / median(samples), unit: 'calls/s' },
        { figure: 'protocol calls/s, 5000 pipelined', value: pipelinedPerS, unit: 'calls/s' },
        { figure: 'protocol call returning an error (lookup of a missing domain), median', value: median(lookups), unit: 'ms', note: 'n=1000' },
        { figure: '`virsh version` spawned per call, median', value: median(virshMs), unit: 'ms', note: spread(virshMs) },
        { figure: 'virsh per call / protocol call', value: median(virshMs) / median(samples), unit: '×' },
      )
      return figures
    } finally {
      await driver.close().catch(() => undefined)
      await client.close().catch(() => undefined)
      await destroyDomainsWithPrefix(PREFIX).catch(() => undefined)
      await rm(dir, { recursive: true, force: true })
      await release()
    }
  },
})
