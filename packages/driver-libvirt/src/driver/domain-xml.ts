import { XMLBuilder, XMLParser } from 'fast-xml-parser'

/** The namespace of the metadata Novum keeps in each domain's `<metadata>` (as Nova keeps `nova:instance`). */
export const NOVUM_METADATA_NS = 'https://novum.dev/xmlns/libvirt/instance/1.0'

/** A disk of a domain. */
export interface DiskSpec {
  /** The image file on the host. */
  readonly path: string
  /** `qcow2` or `raw`. */
  readonly format: string
  /** The guest device, e.g. `vda`. */
  readonly target: string
  /** @default 'virtio' */
  readonly bus?: string
  /** @default 'disk' */
  readonly device?: 'disk' | 'cdrom'
  readonly readOnly?: boolean
  /** The serial the guest sees (a volume id), at most 20 characters are kept by QEMU. */
  readonly serial?: string
}

/** A NIC on a libvirt network. */
export interface InterfaceSpec {
  readonly network: string
  readonly mac?: string
  /** @default 'virtio' */
  readonly model?: string
}

/** What Novum records about the instance in the domain (flavor and owner), readable back with {@link parseDomainXml}. */
export interface DomainMetadata {
  readonly displayName: string
  readonly flavorId: string
  readonly flavorName: string
  readonly memoryMb: number
  readonly vcpus: number
  readonly rootGb: number
  readonly ephemeralGb: number
  readonly imageId: string
  readonly projectId: string
  readonly userId: string
  readonly createdAt: string
}

/** Everything {@link buildDomainXml} needs. */
export interface DomainSpec {
  readonly name: string
  readonly uuid: string
  /** `qemu` (TCG) or `kvm`. */
  readonly type: string
  readonly memoryMb: number
  readonly vcpus: number
  /** @default 'x86_64' */
  readonly arch?: string
  /** @default 'pc' */
  readonly machine?: string
  /** Direct kernel boot: the kernel, initrd and command line (an AMI-style image). */
  readonly kernel?: string
  readonly initrd?: string
  readonly cmdline?: string
  readonly disks: readonly DiskSpec[]
  readonly interfaces: readonly InterfaceSpec[]
  /** The file the serial console is logged to (by virtlogd). */
  readonly consoleLogPath: string
  readonly metadata?: DomainMetadata
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, indentBy: '  ', suppressEmptyNode: true })

const REPEATED = new Set(['domain.devices.disk', 'domain.devices.interface', 'domain.devices.serial', 'domain.devices.console', 'disk', 'capabilities.guest', 'capabilities.guest.arch.domain', 'network.ip', 'network.ip.dhcp.range'])

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name, jpath) => REPEATED.has(String(jpath)),
})

/** Parses any libvirt XML document with attributes as `@_name` and text as strings (never numbers). */
export function parseXml(xml: string): Record<string, unknown> {
  return parser.parse(xml) as Record<string, unknown>
}

/** Builds an XML document from the `@_attribute` object form {@link parseXml} reads. */
export function buildXml(tree: Record<string, unknown>): string {
  return builder.build(tree) as string
}

function diskElement(d: DiskSpec): Record<string, unknown> {
  return {
    '@_type': 'file',
    '@_device': d.device ?? 'disk',
    driver: { '@_name': 'qemu', '@_type': d.format },
    source: { '@_file': d.path },
    target: { '@_dev': d.target, '@_bus': d.bus ?? 'virtio' },
    ...(d.readOnly ? { readonly: '' } : {}),
    ...(d.serial ? { serial: d.serial.slice(0, 20) } : {}),
  }
}

/** The `<disk>` element of one disk, for attach and detach. */
export function buildDiskXml(d: DiskSpec): string {
  return buildXml({ disk: diskElement(d) })
}

/**
 * The domain XML of an instance: a `type='qemu'` (TCG) or `kvm` guest with ACPI (so ACPI shutdown and reboot
 * work), the flavor's memory and vCPUs, its disks on virtio, NICs on libvirt networks, a serial console logged to
 * a file by virtlogd (the console output), no balloon, and Novum's metadata. `on_poweroff` destroys the guest,
 * `on_reboot` restarts it, as Nova configures them.
 */
