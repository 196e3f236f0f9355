/**
 * XDR (RFC 4506) as libvirt's RPC uses it: big-endian 4-byte units, every item padded to a multiple of four.
 *
 * A {@link XdrCodec} pairs an encoder and a decoder for one type; the combinators in {@link xdr} build codecs for
 * structs, unions, optionals and arrays out of the primitives, the way rpcgen's `xdr_*` routines do. The codecs of
 * libvirt's own types are generated from `remote_protocol.x` (see `scripts/gen-protocol.ts`).
 */

/** Malformed or oversized XDR data, or a value that cannot be encoded. */
export class XdrError extends Error {
  override readonly name = 'XdrError'
}

const pad = (n: number): number => (4 - (n % 4)) % 4

/** Appends XDR items to a growing buffer. */
export class XdrWriter {
  private buffer: Buffer
  private position = 0

  constructor(initialSize = 256) {
    this.buffer = Buffer.allocUnsafe(initialSize)
  }

  /** Bytes written so far. */
  get length(): number {
    return this.position
  }

  private ensure(extra: number): void {
    const needed = this.position + extra
    if (needed <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < needed) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buffer.copy(next, 0, 0, this.position)
    this.buffer = next
  }

  /** A signed 32-bit integer. */
  int(value: number): void {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new XdrError(`int out of range: ${value}`)
    this.ensure(4)
    this.buffer.writeInt32BE(value, this.position)
    this.position += 4
  }

  /** An unsigned 32-bit integer. */
  uint(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new XdrError(`unsigned int out of range: ${value}`)
    this.ensure(4)
    this.buffer.writeUInt32BE(value, this.position)
    this.position += 4
  }

  /** A signed 64-bit integer (`hyper`). */
  hyper(value: bigint | number): void {
    const v = BigInt(value)
    if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new XdrError(`hyper out of range: ${v}`)
    this.ensure(8)
    this.buffer.writeBigInt64BE(v, this.position)
    this.position += 8
  }

  /** An unsigned 64-bit integer (`unsigned hyper`). */
  uhyper(value: bigint | number): void {
    const v = BigInt(value)
    if (v < 0n || v >= 2n ** 64n) throw new XdrError(`unsigned hyper out of range: ${v}`)
    this.ensure(8)
    this.buffer.writeBigUInt64BE(v, this.position)
    this.position += 8
  }

  /** An IEEE double. */
  double(value: number): void {
    this.ensure(8)
    this.buffer.writeDoubleBE(value, this.position)
    this.position += 8
  }

  /** An IEEE single. */
  float(value: number): void {
    this.ensure(4)
    this.buffer.writeFloatBE(value, this.position)
    this.position += 4
  }

  /** A boolean (an int, 0 or 1). */
  bool(value: boolean): void {
    this.int(value ? 1 : 0)
  }

  /** Exactly `size` bytes, padded. */
  fixedOpaque(bytes: Uint8Array, size: number): void {
    if (bytes.length !== size) throw new XdrError(`fixed opaque wants ${size} bytes, got ${bytes.length}`)
    this.raw(bytes)
  }

  /** Variable-length bytes: a length, the bytes, padding. */
  opaque(bytes: Uint8Array, max = 0xffffffff): void {
    if (bytes.length > max) throw new XdrError(`opaque of ${bytes.length} bytes exceeds its maximum ${max}`)
    this.uint(bytes.length)
    this.raw(bytes)
  }

  /** A string: its UTF-8 bytes as variable-length opaque. */
  string(value: string, max = 0xffffffff): void {
    const bytes = Buffer.from(value, 'utf8')
    if (bytes.length > max) throw new XdrError(`string of ${bytes.length} bytes exceeds its maximum ${max}`)
    this.uint(bytes.length)
    this.raw(bytes)
  }

  private raw(bytes: Uint8Array): void {
    const padding = pad(bytes.length)
    this.ensure(bytes.length + padding)
    this.buffer.set(bytes, this.position)
    this.position += bytes.length
    if (padding) {
      this.buffer.fill(0, this.position, this.position + padding)
      this.position += padding
    }
  }

  /** The bytes written (a view of the internal buffer: copy it before writing more). */
  finish(): Buffer {
    return this.buffer.subarray(0, this.position)
  }
}

/** Reads XDR items from a buffer, front to back. */
export class XdrReader {
  private position: number
  private readonly view: Buffer

  constructor(bytes: Uint8Array, offset = 0) {
    this.view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.position = offset
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.view.length - this.position
  }

  private need(n: number, what: string): void {
    if (this.position + n > this.view.length) {
      throw new XdrError(`truncated XDR data: ${what} needs ${n} bytes at offset ${this.position}, ${this.remaining} left`)
    }
  }

  int(): number {
    this.need(4, 'int')
    const v = this.view.readInt32BE(this.position)
    this.position += 4
    return v
  }

