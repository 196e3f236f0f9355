import { describe, expect, it } from 'vitest'
import { buildCommand, driverSettingsFromEnv, invocationDirectory, parseOptions } from './config.js'

describe('reference server options', () => {
  it('defaults to the embedded deployment on Nova\'s ports', () => {
    const o = parseOptions([], '/srv')
    expect(o).toMatchObject({ dataDir: '/srv/.novum', bind: '127.0.0.1', computePort: 8774, identityPort: 5000, imagePort: 9292, placementPort: 8778, fakeHosts: 4, hostVcpus: 32, hostMemoryMb: 131072, hostDiskGb: 2000, driver: 'fake', container: 'inversify' })
  })

  it('reads flags, and flags win over the environment', () => {
    process.env['NOVUM_FAKE_HOSTS'] = '7'
    process.env['NOVUM_COMPUTE_PORT'] = '18774'
    try {
      const o = parseOptions(['--fake-hosts', '9', '--data-dir', 'd'], '/x')
      expect(o.fakeHosts).toBe(9)
      expect(o.computePort).toBe(18774)
      expect(o.dataDir).toBe('/x/d')
    } finally {
      delete process.env['NOVUM_FAKE_HOSTS']
      delete process.env['NOVUM_COMPUTE_PORT']
    }
  })

  it('lists every option with its environment variable in --help', () => {
    const help = buildCommand().helpInformation()
    for (const flag of ['--data-dir', '--bind', '--compute-port', '--identity-port', '--image-port', '--placement-port', '--fake-hosts', '--host-vcpus', '--host-memory-mb', '--host-disk-gb', '--admin-password', '--driver']) {
      expect(help).toContain(flag)
    }
    expect(help).toContain('NOVUM_DATA_DIR')
    expect(help).toContain('NOVUM_FAKE_HOSTS')
  })

  it.each([
    [['--compute-port', '70000'], /--compute-port must be a port between 1 and 65535, got "70000"/],
    [['--fake-hosts', 'many'], /--fake-hosts must be a non-negative integer, got "many"/],
    [['--container', 'spring'], /Allowed choices are none, inversify, tsyringe/],
  ])('rejects %j with a clear message', (argv, message) => {
    const cmd = buildCommand().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} })
    expect(() => cmd.parse(argv, { from: 'user' })).toThrow(message)
  })

  it('resolves the data directory against where the operator started it', () => {
    expect(invocationDirectory({ NOVUM_INVOKED_FROM: '/home/op', INIT_CWD: '/repo' })).toBe('/home/op')
    expect(invocationDirectory({ INIT_CWD: '/repo' })).toBe('/repo')
  })

  it('collects driver settings from NOVUM_DRIVER_<KEY>', () => {
    expect(driverSettingsFromEnv({ NOVUM_DRIVER: 'libvirt', NOVUM_DRIVER_URI: 'qemu:///system', NOVUM_DRIVER_NETWORK: 'none', PATH: '/bin' })).toEqual({ uri: 'qemu:///system', network: 'none' })
  })
})