export function buildDomainXml(spec: DomainSpec): string {
  const os: Record<string, unknown> = {
    type: { '@_arch': spec.arch ?? 'x86_64', '@_machine': spec.machine ?? 'pc', '#text': 'hvm' },
  }
  if (spec.kernel) {
    os.kernel = spec.kernel
    if (spec.initrd) os.initrd = spec.initrd
    if (spec.cmdline) os.cmdline = spec.cmdline
  } else {
    os.boot = { '@_dev': 'hd' }
  }
  const m = spec.metadata
  const domain: Record<string, unknown> = {
    '@_type': spec.type,
    name: spec.name,
    uuid: spec.uuid,
    ...(m
      ? {
          metadata: {
            'novum:instance': {
              '@_xmlns:novum': NOVUM_METADATA_NS,
              'novum:name': m.displayName,
              'novum:creationTime': m.createdAt,
              'novum:flavor': {
                '@_id': m.flavorId,
                '@_name': m.flavorName,
                'novum:memory': String(m.memoryMb),
                'novum:vcpus': String(m.vcpus),
                'novum:disk': String(m.rootGb),
                'novum:ephemeral': String(m.ephemeralGb),
              },
              'novum:owner': { 'novum:user': { '@_uuid': m.userId }, 'novum:project': { '@_uuid': m.projectId } },
              'novum:root': { '@_type': 'image', '@_uuid': m.imageId },
            },
          },
        }
      : {}),
    memory: { '@_unit': 'MiB', '#text': String(spec.memoryMb) },
    currentMemory: { '@_unit': 'MiB', '#text': String(spec.memoryMb) },
    vcpu: { '@_placement': 'static', '#text': String(spec.vcpus) },
    os,
    features: { acpi: '', apic: '' },
    clock: { '@_offset': 'utc' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: {
      disk: spec.disks.map(diskElement),
      interface: spec.interfaces.map((n) => ({
        '@_type': 'network',
        ...(n.mac ? { mac: { '@_address': n.mac } } : {}),
        source: { '@_network': n.network },
        model: { '@_type': n.model ?? 'virtio' },
      })),
      serial: [{ '@_type': 'pty', log: { '@_file': spec.consoleLogPath, '@_append': 'on' }, target: { '@_port': '0' } }],
      console: [{ '@_type': 'pty', target: { '@_type': 'serial', '@_port': '0' } }],
      memballoon: { '@_model': 'none' },
    },
  }
  return buildXml({ domain })
}

/** What {@link parseDomainXml} reads back from a domain's XML. */
export interface ParsedDomain {
  readonly name: string
  readonly uuid: string
  readonly type: string
  readonly memoryKib: number
  readonly vcpus: number
  readonly kernel: string | null
  readonly initrd: string | null
  readonly disks: readonly (DiskSpec & { readonly backingFile: string | null })[]
  readonly interfaces: readonly { readonly network: string | null; readonly mac: string | null }[]
  readonly consoleLogPath: string | null
  readonly metadata: Partial<DomainMetadata>
}

const text = (v: unknown): string | null => {
  if (v === undefined || v === null) return null
  if (typeof v === 'string') return v
  if (typeof v === 'object' && '#text' in (v as object)) return String((v as Record<string, unknown>)['#text'])
  return null
}
const attr = (v: unknown, name: string): string | null => {
  if (!v || typeof v !== 'object') return null
  const a = (v as Record<string, unknown>)[`@_${name}`]
  return typeof a === 'string' ? a : null
}
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {})
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v])

const toKib = (value: number, unit: string | null): number => {
  const u = (unit ?? 'KiB').toLowerCase()
  const factor: Record<string, number> = { b: 1 / 1024, bytes: 1 / 1024, k: 1, kib: 1, kb: 1000 / 1024, m: 1024, mib: 1024, mb: 1_000_000 / 1024, g: 1024 ** 2, gib: 1024 ** 2, gb: 1e9 / 1024 }
  return Math.round(value * (factor[u] ?? 1))
}

