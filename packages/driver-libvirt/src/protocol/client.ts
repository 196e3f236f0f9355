import { createConnection, type Socket } from 'node:net'
import { ComputeError, silentLogger, type Logger } from '@novum/core'
import { remoteCalls, remoteError, RemoteAuthType, type RemoteCalls } from './generated/remote-protocol.js'
import { LibvirtError } from './libvirt-error.js'
import {
  encodePacket, KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION, KeepaliveProcedure, MessageStatus, MessageType, PacketDecoder, REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION, type Packet,
} from './packet.js'
import { decodeXdr, encodeXdr, type XdrCodec } from './xdr.js'

/** The read-write socket of a system libvirtd. */
export const DEFAULT_SOCKET_PATH = '/run/libvirt/libvirt-sock'

/** Options of {@link LibvirtClient.connect}. */
export interface LibvirtClientOptions {
  /** The daemon's unix socket. @default '/run/libvirt/libvirt-sock' */
  readonly socketPath?: string
  /** The URI to open through the daemon (`qemu:///system`, `test:///default`, …). @default 'qemu:///system' */
  readonly uri?: string
  /** Open read-only (`VIR_CONNECT_RO`); use the `-ro` socket for a non-root user. @default false */
  readonly readOnly?: boolean
  /** Give up on connecting (socket + authentication + open) after this long; the first open after libvirtd starts probes QEMU (12-50 s). @default 60000 */
  readonly connectTimeoutMs?: number
  /** Reject a call whose reply has not come within this long; 0 waits for ever. @default 0 */
  readonly callTimeoutMs?: number
  /**
   * Send a keepalive PING when the daemon has been silent this long, and drop the connection after
   * {@link LibvirtClientOptions.keepAliveCount} unanswered ones (libvirt's `virConnectSetKeepAlive`); 0 disables it.
   * The daemon's own PINGs are always answered.
   * @default 0
   */
  readonly keepAliveIntervalMs?: number
  /** @default 5 */
  readonly keepAliveCount?: number
  readonly logger?: Logger
}

/** The names of the procedures with generated typed calls. */
export type RemoteCallName = keyof RemoteCalls
/** The arguments `call()` takes for a procedure: none when it has no `_args` struct. */
export type RemoteCallArgs<P extends RemoteCallName> = RemoteCalls[P]['args'] extends void ? [] : [args: RemoteCalls[P]['args']]

interface PendingCall {
  readonly procedure: number
  readonly name: string
  resolve(body: Buffer): void
  reject(error: Error): void
  timer?: NodeJS.Timeout
}

/** Counters of one connection. */
export interface LibvirtClientStats {
  /** Calls sent. */
  readonly calls: number
  /** Asynchronous messages (events) received. */
  readonly messages: number
  /** Keepalive PINGs answered plus sent. */
  readonly keepalives: number
}

/**
 * A connection to libvirtd over its unix socket, speaking libvirt's own remote protocol (XDR RPC): no native
 * binding, no `virsh` process. Calls are multiplexed by serial number, so any number may be in flight; replies and
 * errors are matched to their call, libvirt's errors become {@link LibvirtError}s, event messages go to the
 * listeners of {@link LibvirtClient.onMessage}, and keepalive PINGs are answered.
 *
 * {@link LibvirtClient.connect} does what `virConnectOpen` does over the socket: `AUTH_LIST` (the daemon requires
 * it first), `AUTH_POLKIT` when that is the only method offered, then `CONNECT_OPEN` with the URI.
 *
 * @example
 * ```ts
 * const client = await LibvirtClient.connect({ uri: 'qemu:///system' })
 * const { hv_ver } = await client.call('CONNECT_GET_VERSION')
 * const { domains } = await client.call('CONNECT_LIST_ALL_DOMAINS', { need_results: 1, flags: 0 })
 * await client.close()
 * ```
 */
export class LibvirtClient {
  private readonly decoder = new PacketDecoder()
  private readonly pending = new Map<number, PendingCall>()
  private readonly messageListeners = new Map<number, Set<(body: Buffer) => void>>()
  private readonly closeListeners = new Set<(error: Error | undefined) => void>()
  private serial = 0
  private open = true
  private closing = false
  private closedError: Error | undefined
  private readonly closed: Promise<void>
  private keepAliveTimer: NodeJS.Timeout | undefined
  private silentTicks = 0
  private counters = { calls: 0, messages: 0, keepalives: 0 }
  private readonly logger: Logger

