/**
 * What the conformance suite does not see, checked on real TCG guests with `virsh` and `qemu-img` as oracles:
 * the overlay on the cached base image, the console markers, volumes seen by the guest, managed save, snapshots,
 * resize, lifecycle events of a guest shut down from outside the driver, reconnection, the isolated network with
 * DHCP, and the refusal of a NAT network. One guest runs at a time; names start with `novumtest-drv-`.
 */
import { execFile } from 'node:child_process'
import { chmod, copyFile, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ComputeError, PowerState, type Instance, type VirtEvent } from '@novum/core'
import { makeFlavor, makeInstance } from '@novum/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LibvirtClient } from '../protocol/client.js'
import {
  acquireGuestLock, countOccurrences, destroyDomainsWithPrefix, GUEST_MARKER, libvirtSkipReason, TEST_GUEST_DIR, TEST_IMAGE_IDS, testGuestImage, testGuestImageSource,
  virsh, waitForConsole,
} from '../testing/test-guest.js'
import { LibvirtDriver } from './libvirt-driver.js'

const run = promisify(execFile)
const skip = libvirtSkipReason()
const PREFIX = 'novumtest-drv-'
const qemuImgInfo = async (path: string) => JSON.parse((await run('qemu-img', ['info', '--output=json', '-U', path])).stdout) as Record<string, unknown>
const domInfo = async (name: string) =>
  Object.fromEntries(
    (await virsh(['dominfo', name]))
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]),
  )
