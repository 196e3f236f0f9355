import { filter, firstValueFrom, timeout as rxTimeout } from 'rxjs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import type { Flavor } from '../model/flavor.js'
import type { ImageMeta } from '../model/image-meta.js'
import type { Instance } from '../model/instance.js'
import { PowerState } from '../model/states.js'
import { CAPABILITY_TRAITS, type PowerOffOptions, type ProviderTreeUpdate, type VirtCapabilities, type VirtDriver } from '../virt/virt-driver.js'
import type { VirtEvent, VirtLifecycleTransition } from '../virt/virt-event.js'
import { makeImageMeta, makeInstance } from './make-instance.js'

/** Options of {@link describeVirtDriverConformance}. */
export interface VirtDriverConformanceOptions {
  /** The name of the top-level `describe`. @default 'VirtDriver conformance' */
  readonly name?: string
  /** The image every test boots (a real driver needs one it can fetch). @default makeImageMeta() */
  readonly makeImage?: () => ImageMeta
  /** The flavor of the test guests; keep it small for real hypervisors. @default 1 vCPU, 256 MB, 1 GB disk */
  readonly flavor?: Partial<Flavor>
  /** Adjusts each test instance (e.g. a name prefix the host's cleanup recognises). */
  readonly prepareInstance?: (instance: Instance) => Instance
  /** The vitest timeout of each test and hook, in ms; a real boot can take minutes. @default 30000 */
  readonly timeoutMs?: number
  /** How long to wait for a lifecycle event, in ms. @default timeoutMs */
  readonly eventTimeoutMs?: number
  /** How many guests the concurrency test boots at once. @default 3 */
  readonly concurrency?: number
  /** Options passed to `powerOff` (e.g. `{ timeoutSec: 0 }` to skip the graceful wait of a guest without ACPI). */
  readonly powerOffOptions?: PowerOffOptions
}

/**
 * The conformance suite every {@link VirtDriver} must pass: the fake runs it in core's tests, and each real
 * driver (libvirt, LXC) runs it in its own package against a real hypervisor. Call it at the top level of a
 * test file; `makeDriver` is called once per `describe` block (the suite calls `init()` and `close()`).
 *
 * It checks the required surface (spawn, getInfo, destroy, power off/on, soft and hard reboot, inventory,
 * resources, provider tree, lifecycle events) and each optional feature only when its capability is declared
 * (pause, suspend, rescue, console output, snapshot, diagnostics). The suite is driver-agnostic: it asserts on
 * power states and contracts, never on timing; every wait is bounded by `timeoutMs` / `eventTimeoutMs`.
 *
 * @example
 * ```ts
 * describeVirtDriverConformance(() => new LibvirtDriver({ uri: 'qemu:///system' }), {
 *   makeImage: () => cirrosImage, timeoutMs: 180_000, concurrency: 2,
 * })
 * ```
 */
