import { firstValueFrom, take, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { PowerState } from '../model/states.js'
import type { ProviderTreeUpdate } from '../virt/virt-driver.js'
import { FakeVirtDriver } from './fake-virt-driver.js'
import { makeImageMeta, makeInstance } from './make-instance.js'
import { describeVirtDriverConformance } from './virt-driver-conformance.js'

describeVirtDriverConformance(() => new FakeVirtDriver({ hostname: 'fake-conformance' }), { name: 'FakeVirtDriver conformance', timeoutMs: 5_000 })

describeVirtDriverConformance(() => new FakeVirtDriver({ hostname: 'fake-minimal', capabilities: { supportsPause: false, supportsSuspend: false, supportsRescue: false, supportsSnapshot: false, supportsConsoleOutput: false, supportsDiagnostics: false, supportedImageTypes: [] } }), {
  name: 'FakeVirtDriver conformance (optional features hidden)',
  timeoutMs: 5_000,
})

async function started(config: Partial<ConstructorParameters<typeof FakeVirtDriver>[0]> = {}): Promise<FakeVirtDriver> {
  const driver = new FakeVirtDriver({ hostname: 'compute-1', ...config })
  await driver.init()
  return driver
}

describe(FakeVirtDriver.name, () => {
  it('refuses work before init', async () => {
    const driver = new FakeVirtDriver({ hostname: 'compute-1' })
    const err = await driver.listInstanceUuids().catch((e: unknown) => e)
    expect(ComputeError.is(err, 'VIRT')).toBe(true)
    expect((err as Error).message).toBe('fake driver for host compute-1 is not initialised (call init() first)')
  })

  it('reports its defaults and the usage of its guests', async () => {
    const driver = await started()
    await driver.spawn(makeInstance({ flavor: { vcpus: 2, memoryMb: 4096, rootGb: 40, ephemeralGb: 5 } }), makeImageMeta(), {})
    await driver.spawn(makeInstance({ flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } }), makeImageMeta(), {})
    const r = await driver.getAvailableResource('compute-1')
    expect(r).toMatchObject({
      vcpus: 32,
      memoryMb: 131_072,
      localGb: 2000,
      vcpusUsed: 3,
      memoryMbUsed: 4608,
      localGbUsed: 46,
      diskAvailableLeast: 1954,
      hypervisorType: 'fake',
      hypervisorHostname: 'compute-1',
    })
  })

  it('rejects a node it does not manage', async () => {
    const driver = await started()
    const err = await driver.getAvailableResource('other').catch((e: unknown) => e)
    expect(ComputeError.is(err, 'NOT_FOUND')).toBe(true)
  })

  it("sets inventories with Nova's initial allocation ratios and reserved host memory", async () => {
    const driver = await started({ vcpus: 8, memoryMb: 16_384, localGb: 100 })
    const tree: ProviderTreeUpdate = { inventories: {}, traits: [] }
    await driver.updateProviderTree('compute-1', tree)
    expect(tree.inventories).toEqual({
      VCPU: { total: 8, reserved: 0, minUnit: 1, maxUnit: 8, stepSize: 1, allocationRatio: 16 },
      MEMORY_MB: { total: 16_384, reserved: 512, minUnit: 1, maxUnit: 16_384, stepSize: 1, allocationRatio: 1.5 },
      DISK_GB: { total: 100, reserved: 0, minUnit: 1, maxUnit: 100, stepSize: 1, allocationRatio: 1 },
    })
    expect(tree.traits).toEqual(expect.arrayContaining(['COMPUTE_DEVICE_TAGGING', 'COMPUTE_IMAGE_TYPE_QCOW2', 'COMPUTE_IMAGE_TYPE_RAW', 'COMPUTE_TRUSTED_CERTS']))
  })

  it('lets explicit allocation ratios win over the tree, and the tree win over the initial ones', async () => {
    const driver = await started({ allocationRatios: { cpu: 4 } })
    const tree: ProviderTreeUpdate = {
      inventories: { VCPU: { total: 1, allocationRatio: 2 }, MEMORY_MB: { total: 1, allocationRatio: 1.25 } },
      traits: ['COMPUTE_NET_ATTACH_INTERFACE'],
    }
    await driver.updateProviderTree('compute-1', tree)
    expect(tree.inventories.VCPU?.allocationRatio).toBe(4)
    expect(tree.inventories.MEMORY_MB?.allocationRatio).toBe(1.25)
    expect(tree.inventories.DISK_GB?.allocationRatio).toBe(1)
    // a capability the driver does not have loses its trait
    expect(tree.traits).not.toContain('COMPUTE_NET_ATTACH_INTERFACE')
  })

  it('fails spawn for instances matched by failSpawnFor, leaving no guest', async () => {
    const driver = await started({ failSpawnFor: (i) => (i.displayName === 'doomed' ? 'no space left on fake device' : false) })
    const doomed = makeInstance({ displayName: 'doomed' })
    const err = await driver.spawn(doomed, makeImageMeta(), {}).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'VIRT')).toBe(true)
    expect((err as Error).message).toBe('no space left on fake device')
    expect(await driver.instanceExists(doomed)).toBe(false)
    const fine = makeInstance({ displayName: 'fine' })
    await driver.spawn(fine, makeImageMeta(), {})
    expect(await driver.instanceExists(fine)).toBe(true)
  })

  it('changes the spawn failure hook at run time', async () => {
    const driver = await started()
    driver.setFailSpawnFor(() => true)
    const instance = makeInstance()
    const err = await driver.spawn(instance, makeImageMeta(), {}).catch((e: unknown) => e)
    expect((err as Error).message).toBe(`fake spawn failure for instance ${instance.uuid} on host compute-1`)
    driver.setFailSpawnFor(undefined)
    await driver.spawn(instance, makeImageMeta(), {})
    expect(driver.guest(instance.uuid)?.powerState).toBe(PowerState.RUNNING)
  })

  it('fails any operation through failOperation', async () => {
    const driver = await started({ failOperation: (op) => op === 'powerOff' })
    const instance = makeInstance()
    await driver.spawn(instance, makeImageMeta(), {})
    const err = await driver.powerOff(instance).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'VIRT')).toBe(true)
    expect((await driver.getInfo(instance)).state).toBe(PowerState.RUNNING)
  })

  it('refuses to spawn the same uuid twice', async () => {
    const driver = await started()
    const instance = makeInstance()
    await driver.spawn(instance, makeImageMeta(), {})
    const err = await driver.spawn(instance, makeImageMeta(), {}).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'VIRT')).toBe(true)
  })

  it('emits events for a simulated power change inside the guest', async () => {
    const driver = await started()
    const instance = makeInstance()
    await driver.spawn(instance, makeImageMeta(), {})
    const events = firstValueFrom(driver.events().pipe(take(2), toArray()))
    driver.simulatePowerChange(instance.uuid, PowerState.SHUTDOWN)
    driver.simulatePowerChange(instance.uuid, PowerState.CRASHED)
    expect((await events).map((e) => e.transition)).toEqual(['STOPPED', 'CRASHED'])
    expect(driver.guest(instance.uuid)?.powerState).toBe(PowerState.CRASHED)
  })

  it('rejects pausing a guest that is not running', async () => {
    const driver = await started()
    const instance = makeInstance()
    await driver.spawn(instance, makeImageMeta(), { powerOn: false })
    const err = await driver.pause(instance).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'VIRT')).toBe(true)
    expect((err as Error).message).toBe(`cannot pause instance ${instance.uuid}: it is shutdown`)
  })

  it('keeps a console log that records what happened to the guest', async () => {
    const driver = await started()
    const instance = makeInstance()
    await driver.spawn(instance, makeImageMeta(), {})
    await driver.reboot(instance, 'SOFT')
    const log = await driver.getConsoleOutput(instance)
    expect(log).toContain(instance.uuid)
    expect(log).toContain('reboot: acpi restart')
  })

  it('shows boot lines and a login prompt on the console each time the guest starts', async () => {
    const driver = await started()
    const instance = makeInstance()
    await driver.spawn(instance, makeImageMeta(), {})
    const first = await driver.getConsoleOutput(instance)
    expect(first).toContain('Linux version')
    expect(first).toContain(`Set hostname to ${instance.hostname}.`)
    expect(first.endsWith(`\n${instance.hostname} login:\n`)).toBe(true)
    await driver.powerOff(instance)
    await driver.powerOn(instance)
    const again = await driver.getConsoleOutput(instance)
    expect(again.split('Linux version')).toHaveLength(3)
    expect(again.startsWith(first)).toBe(true)
  })

  it('reports the rescue flag and the admin password of a guest', async () => {
    const driver = await started()
    const instance = makeInstance()
    await driver.spawn(instance, makeImageMeta(), { adminPassword: 'first' })
    expect(driver.guest(instance.uuid)?.adminPassword).toBe('first')
    await driver.rescue(instance, makeImageMeta(), 'rescue-pw')
    expect(driver.guest(instance.uuid)).toMatchObject({ rescued: true, adminPassword: 'rescue-pw' })
    await driver.unrescue(instance)
    expect(driver.guest(instance.uuid)?.rescued).toBe(false)
    await driver.setAdminPassword(instance, 'second')
    expect(driver.listGuests().map((g) => g.adminPassword)).toEqual(['second'])
  })
})

