/**
 * libvirt's RPC framing (`src/rpc/virnetprotocol.x`): every packet is a 4-byte big-endian length that counts
 * itself, a 24-byte header, then the XDR body.
 */
import { XdrError } from './xdr.js'

/** `REMOTE_PROGRAM`: libvirt's main program. */
export const REMOTE_PROGRAM = 0x20008086
/** `REMOTE_PROTOCOL_VERSION`. */
export const REMOTE_PROTOCOL_VERSION = 1
/** `KEEPALIVE_PROGRAM` ("keep" in ASCII). */
export const KEEPALIVE_PROGRAM = 0x6b656570
/** `KEEPALIVE_PROTOCOL_VERSION`. */
export const KEEPALIVE_PROTOCOL_VERSION = 1
/** The keepalive program's procedures. */
export const KeepaliveProcedure = { PING: 1, PONG: 2 } as const

/** `virNetMessageType`. */
export const MessageType = {
  /** client → server: a method call */
  CALL: 0,
  /** server → client: the reply to a call, or its error */
  REPLY: 1,
  /** either way: an asynchronous message (events, keepalive) */
  MESSAGE: 2,
  /** either way: stream data */
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const
/** One of {@link MessageType}'s values. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType]

/** `virNetMessageStatus`. */
export const MessageStatus = {
  OK: 0,
  /** a `remote_error` body follows */
  ERROR: 1,
  /** stream data: more to come */
  CONTINUE: 2,
} as const
/** One of {@link MessageStatus}'s values. */
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus]

/** `virNetMessageHeader`. */
export interface PacketHeader {
  readonly program: number
  readonly version: number
  readonly procedure: number
  readonly type: number
  readonly serial: number
  readonly status: number
}

/** A whole packet: header and body. */
export interface Packet {
  readonly header: PacketHeader
  readonly body: Buffer
}

/** `VIR_NET_MESSAGE_MAX`: the largest packet libvirt sends or accepts, excluding the length word. */
export const MAX_PACKET_BYTES = 33_554_432
/** The length word plus the header. */
export const HEADER_BYTES = 4 + 24

/** Encodes one packet: length, header, body. */
export function encodePacket(header: PacketHeader, body: Uint8Array = Buffer.alloc(0)): Buffer {
  const length = HEADER_BYTES + body.length
  if (length > MAX_PACKET_BYTES + 4) throw new XdrError(`packet of ${length} bytes exceeds libvirt's maximum ${MAX_PACKET_BYTES + 4}`)
  const out = Buffer.allocUnsafe(length)
  out.writeUInt32BE(length, 0)
  out.writeUInt32BE(header.program >>> 0, 4)
  out.writeUInt32BE(header.version >>> 0, 8)
  out.writeInt32BE(header.procedure, 12)
  out.writeInt32BE(header.type, 16)
  out.writeUInt32BE(header.serial >>> 0, 20)
  out.writeInt32BE(header.status, 24)
  out.set(body, HEADER_BYTES)
  return out
}

/**
 * Splits a byte stream into packets: feed it each chunk the socket delivers; it returns the packets completed so
 * far and keeps any partial one. A length outside libvirt's limits throws (the stream cannot be resynchronised).
 */
export class PacketDecoder {
  private chunks: Buffer[] = []
  private buffered = 0

  /** Bytes held for an incomplete packet. */
  get pending(): number {
    return this.buffered
  }

  push(chunk: Uint8Array): Packet[] {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
    this.buffered += chunk.length
    const packets: Packet[] = []
    for (;;) {
      if (this.buffered < 4) break
      const head = this.peek(4)
      const length = head.readUInt32BE(0)
      if (length < HEADER_BYTES || length > MAX_PACKET_BYTES + 4) {
        throw new XdrError(`bad packet length ${length} (must be ${HEADER_BYTES}..${MAX_PACKET_BYTES + 4})`)
      }
      if (this.buffered < length) break
      const bytes = this.take(length)
      packets.push({
        header: {
          program: bytes.readUInt32BE(4),
          version: bytes.readUInt32BE(8),
          procedure: bytes.readInt32BE(12),
          type: bytes.readInt32BE(16),
          serial: bytes.readUInt32BE(20),
          status: bytes.readInt32BE(24),
        },
        body: bytes.subarray(HEADER_BYTES),
      })
    }
    return packets
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!
    if (first.length >= n) return first
    this.chunks = [Buffer.concat(this.chunks)]
    return this.chunks[0]!
  }

  private take(n: number): Buffer {
    let first = this.chunks[0]!
    if (first.length < n) {
      this.chunks = [Buffer.concat(this.chunks)]
      first = this.chunks[0]!
    }
    const out = first.subarray(0, n)
    if (first.length === n) this.chunks.shift()
    else this.chunks[0] = first.subarray(n)
    this.buffered -= n
    return out
  }
}