export function describeVirtDriverConformance(makeDriver: () => VirtDriver | Promise<VirtDriver>, options: VirtDriverConformanceOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 30_000
  const eventTimeoutMs = options.eventTimeoutMs ?? timeoutMs
  const concurrency = options.concurrency ?? 3
  const image = (): ImageMeta => (options.makeImage ?? makeImageMeta)()
  const newInstance = (): Instance => {
    const uuid = crypto.randomUUID()
    const base = makeInstance({
      uuid,
      displayName: `conformance-${uuid.slice(0, 8)}`,
      hostname: `conformance-${uuid.slice(0, 8)}`,
      instanceName: `instance-c${uuid.slice(0, 7)}`,
      flavor: { vcpus: 1, memoryMb: 256, rootGb: 1, ephemeralGb: 0, ...options.flavor },
    })
    return options.prepareInstance ? options.prepareInstance(base) : base
  }

  describe(options.name ?? 'VirtDriver conformance', () => {
    let driver: VirtDriver
    let nodename: string
    const guests: Instance[] = []

    const boot = async (spawnOptions: { powerOn?: boolean } = {}): Promise<Instance> => {
      const instance = newInstance()
      guests.push(instance)
      await driver.spawn(instance, image(), { ...spawnOptions })
      return instance
    }
    const stateOf = async (instance: Instance): Promise<PowerState> => (await driver.getInfo(instance)).state
    const nextEvent = (uuid: string, transitions: readonly VirtLifecycleTransition[]): Promise<VirtEvent> =>
      firstValueFrom(
        driver.events().pipe(
          filter((e) => e.instanceUuid === uuid && transitions.includes(e.transition)),
          rxTimeout(eventTimeoutMs),
        ),
      )
    const requireCapability = (flag: keyof VirtCapabilities, skip: () => void): boolean => {
      if (driver.capabilities[flag] !== true) {
        skip()
        return false
      }
      return true
    }

    beforeAll(async () => {
      driver = await makeDriver()
      await driver.init()
      const nodes = await driver.getAvailableNodes()
      nodename = nodes[0]!
    }, timeoutMs)

    afterEach(async () => {
      await Promise.allSettled(guests.splice(0).map((g) => driver.destroy(g)))
    }, timeoutMs)

    afterAll(async () => {
      await driver?.close()
    }, timeoutMs)

    describe('host', () => {
      it('reports at least one node', async () => {
        const nodes = await driver.getAvailableNodes()
        expect(nodes.length).toBeGreaterThan(0)
        expect(nodes.every((n) => typeof n === 'string' && n.length > 0)).toBe(true)
      }, timeoutMs)

      it('reports sane resources for its node', async () => {
        const r = await driver.getAvailableResource(nodename)
        expect(r.vcpus).toBeGreaterThan(0)
        expect(r.memoryMb).toBeGreaterThan(0)
        expect(r.localGb).toBeGreaterThanOrEqual(0)
        for (const used of [r.vcpusUsed, r.memoryMbUsed, r.localGbUsed]) {
          expect(Number.isFinite(used)).toBe(true)
          expect(used).toBeGreaterThanOrEqual(0)
        }
        expect(r.hypervisorType.length).toBeGreaterThan(0)
        expect(r.hypervisorHostname.length).toBeGreaterThan(0)
        expect(Number.isFinite(r.hypervisorVersion)).toBe(true)
        expect(Array.isArray(r.supportedInstances)).toBe(true)
        expect(JSON.parse(JSON.stringify(r))).toEqual(r)
      }, timeoutMs)

      it('fills VCPU, MEMORY_MB and DISK_GB inventories and the capability traits in updateProviderTree', async () => {
        const tree: ProviderTreeUpdate = { inventories: {}, traits: ['CUSTOM_KEEP_ME'] }
        await driver.updateProviderTree(nodename, tree)
        for (const rc of ['VCPU', 'MEMORY_MB', 'DISK_GB']) {
          const inv = tree.inventories[rc]
          expect(inv, `inventory ${rc}`).toBeDefined()
          expect(inv!.total).toBeGreaterThan(0)
          expect(inv!.allocationRatio ?? 1).toBeGreaterThan(0)
          expect(inv!.reserved ?? 0).toBeLessThanOrEqual(inv!.total)
          if (inv!.maxUnit !== undefined) expect(inv!.maxUnit).toBeLessThanOrEqual(inv!.total)
        }
        expect(tree.traits).toContain('CUSTOM_KEEP_ME')
        for (const [flag, trait] of Object.entries(CAPABILITY_TRAITS) as [keyof VirtCapabilities, string][]) {
          expect(tree.traits.includes(trait), `trait ${trait} for ${flag}`).toBe(driver.capabilities[flag] === true)
        }
        for (const format of driver.capabilities.supportedImageTypes ?? []) {
          expect(tree.traits).toContain(`COMPUTE_IMAGE_TYPE_${format.toUpperCase()}`)
        }
      }, timeoutMs)

      it('keeps an allocation ratio already in the tree unless configured otherwise', async () => {
        const first: ProviderTreeUpdate = { inventories: {}, traits: [] }
        await driver.updateProviderTree(nodename, first)
        const second: ProviderTreeUpdate = { inventories: JSON.parse(JSON.stringify(first.inventories)) as ProviderTreeUpdate['inventories'], traits: [] }
        await driver.updateProviderTree(nodename, second)
        expect(second.inventories.VCPU?.allocationRatio).toBe(first.inventories.VCPU?.allocationRatio)
        expect(second.inventories.MEMORY_MB?.allocationRatio).toBe(first.inventories.MEMORY_MB?.allocationRatio)
      }, timeoutMs)
    })

    describe('.spawn', () => {
      it('creates a running guest that getInfo, instanceExists and listInstanceUuids see', async () => {
        const instance = await boot()
        expect(await stateOf(instance)).toBe(PowerState.RUNNING)
        expect(await driver.instanceExists(instance)).toBe(true)
        expect(await driver.listInstanceUuids()).toContain(instance.uuid)
      }, timeoutMs)

      it('creates a stopped guest when powerOn is false', async () => {
        const instance = await boot({ powerOn: false })
        expect(await stateOf(instance)).toBe(PowerState.SHUTDOWN)
      }, timeoutMs)

      it(`boots ${concurrency} guests concurrently`, async () => {
        const instances = Array.from({ length: concurrency }, () => newInstance())
        guests.push(...instances)
        await Promise.all(instances.map((i) => driver.spawn(i, image(), {})))
        const uuids = await driver.listInstanceUuids()
        for (const i of instances) {
          expect(uuids).toContain(i.uuid)
          expect(await stateOf(i)).toBe(PowerState.RUNNING)
        }
      }, timeoutMs)

      it('counts the guest in getAvailableResource usage', async () => {
        const before = await driver.getAvailableResource(nodename)
        await boot()
        const after = await driver.getAvailableResource(nodename)
        expect(after.vcpusUsed).toBeGreaterThanOrEqual(before.vcpusUsed)
        expect(after.memoryMbUsed).toBeGreaterThanOrEqual(before.memoryMbUsed)
      }, timeoutMs)
    })

    describe('.getInfo', () => {
      it('throws NOT_FOUND for an unknown guest', async () => {
        const err = await driver.getInfo(newInstance()).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err, 'NOT_FOUND')).toBe(true)
      }, timeoutMs)

      it('reports an unknown guest as not existing', async () => {
        expect(await driver.instanceExists(newInstance())).toBe(false)
      }, timeoutMs)
    })

    describe('.destroy', () => {
      it('removes the guest', async () => {
        const instance = await boot()
        await driver.destroy(instance)
        expect(await driver.instanceExists(instance)).toBe(false)
        expect(await driver.listInstanceUuids()).not.toContain(instance.uuid)
        const err = await driver.getInfo(instance).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err, 'NOT_FOUND')).toBe(true)
      }, timeoutMs)

      it('is idempotent: destroying twice, or a guest that never existed, succeeds', async () => {
        const instance = await boot()
        await driver.destroy(instance)
        await expect(driver.destroy(instance)).resolves.toBeUndefined()
        await expect(driver.destroy(newInstance())).resolves.toBeUndefined()
      }, timeoutMs)

      it('removes a stopped guest', async () => {
        const instance = await boot({ powerOn: false })
        await driver.destroy(instance)
        expect(await driver.instanceExists(instance)).toBe(false)
      }, timeoutMs)
    })

    describe('power', () => {
      it('powers a guest off and on again', async () => {
        const instance = await boot()
        await driver.powerOff(instance, options.powerOffOptions)
        expect(await stateOf(instance)).toBe(PowerState.SHUTDOWN)
        await driver.powerOn(instance)
        expect(await stateOf(instance)).toBe(PowerState.RUNNING)
      }, timeoutMs)

      it('soft-reboots a running guest', async () => {
        const instance = await boot()
        await driver.reboot(instance, 'SOFT')
        expect(await stateOf(instance)).toBe(PowerState.RUNNING)
      }, timeoutMs)

      it('hard-reboots a running guest', async () => {
        const instance = await boot()
        await driver.reboot(instance, 'HARD')
        expect(await stateOf(instance)).toBe(PowerState.RUNNING)
      }, timeoutMs)

      it('hard-reboots a stopped guest into running', async () => {
        const instance = await boot({ powerOn: false })
        await driver.reboot(instance, 'HARD')
        expect(await stateOf(instance)).toBe(PowerState.RUNNING)
      }, timeoutMs)

      it('rejects power operations on an unknown guest with a ComputeError', async () => {
        const err = await driver.powerOn(newInstance()).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err)).toBe(true)
      }, timeoutMs)
    })

    describe('.events', () => {
      it('emits STOPPED on power off and STARTED on power on', async () => {
        const instance = await boot()
        const stopped = nextEvent(instance.uuid, ['STOPPED'])
        await driver.powerOff(instance, options.powerOffOptions)
        const stoppedEvent = await stopped
        expect(stoppedEvent.kind).toBe('lifecycle')
        expect(Number.isNaN(Date.parse(stoppedEvent.timestamp))).toBe(false)
        const started = nextEvent(instance.uuid, ['STARTED', 'RESUMED'])
        await driver.powerOn(instance)
        await expect(started).resolves.toMatchObject({ instanceUuid: instance.uuid })
      }, timeoutMs)

      it('completes the stream on close', async () => {
        const other = await makeDriver()
        await other.init()
        const completed = new Promise<boolean>((resolve) => other.events().subscribe({ complete: () => resolve(true) }))
        await other.close()
        await expect(completed).resolves.toBe(true)
      }, timeoutMs)
    })

    describe('optional features (tested only when declared)', () => {
      it('pause / unpause (supportsPause)', async (ctx) => {
        if (!requireCapability('supportsPause', () => ctx.skip())) return
        expect(typeof driver.pause).toBe('function')
        const instance = await boot()
        await driver.pause!(instance)
        expect(await stateOf(instance)).toBe(PowerState.PAUSED)
        await driver.unpause!(instance)
        expect(await stateOf(instance)).toBe(PowerState.RUNNING)
      }, timeoutMs)

      it('suspend / resume (supportsSuspend)', async (ctx) => {
        if (!requireCapability('supportsSuspend', () => ctx.skip())) return
        expect(typeof driver.suspend).toBe('function')
        const instance = await boot()
        await driver.suspend!(instance)
        // NOTE: a managed-save (libvirt) guest reads as shut down, which Nova accepts for `suspended`.
        expect([PowerState.SUSPENDED, PowerState.SHUTDOWN]).toContain(await stateOf(instance))
        await driver.resume!(instance)
        expect(await stateOf(instance)).toBe(PowerState.RUNNING)
      }, timeoutMs)

      it('rescue / unrescue (supportsRescue)', async (ctx) => {
        if (!requireCapability('supportsRescue', () => ctx.skip())) return
        expect(typeof driver.rescue).toBe('function')
        const instance = await boot()
        await driver.rescue!(instance, image(), 'rescue-pass')
        expect(await stateOf(instance)).toBe(PowerState.RUNNING)
        await driver.unrescue!(instance)
        expect(await stateOf(instance)).toBe(PowerState.RUNNING)
      }, timeoutMs)

      it('console output (supportsConsoleOutput)', async (ctx) => {
        if (!requireCapability('supportsConsoleOutput', () => ctx.skip())) return
        expect(typeof driver.getConsoleOutput).toBe('function')
        const instance = await boot()
        const output = await driver.getConsoleOutput!(instance)
        expect(typeof output).toBe('string')
      }, timeoutMs)

      it('snapshot reports its task states and uploads once (supportsSnapshot)', async (ctx) => {
        if (!requireCapability('supportsSnapshot', () => ctx.skip())) return
        expect(typeof driver.snapshot).toBe('function')
        const instance = await boot()
        const states: string[] = []
        const uploads: { bytes: number; diskFormat: string }[] = []
        await driver.snapshot!(instance, {
          imageId: crypto.randomUUID(),
          updateTaskState: async (s) => void states.push(s),
          upload: async (data, format) => {
            let bytes = 0
            if (data instanceof Uint8Array) bytes = data.byteLength
            else for await (const chunk of data) bytes += chunk.byteLength
            uploads.push({ bytes, diskFormat: format.diskFormat })
          },
        })
        expect(states).toEqual(['image_pending_upload', 'image_uploading'])
        expect(uploads).toHaveLength(1)
        expect(uploads[0]!.bytes).toBeGreaterThan(0)
      }, timeoutMs)

      it('diagnostics (supportsDiagnostics)', async (ctx) => {
        if (!requireCapability('supportsDiagnostics', () => ctx.skip())) return
        expect(typeof driver.getInstanceDiagnostics).toBe('function')
        const instance = await boot()
        const diagnostics = await driver.getInstanceDiagnostics!(instance)
        expect(typeof diagnostics.driver).toBe('string')
        expect(typeof diagnostics.state).toBe('string')
      }, timeoutMs)
    })
  })
}