  uint(): number {
    this.need(4, 'unsigned int')
    const v = this.view.readUInt32BE(this.position)
    this.position += 4
    return v
  }

  hyper(): bigint {
    this.need(8, 'hyper')
    const v = this.view.readBigInt64BE(this.position)
    this.position += 8
    return v
  }

  uhyper(): bigint {
    this.need(8, 'unsigned hyper')
    const v = this.view.readBigUInt64BE(this.position)
    this.position += 8
    return v
  }

  double(): number {
    this.need(8, 'double')
    const v = this.view.readDoubleBE(this.position)
    this.position += 8
    return v
  }

  float(): number {
    this.need(4, 'float')
    const v = this.view.readFloatBE(this.position)
    this.position += 4
    return v
  }

  bool(): boolean {
    const v = this.int()
    if (v !== 0 && v !== 1) throw new XdrError(`bool must be 0 or 1, got ${v}`)
    return v === 1
  }

  fixedOpaque(size: number): Buffer {
    return this.raw(size)
  }

  opaque(max = 0xffffffff): Buffer {
    const length = this.uint()
    if (length > max) throw new XdrError(`opaque of ${length} bytes exceeds its maximum ${max}`)
    return this.raw(length)
  }

  string(max = 0xffffffff): string {
    const length = this.uint()
    if (length > max) throw new XdrError(`string of ${length} bytes exceeds its maximum ${max}`)
    return this.raw(length).toString('utf8')
  }

  /** A count of items, checked against `max` and against the bytes left (each item takes at least 4). */
  count(max: number, what: string): number {
    const n = this.uint()
    if (n > max) throw new XdrError(`${what} of ${n} items exceeds its maximum ${max}`)
    if (n * 4 > this.remaining) throw new XdrError(`${what} claims ${n} items but only ${this.remaining} bytes are left`)
    return n
  }

  private raw(length: number): Buffer {
    const padding = pad(length)
    this.need(length + padding, 'opaque data')
    const out = Buffer.from(this.view.subarray(this.position, this.position + length))
    this.position += length + padding
    return out
  }
}

/** Encodes and decodes one XDR type. */
export interface XdrCodec<T> {
  encode(writer: XdrWriter, value: T): void
  decode(reader: XdrReader): T
}

/** The TypeScript type a codec carries. */
export type XdrType<C> = C extends XdrCodec<infer T> ? T : never

type Field<T> = { readonly [K in keyof T]: readonly [K, XdrCodec<T[K]>] }[keyof T]

const define = <T>(encode: (w: XdrWriter, v: T) => void, decode: (r: XdrReader) => T): XdrCodec<T> => ({ encode, decode })

/** An arm of a union: the arm's field name and codec, or null for a `void` arm. */
export type XdrUnionArm = readonly [name: string, codec: XdrCodec<unknown>] | null

