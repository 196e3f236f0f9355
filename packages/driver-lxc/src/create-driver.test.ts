import { describe, expect, it } from 'vitest'
import { ComputeError, silentLogger, type DriverFactoryOptions, type Logger } from '@novum/core'
import { createDriver, lxcDriverConfigFromSettings } from './create-driver.js'
import { LxcDriver } from './lxc-driver.js'

const images = { download: async () => undefined }
const options = (settings: Record<string, string>, logger: Logger = silentLogger): DriverFactoryOptions => ({ hostname: 'compute-lxc', dataDir: '/srv/novum/driver-lxc', images, logger, settings })

describe(lxcDriverConfigFromSettings.name, () => {
  it('defaults to an lxcpath under the data directory and the busybox template for images without data', () => {
    expect(lxcDriverConfigFromSettings(options({}))).toEqual({ hostname: 'compute-lxc', lxcPath: '/srv/novum/driver-lxc/lxc', images, logger: silentLogger, template: 'busybox' })
  })

  it('reads every kind of setting', () => {
    const config = lxcDriverConfigFromSettings(
      options({
        lxc_path: '/var/lib/lxc-novum',
        template: '',
        template_args: '--foo  bar',
        name_prefix: 'nv-',
        cpu_limit: 'quota',
        memory_limit: 'no',
        bridge: 'br-int',
        monitor: 'off',
        poll_interval_ms: '0',
        stopped_event_delay_ms: '500',
        soft_reboot_timeout_sec: '5',
        ram_allocation_ratio: '1.0',
        cpu_allocation_ratio: '4',
        reserved_host_memory_mb: '1024',
        extra_config: 'lxc.apparmor.profile = unconfined; lxc.start.auto = 0',
      }),
    )
    expect(config).toMatchObject({
      lxcPath: '/var/lib/lxc-novum',
      templateArgs: ['--foo', 'bar'],
      namePrefix: 'nv-',
      cpuLimit: 'quota',
      memoryLimit: false,
      bridge: 'br-int',
      monitor: false,
      pollIntervalMs: 0,
      stoppedEventDelayMs: 500,
      softRebootTimeoutSec: 5,
      allocationRatios: { ram: 1, cpu: 4 },
      reservedHostMemoryMb: 1024,
      extraConfig: ['lxc.apparmor.profile = unconfined', 'lxc.start.auto = 0'],
    })
    expect(config.template).toBeUndefined()
  })

  it.each([
    [{ cpu_limit: 'turbo' }, 'cpu_limit'],
    [{ memory_limit: 'maybe' }, 'memory_limit'],
    [{ poll_interval_ms: '-1' }, 'poll_interval_ms'],
    [{ ram_allocation_ratio: '0' }, 'ram_allocation_ratio'],
  ])('rejects %o with INVALID naming the setting', (settings, key) => {
    let error: unknown
    try {
      lxcDriverConfigFromSettings(options(settings))
    } catch (err) {
      error = err
    }
    expect(ComputeError.is(error, 'INVALID')).toBe(true)
    expect((error as Error).message).toContain(key)
  })

  it('warns about unknown settings and ignores them', () => {
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (a: unknown, b?: unknown) => void warnings.push(String(b ?? a)), child: () => logger }
    const config = lxcDriverConfigFromSettings(options({ uri: 'qemu:///system' }, logger))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('"uri"')
    expect(config).not.toHaveProperty('uri')
  })
})

describe('createDriver', () => {
  it('makes an LxcDriver for the host without touching the system', () => {
    const driver = createDriver(options({ name_prefix: 'nv-' }))
    expect(driver).toBeInstanceOf(LxcDriver)
    expect((driver as LxcDriver).hostname).toBe('compute-lxc')
    expect((driver as LxcDriver).containerName({ uuid: 'abc' })).toBe('nv-abc')
    expect(driver.capabilities.supportsPause).toBe(true)
  })
})
