import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeXdr, encodeXdr, xdr, XdrError, XdrReader, XdrWriter, type XdrCodec } from './xdr.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('XDR', () => {
  describe('primitives', () => {
    it.each([
      { name: 'int 1', codec: xdr.int as XdrCodec<unknown>, value: 1, bytes: '00000001' },
      { name: 'int -1', codec: xdr.int as XdrCodec<unknown>, value: -1, bytes: 'ffffffff' },
      { name: 'uint max', codec: xdr.uint as XdrCodec<unknown>, value: 0xffffffff, bytes: 'ffffffff' },
      { name: 'hyper -2', codec: xdr.hyper as XdrCodec<unknown>, value: -2n, bytes: 'fffffffffffffffe' },
      { name: 'uhyper 7002022', codec: xdr.uhyper as XdrCodec<unknown>, value: 7002022n, bytes: '00000000006ad7a6' },
      { name: 'bool true', codec: xdr.bool as XdrCodec<unknown>, value: true, bytes: '00000001' },
      { name: 'double 1.5', codec: xdr.double as XdrCodec<unknown>, value: 1.5, bytes: '3ff8000000000000' },
      { name: 'string "abcde" (padded)', codec: xdr.string() as XdrCodec<unknown>, value: 'abcde', bytes: '000000056162636465000000' },
      { name: 'empty string', codec: xdr.string() as XdrCodec<unknown>, value: '', bytes: '00000000' },
      { name: 'opaque<3>', codec: xdr.opaque() as XdrCodec<unknown>, value: Buffer.from([1, 2, 3]), bytes: '0000000301020300' },
      { name: 'opaque[4]', codec: xdr.fixedOpaque(4) as XdrCodec<unknown>, value: Buffer.from([9, 8, 7, 6]), bytes: '09080706' },
      { name: 'optional absent', codec: xdr.optional(xdr.int) as XdrCodec<unknown>, value: null, bytes: '00000000' },
      { name: 'optional present', codec: xdr.optional(xdr.int) as XdrCodec<unknown>, value: 5, bytes: '0000000100000005' },
      { name: 'int<>', codec: xdr.array(xdr.int) as XdrCodec<unknown>, value: [1, 2], bytes: '000000020000000100000002' },
      { name: 'int[2]', codec: xdr.fixedArray(xdr.int, 2) as XdrCodec<unknown>, value: [3, 4], bytes: '0000000300000004' },
      // rpcgen's char: a whole 4-byte unit per character
      { name: 'char[4] "ab"', codec: xdr.charString(4) as XdrCodec<unknown>, value: 'ab', bytes: '00000061000000620000000000000000' },
    ])('$name encodes as $bytes and decodes back', ({ codec, value, bytes }) => {
      expect(hex(encodeXdr(codec, value))).toBe(bytes)
      expect(decodeXdr(codec, Buffer.from(bytes, 'hex'))).toEqual(value)
    })

    it('keeps multi-byte UTF-8 strings whole and pads by byte length', () => {
      const encoded = encodeXdr(xdr.string(), 'ä€😀')
      expect(encoded.readUInt32BE(0)).toBe(Buffer.byteLength('ä€😀'))
      expect(encoded.length % 4).toBe(0)
      expect(decodeXdr(xdr.string(), encoded)).toBe('ä€😀')
    })
  })

  describe('round trips (property based)', () => {
    const struct = xdr.struct<{ name: string; id: number; uuid: Uint8Array; big: bigint; tags: string[]; maybe: number | null }>([
      ['name', xdr.string(1024)],
      ['id', xdr.int],
      ['uuid', xdr.fixedOpaque(16)],
      ['big', xdr.uhyper],
      ['tags', xdr.array(xdr.string(64), 10)],
      ['maybe', xdr.optional(xdr.uint)],
    ])
    it('a struct of every kind of field survives encode then decode', () => {
      fc.assert(
        fc.property(
          fc.record({
            name: fc.string({ maxLength: 200 }),
            id: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
            uuid: fc.uint8Array({ minLength: 16, maxLength: 16 }),
            big: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
            tags: fc.array(fc.string({ maxLength: 16 }), { maxLength: 10 }),
            maybe: fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: null }),
          }),
          (value) => {
            const bytes = encodeXdr(struct, value)
            expect(bytes.length % 4).toBe(0)
            const back = decodeXdr(struct, bytes)
            expect({ ...back, uuid: Buffer.from(back.uuid) }).toEqual({ ...value, uuid: Buffer.from(value.uuid) })
          },
        ),
      )
    })

    it('hyper round-trips its whole range', () => {
      fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        expect(decodeXdr(xdr.hyper, encodeXdr(xdr.hyper, v))).toBe(v)
      }))
    })
  })

  describe('unions', () => {
    type Param = { type: 1; i: number } | { type: 7; s: string } | { type: 9 }
    const param = xdr.union<Param>('type', { 1: ['i', xdr.int as XdrCodec<unknown>], 7: ['s', xdr.string() as XdrCodec<unknown>], 9: null })

    it.each([
      { value: { type: 1, i: -5 } as Param, bytes: '00000001fffffffb' },
      { value: { type: 7, s: 'on' } as Param, bytes: '00000007000000026f6e0000' },
      { value: { type: 9 } as Param, bytes: '00000009' },
    ])('encodes $value with its discriminant', ({ value, bytes }) => {
      expect(hex(encodeXdr(param, value))).toBe(bytes)
      expect(decodeXdr(param, Buffer.from(bytes, 'hex'))).toEqual(value)
    })

    it('rejects a case without an arm, and takes the default arm when there is one', () => {
      expect(() => decodeXdr(param, Buffer.from('00000002', 'hex'))).toThrow(/no arm for type=2/)
      const withDefault = xdr.union<{ k: number; v?: number }>('k', { 0: null }, ['v', xdr.int as XdrCodec<unknown>])
      expect(decodeXdr(withDefault, Buffer.from('0000000500000006', 'hex'))).toEqual({ k: 5, v: 6 })
    })
  })

  describe('errors', () => {
    it('rejects truncated data with the offset', () => {
      expect(() => decodeXdr(xdr.hyper, Buffer.from('000000', 'hex'))).toThrow(XdrError)
      expect(() => decodeXdr(xdr.string(), Buffer.from('0000000a6162', 'hex'))).toThrow(/truncated/)
    })

    it('rejects trailing bytes, which mean the codec does not fit the data', () => {
      expect(() => decodeXdr(xdr.int, Buffer.from('0000000100000002', 'hex'))).toThrow(/4 bytes left/)
    })

    it('enforces declared maximums on both sides', () => {
      expect(() => encodeXdr(xdr.string(3), 'abcd')).toThrow(/exceeds its maximum 3/)
      expect(() => decodeXdr(xdr.string(3), encodeXdr(xdr.string(), 'abcd'))).toThrow(/exceeds its maximum 3/)
      expect(() => encodeXdr(xdr.array(xdr.int, 1), [1, 2])).toThrow(/maximum 1/)
    })

    it('rejects an array count larger than the data could hold (no huge allocation)', () => {
      expect(() => decodeXdr(xdr.array(xdr.int), Buffer.from('7fffffff', 'hex'))).toThrow(/claims 2147483647 items/)
    })

    it.each([
      { codec: xdr.int as XdrCodec<unknown>, value: 2 ** 31 },
      { codec: xdr.uint as XdrCodec<unknown>, value: -1 },
      { codec: xdr.int as XdrCodec<unknown>, value: 1.5 },
      { codec: xdr.uhyper as XdrCodec<unknown>, value: -1n },
      { codec: xdr.fixedOpaque(16) as XdrCodec<unknown>, value: Buffer.alloc(15) },
    ])('refuses to encode $value out of range', ({ codec, value }) => {
      expect(() => encodeXdr(codec, value)).toThrow(XdrError)
    })

    it('names a missing struct field', () => {
      const s = xdr.struct<{ a: number; b: number }>([
        ['a', xdr.int],
        ['b', xdr.int],
      ])
      expect(() => encodeXdr(s, { a: 1 } as { a: number; b: number })).toThrow(/missing struct field "b"/)
    })

    it('reads a bool strictly', () => {
      expect(() => decodeXdr(xdr.bool, Buffer.from('00000002', 'hex'))).toThrow(/bool must be 0 or 1/)
    })
  })

  it('the writer grows past its initial size', () => {
    const w = new XdrWriter(4)
    for (let i = 0; i < 1000; i++) w.uint(i)
    const r = new XdrReader(w.finish())
    expect(Array.from({ length: 1000 }, () => r.uint())).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect(r.remaining).toBe(0)
  })
})
