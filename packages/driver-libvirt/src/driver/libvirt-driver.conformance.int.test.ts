/**
 * Core's VirtDriver conformance suite on real TCG guests: the tiny guest (Debian cloud kernel + busybox initramfs)
 * booted through libvirtd by {@link LibvirtDriver}. At most two guests run at once (the suite's concurrency test
 * boots two; every other test one, destroyed after it). Domains are named `novumtest-conf-…`; leftovers of a
 * crashed run are destroyed before the suite and everything is removed after it.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeVirtDriverConformance } from '@novum/core/testing'
import { acquireGuestLock, destroyDomainsWithPrefix, GUEST_MARKER, libvirtSkipReason, testGuestImage, testGuestImageSource, waitForConsole } from '../testing/test-guest.js'
import { LibvirtDriver } from './libvirt-driver.js'

const skip = libvirtSkipReason()
const PREFIX = 'novumtest-conf-'

describe.skipIf(skip !== undefined)('LibvirtDriver on qemu:///system (TCG)', () => {
  let instancesPath = ''
  let release: (() => Promise<void>) | undefined
  const drivers: LibvirtDriver[] = []

  beforeAll(async () => {
    release = await acquireGuestLock({ holder: 'driver-libvirt conformance' })
    await destroyDomainsWithPrefix(PREFIX)
    instancesPath = await mkdtemp('/var/tmp/novum-libvirt-conformance-')
    await chmod(instancesPath, 0o755)
  })

  afterAll(async () => {
    await destroyDomainsWithPrefix(PREFIX).catch(() => undefined)
    await Promise.allSettled(drivers.map((d) => d.close()))
    if (instancesPath) await rm(instancesPath, { recursive: true, force: true })
    await release?.()
  })

  const makeDriver = () => {
    const driver = new LibvirtDriver({
      instancesPath,
      images: testGuestImageSource(),
      namePrefix: PREFIX,
      network: 'none',
      shutdownRetryIntervalSec: 2,
      softRebootTimeoutSec: 90,
    })
    drivers.push(driver)
    return driver
  }

  describeVirtDriverConformance(makeDriver, {
    name: 'VirtDriver conformance',
    makeImage: testGuestImage,
    flavor: { vcpus: 1, memoryMb: 256, rootGb: 1, ephemeralGb: 0 },
    timeoutMs: 240_000,
    eventTimeoutMs: 180_000,
    concurrency: 2,
    powerOffOptions: { timeoutSec: 90, retryIntervalSec: 2 },
  })

  it('the conformance guests really booted: a fresh one prints its marker on the console', async () => {
    const driver = makeDriver()
    await driver.init()
    const { makeInstance } = await import('@novum/core/testing')
    const instance = makeInstance({ instanceName: 'instance-marker', flavor: { vcpus: 1, memoryMb: 256, rootGb: 1, ephemeralGb: 0 } })
    try {
      await driver.spawn(instance, testGuestImage(), {})
      const console = await waitForConsole(() => driver.getConsoleOutput(instance), 'NOVUM-GUEST-DISK vda:', { timeoutMs: 180_000 })
      expect(console).toContain(GUEST_MARKER)
      expect(console).toContain('NOVUM-GUEST-DISK vda: NOVUM-ROOT-DISK base image')
    } finally {
      await driver.destroy(instance)
    }
  })
})