/** Reads the parts of a domain XML the driver needs: disks (with backing files), NICs, console log, metadata. */
export function parseDomainXml(xml: string): ParsedDomain {
  const domain = obj(parseXml(xml).domain)
  const devices = obj(domain.devices)
  const os = obj(domain.os)
  const memory = domain.memory
  const meta = obj(obj(domain.metadata)['novum:instance'])
  const flavor = obj(meta['novum:flavor'])
  const owner = obj(meta['novum:owner'])
  const num = (v: unknown): number | undefined => {
    const t = text(v)
    return t === null ? undefined : Number(t)
  }
  const metadata: Record<string, unknown> = {
    displayName: text(meta['novum:name']) ?? undefined,
    createdAt: text(meta['novum:creationTime']) ?? undefined,
    flavorId: attr(flavor, 'id') ?? undefined,
    flavorName: attr(flavor, 'name') ?? undefined,
    memoryMb: num(flavor['novum:memory']),
    vcpus: num(flavor['novum:vcpus']),
    rootGb: num(flavor['novum:disk']),
    ephemeralGb: num(flavor['novum:ephemeral']),
    userId: attr(owner['novum:user'], 'uuid') ?? undefined,
    projectId: attr(owner['novum:project'], 'uuid') ?? undefined,
    imageId: attr(meta['novum:root'], 'uuid') ?? undefined,
  }
  for (const k of Object.keys(metadata)) if (metadata[k] === undefined) delete metadata[k]
  const serial = list(devices.serial)[0]
  return {
    name: text(domain.name) ?? '',
    uuid: text(domain.uuid) ?? '',
    type: attr(domain, 'type') ?? '',
    memoryKib: toKib(Number(text(memory) ?? 0), attr(memory, 'unit')),
    vcpus: Number(text(domain.vcpu) ?? 0),
    kernel: text(os.kernel),
    initrd: text(os.initrd),
    disks: list(devices.disk).map((raw) => {
      const d = obj(raw)
      const backing = obj(obj(d.backingStore).source)
      return {
        path: attr(d.source, 'file') ?? attr(d.source, 'dev') ?? '',
        format: attr(d.driver, 'type') ?? 'raw',
        target: attr(d.target, 'dev') ?? '',
        bus: attr(d.target, 'bus') ?? 'virtio',
        device: (attr(d, 'device') ?? 'disk') as 'disk' | 'cdrom',
        readOnly: 'readonly' in d,
        ...(text(d.serial) ? { serial: text(d.serial)! } : {}),
        backingFile: attr(backing, 'file'),
      }
    }),
    interfaces: list(devices.interface).map((raw) => ({ network: attr(obj(raw).source, 'network'), mac: attr(obj(raw).mac, 'address') })),
    consoleLogPath: attr(obj(serial).log, 'file'),
    metadata: metadata as Partial<DomainMetadata>,
  }
}

/** The XML of an isolated libvirt network: a bridge with an address and DHCP, and no `<forward>` (no route out). */
export function buildIsolatedNetworkXml(n: { readonly name: string; readonly bridge: string; readonly address: string; readonly netmask?: string; readonly dhcpStart: string; readonly dhcpEnd: string }): string {
  return buildXml({
    network: {
      name: n.name,
      bridge: { '@_name': n.bridge, '@_stp': 'off' },
      ip: { '@_address': n.address, '@_netmask': n.netmask ?? '255.255.255.0', dhcp: { range: { '@_start': n.dhcpStart, '@_end': n.dhcpEnd } } },
    },
  })
}

/** The `<forward mode>` of a network XML, or null when the network has none (it is isolated). */
export function networkForwardMode(xml: string): string | null {
  const network = obj(parseXml(xml).network)
  if (!('forward' in network)) return null
  return attr(network.forward, 'mode') ?? 'nat'
}
