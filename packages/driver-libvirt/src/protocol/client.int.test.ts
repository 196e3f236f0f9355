/**
 * The protocol client against the real libvirtd (scripts/setup-libvirt.sh starts it), with `virsh` as the oracle:
 * `test:///default` through the daemon for calls without guests and events, `qemu:///system` for the host's facts
 * and definitions (no guest is started here).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ComputeError } from '@novum/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { libvirtSkipReason, virsh } from '../testing/test-guest.js'
import { uuidFromBytes, uuidToBytes } from '../driver/uuid.js'
import { LibvirtClient } from './client.js'
import { VirErrorCode } from './generated/virterror.js'
import { DomainEventType, DomainUndefineFlags } from './libvirt-constants.js'
import { LibvirtError } from './libvirt-error.js'

const skip = libvirtSkipReason()
const PREFIX = 'novumtest-proto-'

const testDomainXml = (name: string, uuid: string) =>
  `<domain type='test'><name>${name}</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`
const qemuDomainXml = (name: string, uuid: string) =>
  `<domain type='qemu'><name>${name}</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><memballoon model='none'/></devices></domain>`

describe.skipIf(skip !== undefined)('LibvirtClient against libvirtd', () => {
  describe('test:///default through the daemon socket', () => {
    let client: LibvirtClient
    beforeAll(async () => {
      client = await LibvirtClient.connect({ uri: 'test:///default' })
    })
    afterAll(async () => {
      await client?.close()
    })

    it('opens the test driver and lists its default domain, as virsh does', async () => {
      expect((await client.call('CONNECT_GET_TYPE')).type).toBe('TEST')
      expect((await client.call('CONNECT_GET_URI')).uri).toBe('test:///default')
      const { domains } = await client.call('CONNECT_LIST_ALL_DOMAINS', { need_results: 1, flags: 0 })
      const oracle = (await virsh(['list', '--all', '--name'], 'test:///default')).split('\n').filter(Boolean)
      expect(domains.map((d) => d.name).sort()).toEqual(oracle.sort())
    })

    it('delivers lifecycle events for a define, a start and a destroy to the registered callback', async () => {
      const { callbackID } = await client.call('CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY', { eventID: 0, dom: null })
      const seen: { event: number; name: string; uuid: string }[] = []
      const off = client.onMessage('DOMAIN_EVENT_CALLBACK_LIFECYCLE', (m) => {
        if (m.callbackID === callbackID) seen.push({ event: m.msg.event, name: m.msg.dom.name, uuid: uuidFromBytes(m.msg.dom.uuid) })
      })
      const uuid = crypto.randomUUID()
      const { dom } = await client.call('DOMAIN_DEFINE_XML', { xml: testDomainXml(`${PREFIX}ev`, uuid) })
      await client.call('DOMAIN_CREATE', { dom })
      await client.call('DOMAIN_DESTROY', { dom })
      await client.call('DOMAIN_UNDEFINE', { dom })
      // every event was sent before the reply of the call that caused it; one more round trip flushes them
      await client.call('CONNECT_GET_VERSION')
      off()
      await client.call('CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY', { callbackID })
      expect(seen.map((e) => e.event)).toEqual([DomainEventType.DEFINED, DomainEventType.STARTED, DomainEventType.STOPPED, DomainEventType.UNDEFINED])
      expect(new Set(seen.map((e) => `${e.name} ${e.uuid}`))).toEqual(new Set([`${PREFIX}ev ${uuid}`]))
    })

    it('matches many concurrent replies to their calls by serial, errors included', async () => {
      const uuid = crypto.randomUUID()
      await client.call('DOMAIN_DEFINE_XML', { xml: testDomainXml(`${PREFIX}many`, uuid) })
      try {
        const names = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? `${PREFIX}missing-${i}` : i % 3 === 1 ? `${PREFIX}many` : 'test'))
        const results = await Promise.all(
          names.map((name) =>
            client.call('DOMAIN_LOOKUP_BY_NAME', { name }).then(
              ({ dom }) => dom.name,
              (err: unknown) => (LibvirtError.hasCode(err, VirErrorCode.VIR_ERR_NO_DOMAIN) ? 'no-domain' : String(err)),
            ),
          ),
        )
        expect(results).toEqual(names.map((n) => (n.includes('missing') ? 'no-domain' : n)))
      } finally {
        const { dom } = await client.call('DOMAIN_LOOKUP_BY_UUID', { uuid: uuidToBytes(uuid) })
        await client.call('DOMAIN_UNDEFINE', { dom })
      }
    })
  })

  describe('qemu:///system', () => {
    let client: LibvirtClient
    beforeAll(async () => {
      client = await LibvirtClient.connect({ uri: 'qemu:///system' })
      for (const d of (await client.call('CONNECT_LIST_ALL_DOMAINS', { need_results: 1, flags: 0 })).domains) {
        if (d.name.startsWith(PREFIX)) await client.call('DOMAIN_UNDEFINE_FLAGS', { dom: d, flags: DomainUndefineFlags.MANAGED_SAVE })
      }
    })
    afterAll(async () => {
      await client?.close()
    })

    it('reports the versions and hostname virsh reports', async () => {
      const version = await virsh(['version'])
      const qemu = /Running hypervisor: QEMU (\d+)\.(\d+)\.(\d+)/.exec(version)!
      const lib = /Using library: libvirt (\d+)\.(\d+)\.(\d+)/.exec(version)!
      const asNumber = (m: RegExpExecArray) => BigInt(Number(m[1]) * 1_000_000 + Number(m[2]) * 1000 + Number(m[3]))
      expect((await client.call('CONNECT_GET_VERSION')).hv_ver).toBe(asNumber(qemu))
      expect((await client.call('CONNECT_GET_LIB_VERSION')).lib_ver).toBe(asNumber(lib))
      expect((await client.call('CONNECT_GET_HOSTNAME')).hostname).toBe((await virsh(['hostname'])).trim())
      expect((await client.call('CONNECT_GET_TYPE')).type).toBe('QEMU')
    })

    it("decodes NODE_GET_INFO (rpcgen's char[32] model) as virsh nodeinfo shows it", async () => {
      const info = await client.call('NODE_GET_INFO')
      const nodeinfo = Object.fromEntries(
        (await virsh(['nodeinfo']))
          .split('\n')
          .filter((l) => l.includes(':'))
          .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]),
      )
      expect(info.model).toBe(nodeinfo['CPU model'])
      expect(info.cpus).toBe(Number(nodeinfo['CPU(s)']))
      expect(info.mhz).toBe(Number(nodeinfo['CPU frequency']?.split(' ')[0]))
      expect([info.sockets, info.cores, info.threads]).toEqual([Number(nodeinfo['CPU socket(s)']), Number(nodeinfo['Core(s) per socket']), Number(nodeinfo['Thread(s) per core'])])
      // the host's memory size moves (a VM with ballooned memory), so only its magnitude is compared
      const virshKib = Number(nodeinfo['Memory size']?.split(' ')[0])
      expect(Number(info.memory)).toBeGreaterThan(virshKib / 2)
      expect(Number(info.memory)).toBeLessThan(virshKib * 2)
    })

    it('defines a domain that virsh then sees, reads its XML back, and undefines it', async () => {
      const uuid = crypto.randomUUID()
      const name = `${PREFIX}def`
      const { dom } = await client.call('DOMAIN_DEFINE_XML_FLAGS', { xml: qemuDomainXml(name, uuid), flags: 1 })
      try {
        expect(uuidFromBytes(dom.uuid)).toBe(uuid)
        expect((await virsh(['domuuid', name])).trim()).toBe(uuid)
        expect((await virsh(['domstate', name])).trim()).toBe('shut off')
        const { state } = await client.call('DOMAIN_GET_STATE', { dom, flags: 0 })
        expect(state).toBe(5)
        expect((await client.call('DOMAIN_GET_XML_DESC', { dom, flags: 0 })).xml).toContain(`<uuid>${uuid}</uuid>`)
      } finally {
        await client.call('DOMAIN_UNDEFINE_FLAGS', { dom, flags: 0 })
      }
      expect((await virsh(['list', '--all', '--name'])).split('\n')).not.toContain(name)
    })

    it("maps libvirt's errors to LibvirtError with the code and message virsh prints", async () => {
      const err = await client.call('DOMAIN_LOOKUP_BY_NAME', { name: `${PREFIX}absent` }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(LibvirtError)
      expect(ComputeError.is(err, 'VIRT')).toBe(true)
      expect((err as LibvirtError).libvirtCode).toBe(VirErrorCode.VIR_ERR_NO_DOMAIN)
      // virsh words lookups itself; a definition error shows libvirt's own message, the same one we decode
      const badXml = "<domain type='qemu'><name>x</name><memory>nonsense</memory></domain>"
      const invalid = await client.call('DOMAIN_DEFINE_XML_FLAGS', { xml: badXml, flags: 0 }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(invalid).toBeInstanceOf(LibvirtError)
      const file = join(await mkdtemp(join(tmpdir(), 'novum-virsh-')), 'bad.xml')
      await writeFile(file, badXml)
      const oracle = await virsh(['define', file]).then(
        () => '',
        (e: Error) => e.message,
      )
      await rm(dirname(file), { recursive: true, force: true })
      expect(oracle).toContain((invalid as Error).message)
      expect((invalid as LibvirtError).libvirtCodeName).toMatch(/^VIR_ERR_/)
    })

    it('answers keepalive and stays open while idle', async () => {
      const idle = await LibvirtClient.connect({ uri: 'qemu:///system', keepAliveIntervalMs: 50, keepAliveCount: 3 })
      try {
        await new Promise((r) => setTimeout(r, 600))
        expect(idle.isOpen).toBe(true)
        expect(idle.stats.keepalives).toBeGreaterThan(0)
        expect((await idle.call('CONNECT_GET_HOSTNAME')).hostname.length).toBeGreaterThan(0)
      } finally {
        await idle.close()
      }
      expect(idle.isOpen).toBe(false)
      await expect(idle.call('CONNECT_GET_VERSION')).rejects.toSatisfy((e) => ComputeError.is(e, 'VIRT'))
    })

    it('is refused writes on the read-only socket', async () => {
      const ro = await LibvirtClient.connect({ uri: 'qemu:///system', socketPath: '/run/libvirt/libvirt-sock-ro', readOnly: true })
      try {
        expect((await ro.call('CONNECT_GET_TYPE')).type).toBe('QEMU')
        const err = await ro.call('DOMAIN_DEFINE_XML', { xml: qemuDomainXml(`${PREFIX}ro`, crypto.randomUUID()) }).then(
          () => null,
          (e: unknown) => e,
        )
        expect(LibvirtError.hasCode(err, VirErrorCode.VIR_ERR_OPERATION_DENIED)).toBe(true)
      } finally {
        await ro.close()
      }
    })

    it('fails with a ComputeError naming the socket when nothing listens there', async () => {
      const err = await LibvirtClient.connect({ socketPath: '/run/libvirt/no-such-sock' }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(ComputeError.is(err, 'VIRT')).toBe(true)
      expect((err as Error).message).toContain('/run/libvirt/no-such-sock: ENOENT')
    })

    it('fails calls in flight when the connection drops', async () => {
      const doomed = await LibvirtClient.connect({ uri: 'qemu:///system' })
      const closed = new Promise<Error | undefined>((resolve) => doomed.onClose(resolve))
      const inFlight = doomed.call('CONNECT_GET_CAPABILITIES')
      doomed.destroy()
      await expect(inFlight).rejects.toSatisfy((e) => ComputeError.is(e, 'VIRT'))
      await closed
      expect(doomed.isOpen).toBe(false)
    })
  })
})