/** Codec combinators for the XDR types libvirt's protocol uses. */
export const xdr = {
  void: define<void>(
    () => {},
    () => undefined,
  ),
  int: define<number>(
    (w, v) => w.int(v),
    (r) => r.int(),
  ),
  uint: define<number>(
    (w, v) => w.uint(v),
    (r) => r.uint(),
  ),
  hyper: define<bigint>(
    (w, v) => w.hyper(v),
    (r) => r.hyper(),
  ),
  uhyper: define<bigint>(
    (w, v) => w.uhyper(v),
    (r) => r.uhyper(),
  ),
  double: define<number>(
    (w, v) => w.double(v),
    (r) => r.double(),
  ),
  float: define<number>(
    (w, v) => w.float(v),
    (r) => r.float(),
  ),
  bool: define<boolean>(
    (w, v) => w.bool(v),
    (r) => r.bool(),
  ),
  /** rpcgen's `char`: one byte of value in a whole 4-byte unit. */
  char: define<number>(
    (w, v) => w.int(v),
    (r) => r.int(),
  ),
  /** `string name<max>`. */
  string: (max = 0xffffffff): XdrCodec<string> =>
    define(
      (w, v) => w.string(v, max),
      (r) => r.string(max),
    ),
  /** `opaque name<max>`. */
  opaque: (max = 0xffffffff): XdrCodec<Uint8Array> =>
    define(
      (w, v) => w.opaque(v, max),
      (r) => r.opaque(max),
    ),
  /** `opaque name[size]`. */
  fixedOpaque: (size: number): XdrCodec<Uint8Array> =>
    define(
      (w, v) => w.fixedOpaque(v, size),
      (r) => r.fixedOpaque(size),
    ),
  /**
   * rpcgen's `char name[size]`, a fixed array of `char` (4 bytes each) holding a NUL-padded C string, read as
   * the text before the first NUL.
   */
  charString: (size: number): XdrCodec<string> =>
    define(
      (w, v) => {
        const bytes = Buffer.from(v, 'latin1')
        if (bytes.length > size) throw new XdrError(`char[${size}] cannot hold ${bytes.length} bytes`)
        for (let i = 0; i < size; i++) w.int(i < bytes.length ? (bytes[i]! << 24) >> 24 : 0)
      },
      (r) => {
        const bytes: number[] = []
        for (let i = 0; i < size; i++) bytes.push(r.int() & 0xff)
        const end = bytes.indexOf(0)
        return Buffer.from(end < 0 ? bytes : bytes.slice(0, end)).toString('latin1')
      },
    ),
  /** `T *name`: a bool, then the value when it is there; null when absent. */
  optional: <T>(codec: XdrCodec<T>): XdrCodec<T | null> =>
    define(
      (w, v) => {
        w.bool(v !== null && v !== undefined)
        if (v !== null && v !== undefined) codec.encode(w, v)
      },
      (r) => (r.bool() ? codec.decode(r) : null),
    ),
  /** `T name<max>`: a count, then the items. */
  array: <T>(codec: XdrCodec<T>, max = 0xffffffff): XdrCodec<T[]> =>
    define(
      (w, v) => {
        if (v.length > max) throw new XdrError(`array of ${v.length} items exceeds its maximum ${max}`)
        w.uint(v.length)
        for (const item of v) codec.encode(w, item)
      },
      (r) => {
        const n = r.count(max, 'array')
        const out: T[] = new Array<T>(n)
        for (let i = 0; i < n; i++) out[i] = codec.decode(r)
        return out
      },
    ),
  /** `T name[size]`: exactly `size` items, no count. */
  fixedArray: <T>(codec: XdrCodec<T>, size: number): XdrCodec<T[]> =>
    define(
      (w, v) => {
        if (v.length !== size) throw new XdrError(`fixed array wants ${size} items, got ${v.length}`)
        for (const item of v) codec.encode(w, item)
      },
      (r) => {
        const out: T[] = new Array<T>(size)
        for (let i = 0; i < size; i++) out[i] = codec.decode(r)
        return out
      },
    ),
  /** A struct: its fields in declaration order. */
  struct: <T extends object>(fields: readonly Field<T>[]): XdrCodec<T> =>
    define(
      (w, v) => {
        for (const [name, codec] of fields as readonly (readonly [keyof T, XdrCodec<unknown>])[]) {
          const value = v[name]
          if (value === undefined) throw new XdrError(`missing struct field "${String(name)}"`)
          codec.encode(w, value)
        }
      },
      (r) => {
        const out: Record<string, unknown> = {}
        for (const [name, codec] of fields as readonly (readonly [string, XdrCodec<unknown>])[]) out[name] = codec.decode(r)
        return out as T
      },
    ),
  /**
   * A discriminated union: `discriminant` names the field holding the case value; each arm puts its value under
   * its own field name (`{ type: 1, i: 42 }`). A case without an arm and without `defaultArm` is an error.
   */
  union: <T extends object>(discriminant: string, arms: Readonly<Record<number, XdrUnionArm>>, defaultArm?: XdrUnionArm): XdrCodec<T> =>
    define(
      (w, v) => {
        const record = v as Record<string, unknown>
        const which = record[discriminant]
        if (typeof which !== 'number') throw new XdrError(`union discriminant "${discriminant}" must be a number`)
        const arm = which in arms ? arms[which] : defaultArm
        if (arm === undefined) throw new XdrError(`union has no arm for ${discriminant}=${which}`)
        w.int(which)
        if (arm) arm[1].encode(w, record[arm[0]])
      },
      (r) => {
        const which = r.int()
        const arm = which in arms ? arms[which] : defaultArm
        if (arm === undefined) throw new XdrError(`union has no arm for ${discriminant}=${which}`)
        const out: Record<string, unknown> = { [discriminant]: which }
        if (arm) out[arm[0]] = arm[1].decode(r)
        return out as T
      },
    ),
  /** A type defined later in a file (recursive or forward references). */
  lazy: <T>(get: () => XdrCodec<T>): XdrCodec<T> =>
    define(
      (w, v) => get().encode(w, v),
      (r) => get().decode(r),
    ),
} as const

/** Encodes `value` into a new buffer. */
export function encodeXdr<T>(codec: XdrCodec<T>, value: T): Buffer {
  const writer = new XdrWriter()
  codec.encode(writer, value)
  return Buffer.from(writer.finish())
}

/** Decodes a whole buffer; trailing bytes are an error (they mean the codec does not match the data). */
export function decodeXdr<T>(codec: XdrCodec<T>, bytes: Uint8Array): T {
  const reader = new XdrReader(bytes)
  const value = codec.decode(reader)
  if (reader.remaining !== 0) throw new XdrError(`${reader.remaining} bytes left after decoding`)
  return value
}
