import { connect } from 'amqplib'
import { readFileSync } from 'node:fs'
const cpu = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100 }
const variant = process.argv[2]
const ex = `raw-${process.pid}`
const sm = await connect('amqp://guest:guest@127.0.0.1:5672?heartbeat=30', { noDelay: true })
const sch = await sm.createChannel()
const xtype = variant === 'direct' ? 'direct' : 'topic'
await sch.assertExchange(ex, xtype, { durable: false, autoDelete: true })
const q = `rawq-${process.pid}`
await sch.assertQueue(q, { durable: variant !== 'transient', exclusive: false, autoDelete: true })
await sch.bindQueue(q, ex, q)
await sch.prefetch(64)
let last = null, sched = false
await sch.consume(q, (m) => {
  if (variant === 'noack') {} else { last = m; if (!sched) { sched = true; setImmediate(() => { sched = false; sch.ack(last, true) }) } }
  sch.publish('', m.properties.replyTo, m.content, { correlationId: m.properties.correlationId })
}, { noAck: variant === 'noack' })
const cm = await connect('amqp://guest:guest@127.0.0.1:5672?heartbeat=30', { noDelay: true })
const cch = await cm.createChannel()
const pending = new Map()
await cch.consume('amq.rabbitmq.reply-to', (m) => { const r = pending.get(m.properties.correlationId); pending.delete(m.properties.correlationId); r() }, { noAck: true })
const body = Buffer.from(JSON.stringify({ v: 1, msgId: crypto.randomUUID(), method: 'echo', args: { a: 1, instanceUuid: '6b3f1c1e-9a52-4d6e-8a0e-2a3c5d7e9f10' }, context: null }))
let id = 0
const opts = variant === 'plain' || variant === 'direct' || variant === 'noack' || variant === 'transient' ? {} : { mandatory: true, expiration: 30000, contentType: 'application/json' }
const call = () => new Promise((r) => { const c = String(++id); pending.set(c, r); cch.publish(ex, q, body, { ...opts, correlationId: c, replyTo: 'amq.rabbitmq.reply-to' }) })
const run = async (ms) => { const stop = performance.now() + ms; let n = 0; await Promise.all(Array.from({ length: Number(process.argv[3] ?? 50) }, async () => { while (performance.now() < stop) { await call(); n++ } })); return n }
await run(1000)
const b0 = cpu(2934); const u0 = process.cpuUsage(); const t0 = performance.now(); const n = await run(4000); const sec = (performance.now() - t0) / 1000; const u1 = process.cpuUsage(u0)
console.log(`${variant}: ${(n / sec).toFixed(0)} calls/s, broker ${((cpu(2934) - b0) / n * 1e6).toFixed(0)} µs/call, node (client+server) ${((u1.user + u1.system) / n).toFixed(0)} µs/call`)
await cm.close(); await sm.close()