describe('FakeVirtDriver statePath', () => {
  it('keeps guests and their power states across a restart', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = mkdtempSync(join(tmpdir(), 'novum-fake-'))
    try {
      const statePath = join(dir, 'guests.json')
      const first = new FakeVirtDriver({ hostname: 'persist-1', statePath })
      await first.init()
      const running = makeInstance({ uuid: '00000000-0000-4000-8000-0000000000a1' })
      const stopped = makeInstance({ uuid: '00000000-0000-4000-8000-0000000000a2' })
      await first.spawn(running, makeImageMeta(), {})
      await first.spawn(stopped, makeImageMeta(), {})
      await first.powerOff(stopped, { timeoutSec: 0 })
      await first.close()

      const second = new FakeVirtDriver({ hostname: 'persist-1', statePath })
      await second.init()
      expect([...(await second.listInstanceUuids())].sort()).toEqual([running.uuid, stopped.uuid])
      expect((await second.getInfo(running)).state).toBe(PowerState.RUNNING)
      expect((await second.getInfo(stopped)).state).toBe(PowerState.SHUTDOWN)
      await second.destroy(running)
      await second.close()

      const third = new FakeVirtDriver({ hostname: 'persist-1', statePath })
      await third.init()
      expect(await third.listInstanceUuids()).toEqual([stopped.uuid])
      await third.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
