/**
 * Run as a child process by amqp-transport.test.ts: uses two transports (a call answered, a call and a cast
 * still in flight), closes them and prints the answer. It must then exit on its own: a timer, socket or
 * heartbeat left behind by `close()` would keep it alive and fail the test.
 */
import { AmqpTransport } from './amqp-transport.js'

const url = process.env['NOVUM_AMQP_URL']
const exchange = process.env['NOVUM_TEST_EXCHANGE']
const topic = process.env['NOVUM_TEST_TOPIC']
if (!url || !exchange || !topic) throw new Error('NOVUM_AMQP_URL, NOVUM_TEST_EXCHANGE and NOVUM_TEST_TOPIC must be set')

const server = new AmqpTransport({ url, exchange, connectionName: `${exchange}-exit` })
const client = new AmqpTransport({ url, exchange, connectionName: `${exchange}-exit` })
await server.listen({ topic, server: 'a' }, { ping: () => 'pong', hang: () => new Promise(() => {}) })
const answer = await client.call({ topic }, 'ping', {})
const pending = client.call({ topic }, 'hang', {}, { timeoutMs: 60_000 }).catch(() => 'rejected')
client.notifications().subscribe()
await client.close()
await server.close()
await pending
process.stdout.write(`${String(answer)} closed\n`)
