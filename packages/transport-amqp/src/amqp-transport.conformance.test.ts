import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AmqpTransport } from './amqp-transport.js'
import { assertBrokerReachable, deleteBrokerObjects, loadTransportConformance, RUN_ID, SKIP_RABBITMQ, TEST_AMQP_URL } from './rabbitmq.test-helper.js'

// Core's suite against the real broker. Every transport of this file shares one control exchange of its own;
// the suite's topics are `conf-<label>-<pid>-…`, so afterAll can remove exactly what this file declared.
const exchange = `${RUN_ID}-conformance`
const ownedByThisFile = (name: string): boolean => name === exchange || (name.startsWith('conf-') && name.includes(`-${process.pid}-`))

if (SKIP_RABBITMQ) {
  describe.skip('AmqpTransport conformance (NOVUM_SKIP_RABBITMQ=1)', () => {
    it('needs RabbitMQ', () => {
      expect(SKIP_RABBITMQ).toBe(true)
    })
  })
} else {
  beforeAll(assertBrokerReachable)
  afterAll(async () => {
    await deleteBrokerObjects(ownedByThisFile)
  })

  const describeTransportConformance = await loadTransportConformance()
  describeTransportConformance(
    async () => {
      const transport = new AmqpTransport({
        url: TEST_AMQP_URL,
        exchange,
        connectionName: `${RUN_ID}-conformance`,
        reconnect: { initialDelayMs: 50, maxDelayMs: 1000 },
      })
      await transport.init({ timeoutMs: 5000 })
      return transport
    },
    { name: 'AmqpTransport conformance', shortTimeoutMs: 300, testTimeoutMs: 15_000 },
  )
}
