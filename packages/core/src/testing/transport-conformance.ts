import { filter, firstValueFrom, take, timeout as rxTimeout, toArray } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { NoValidHostError } from '../errors/no-valid-host-error.js'
import type { Notification, RpcEndpoint, Transport } from '../transport/transport.js'

/** Options of {@link describeTransportConformance}. */
export interface TransportConformanceOptions {
  /** The name of the top-level `describe`. @default 'Transport conformance' */
  readonly name?: string
  /** The `timeoutMs` the timeout tests pass to `call` (keep it small; a real broker may need a few hundred ms). @default 100 */
  readonly shortTimeoutMs?: number
  /** The vitest timeout of each test. @default 10000 */
  readonly testTimeoutMs?: number
}

/**
 * The conformance suite every {@link Transport} must pass (the Kysely way: one suite, run over every
 * implementation). Call it at the top level of a test file.
 *
 * `makeTransport` is called once per simulated service in each test, and every transport it returns must reach
 * the same broker (for the in-memory transport, close over one `InMemoryBroker`; for AMQP, connect to the same
 * virtual host). Each test uses topics of its own, so transports may share a broker across tests; the suite
 * closes every transport it made after each test.
 *
 * @example
 * ```ts
 * const broker = new InMemoryBroker()
 * describeTransportConformance(() => new InMemoryTransport({ broker }))
 * ```
 */
