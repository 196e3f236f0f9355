import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { connect, type ChannelModel, type GetMessage } from 'amqplib'
import { filter, firstValueFrom, take, timeout as rxTimeout, toArray } from 'rxjs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ComputeError, type Notification, type RequestEnvelope } from '@novum/core'
import { AmqpTransport, type AmqpConnectionState } from './amqp-transport.js'
import type { AmqpTransportConfig } from './amqp-transport-config.js'
import { assertBrokerReachable, closeConnectionsNamed, deleteBrokerObjects, listQueues, RUN_ID, SKIP_RABBITMQ, TEST_AMQP_URL } from './rabbitmq.test-helper.js'

const run = promisify(execFile)

// Everything this file declares starts with `prefix`: the control exchange, topics (so their queues and
// `<topic>_fanout` exchanges) and connection names; afterAll deletes it all.
const prefix = `${RUN_ID}-amqp`
const exchange = `${prefix}-x`
let topicSeq = 0
const uniqueTopic = (label: string): string => `${prefix}-${label}-${++topicSeq}`

const made: AmqpTransport[] = []
function makeTransport(overrides: AmqpTransportConfig = {}): AmqpTransport {
  const transport = new AmqpTransport({
    url: TEST_AMQP_URL,
    exchange,
    connectionName: `${prefix}-conn`,
    reconnect: { initialDelayMs: 50, maxDelayMs: 1000 },
    ...overrides,
  })
  made.push(transport)
  return transport
}

async function rawBroker(): Promise<ChannelModel> {
  return connect(TEST_AMQP_URL, { timeout: 3000 })
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

const errorOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => null,
    (e: unknown) => e,
  )

const reached = (t: AmqpTransport, state: AmqpConnectionState): Promise<AmqpConnectionState> =>
  firstValueFrom(t.connectionState().pipe(filter((s) => s === state)))

