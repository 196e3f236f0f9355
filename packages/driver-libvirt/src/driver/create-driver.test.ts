import { ComputeError, PowerState, silentLogger, type ImageSource } from '@novum/core'
import { describe, expect, it } from 'vitest'
import { DomainEventType, DomainState } from '../protocol/libvirt-constants.js'
import { createDriver, libvirtConfigFromSettings } from './create-driver.js'
import { LibvirtDriver, POWER_STATE_OF_DOMAIN_STATE, transitionOfLifecycleEvent } from './libvirt-driver.js'

const images: ImageSource = { download: async () => undefined }
const base = { hostname: 'compute-1', dataDir: '/var/lib/novum', images, logger: silentLogger }

describe(libvirtConfigFromSettings.name, () => {
  it('defaults to qemu (TCG), no network and instances under the data directory', () => {
    const config = libvirtConfigFromSettings({ ...base, settings: {} })
    expect(config).toMatchObject({ instancesPath: '/var/lib/novum/instances', domainType: 'qemu', network: 'none', hostname: 'compute-1', snapshotImageFormat: 'qcow2' })
    expect(config.uri).toBeUndefined()
  })

  it('maps NOVUM_DRIVER_* settings to the config', () => {
    const config = libvirtConfigFromSettings({
      ...base,
      settings: {
        uri: 'qemu:///system',
        socket_path: '/run/libvirt/libvirt-sock',
        name_prefix: 'e2e-',
        network: 'novum-iso',
        network_bridge: 'virbr-nv',
        network_address: '10.254.240.1',
        reserved_host_memory_mb: '1024',
        cpu_allocation_ratio: '4',
        shutdown_retry_interval_sec: '2',
      },
    })
    expect(config).toMatchObject({
      uri: 'qemu:///system',
      socketPath: '/run/libvirt/libvirt-sock',
      namePrefix: 'e2e-',
      network: { name: 'novum-iso', create: { bridge: 'virbr-nv', address: '10.254.240.1', netmask: '255.255.255.0', dhcpStart: '10.254.240.10', dhcpEnd: '10.254.240.200' } },
      reservedHostMemoryMb: 1024,
      allocationRatios: { cpu: 4 },
      shutdownRetryIntervalSec: 2,
    })
  })

  it.each<{ settings: Record<string, string>; message: RegExp }>([
    { settings: { sockt_path: '/x' }, message: /unknown libvirt driver setting "sockt_path" \(known: uri, socket_path/ },
    { settings: { domain_type: 'xen' }, message: /domain_type must be qemu or kvm, got "xen"/ },
    { settings: { reserved_host_memory_mb: 'lots' }, message: /reserved_host_memory_mb must be a non-negative number, got "lots"/ },
    { settings: { snapshot_image_format: 'vmdk' }, message: /snapshot_image_format must be qcow2 or raw/ },
  ])('refuses $settings', ({ settings, message }) => {
    let error: unknown
    try {
      libvirtConfigFromSettings({ ...base, settings })
    } catch (err) {
      error = err
    }
    expect(ComputeError.is(error, 'INVALID')).toBe(true)
    expect((error as Error).message).toMatch(message)
  })

  it('createDriver makes a LibvirtDriver without touching libvirt (init connects)', () => {
    const driver = createDriver({ ...base, settings: { name_prefix: 'x-' } })
    expect(driver).toBeInstanceOf(LibvirtDriver)
    expect((driver as LibvirtDriver).namePrefix).toBe('x-')
    expect(driver.capabilities.supportsConsoleOutput).toBe(true)
  })
})

describe('state and event mapping (Nova LIBVIRT_POWER_STATE and _event_lifecycle_callback)', () => {
  it.each([
    { state: DomainState.RUNNING, power: PowerState.RUNNING },
    { state: DomainState.BLOCKED, power: PowerState.RUNNING },
    { state: DomainState.PAUSED, power: PowerState.PAUSED },
    { state: DomainState.SHUTDOWN, power: PowerState.RUNNING },
    { state: DomainState.SHUTOFF, power: PowerState.SHUTDOWN },
    { state: DomainState.CRASHED, power: PowerState.CRASHED },
    { state: DomainState.PMSUSPENDED, power: PowerState.SUSPENDED },
  ])('domain state $state → power state $power', ({ state, power }) => {
    expect(POWER_STATE_OF_DOMAIN_STATE[state]).toBe(power)
  })

  it.each([
    { event: DomainEventType.STARTED, detail: 0, transition: 'STARTED' },
    { event: DomainEventType.STOPPED, detail: 0, transition: 'STOPPED' },
    { event: DomainEventType.STOPPED, detail: 4, transition: 'STOPPED' },
    { event: DomainEventType.SUSPENDED, detail: 0, transition: 'PAUSED' },
    { event: DomainEventType.SUSPENDED, detail: 7, transition: 'POSTCOPY_STARTED' },
    { event: DomainEventType.SUSPENDED, detail: 1, transition: 'MIGRATION_COMPLETED' },
    { event: DomainEventType.RESUMED, detail: 0, transition: 'RESUMED' },
    { event: DomainEventType.PMSUSPENDED, detail: 0, transition: 'SUSPENDED' },
    { event: DomainEventType.CRASHED, detail: 0, transition: 'CRASHED' },
    { event: DomainEventType.DEFINED, detail: 0, transition: undefined },
    { event: DomainEventType.SHUTDOWN, detail: 0, transition: undefined },
  ])('event $event/$detail → $transition', ({ event, detail, transition }) => {
    expect(transitionOfLifecycleEvent(event, detail)).toBe(transition)
  })
})