const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> => {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe.skipIf(skip !== undefined)('LibvirtDriver on qemu:///system (TCG), beyond conformance', () => {
  let instancesPath = ''
  let release: (() => Promise<void>) | undefined
  let driver: LibvirtDriver
  const images = testGuestImageSource()
  const events: VirtEvent[] = []
  const tiny = makeFlavor({ id: '1', name: 'm1.tiny', vcpus: 1, memoryMb: 256, rootGb: 1, ephemeralGb: 0 })
  const newInstance = (name: string, overrides: Partial<Instance> = {}) => makeInstance({ uuid: crypto.randomUUID(), instanceName: name, flavor: tiny, ...overrides })

  beforeAll(async () => {
    release = await acquireGuestLock({ holder: 'driver-libvirt int' })
    await destroyDomainsWithPrefix(PREFIX)
    instancesPath = await mkdtemp('/var/tmp/novum-libvirt-int-')
    await chmod(instancesPath, 0o755)
    driver = new LibvirtDriver({ instancesPath, images, namePrefix: PREFIX, shutdownRetryIntervalSec: 2, softRebootTimeoutSec: 90 })
    driver.events().subscribe((e) => events.push(e))
    await driver.init()
  })

  afterAll(async () => {
    await driver?.close()
    await destroyDomainsWithPrefix(PREFIX).catch(() => undefined)
    if (instancesPath) await rm(instancesPath, { recursive: true, force: true })
    await release?.()
  })

  describe('a booted guest, step by step', () => {
    const instance = newInstance('instance-steps')
    const name = `${PREFIX}instance-steps`
    const consoleText = () => driver.getConsoleOutput(instance)
    const markers = async () => countOccurrences(await consoleText(), GUEST_MARKER)

    it('boots from a qcow2 overlay on the image cached once, and prints its marker and root disk on the console', async () => {
      await driver.spawn(instance, testGuestImage(), {})
      expect((await virsh(['domstate', name])).trim()).toBe('running')
      expect((await virsh(['domuuid', name])).trim()).toBe(instance.uuid)
      const text = await waitForConsole(consoleText, 'NOVUM-GUEST-DISK vda:', { timeoutMs: 180_000 })
      expect(countOccurrences(text, GUEST_MARKER)).toBe(1)
      expect(text).toContain('NOVUM-GUEST-DISK vda: NOVUM-ROOT-DISK base image')
      const overlay = await qemuImgInfo(join(instancesPath, instance.uuid, 'disk'))
      expect(overlay).toMatchObject({ format: 'qcow2', 'virtual-size': 1024 ** 3, 'backing-filename': join(instancesPath, '_base', TEST_IMAGE_IDS.root), 'backing-filename-format': 'qcow2' })
      const xml = await virsh(['dumpxml', name])
      expect(xml).toContain(`<kernel>${join(instancesPath, '_base', TEST_IMAGE_IDS.kernel)}</kernel>`)
      expect(xml).toContain("<domain type='qemu'")
      expect(xml).toMatch(/<novum:flavor id="1" name="m1.tiny">/)
    })

    it('reuses the cached image for the next guest (one download per image)', async () => {
      const other = newInstance('instance-second')
      await driver.spawn(other, testGuestImage(), { powerOn: false })
      try {
        expect(Object.fromEntries(images.downloads)).toEqual({ [TEST_IMAGE_IDS.root]: 1, [TEST_IMAGE_IDS.kernel]: 1, [TEST_IMAGE_IDS.ramdisk]: 1 })
        expect((await virsh(['domstate', `${PREFIX}instance-second`])).trim()).toBe('shut off')
      } finally {
        await driver.destroy(other)
      }
      await expect(stat(join(instancesPath, other.uuid))).rejects.toThrow(/ENOENT/)
    })

    it('hot-plugs a file-backed volume the guest reads, and unplugs it', async () => {
      const volume = join(instancesPath, 'volume-1.raw')
      await copyFile(join(TEST_GUEST_DIR, 'volume.raw'), volume)
      const attachment = { volumeId: 'vol-1', mountpoint: '/dev/vdb', connectionInfo: { driver_volume_type: 'file', data: { device_path: volume } } }
      await driver.attachVolume(instance, attachment)
      await waitForConsole(consoleText, 'NOVUM-GUEST-DISK vdb: NOVUM-VOLUME data', { timeoutMs: 60_000 })
      expect(await virsh(['domblklist', name])).toMatch(new RegExp(`vdb\\s+${volume}`))
      await driver.detachVolume(instance, attachment)
      expect(await virsh(['domblklist', name])).not.toContain('vdb')
      await waitForConsole(consoleText, 'NOVUM-GUEST-DISKS: [vda ]', { count: 2, timeoutMs: 60_000 })
    })

    it('pauses and unpauses (libvirt suspend/resume) with PAUSED and RESUMED events', async () => {
      await driver.pause(instance)
      expect((await virsh(['domstate', name])).trim()).toBe('paused')
      expect((await driver.getInfo(instance)).state).toBe(PowerState.PAUSED)
      await driver.unpause(instance)
      expect((await virsh(['domstate', name])).trim()).toBe('running')
      await waitFor('the RESUMED event', async () => (events.some((e) => e.instanceUuid === instance.uuid && e.transition === 'RESUMED') ? true : undefined))
      expect(events.filter((e) => e.instanceUuid === instance.uuid).map((e) => e.transition)).toContain('PAUSED')
    })

    it('suspends to a managed-save image and resumes the same boot of the guest', async () => {
      await driver.suspend(instance)
      expect((await virsh(['domstate', name])).trim()).toBe('shut off')
      expect((await domInfo(name))['Managed save']).toBe('yes')
      expect((await driver.getInfo(instance)).state).toBe(PowerState.SHUTDOWN)
      await driver.resume(instance)
      expect((await virsh(['domstate', name])).trim()).toBe('running')
      expect((await domInfo(name))['Managed save']).toBe('no')
      expect(await markers()).toBe(1)
    })

    it('takes a cold snapshot: a standalone qcow2 holding the root disk, uploaded once, the guest running on', async () => {
      const states: string[] = []
      const file = join(instancesPath, 'snapshot.qcow2')
      let format = ''
      await driver.snapshot(instance, {
        imageId: crypto.randomUUID(),
        updateTaskState: async (s) => void states.push(s),
        upload: async (data, f) => {
          format = f.diskFormat
          const chunks: Buffer[] = []
          if (data instanceof Uint8Array) chunks.push(Buffer.from(data))
          else for await (const chunk of data) chunks.push(Buffer.from(chunk))
          await writeFile(file, Buffer.concat(chunks))
        },
      })
      expect(states).toEqual(['image_pending_upload', 'image_uploading'])
      expect(format).toBe('qcow2')
      const info = await qemuImgInfo(file)
      expect(info['format']).toBe('qcow2')
      expect(info['backing-filename']).toBeUndefined()
      const raw = join(instancesPath, 'snapshot.raw')
      await run('qemu-img', ['convert', '-O', 'raw', file, raw])
      const { readFile } = await import('node:fs/promises')
      expect((await readFile(raw)).subarray(0, 15).toString()).toBe('NOVUM-ROOT-DISK')
      expect((await virsh(['domstate', name])).trim()).toBe('running')
      expect(await markers()).toBe(1)
      expect((await readdir(join(instancesPath, instance.uuid))).filter((f) => f.startsWith('snapshot-'))).toEqual([])
    })

    it('reports a guest shut down from outside the driver (ACPI, the guest powers itself off) as SHUTDOWN, through an event', async () => {
      const before = events.length
      // the guest's acpid runs poweroff; repeat the request in case the guest was still settling
      await waitFor('the guest to power itself off', async () => {
        await virsh(['shutdown', name]).catch(() => '')
        return (await virsh(['domstate', name])).trim() === 'shut off' ? true : undefined
      })
      const stopped = await waitFor('the STOPPED event', async () => events.slice(before).find((e) => e.instanceUuid === instance.uuid && e.transition === 'STOPPED'))
      expect(Number.isNaN(Date.parse(stopped.timestamp))).toBe(false)
      expect((await driver.getInfo(instance)).state).toBe(PowerState.SHUTDOWN)
    })

    it('powers on again: a new boot of the guest', async () => {
      await driver.powerOn(instance)
      expect((await driver.getInfo(instance)).state).toBe(PowerState.RUNNING)
      await waitForConsole(consoleText, GUEST_MARKER, { count: 2, timeoutMs: 180_000 })
    })

    it('soft-reboots through an ACPI shutdown and a start: the guest boots again', async () => {
      await driver.reboot(instance, 'SOFT')
      expect((await driver.getInfo(instance)).state).toBe(PowerState.RUNNING)
      await waitForConsole(consoleText, GUEST_MARKER, { count: 3, timeoutMs: 180_000 })
    })

    it('resizes on the same host: new memory and vCPUs, a larger root disk, and a revert', async () => {
      const nodename = (await driver.getAvailableNodes())[0]!
      const small = makeFlavor({ id: '2', name: 'm1.small', vcpus: 2, memoryMb: 384, rootGb: 2, ephemeralGb: 0 })
      const diskInfo = await driver.migrateDiskAndPowerOff(instance, nodename, small, { timeoutSec: 60, retryIntervalSec: 2 })
      expect((await driver.getInfo(instance)).state).toBe(PowerState.SHUTDOWN)
      await driver.finishMigration({ ...instance, flavor: small }, testGuestImage(), diskInfo, { resizeInstance: true, powerOn: true })
      const resized = await domInfo(name)
      expect([resized['Max memory'], resized['CPU(s)'], resized['State']]).toEqual(['393216 KiB', '2', 'running'])
      expect((await qemuImgInfo(join(instancesPath, instance.uuid, 'disk')))['virtual-size']).toBe(2 * 1024 ** 3)
      await expect(driver.migrateDiskAndPowerOff(instance, 'another-host', small)).rejects.toSatisfy((e) => ComputeError.is(e, 'VIRT'))
      await driver.finishRevertMigration(instance, { powerOn: true })
      const reverted = await domInfo(name)
      expect([reverted['Max memory'], reverted['CPU(s)'], reverted['State']]).toEqual(['262144 KiB', '1', 'running'])
    })

    it('reconnects after losing the libvirt connection, and events flow again', async () => {
      ;(driver as unknown as { client: LibvirtClient }).client.destroy()
      expect(await driver.listInstanceUuids()).toContain(instance.uuid)
      const before = events.length
      await driver.powerOff(instance, { timeoutSec: 0 })
      await waitFor('the STOPPED event after reconnecting', async () => (events.slice(before).some((e) => e.instanceUuid === instance.uuid && e.transition === 'STOPPED') ? true : undefined))
      expect((await virsh(['domstate', name])).trim()).toBe('shut off')
    })

    it('reports diagnostics and removes everything of the guest on destroy, keeping the image cache', async () => {
      const diagnostics = await driver.getInstanceDiagnostics(instance)
      expect(diagnostics).toMatchObject({ driver: 'libvirt', hypervisor: 'qemu', state: 'shutdown', numCpus: 1, memoryMb: 256, numDisks: 1, numNics: 0 })
      await driver.destroy(instance)
      expect((await virsh(['list', '--all', '--name'])).split('\n')).not.toContain(name)
      await expect(stat(join(instancesPath, instance.uuid))).rejects.toThrow(/ENOENT/)
      expect((await readdir(join(instancesPath, '_base'))).sort()).toEqual(Object.values(TEST_IMAGE_IDS).sort())
    })
  })

  describe('.spawn failures', () => {
    it('refuses an image whose data is not the format it claims, leaving nothing behind', async () => {
      const instance = newInstance('instance-liar')
      const err = await driver.spawn(instance, { ...testGuestImage(), diskFormat: 'raw' }, {}).then(
        () => null,
        (e: unknown) => e,
      )
      expect(ComputeError.is(err, 'INVALID')).toBe(true)
      expect((err as Error).message).toContain('claims disk_format raw but its data is qcow2')
      expect(await driver.instanceExists(instance)).toBe(false)
      await expect(stat(join(instancesPath, instance.uuid))).rejects.toThrow(/ENOENT/)
    })

    it('refuses to spawn an instance twice', async () => {
      const instance = newInstance('instance-twice')
      await driver.spawn(instance, testGuestImage(), { powerOn: false })
      try {
        await expect(driver.spawn(instance, testGuestImage(), { powerOn: false })).rejects.toThrow(/already exists/)
      } finally {
        await driver.destroy(instance)
      }
    })
  })

  describe('networks', () => {
    it('creates an isolated network (no <forward>) and the guest gets a DHCP lease on it', async () => {
      const netName = `${PREFIX}net`
      const netDriver = new LibvirtDriver({
        instancesPath,
        images,
        namePrefix: PREFIX,
        network: { name: netName, create: { bridge: 'virbr-novt', address: '10.254.251.1', dhcpStart: '10.254.251.10', dhcpEnd: '10.254.251.50' } },
      })
      await netDriver.init()
      const instance = newInstance('instance-net', { networks: 'auto' })
      try {
        expect(await virsh(['net-info', netName])).toMatch(/Active:\s+yes/)
        expect(await virsh(['net-dumpxml', netName])).not.toContain('<forward')
        await netDriver.spawn(instance, testGuestImage(), {})
        expect(await virsh(['domiflist', `${PREFIX}instance-net`])).toContain(netName)
        const text = await waitForConsole(() => netDriver.getConsoleOutput(instance), 'NOVUM-GUEST-NET:', { timeoutMs: 180_000 })
        expect(text).toMatch(/NOVUM-GUEST-NET: lease of 10\.254\.251\.\d+ obtained/)
      } finally {
        await netDriver.destroy(instance)
        await netDriver.close()
      }
    })

    it('refuses a network that forwards to the outside (NAT), without starting it', async () => {
      const netName = `${PREFIX}nat`
      const file = join(instancesPath, 'nat.xml')
      await writeFile(file, `<network><name>${netName}</name><forward mode='nat'/><bridge name='virbr-novn' stp='off'/><ip address='10.254.252.1' netmask='255.255.255.0'/></network>`)
      await virsh(['net-define', file])
      const natDriver = new LibvirtDriver({ instancesPath, images, namePrefix: PREFIX, network: { name: netName } })
      try {
        const err = await natDriver.init().then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err, 'INVALID')).toBe(true)
        expect((err as Error).message).toContain('forwards (mode nat) to the outside')
        expect(await virsh(['net-info', netName])).toMatch(/Active:\s+no/)
      } finally {
        await natDriver.close()
        await virsh(['net-undefine', netName])
      }
    })
  })
})