export function describeTransportConformance(makeTransport: () => Transport | Promise<Transport>, options: TransportConformanceOptions = {}): void {
  const shortTimeoutMs = options.shortTimeoutMs ?? 100
  const testTimeout = options.testTimeoutMs ?? 10_000

  describe(options.name ?? 'Transport conformance', () => {
    const made: Transport[] = []
    const make = async (): Promise<Transport> => {
      const t = await makeTransport()
      made.push(t)
      return t
    }
    let topicSeq = 0
    const uniqueTopic = (label: string): string => `conf-${label}-${process.pid}-${Date.now().toString(36)}-${++topicSeq}`

    afterEach(async () => {
      await Promise.allSettled(made.splice(0).map((t) => t.close()))
    })

    describe('.call', () => {
      it('returns the handler result to the caller', async () => {
        const topic = uniqueTopic('call')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, { add: (args) => ({ sum: (args.a as number) + (args.b as number) }) })
        await expect(client.call({ topic }, 'add', { a: 2, b: 3 })).resolves.toEqual({ sum: 5 })
      }, testTimeout)

      it('delivers the caller context to the handler', async () => {
        const topic = uniqueTopic('ctx')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, { whoami: (_args, ctx) => ({ requestId: ctx.requestId, projectId: ctx.projectId }) })
        const context = { requestId: 'req-conformance', userId: 'u1', projectId: 'p1', roles: ['member'], isAdmin: false }
        await expect(client.call({ topic }, 'whoami', {}, { context })).resolves.toEqual({ requestId: 'req-conformance', projectId: 'p1' })
      }, testTimeout)

      it('resolves null when the handler returns nothing', async () => {
        const topic = uniqueTopic('void')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, { nothing: () => undefined })
        await expect(client.call({ topic }, 'nothing', {})).resolves.toBeNull()
      }, testTimeout)

      it('rebuilds a handler ComputeError with its code, message and details', async () => {
        const topic = uniqueTopic('err')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, {
          fail: () => {
            throw new ComputeError('CONFLICT', 'instance abc is busy', { details: { instanceUuid: 'abc', actual: 'deleting' } })
          },
        })
        const err = await client.call({ topic }, 'fail', {}).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err, 'CONFLICT')).toBe(true)
        expect((err as ComputeError).message).toBe('instance abc is busy')
        expect((err as ComputeError).details).toEqual({ instanceUuid: 'abc', actual: 'deleting' })
      }, testTimeout)

      it('rebuilds a registered subclass (NoValidHostError)', async () => {
        const topic = uniqueTopic('nvh')
        const server = await make()
        const client = await make()
        const explanation = { hostCount: 2, rejections: [{ host: 'h1', by: 'ComputeFilter', reason: 'disabled' }], summary: '0 of 2 hosts' }
        await server.listen({ topic, server: 'a' }, {
          pick: () => {
            throw new NoValidHostError(explanation)
          },
        })
        const err = await client.call({ topic }, 'pick', {}).then(
          () => null,
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(NoValidHostError)
        expect((err as NoValidHostError).code).toBe('NO_VALID_HOST')
        expect((err as NoValidHostError).explanation.rejections).toEqual(explanation.rejections)
      }, testTimeout)

      it('turns a plain Error thrown by the handler into an INTERNAL ComputeError', async () => {
        const topic = uniqueTopic('plain')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, {
          boom: async () => {
            throw new Error('disk on fire')
          },
        })
        const err = await client.call({ topic }, 'boom', {}).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err, 'INTERNAL')).toBe(true)
        expect((err as ComputeError).message).toContain('disk on fire')
      }, testTimeout)

      it('rejects a call to a method the endpoint does not have', async () => {
        const topic = uniqueTopic('nomethod')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, { known: () => 1 })
        const err = await client.call({ topic }, 'unknown_method', {}).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err)).toBe(true)
        expect((err as ComputeError).message).toContain('unknown_method')
      }, testTimeout)

      it('rejects with TIMEOUT naming the topic, method and timeout when no reply comes', async () => {
        const topic = uniqueTopic('timeout')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, { hang: () => new Promise(() => {}) })
        const err = await client.call({ topic }, 'hang', {}, { timeoutMs: shortTimeoutMs }).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err, 'TIMEOUT')).toBe(true)
        const message = (err as ComputeError).message
        expect(message).toContain(topic)
        expect(message).toContain('hang')
        expect(message).toContain(String(shortTimeoutMs))
      }, testTimeout)

      it('rejects with TIMEOUT when nobody listens on the topic', async () => {
        const client = await make()
        const err = await client.call({ topic: uniqueTopic('nobody') }, 'ping', {}, { timeoutMs: shortTimeoutMs }).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err, 'TIMEOUT')).toBe(true)
      }, testTimeout)

      it('keeps concurrent calls apart', async () => {
        const topic = uniqueTopic('concurrent')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, {
          echo: async (args) => {
            await new Promise((r) => setImmediate(r))
            return args.n
          },
        })
        const ns = Array.from({ length: 50 }, (_, i) => i)
        const results = await Promise.all(ns.map((n) => client.call({ topic }, 'echo', { n })))
        expect(results).toEqual(ns)
      }, testTimeout)
    })

    describe('serialisation', () => {
      it('never shares objects between caller and handler', async () => {
        const topic = uniqueTopic('serial')
        const server = await make()
        const client = await make()
        const kept: Record<string, unknown>[] = []
        await server.listen({ topic, server: 'a' }, {
          mutate: (args) => {
            const list = args.list as number[]
            list.push(99)
            ;(args.nested as Record<string, unknown>).changed = true
            kept.push(args)
            return { list }
          },
        })
        const args = { list: [1, 2], nested: { changed: false } }
        const reply = await client.call<{ list: number[] }>({ topic }, 'mutate', args)
        expect(args).toEqual({ list: [1, 2], nested: { changed: false } })
        expect(reply.list).toEqual([1, 2, 99])
        reply.list.push(100)
        expect(kept[0]?.list).toEqual([1, 2, 99])
        expect(kept[0]).not.toBe(args)
      }, testTimeout)

      it('sends JSON: dates become strings and undefined fields disappear', async () => {
        const topic = uniqueTopic('json')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, { inspect: (args) => ({ keys: Object.keys(args).sort(), whenType: typeof args.when }) })
        const reply = await client.call({ topic }, 'inspect', { when: new Date(0), gone: undefined, kept: 1 })
        expect(reply).toEqual({ keys: ['kept', 'when'], whenType: 'string' })
      }, testTimeout)
    })

    describe('.cast', () => {
      it('delivers the arguments to one listener and resolves without waiting for the handler', async () => {
        const topic = uniqueTopic('cast')
        const server = await make()
        const client = await make()
        const got = deferred<Record<string, unknown>>()
        const release = deferred<void>()
        await server.listen({ topic, server: 'a' }, {
          work: async (args) => {
            got.resolve(args)
            await release.promise
          },
        })
        await client.cast({ topic }, 'work', { job: 7 })
        await expect(got.promise).resolves.toEqual({ job: 7 })
        release.resolve()
      }, testTimeout)

      it('keeps a cast until a listener appears', async () => {
        const topic = uniqueTopic('queued')
        const client = await make()
        await client.cast({ topic }, 'work', { job: 'early' })
        await client.cast({ topic, server: 'late' }, 'work', { job: 'early-direct' })
        const server = await make()
        const got: unknown[] = []
        const both = deferred<void>()
        await server.listen({ topic, server: 'late' }, {
          work: (args) => {
            got.push(args.job)
            if (got.length === 2) both.resolve()
          },
        })
        await both.promise
        expect(got.sort()).toEqual(['early', 'early-direct'])
      }, testTimeout)

      it('does not surface handler failures to the caster', async () => {
        const topic = uniqueTopic('castfail')
        const server = await make()
        const client = await make()
        const called = deferred<void>()
        await server.listen({ topic, server: 'a' }, {
          fail: () => {
            called.resolve()
            throw new ComputeError('INTERNAL', 'handler failed')
          },
        })
        await expect(client.cast({ topic }, 'fail', {})).resolves.toBeUndefined()
        await called.promise
        // the listener still serves later requests
        await server.listen({ topic, server: 'b' }, { ok: () => 'ok' })
        await expect(client.call({ topic, server: 'b' }, 'ok', {})).resolves.toBe('ok')
      }, testTimeout)
    })

    describe('routing', () => {
      it('spreads topic messages over its listeners (round robin)', async () => {
        const topic = uniqueTopic('rr')
        const a = await make()
        const b = await make()
        const client = await make()
        await a.listen({ topic, server: 'a' }, { who: () => 'a' })
        await b.listen({ topic, server: 'b' }, { who: () => 'b' })
        const answers: string[] = []
        for (let i = 0; i < 6; i++) answers.push(await client.call<string>({ topic }, 'who', {}))
        expect(answers.filter((x) => x === 'a').length).toBeGreaterThan(0)
        expect(answers.filter((x) => x === 'b').length).toBeGreaterThan(0)
        expect(answers).toHaveLength(6)
      }, testTimeout)

      it('sends topic.server messages only to that server', async () => {
        const topic = uniqueTopic('direct')
        const a = await make()
        const b = await make()
        const client = await make()
        await a.listen({ topic, server: 'a' }, { who: () => 'a' })
        await b.listen({ topic, server: 'b' }, { who: () => 'b' })
        const answers: string[] = []
        for (let i = 0; i < 5; i++) answers.push(await client.call<string>({ topic, server: 'b' }, 'who', {}))
        expect(answers).toEqual(['b', 'b', 'b', 'b', 'b'])
      }, testTimeout)

      it('delivers a fanout cast to every listener of the topic exactly once', async () => {
        const topic = uniqueTopic('fanout')
        const servers = await Promise.all([make(), make(), make()])
        const client = await make()
        const seen: string[] = []
        const all = deferred<void>()
        await Promise.all(
          servers.map((t, i) =>
            t.listen({ topic, server: `s${i}` }, {
              refresh: () => {
                seen.push(`s${i}`)
                if (seen.length === 3) all.resolve()
              },
              ping: () => 'pong',
            }),
          ),
        )
        await client.cast({ topic, fanout: true }, 'refresh', {})
        await all.promise
        // one more round trip to every server, so a duplicate delivery would have shown up by now
        await Promise.all(servers.map((_t, i) => client.call({ topic, server: `s${i}` }, 'ping', {})))
        expect(seen.sort()).toEqual(['s0', 's1', 's2'])
      }, testTimeout)
    })

    describe('.notify / .notifications', () => {
      it('streams every notification sent through the broker, as a copy', async () => {
        const sender = await make()
        const watcher = await make()
        const eventType = `conformance.${uniqueTopic('n')}.end`
        const received = firstValueFrom(
          watcher.notifications().pipe(
            filter((n) => n.eventType === eventType),
            take(2),
            toArray(),
            rxTimeout(testTimeout),
          ),
        )
        const payload = { 'nova_object.name': 'InstanceActionPayload', 'nova_object.data': { uuid: 'u-1', list: [1] } }
        const notification: Notification = {
          priority: 'info',
          eventType,
          publisherId: 'nova-compute:host-1',
          timestamp: new Date(0).toISOString(),
          messageId: crypto.randomUUID(),
          payload,
          requestId: 'req-1',
        }
        await sender.notify(notification)
        await sender.notify({ ...notification, messageId: crypto.randomUUID(), priority: 'error' })
        const got = await received
        expect(got.map((n) => n.priority)).toEqual(['info', 'error'])
        expect(got[0]).toEqual(notification)
        expect(got[0]?.payload).not.toBe(payload)
      }, testTimeout)
    })

    describe('listener.stop', () => {
      it('stops consuming: topic messages go to the remaining listener, and its own queue waits', async () => {
        const topic = uniqueTopic('stop')
        const a = await make()
        const b = await make()
        const client = await make()
        const listenerA = await a.listen({ topic, server: 'a' }, { who: () => 'a' })
        await b.listen({ topic, server: 'b' }, { who: () => 'b' })
        await listenerA.stop()
        const answers: string[] = []
        for (let i = 0; i < 4; i++) answers.push(await client.call<string>({ topic }, 'who', {}))
        expect(answers).toEqual(['b', 'b', 'b', 'b'])
        const err = await client.call({ topic, server: 'a' }, 'who', {}, { timeoutMs: shortTimeoutMs }).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(err, 'TIMEOUT')).toBe(true)
      }, testTimeout)

      it('lets the handlers already running finish', async () => {
        const topic = uniqueTopic('drain')
        const server = await make()
        const client = await make()
        const started = deferred<void>()
        let finished = false
        const endpoint: RpcEndpoint = {
          slow: async () => {
            started.resolve()
            await new Promise((r) => setImmediate(r))
            finished = true
          },
        }
        const listener = await server.listen({ topic, server: 'a' }, endpoint)
        await client.cast({ topic }, 'slow', {})
        await started.promise
        await listener.stop()
        expect(finished).toBe(true)
      }, testTimeout)
    })

    describe('.close', () => {
      it('stops the listeners, completes the notification stream and refuses new requests', async () => {
        const topic = uniqueTopic('close')
        const server = await make()
        const client = await make()
        await server.listen({ topic, server: 'a' }, { ping: () => 'pong' })
        await expect(client.call({ topic }, 'ping', {})).resolves.toBe('pong')
        const completed = new Promise<boolean>((resolve) => server.notifications().subscribe({ complete: () => resolve(true) }))
        await server.close()
        await expect(completed).resolves.toBe(true)
        const refused = await server.call({ topic }, 'ping', {}).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(refused, 'TRANSPORT')).toBe(true)
        const unanswered = await client.call({ topic, server: 'a' }, 'ping', {}, { timeoutMs: shortTimeoutMs }).then(
          () => null,
          (e: unknown) => e,
        )
        expect(ComputeError.is(unanswered, 'TIMEOUT')).toBe(true)
      }, testTimeout)

      it('rejects the calls still waiting for a reply', async () => {
        const topic = uniqueTopic('closepending')
        const server = await make()
        const client = await make()
        const started = deferred<void>()
        await server.listen({ topic, server: 'a' }, {
          hang: () => {
            started.resolve()
            return new Promise(() => {})
          },
        })
        const pending = client.call({ topic }, 'hang', {}, { timeoutMs: 60_000 }).then(
          () => null,
          (e: unknown) => e,
        )
        await started.promise
        await client.close()
        expect(ComputeError.is(await pending, 'TRANSPORT')).toBe(true)
      }, testTimeout)
    })
  })
}

interface Deferred<T> {
  readonly promise: Promise<T>
  resolve(value: T): void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
