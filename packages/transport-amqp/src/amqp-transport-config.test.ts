import { describe, expect, it } from 'vitest'
import { brokerUrls, DEFAULT_AMQP_URL, resolveAmqpTransportConfig } from './amqp-transport-config.js'
import { AmqpTransport } from './amqp-transport.js'
import { describeTarget, routeOf, topology } from './topology.js'

describe(resolveAmqpTransportConfig.name, () => {
  it('applies the defaults', () => {
    const config = resolveAmqpTransportConfig({}, 'node-1', 42)
    expect(config).toMatchObject({
      url: DEFAULT_AMQP_URL,
      exchange: 'novum',
      heartbeatSec: 30,
      defaultCallTimeoutMs: 60_000,
      reconnect: { initialDelayMs: 100, maxDelayMs: 30_000, jitter: 0.2 },
      publishWaitMs: 60_000,
      prefetch: 64,
      maxConcurrentHandlers: 64,
      notificationSubscription: 'eager',
      connectionName: 'novum:node-1:42',
    })
  })

  it.each([
    [{ prefetch: 0 }, 'prefetch'],
    [{ defaultCallTimeoutMs: Number.NaN }, 'defaultCallTimeoutMs'],
    [{ reconnect: { initialDelayMs: 500, maxDelayMs: 100 } }, 'reconnect.maxDelayMs'],
    [{ reconnect: { jitter: 1.5 } }, 'reconnect.jitter'],
    [{ exchange: 'amq.topic' }, 'exchange'],
    [{ exchange: '' }, 'exchange'],
  ])('refuses %j (names %s)', (config, field) => {
    expect(() => resolveAmqpTransportConfig(config, 'h', 1)).toThrow(new RegExp(`AmqpTransportConfig\\.${field.replace('.', '\\.')}`))
  })

  it('refuses an exchange name with topic wildcards, and a URL that is not AMQP, without any I/O', () => {
    expect(() => new AmqpTransport({ exchange: 'nova.#' })).toThrow(RangeError)
    expect(() => new AmqpTransport({ url: 'http://rabbit:5672' })).toThrow(/amqp: or amqps:/)
  })
})

describe(brokerUrls.name, () => {
  it('adds the heartbeat unless the URL has one, and hides the password in the redacted form', () => {
    expect(brokerUrls('amqp://nova:s3cret@rabbit:5672/nova', 30)).toEqual({
      connect: 'amqp://nova:s3cret@rabbit:5672/nova?heartbeat=30',
      redacted: 'amqp://nova:***@rabbit:5672/nova?heartbeat=30',
    })
    expect(brokerUrls('amqp://rabbit?heartbeat=5', 30).connect).toBe('amqp://rabbit?heartbeat=5')
  })
})

describe('topology', () => {
  it.each([
    [{ topic: 'compute' }, { exchange: 'nova', routingKey: 'compute', queue: 'compute' }, 'compute'],
    [{ topic: 'compute', server: 'host-1' }, { exchange: 'nova', routingKey: 'compute.host-1', queue: 'compute.host-1' }, 'compute.host-1'],
    [{ topic: 'scheduler', fanout: true }, { exchange: 'scheduler_fanout', routingKey: '' }, 'scheduler (fanout)'],
  ])('routes %j like oslo.messaging', (target, route, described) => {
    expect(routeOf('nova', target)).toEqual(route)
    expect(describeTarget(target)).toBe(described)
  })

  it('names notifications and fanout queues like oslo.messaging', () => {
    expect(topology.notificationRoutingKey('error')).toBe('notifications.error')
    expect(topology.fanoutQueue('compute', 'abc')).toBe('compute_fanout_abc')
    expect(topology.directReplyTo).toBe('amq.rabbitmq.reply-to')
  })
})