  private constructor(
    private readonly socket: Socket,
    private readonly options: LibvirtClientOptions,
  ) {
    this.logger = options.logger ?? silentLogger
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', (err) => {
      this.closedError ??= new ComputeError('VIRT', `libvirt connection to ${this.socketPath} failed: ${err.message}`, { cause: err })
    })
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.shutdown(this.closing ? undefined : (this.closedError ?? new ComputeError('VIRT', `libvirt connection to ${this.socketPath} closed by the daemon`)))
        resolve()
      })
    })
    const interval = options.keepAliveIntervalMs ?? 0
    if (interval > 0) {
      this.keepAliveTimer = setInterval(() => this.keepAliveTick(), interval)
      this.keepAliveTimer.unref()
    }
  }

  /**
   * Connects to the daemon's socket, authenticates and opens `uri`. Throws `ComputeError('VIRT')` when the socket
   * is missing or refuses, when authentication needs SASL, or when the open fails (a {@link LibvirtError}).
   */
  static async connect(options: LibvirtClientOptions = {}): Promise<LibvirtClient> {
    const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH
    const timeoutMs = options.connectTimeoutMs ?? 60_000
    const socket = createConnection(socketPath)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        socket.destroy()
        reject(new ComputeError('TIMEOUT', `connecting to libvirtd at ${socketPath} took longer than ${timeoutMs} ms`))
      }, timeoutMs)
    })
    try {
      await Promise.race([
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve)
          socket.once('error', (err: NodeJS.ErrnoException) =>
            reject(new ComputeError('VIRT', `cannot connect to libvirtd at ${socketPath}: ${err.code ?? err.message} (is libvirtd running?)`, { cause: err, details: { socketPath } })),
          )
        }),
        timeout,
      ])
      const client = new LibvirtClient(socket, options)
      try {
        await Promise.race([client.handshake(), timeout])
      } catch (err) {
        client.destroy()
        throw err
      }
      return client
    } finally {
      clearTimeout(timer)
    }
  }

  private async handshake(): Promise<void> {
    const { types } = await this.call('AUTH_LIST')
    if (!types.includes(RemoteAuthType.REMOTE_AUTH_NONE)) {
      if (types.includes(RemoteAuthType.REMOTE_AUTH_POLKIT)) {
        const { complete } = await this.call('AUTH_POLKIT')
        if (!complete) throw new ComputeError('VIRT', `polkit did not authorise the libvirt connection on ${this.socketPath}`)
      } else {
        throw new ComputeError('VIRT', `libvirtd at ${this.socketPath} offers only authentication methods this client lacks (${types.join(', ')}: SASL is not supported)`)
      }
    }
    await this.call('CONNECT_OPEN', { name: this.options.uri ?? 'qemu:///system', flags: this.options.readOnly ? 1 : 0 })
  }

  /** The socket this client is connected to. */
  get socketPath(): string {
    return this.options.socketPath ?? DEFAULT_SOCKET_PATH
  }

  /** False once the connection is closing or closed (by {@link LibvirtClient.close}, `destroy()` or the daemon). */
  get isOpen(): boolean {
    return this.open && !this.closing
  }

  /** Counters of calls, messages and keepalives. */
  get stats(): LibvirtClientStats {
    return { ...this.counters }
  }

  /**
   * Calls a procedure of libvirt's remote program with typed arguments and result (the generated
   * {@link RemoteCalls}). Rejects with a {@link LibvirtError} when libvirt reports an error, and with a
   * `ComputeError('VIRT')` when the connection closes before the reply.
   */
  async call<P extends RemoteCallName>(procedure: P, ...args: RemoteCallArgs<P>): Promise<RemoteCalls[P]['ret']> {
    const entry = remoteCalls[procedure]
    const body = encodeXdr(entry.args as XdrCodec<unknown>, args[0])
    const reply = await this.send(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, entry.procedure, body, procedure)
    try {
      return decodeXdr(entry.ret, reply)
    } catch (err) {
      throw new ComputeError('VIRT', `cannot decode libvirt's reply to ${procedure}: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * Calls any procedure by number with a body encoded by the caller, for procedures without generated codecs.
   * Resolves with the reply body.
   */
  callRaw(procedure: number, body: Uint8Array = Buffer.alloc(0), options: { readonly program?: number; readonly version?: number } = {}): Promise<Buffer> {
    return this.send(options.program ?? REMOTE_PROGRAM, options.version ?? REMOTE_PROTOCOL_VERSION, procedure, body, `procedure ${procedure}`)
  }

  /**
   * Listens to an asynchronous message of the remote program (a domain event), decoded with its `_msg` codec.
   * Returns the function that removes the listener. A listener that throws is logged and kept.
   */
  onMessage<P extends RemoteCallName>(procedure: P, listener: (message: RemoteCalls[P]['msg']) => void): () => void {
    const entry = remoteCalls[procedure]
    const raw = (body: Buffer): void => {
      let message: RemoteCalls[P]['msg']
      try {
        message = decodeXdr(entry.msg, body)
      } catch (err) {
        this.logger.warn({ err }, `cannot decode libvirt message ${procedure}: ${(err as Error).message}`)
        return
      }
      try {
        listener(message)
      } catch (err) {
        this.logger.warn({ err }, `a listener of libvirt message ${procedure} threw: ${(err as Error).message}`)
      }
    }
    let set = this.messageListeners.get(entry.procedure)
    if (!set) this.messageListeners.set(entry.procedure, (set = new Set()))
    set.add(raw)
    return () => {
      set.delete(raw)
    }
  }

  /** Called once when the connection closes: with an error when the daemon or the socket closed it. */
  onClose(listener: (error: Error | undefined) => void): () => void {
    if (!this.open) {
      queueMicrotask(() => listener(this.closedError))
      return () => {}
    }
    this.closeListeners.add(listener)
    return () => {
      this.closeListeners.delete(listener)
    }
  }

  /** Sends `CONNECT_CLOSE`, then closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (!this.open) return this.closed
    if (!this.closing) {
      this.closing = true
      try {
        await this.send(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, remoteCalls.CONNECT_CLOSE.procedure, Buffer.alloc(0), 'CONNECT_CLOSE', 5_000)
      } catch {
        // the daemon may already be gone; closing the socket is what matters
      }
      this.socket.end()
    }
    return this.closed
  }

  /** Drops the connection at once, failing the calls in flight. */
  destroy(): void {
    this.closing = true
    this.socket.destroy()
  }

  // --- internals ----------------------------------------------------------------------------------

  private send(program: number, version: number, procedure: number, body: Uint8Array, name: string, timeoutMs = this.options.callTimeoutMs ?? 0): Promise<Buffer> {
    if (!this.open || (this.closing && name !== 'CONNECT_CLOSE')) {
      return Promise.reject(this.closedError ?? new ComputeError('VIRT', `libvirt connection to ${this.socketPath} is closed (calling ${name})`))
    }
    this.serial = (this.serial + 1) >>> 0
    const serial = this.serial
    this.counters.calls++
    return new Promise<Buffer>((resolve, reject) => {
      const call: PendingCall = { procedure, name, resolve, reject }
      if (timeoutMs > 0) {
        call.timer = setTimeout(() => {
          this.pending.delete(serial)
          reject(new ComputeError('TIMEOUT', `libvirt call ${name} got no reply within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.pending.set(serial, call)
      this.socket.write(encodePacket({ program, version, procedure, type: MessageType.CALL, serial, status: MessageStatus.OK }, body))
    })
  }

  private receive(chunk: Buffer): void {
    this.silentTicks = 0
    let packets: Packet[]
    try {
      packets = this.decoder.push(chunk)
    } catch (err) {
      this.closedError = new ComputeError('VIRT', `libvirt sent a malformed packet: ${(err as Error).message}`, { cause: err })
      this.socket.destroy()
      return
    }
    for (const packet of packets) this.dispatch(packet)
  }

  private dispatch({ header, body }: Packet): void {
    if (header.program === KEEPALIVE_PROGRAM) {
      if (header.procedure === KeepaliveProcedure.PING) {
        this.counters.keepalives++
        this.socket.write(
          encodePacket({ program: KEEPALIVE_PROGRAM, version: KEEPALIVE_PROTOCOL_VERSION, procedure: KeepaliveProcedure.PONG, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK }),
        )
      }
      return
    }
    if (header.program !== REMOTE_PROGRAM) {
      this.logger.debug({ program: header.program }, 'ignoring a packet of an unknown program')
      return
    }
    if (header.type === MessageType.MESSAGE) {
      this.counters.messages++
      for (const listener of this.messageListeners.get(header.procedure) ?? []) listener(body)
      return
    }
    if (header.type !== MessageType.REPLY) {
      this.logger.debug({ type: header.type, procedure: header.procedure }, 'ignoring a stream packet (streams are not used)')
      return
    }
    const call = this.pending.get(header.serial)
    if (!call) {
      this.logger.debug({ serial: header.serial }, 'ignoring a reply nobody waits for (timed out?)')
      return
    }
    this.pending.delete(header.serial)
    if (call.timer) clearTimeout(call.timer)
    if (header.procedure !== call.procedure) {
      call.reject(new ComputeError('VIRT', `libvirt replied with procedure ${header.procedure} to ${call.name} (serial ${header.serial})`))
      return
    }
    if (header.status === MessageStatus.ERROR) {
      try {
        call.reject(LibvirtError.fromRemote(decodeXdr(remoteError, body), call.name))
      } catch (err) {
        call.reject(new ComputeError('VIRT', `libvirt reported an error for ${call.name} that cannot be decoded: ${(err as Error).message}`, { cause: err }))
      }
      return
    }
    call.resolve(body)
  }

  private keepAliveTick(): void {
    if (!this.open) return
    this.silentTicks++
    if (this.silentTicks > (this.options.keepAliveCount ?? 5)) {
      this.closedError = new ComputeError('VIRT', `libvirtd at ${this.socketPath} answered no keepalive for ${this.silentTicks - 1} intervals`)
      this.socket.destroy()
      return
    }
    if (this.silentTicks > 1) {
      this.counters.keepalives++
      this.socket.write(
        encodePacket({ program: KEEPALIVE_PROGRAM, version: KEEPALIVE_PROTOCOL_VERSION, procedure: KeepaliveProcedure.PING, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK }),
      )
    }
  }

  private shutdown(error: Error | undefined): void {
    if (!this.open) return
    this.open = false
    this.closedError = error
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer)
    const failure = error ?? new ComputeError('VIRT', `libvirt connection to ${this.socketPath} closed`)
    for (const call of this.pending.values()) {
      if (call.timer) clearTimeout(call.timer)
      call.reject(failure)
    }
    this.pending.clear()
    for (const listener of this.closeListeners) listener(error)
    this.closeListeners.clear()
  }
}
