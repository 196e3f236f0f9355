import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodePacket, HEADER_BYTES, MAX_PACKET_BYTES, MessageStatus, MessageType, PacketDecoder, REMOTE_PROGRAM, type PacketHeader } from './packet.js'
import { XdrError } from './xdr.js'

const header = (serial: number, procedure = 4): PacketHeader => ({ program: REMOTE_PROGRAM, version: 1, procedure, type: MessageType.CALL, serial, status: MessageStatus.OK })

describe('packets', () => {
  it('encodes length (counting itself), header and body as hypervisors.md describes', () => {
    const p = encodePacket(header(7, 66), Buffer.from([0xaa, 0xbb, 0xcc, 0xdd]))
    expect(p.readUInt32BE(0)).toBe(32)
    expect(p.subarray(4, 28).toString('hex')).toBe('2000808600000001000000420000000000000007' + '00000000')
    expect(p.subarray(28).toString('hex')).toBe('aabbccdd')
    expect(HEADER_BYTES).toBe(28)
  })

  it('decodes what it encodes, whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.uint8Array({ maxLength: 64 })), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (packets, cuts) => {
          const stream = Buffer.concat(packets.map(([serial, body]) => encodePacket(header(serial), body)))
          const decoder = new PacketDecoder()
          const out: { serial: number; body: string }[] = []
          let at = 0
          for (let i = 0; at < stream.length; i++) {
            const size = cuts[i % cuts.length]!
            for (const p of decoder.push(stream.subarray(at, at + size))) out.push({ serial: p.header.serial, body: p.body.toString('hex') })
            at += size
          }
          expect(out).toEqual(packets.map(([serial, body]) => ({ serial, body: Buffer.from(body).toString('hex') })))
          expect(decoder.pending).toBe(0)
        },
      ),
    )
  })

  it('keeps a partial packet until the rest arrives', () => {
    const decoder = new PacketDecoder()
    const p = encodePacket({ ...header(1), type: MessageType.REPLY, status: MessageStatus.ERROR }, Buffer.alloc(8, 1))
    expect(decoder.push(p.subarray(0, 10))).toEqual([])
    expect(decoder.pending).toBe(10)
    const [done] = decoder.push(p.subarray(10))
    expect(done?.header).toEqual({ program: REMOTE_PROGRAM, version: 1, procedure: 4, type: MessageType.REPLY, serial: 1, status: MessageStatus.ERROR })
  })

  it.each([
    { length: 27, why: 'shorter than a header' },
    { length: MAX_PACKET_BYTES + 5, why: 'longer than VIR_NET_MESSAGE_MAX' },
  ])('refuses a length $why', ({ length }) => {
    const bytes = Buffer.alloc(4)
    bytes.writeUInt32BE(length)
    expect(() => new PacketDecoder().push(bytes)).toThrow(XdrError)
  })

  it('refuses to encode a body larger than libvirt accepts', () => {
    expect(() => encodePacket(header(1), Buffer.alloc(MAX_PACKET_BYTES))).toThrow(/exceeds libvirt's maximum/)
  })
})