if (SKIP_RABBITMQ) {
  describe.skip('AmqpTransport on RabbitMQ (NOVUM_SKIP_RABBITMQ=1)', () => {
    it('needs RabbitMQ', () => {
      expect(SKIP_RABBITMQ).toBe(true)
    })
  })
} else {
  describe(AmqpTransport.name, () => {
    beforeAll(assertBrokerReachable)
    afterEach(async () => {
      await Promise.allSettled(made.splice(0).map((t) => t.close()))
    })
    afterAll(async () => {
      await deleteBrokerObjects((name) => name.startsWith(prefix))
    })

    describe('topology', () => {
      it('declares the durable <topic> and <topic>.<server> queues, the <topic>_fanout exchange and an exclusive fanout queue', async () => {
        const topic = uniqueTopic('topo')
        const server = makeTransport()
        await server.listen({ topic, server: 'host-1' }, { ping: () => 'pong' })
        const lines = (await run('rabbitmqctl', ['--quiet', 'list_queues', '--no-table-headers', 'name', 'durable', 'exclusive', 'auto_delete', 'consumers'])).stdout
          .split('\n')
          .filter((l) => l.startsWith(topic))
          .map((l) => l.split('\t'))
        const byName = new Map(lines.map(([name = '', ...rest]) => [name, rest]))
        expect(byName.get(topic)).toEqual(['true', 'false', 'false', '1'])
        expect(byName.get(`${topic}.host-1`)).toEqual(['true', 'false', 'false', '1'])
        const fanoutQueues = [...byName.keys()].filter((n) => n.startsWith(`${topic}_fanout_`))
        expect(fanoutQueues).toHaveLength(1)
        expect(byName.get(fanoutQueues[0]!)).toEqual(['false', 'true', 'true', '1'])
        const exchanges = (await run('rabbitmqctl', ['--quiet', 'list_exchanges', '--no-table-headers', 'name', 'type', 'durable'])).stdout.split('\n')
        expect(exchanges).toContain(`${exchange}\ttopic\ttrue`)
        expect(exchanges).toContain(`${topic}_fanout\tfanout\ttrue`)
      })

      it('publishes a cast as a persistent JSON request envelope on the <topic>.<server> queue', async () => {
        const topic = uniqueTopic('wire')
        const client = makeTransport()
        const context = { requestId: 'req-wire', userId: 'u', projectId: 'p', roles: ['member'], isAdmin: false }
        await client.cast({ topic, server: 'host-9' }, 'build_and_run_instance', { instance: { uuid: 'i-1' } }, { context })
        const broker = await rawBroker()
        try {
          const ch = await broker.createChannel()
          const message = (await ch.get(`${topic}.host-9`, { noAck: true })) as GetMessage | false
          expect(message).not.toBe(false)
          const m = message as GetMessage
          expect(m.fields.exchange).toBe(exchange)
          expect(m.fields.routingKey).toBe(`${topic}.host-9`)
          expect(m.properties.deliveryMode).toBe(2)
          expect(m.properties.contentType).toBe('application/json')
          const envelope = JSON.parse(m.content.toString()) as RequestEnvelope
          expect(envelope).toMatchObject({ v: 1, method: 'build_and_run_instance', args: { instance: { uuid: 'i-1' } }, context })
          expect(envelope.replyTo).toBeUndefined()
          expect(m.properties.messageId).toBe(envelope.msgId)
        } finally {
          await broker.close()
        }
      })

      it('publishes notifications on notifications.<priority> of the control exchange', async () => {
        const broker = await rawBroker()
        try {
          const ch = await broker.createChannel()
          const { queue } = await ch.assertQueue('', { exclusive: true })
          await ch.bindQueue(queue, exchange, 'notifications.error')
          const got = deferred<{ routingKey: string; body: Notification }>()
          await ch.consume(queue, (m) => m && got.resolve({ routingKey: m.fields.routingKey, body: JSON.parse(m.content.toString()) as Notification }), { noAck: true })
          const sender = makeTransport()
          const notification: Notification = {
            priority: 'error',
            eventType: 'compute.exception',
            publisherId: 'nova-compute:host-1',
            timestamp: new Date(0).toISOString(),
            messageId: crypto.randomUUID(),
            payload: { 'nova_object.name': 'ExceptionPayload', 'nova_object.data': { exception: 'X' } },
          }
          await sender.notify({ ...notification, priority: 'info', messageId: crypto.randomUUID() }) // not bound: not received
          await sender.notify(notification)
          await expect(got.promise).resolves.toEqual({ routingKey: 'notifications.error', body: notification })
        } finally {
          await broker.close()
        }
      })
    })

    describe('.cast', () => {
      it('keeps a durable cast until a listener starts, after the caster has closed', async () => {
        const topic = uniqueTopic('durable')
        const caster = makeTransport()
        await caster.cast({ topic }, 'work', { job: 1 })
        await caster.cast({ topic, server: 'later' }, 'work', { job: 2 })
        await caster.close()
        const queued = await listQueues((name) => name === topic || name === `${topic}.later`)
        expect(Object.fromEntries(queued)).toEqual({ [topic]: 1, [`${topic}.later`]: 1 })
        const server = makeTransport()
        const jobs: unknown[] = []
        const both = deferred<void>()
        await server.listen({ topic, server: 'later' }, {
          work: (args) => {
            jobs.push(args.job)
            if (jobs.length === 2) both.resolve()
          },
        })
        await both.promise
        expect(jobs.sort()).toEqual([1, 2])
      })

      it('delivers a fanout cast once to every listener, on separate connections, and drops a fanout nobody is bound to', async () => {
        const topic = uniqueTopic('fanout')
        const seen: string[] = []
        const all = deferred<void>()
        const servers = [makeTransport(), makeTransport(), makeTransport()]
        await Promise.all(
          servers.map((t, i) =>
            t.listen({ topic, server: `s${i}` }, {
              refresh: (args) => {
                seen.push(`s${i}:${String(args.gen)}`)
                if (seen.length === 3) all.resolve()
              },
              ping: () => 'pong',
            }),
          ),
        )
        const client = makeTransport()
        await expect(client.cast({ topic: uniqueTopic('fanout-nobody'), fanout: true }, 'refresh', {})).resolves.toBeUndefined()
        await client.cast({ topic, fanout: true }, 'refresh', { gen: 1 })
        await all.promise
        await Promise.all(servers.map((_t, i) => client.call({ topic, server: `s${i}` }, 'ping', {})))
        expect(seen.sort()).toEqual(['s0:1', 's1:1', 's2:1'])
      })

      it('declares a deleted queue again when the broker returns a cast, instead of losing it', async () => {
        const topic = uniqueTopic('redeclare')
        const client = makeTransport()
        await client.cast({ topic, server: 'x' }, 'work', { job: 1 })
        const broker = await rawBroker()
        try {
          const ch = await broker.createChannel()
          await ch.deleteQueue(`${topic}.x`)
        } finally {
          await broker.close()
        }
        await expect(client.cast({ topic, server: 'x' }, 'work', { job: 2 })).resolves.toBeUndefined()
        expect(Object.fromEntries(await listQueues((name) => name === `${topic}.x`))).toEqual({ [`${topic}.x`]: 1 })
      })

      it('runs at most maxConcurrentHandlers handlers of a listener at once and still handles every request', async () => {
        const topic = uniqueTopic('concurrency')
        const server = makeTransport({ maxConcurrentHandlers: 2, prefetch: 10 })
        let running = 0
        let maxRunning = 0
        const done: number[] = []
        const allDone = deferred<void>()
        await server.listen({ topic, server: 'a' }, {
          slow: async (args) => {
            running++
            maxRunning = Math.max(maxRunning, running)
            await new Promise((r) => setTimeout(r, 5))
            running--
            done.push(args.n as number)
            if (done.length === 8) allDone.resolve()
          },
        })
        const client = makeTransport()
        await Promise.all(Array.from({ length: 8 }, (_, n) => client.cast({ topic }, 'slow', { n })))
        await allDone.promise
        expect(maxRunning).toBe(2)
        expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      })
    })

    describe('.call', () => {
      it('rejects with a TIMEOUT ComputeError whose details name the topic, method and timeout', async () => {
        const topic = uniqueTopic('timeout')
        const server = makeTransport()
        await server.listen({ topic, server: 'a' }, { hang: () => new Promise(() => {}) })
        const client = makeTransport()
        const err = await errorOf(client.call({ topic, server: 'a' }, 'hang', {}, { timeoutMs: 200 }))
        expect(ComputeError.is(err, 'TIMEOUT')).toBe(true)
        expect((err as ComputeError).details).toEqual({ topic, method: 'hang', timeoutMs: 200 })
        expect((err as ComputeError).message).toBe(`timed out after 200 ms waiting for a reply to ${topic}.a hang`)
      })

      it('fails a call to a topic no queue is bound for with TIMEOUT marked undeliverable (basic.return), without waiting', async () => {
        const client = makeTransport()
        const topic = uniqueTopic('unbound')
        const err = await errorOf(client.call({ topic }, 'ping', {}, { timeoutMs: 60_000 }))
        expect(ComputeError.is(err, 'TIMEOUT')).toBe(true)
        expect((err as ComputeError).details).toEqual({ topic, method: 'ping', timeoutMs: 60_000, undeliverable: true })
        expect((err as ComputeError).message).toContain(topic)
      })

      it('refuses a fanout call and malformed names with INVALID', async () => {
        const client = makeTransport()
        expect(ComputeError.is(await errorOf(client.call({ topic: 'x', fanout: true }, 'm', {})), 'INVALID')).toBe(true)
        expect(ComputeError.is(await errorOf(client.call({ topic: 'a.#' }, 'm', {})), 'INVALID')).toBe(true)
        expect(ComputeError.is(await errorOf(client.cast({ topic: '' }, 'm', {})), 'INVALID')).toBe(true)
        expect(ComputeError.is(await errorOf(client.listen({ topic: 'x', server: '*' }, {})), 'INVALID')).toBe(true)
      })
    })

    describe('recovery', () => {
      it('after the broker force-closes the connections: in-flight calls fail with TRANSPORT, a cast issued during the outage is delivered, calls work again', async () => {
        const topic = uniqueTopic('reconnect')
        const marker = `${prefix}-reconnect`
        const server = makeTransport({ connectionName: `${marker}-server` })
        // The client waits 1 s before reconnecting, so the cast below is certainly issued while it is disconnected.
        const client = makeTransport({ connectionName: `${marker}-client`, reconnect: { initialDelayMs: 1000, maxDelayMs: 1000, jitter: 0 } })
        const hanging = deferred<void>()
        const worked = deferred<Record<string, unknown>>()
        await server.listen({ topic, server: 's1' }, {
          echo: (args) => args,
          hang: () => {
            hanging.resolve()
            return new Promise(() => {})
          },
          work: (args) => worked.resolve(args),
        })
        await expect(client.call({ topic }, 'echo', { n: 1 })).resolves.toEqual({ n: 1 })
        const inFlight = errorOf(client.call({ topic }, 'hang', {}, { timeoutMs: 30_000 }))
        await hanging.promise

        const clientDown = reached(client, 'reconnecting')
        const serverDown = reached(server, 'reconnecting')
        expect(await closeConnectionsNamed(marker)).toBe(2)
        await Promise.all([clientDown, serverDown])

        const lost = await inFlight
        expect(ComputeError.is(lost, 'TRANSPORT')).toBe(true)
        expect((lost as ComputeError).message).toContain('hang')

        const clientUp = reached(client, 'connected')
        const castDuringOutage = client.cast({ topic }, 'work', { during: 'outage' })
        await expect(castDuringOutage).resolves.toBeUndefined()
        await clientUp
        await expect(worked.promise).resolves.toEqual({ during: 'outage' })
        await expect(client.call({ topic }, 'echo', { n: 2 }, { timeoutMs: 10_000 })).resolves.toEqual({ n: 2 })
        await expect(client.call({ topic, server: 's1' }, 'echo', { n: 3 }, { timeoutMs: 10_000 })).resolves.toEqual({ n: 3 })
      })

      it('re-declares and re-consumes when the broker cancels a consumer (its queue was deleted)', async () => {
        const topic = uniqueTopic('cancelled')
        const server = makeTransport()
        await server.listen({ topic, server: 'a' }, { who: () => 'a' })
        const client = makeTransport()
        await expect(client.call({ topic, server: 'a' }, 'who', {})).resolves.toBe('a')
        const down = reached(server, 'reconnecting')
        const broker = await rawBroker()
        try {
          const ch = await broker.createChannel()
          await ch.deleteQueue(`${topic}.a`)
        } finally {
          await broker.close()
        }
        await down
        await reached(server, 'connected')
        await expect(client.call({ topic, server: 'a' }, 'who', {}, { timeoutMs: 10_000 })).resolves.toBe('a')
      })

      it('rejects a cast with TRANSPORT when no broker answers within publishWaitMs, and init() with TRANSPORT after its timeout', async () => {
        const unreachable = makeTransport({ url: 'amqp://guest:secret@127.0.0.1:1', publishWaitMs: 200, connectTimeoutMs: 500 })
        const castErr = await errorOf(unreachable.cast({ topic: uniqueTopic('nowhere') }, 'work', {}))
        expect(ComputeError.is(castErr, 'TRANSPORT')).toBe(true)
        expect((castErr as ComputeError).message).toContain('amqp://guest:***@127.0.0.1:1')
        expect((castErr as ComputeError).message).not.toContain('secret')
        const initErr = await errorOf(unreachable.init({ timeoutMs: 200 }))
        expect(ComputeError.is(initErr, 'TRANSPORT')).toBe(true)
      })

      it('survives a broker restart (rabbitmqctl stop_app / start_app): a durable cast waits in its queue, listeners come back', async () => {
        const topic = uniqueTopic('restart')
        const server = makeTransport()
        const jobs: unknown[] = []
        const gotBoth = deferred<void>()
        await server.listen({ topic, server: 'a' }, {
          echo: (args) => args,
          work: (args) => {
            jobs.push(args.job)
            if (jobs.length === 2) gotBoth.resolve()
          },
        })
        const client = makeTransport()
        await expect(client.call({ topic }, 'echo', { n: 1 })).resolves.toEqual({ n: 1 })
        const serverDown = reached(server, 'reconnecting')
        try {
          await run('rabbitmqctl', ['--quiet', 'stop_app'], { timeout: 60_000 })
          await serverDown
          // issued while the broker is down: waits for it, then is published with a confirm
          const during = client.cast({ topic }, 'work', { job: 'during' })
          await run('rabbitmqctl', ['--quiet', 'start_app'], { timeout: 60_000 })
          await expect(during).resolves.toBeUndefined()
        } finally {
          await run('rabbitmqctl', ['--quiet', 'start_app'], { timeout: 60_000 }).catch(() => {})
          await run('rabbitmqctl', ['--quiet', 'await_startup'], { timeout: 60_000 })
        }
        await client.cast({ topic }, 'work', { job: 'after' })
        await gotBoth.promise
        expect(jobs.sort()).toEqual(['after', 'during'])
        await expect(client.call({ topic, server: 'a' }, 'echo', { n: 2 }, { timeoutMs: 20_000 })).resolves.toEqual({ n: 2 })
      }, 120_000)
    })

    describe('broker refusals on a live connection', () => {
      it('rejects a cast and a listen with TRANSPORT when the broker refuses to declare (PRECONDITION_FAILED), and keeps working', async () => {
        const topic = uniqueTopic('conflict')
        const broker = await rawBroker()
        try {
          const ch = await broker.createChannel()
          // a non-durable queue under the name the transport declares durable
          await ch.assertQueue(topic, { durable: false })
          const client = makeTransport()
          const castErr = await errorOf(client.cast({ topic }, 'work', {}))
          expect(ComputeError.is(castErr, 'TRANSPORT')).toBe(true)
          expect((castErr as ComputeError).message).toContain('PRECONDITION')
          const server = makeTransport()
          const listenErr = await errorOf(server.listen({ topic, server: 'a' }, { ping: () => 'pong' }))
          expect(ComputeError.is(listenErr, 'TRANSPORT')).toBe(true)
          // both transports are still connected and usable
          const other = uniqueTopic('conflict-ok')
          await server.listen({ topic: other, server: 'a' }, { ping: () => 'pong' })
          await expect(client.call({ topic: other }, 'ping', {})).resolves.toBe('pong')
          await expect(client.cast({ topic: other }, 'ping', {})).resolves.toBeUndefined()
          await ch.deleteQueue(topic)
        } finally {
          await broker.close()
        }
      })
    })

    describe('.notifications', () => {
      it('with lazy subscription binds on the first subscriber and sees what is sent afterwards', async () => {
        const watcher = makeTransport({ notificationSubscription: 'lazy' })
        await watcher.init()
        const eventType = `${uniqueTopic('lazy')}.end`
        const seen = firstValueFrom(watcher.notifications().pipe(filter((n) => n.eventType === eventType), take(1), toArray(), rxTimeout(10_000)))
        const sender = makeTransport()
        await sender.init()
        // the binding is made asynchronously: send until it is seen (the lazy mode's documented trade-off)
        let received: Notification[] | undefined
        void seen.then((r) => (received = r))
        while (received === undefined) {
          await sender.notify({ priority: 'info', eventType, publisherId: 'nova-api:h', timestamp: new Date(0).toISOString(), messageId: crypto.randomUUID(), payload: {} })
          await new Promise((r) => setTimeout(r, 20))
        }
        expect(received[0]?.eventType).toBe(eventType)
      })
    })

    describe('.close', () => {
      it('leaves nothing that keeps the process alive', async () => {
        const script = fileURLToPath(new URL('./close-exits.test-helper.ts', import.meta.url))
        const { stdout } = await run(process.execPath, ['--conditions=@novum/source', '--import', 'tsx', script], {
          cwd: fileURLToPath(new URL('../../..', import.meta.url)),
          timeout: 15_000, // killed (and the test fails) if close() left anything that keeps it alive
          env: { ...process.env, NOVUM_AMQP_URL: TEST_AMQP_URL, NOVUM_TEST_EXCHANGE: exchange, NOVUM_TEST_TOPIC: uniqueTopic('exit') },
        })
        expect(stdout.trim()).toBe('pong closed')
      })
    })
  })
}
