import { describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { describeTransportConformance } from '../testing/transport-conformance.js'
import { InMemoryBroker, InMemoryTransport } from './in-memory-transport.js'

const sharedBroker = new InMemoryBroker()
describeTransportConformance(() => new InMemoryTransport({ broker: sharedBroker }), { name: 'InMemoryTransport conformance', shortTimeoutMs: 30 })

describe(InMemoryTransport.name, () => {
  it('connects transports that share a broker, and only those', async () => {
    const broker = new InMemoryBroker()
    const server = new InMemoryTransport({ broker })
    const client = new InMemoryTransport({ broker })
    const stranger = new InMemoryTransport()
    await server.listen({ topic: 'svc', server: 'a' }, { ping: () => 'pong' })
    await expect(client.call({ topic: 'svc' }, 'ping', {})).resolves.toBe('pong')
    const err = await stranger.call({ topic: 'svc' }, 'ping', {}, { timeoutMs: 20 }).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'TIMEOUT')).toBe(true)
    await Promise.all([server.close(), client.close(), stranger.close()])
  })

  it('serves a call and its reply on one transport (a service calling itself)', async () => {
    const t = new InMemoryTransport()
    await t.listen({ topic: 'self', server: 'a' }, { twice: (args) => (args.n as number) * 2 })
    await expect(t.call({ topic: 'self' }, 'twice', { n: 21 })).resolves.toBe(42)
    await t.close()
  })

  it('counts the messages waiting per topic and drains them when a listener appears', async () => {
    const broker = new InMemoryBroker()
    const t = new InMemoryTransport({ broker })
    await t.cast({ topic: 'q' }, 'a', {})
    await t.cast({ topic: 'q', server: 'x' }, 'b', {})
    expect(broker.queuedCount('q')).toBe(2)
    const got: string[] = []
    const done = new Promise<void>((resolve) => {
      void t.listen({ topic: 'q', server: 'x' }, {
        a: () => void got.push('a'),
        b: () => {
          got.push('b')
          resolve()
        },
      })
    })
    await done
    expect(broker.queuedCount('q')).toBe(0)
    expect(got.sort()).toEqual(['a', 'b'])
    await t.close()
  })

  it('alternates strictly between two listeners of a topic', async () => {
    const broker = new InMemoryBroker()
    const t = new InMemoryTransport({ broker })
    await t.listen({ topic: 'rr', server: 'a' }, { who: () => 'a' })
    await t.listen({ topic: 'rr', server: 'b' }, { who: () => 'b' })
    const answers = await Promise.all(Array.from({ length: 4 }, () => t.call<string>({ topic: 'rr' }, 'who', {})))
    expect(answers).toEqual(['a', 'b', 'a', 'b'])
    await t.close()
  })

  it('drops a call that expired while it waited in the queue', async () => {
    const broker = new InMemoryBroker()
    const client = new InMemoryTransport({ broker })
    const err = await client.call({ topic: 'late' }, 'work', {}, { timeoutMs: 10 }).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'TIMEOUT')).toBe(true)
    let handled = 0
    const server = new InMemoryTransport({ broker })
    await server.listen({ topic: 'late', server: 'a' }, { work: () => void handled++, ping: () => 'pong' })
    await expect(client.call({ topic: 'late' }, 'ping', {})).resolves.toBe('pong')
    expect(handled).toBe(0)
    await Promise.all([client.close(), server.close()])
  })

  it('rejects arguments that cannot be serialised, naming the target', async () => {
    const t = new InMemoryTransport()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const err = await t.cast({ topic: 'compute', server: 'h1' }, 'build', { cyclic }).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'INVALID')).toBe(true)
    expect((err as Error).message).toContain('compute.h1 build')
    await t.close()
  })

  it('uses the default timeout from its config', async () => {
    const t = new InMemoryTransport({ defaultTimeoutMs: 15 })
    const err = await t.call({ topic: 'none' }, 'x', {}).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'TIMEOUT')).toBe(true)
    expect((err as ComputeError).details).toEqual({ topic: 'none', method: 'x', timeoutMs: 15 })
    await t.close()
  })

  it('logs a failed cast handler instead of losing the error silently', async () => {
    const errors: string[] = []
    const logger = {
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (obj: unknown, msg?: string) => void errors.push(typeof obj === 'string' ? obj : (msg ?? '')),
      child: () => logger,
    }
    const t = new InMemoryTransport({ logger })
    const called = new Promise<void>((resolve) => {
      void t.listen({ topic: 'c', server: 'a' }, {
        fail: () => {
          resolve()
          throw new Error('nope')
        },
      })
    })
    await t.cast({ topic: 'c' }, 'fail', {})
    await called
    await new Promise((r) => setImmediate(r))
    expect(errors).toEqual(['cast c fail failed: nope'])
    await t.close()
  })
})
