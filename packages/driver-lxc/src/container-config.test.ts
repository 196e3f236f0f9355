import { describe, expect, it } from 'vitest'
import { ComputeError } from '@novum/core'
import { buildContainerConfig, sanitiseHostname, vethHostName, vifsFromNetworkInfo, type ContainerConfigInput } from './container-config.js'

const base: ContainerConfigInput = {
  containerDir: '/var/lib/novum/lxc/novum-1',
  hostname: 'web-1',
  mode: 'image',
  vifs: [],
  cgroupLines: ['lxc.cgroup.memory.limit_in_bytes = 134217728'],
  consoleLogFile: '/var/lib/novum/lxc/novum-1/console.log',
  includes: ['/usr/share/lxc/config/common.conf'],
}
const lines = (input: ContainerConfigInput) => buildContainerConfig(input).trim().split('\n').slice(1)

describe(buildContainerConfig.name, () => {
  it('writes a whole image-mode config with no network', () => {
    expect(lines({ ...base, haltSignal: 'SIGPWR', rebootSignal: 'SIGTERM', initCmd: '/sbin/init quiet' })).toEqual([
      'lxc.include = /usr/share/lxc/config/common.conf',
      'lxc.rootfs.path = dir:/var/lib/novum/lxc/novum-1/rootfs',
      'lxc.autodev = 1',
      'lxc.signal.halt = SIGPWR',
      'lxc.signal.reboot = SIGTERM',
      'lxc.init.cmd = /sbin/init quiet',
      'lxc.uts.name = web-1',
      'lxc.net.0.type = empty',
      'lxc.console.logfile = /var/lib/novum/lxc/novum-1/console.log',
      'lxc.cgroup.memory.limit_in_bytes = 134217728',
    ])
  })

  it('leaves rootfs, includes and signals to the template in template mode', () => {
    expect(lines({ ...base, mode: 'template', haltSignal: 'SIGPWR', extraLines: ['lxc.apparmor.profile = unconfined'] })).toEqual([
      'lxc.uts.name = web-1',
      'lxc.net.0.type = empty',
      'lxc.console.logfile = /var/lib/novum/lxc/novum-1/console.log',
      'lxc.cgroup.memory.limit_in_bytes = 134217728',
      'lxc.apparmor.profile = unconfined',
    ])
  })

  it('gives each vif a veth on its bridge with its MAC, named like a Nova tap', () => {
    const vifs = [
      { id: '3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8', address: 'FA:16:3E:00:00:01', bridge: 'br-test' },
      { id: 'b1', address: 'fa:16:3e:00:00:02', bridge: 'br-two', mtu: 1400 },
    ]
    expect(lines({ ...base, mode: 'template', cgroupLines: [], vifs })).toEqual([
      'lxc.uts.name = web-1',
      'lxc.net.0.type = veth',
      'lxc.net.0.link = br-test',
      'lxc.net.0.flags = up',
      'lxc.net.0.hwaddr = fa:16:3e:00:00:01',
      'lxc.net.0.name = eth0',
      'lxc.net.0.veth.pair = tap3f2a1b4c-5d',
      'lxc.net.1.type = veth',
      'lxc.net.1.link = br-two',
      'lxc.net.1.flags = up',
      'lxc.net.1.hwaddr = fa:16:3e:00:00:02',
      'lxc.net.1.name = eth1',
      'lxc.net.1.veth.pair = tapb1',
      'lxc.net.1.mtu = 1400',
      'lxc.console.logfile = /var/lib/novum/lxc/novum-1/console.log',
    ])
  })

  it.each([
    { name: 'a newline in the init command', input: { ...base, initCmd: '/sbin/init\nlxc.cap.drop =' } },
    { name: 'a bad MAC', input: { ...base, vifs: [{ id: 'x', address: 'not-a-mac', bridge: 'br0' }] } },
    { name: 'a bad bridge name', input: { ...base, vifs: [{ id: 'x', address: 'fa:16:3e:00:00:01', bridge: 'br0; rm -rf /' }] } },
    { name: 'a bad signal', input: { ...base, haltSignal: 'SIGPWR\n' } },
  ])('rejects $name with INVALID', ({ input }) => {
    expect(() => buildContainerConfig(input)).toThrowError(expect.objectContaining({ code: 'INVALID' }) as Error)
  })
})

describe(sanitiseHostname.name, () => {
  it.each([
    ['web-1', 'web-1'],
    ['My Server_01', 'my-server-01'],
    ['--x--', 'x'],
    ['', 'novum'],
    ['a'.repeat(80), 'a'.repeat(63)],
  ])('%s → %s', (input, expected) => {
    expect(sanitiseHostname(input)).toBe(expected)
  })
})

describe(vifsFromNetworkInfo.name, () => {
  it('uses the default bridge for vifs that name none, and keeps the MTU from the details', () => {
    const vifs = vifsFromNetworkInfo([{ id: 'p1', address: 'fa:16:3e:00:00:01', networkId: 'n1', details: { mtu: 1450 } }, { id: 'p2', address: 'fa:16:3e:00:00:02', networkId: 'n1', bridge: 'br-own' }], 'br-default')
    expect(vifs).toEqual([
      { id: 'p1', address: 'fa:16:3e:00:00:01', bridge: 'br-default', mtu: 1450 },
      { id: 'p2', address: 'fa:16:3e:00:00:02', bridge: 'br-own' },
    ])
  })

  it('rejects a vif without any bridge', () => {
    let error: unknown
    try {
      vifsFromNetworkInfo([{ id: 'p1', address: 'fa:16:3e:00:00:01', networkId: 'n1' }], undefined)
    } catch (err) {
      error = err
    }
    expect(ComputeError.is(error, 'INVALID')).toBe(true)
  })

  it('gives no vifs for no network info', () => {
    expect(vifsFromNetworkInfo(undefined, 'br0')).toEqual([])
  })
})

describe(vethHostName.name, () => {
  it('fits the 15-character interface name limit', () => {
    expect(vethHostName({ id: '3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8' })).toHaveLength(14)
  })
})
