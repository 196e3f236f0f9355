import { describe, expect, it } from 'vitest'
import { makeFlavor } from '@novum/core/testing'
import { buildDiskXml, buildDomainXml, buildIsolatedNetworkXml, networkForwardMode, parseDomainXml, parseXml, type DomainSpec } from './domain-xml.js'
import { resizeDomainXml } from './libvirt-driver.js'

const spec: DomainSpec = {
  name: 'novum-instance-0000002a',
  uuid: '0f8d3a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6',
  type: 'qemu',
  memoryMb: 256,
  vcpus: 1,
  kernel: '/cache/kernel',
  initrd: '/cache/initrd',
  cmdline: 'console=ttyS0 panic=-1',
  disks: [
    { path: '/i/disk', format: 'qcow2', target: 'vda' },
    { path: '/vols/v1.raw', format: 'raw', target: 'vdb', serial: 'a-volume-id-that-is-longer-than-twenty' },
  ],
  interfaces: [{ network: 'novum-iso', mac: '52:54:00:12:34:56' }],
  consoleLogPath: '/i/console.log',
  metadata: {
    displayName: 'web & <db>',
    flavorId: '1',
    flavorName: 'm1.tiny',
    memoryMb: 256,
    vcpus: 1,
    rootGb: 1,
    ephemeralGb: 0,
    imageId: 'img-1',
    projectId: 'p1',
    userId: 'u1',
    createdAt: '2026-01-01T00:00:00.000Z',
  },
}

describe(buildDomainXml.name, () => {
  const xml = buildDomainXml(spec)

  it('builds a TCG domain with ACPI, a logged serial console, direct kernel boot and no balloon', () => {
    const d = parseXml(xml)['domain'] as Record<string, unknown>
    expect(d['@_type']).toBe('qemu')
    expect(d['name']).toBe(spec.name)
    expect(d['memory']).toEqual({ '@_unit': 'MiB', '#text': '256' })
    expect(d['os']).toMatchObject({ kernel: '/cache/kernel', initrd: '/cache/initrd', cmdline: 'console=ttyS0 panic=-1', type: { '@_machine': 'pc', '#text': 'hvm' } })
    expect(d['features']).toHaveProperty('acpi')
    expect(xml).toContain("<log file=\"/i/console.log\" append=\"on\"")
    expect(xml).toContain('<memballoon model="none"')
    expect(d['on_poweroff']).toBe('destroy')
  })

  it('escapes text and boots from the disk when there is no kernel', () => {
    expect(xml).toContain('web &amp; &lt;db&gt;')
    const plain = parseXml(buildDomainXml({ ...spec, kernel: undefined, interfaces: [] } as DomainSpec))['domain'] as Record<string, Record<string, unknown>>
    expect(plain['os']?.['boot']).toEqual({ '@_dev': 'hd' })
    expect(plain['os']).not.toHaveProperty('kernel')
  })

  it('reads back what it wrote: disks, NICs, console log and metadata', () => {
    const parsed = parseDomainXml(xml)
    expect(parsed).toMatchObject({ name: spec.name, uuid: spec.uuid, type: 'qemu', memoryKib: 256 * 1024, vcpus: 1, kernel: '/cache/kernel', consoleLogPath: '/i/console.log' })
    expect(parsed.disks.map((d) => [d.path, d.format, d.target, d.serial ?? null])).toEqual([
      ['/i/disk', 'qcow2', 'vda', null],
      ['/vols/v1.raw', 'raw', 'vdb', 'a-volume-id-that-is-'],
    ])
    expect(parsed.interfaces).toEqual([{ network: 'novum-iso', mac: '52:54:00:12:34:56' }])
    expect(parsed.metadata).toEqual(spec.metadata)
  })

  it('reads a single disk as a list and converts memory units', () => {
    const parsed = parseDomainXml(
      "<domain type='kvm'><name>x</name><uuid>u</uuid><memory unit='KiB'>524288</memory><vcpu>2</vcpu><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/a'/><backingStore type='file'><source file='/base'/></backingStore><target dev='vda' bus='virtio'/></disk></devices></domain>",
    )
    expect(parsed.memoryKib).toBe(524288)
    expect(parsed.disks).toEqual([{ path: '/a', format: 'raw', target: 'vda', bus: 'virtio', device: 'disk', readOnly: false, backingFile: '/base' }])
  })

  it('builds the disk element alone for attach and detach', () => {
    expect(parseXml(buildDiskXml({ path: '/v', format: 'raw', target: 'vdc' }))).toEqual({
      disk: [{ '@_type': 'file', '@_device': 'disk', driver: { '@_name': 'qemu', '@_type': 'raw' }, source: { '@_file': '/v' }, target: { '@_dev': 'vdc', '@_bus': 'virtio' } }],
    })
  })

  it('changes memory, vCPUs and the flavor metadata for a resize, keeping the rest', () => {
    const flavor = makeFlavor({ id: '2', name: 'm1.small', memoryMb: 512, vcpus: 2, rootGb: 2 })
    const resized = parseDomainXml(resizeDomainXml(xml, flavor))
    expect(resized).toMatchObject({ memoryKib: 512 * 1024, vcpus: 2, kernel: '/cache/kernel' })
    expect(resized.metadata).toMatchObject({ flavorId: '2', flavorName: 'm1.small', memoryMb: 512, vcpus: 2, rootGb: 2, displayName: 'web & <db>' })
    expect(resized.disks).toHaveLength(2)
  })
})

describe('network XML', () => {
  it('an isolated network has no <forward>', () => {
    const xml = buildIsolatedNetworkXml({ name: 'iso', bridge: 'virbr-iso', address: '10.254.251.1', dhcpStart: '10.254.251.10', dhcpEnd: '10.254.251.50' })
    expect(networkForwardMode(xml)).toBeNull()
    expect(parseXml(xml)).toMatchObject({ network: { name: 'iso', bridge: { '@_name': 'virbr-iso' }, ip: [{ '@_address': '10.254.251.1', dhcp: { range: [{ '@_start': '10.254.251.10' }] } }] } })
  })

  it.each([
    { xml: "<network><name>default</name><forward mode='nat'/></network>", mode: 'nat' },
    { xml: '<network><name>x</name><forward/></network>', mode: 'nat' },
    { xml: "<network><name>x</name><forward mode='route'/></network>", mode: 'route' },
  ])('detects forwarding ($mode)', ({ xml, mode }) => {
    expect(networkForwardMode(xml)).toBe(mode)
  })
})
