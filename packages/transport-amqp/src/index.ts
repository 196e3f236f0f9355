/**
 * `@novum/transport-amqp`: Novum's {@link @novum/core#Transport} over RabbitMQ, with oslo.messaging's topology
 * (topic exchange, `<topic>` / `<topic>.<server>` queues, `<topic>_fanout`), direct reply-to calls, confirmed
 * durable casts, `notifications.<priority>` and connection recovery.
 * @packageDocumentation
 */
export { AmqpTransport } from './amqp-transport.js'
export type { AmqpConnectionState, AmqpInitOptions } from './amqp-transport.js'
export { DEFAULT_AMQP_URL } from './amqp-transport-config.js'
export type { AmqpTransportConfig, AmqpReconnectConfig } from './amqp-transport-config.js'
export { topology } from './topology.js'
