import type { Socket } from 'node:net'

const patched = new WeakSet<object>()

/**
 * Makes the socket under an amqplib connection send everything written in one event-loop turn with one
 * `writev` system call instead of one `write` per frame.
 *
 * amqplib's multiplexer writes every frame it has queued (publishes, acks, replies) to the socket one by one in
 * a synchronous loop, and with `TCP_NODELAY` on each write is its own system call and its own TCP segment; under
 * load that is most of the client's CPU time. Corking on the first write of a turn and uncorking on the next
 * tick (the pattern Node's `writable.cork()` documentation describes) keeps TCP_NODELAY's latency, since the
 * data leaves before the event loop goes on, while batching the frames of one turn.
 *
 * NOTE: amqplib does not expose the socket: this reads `connection.stream` (present through amqplib 2.3.1) and
 * does nothing when it is not a socket with `cork`/`uncork`.
 *
 * @returns whether the socket was found and wrapped.
 */
export function coalesceSocketWrites(model: { readonly connection: unknown }): boolean {
  const stream = (model.connection as { stream?: unknown } | null)?.stream as Partial<Socket> | undefined
  if (!stream || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function' || typeof stream.write !== 'function') return false
  const socket = stream as Socket
  if (patched.has(socket)) return true
  patched.add(socket)
  const write = socket.write
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  socket.write = function coalescedWrite(this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked && !socket.destroyed) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    return write.apply(this, args)
  } as Socket['write']
  return true
}
