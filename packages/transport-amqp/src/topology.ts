import type { NotificationPriority, Target } from '@novum/core'

/**
 * The names oslo.messaging's rabbit driver gives its queues and exchanges, in one place.
 *
 * - requests go to the durable topic exchange `<exchange>` with routing key `<topic>` (one of the topic's
 *   servers) or `<topic>.<server>` (that server);
 * - each server consumes the durable queue `<topic>` (shared, round robin), the durable queue
 *   `<topic>.<server>` and an exclusive auto-delete queue `<topic>_fanout_<id>` bound to the fanout
 *   exchange `<topic>_fanout`;
 * - notifications go to `<exchange>` with routing key `notifications.<priority>`.
 */
export const topology = {
  /** The shared queue of a topic, and its routing key. */
  topicQueue: (topic: string): string => topic,
  /** The queue of one server of a topic, and its routing key. */
  serverQueue: (topic: string, server: string): string => `${topic}.${server}`,
  /** The fanout exchange of a topic. */
  fanoutExchange: (topic: string): string => `${topic}_fanout`,
  /** The exclusive queue of one listener on the topic's fanout exchange. */
  fanoutQueue: (topic: string, id: string): string => `${topic}_fanout_${id}`,
  /** The routing key of a notification. */
  notificationRoutingKey: (priority: NotificationPriority): string => `notifications.${priority}`,
  /** The binding that receives every notification. */
  notificationBindingKey: 'notifications.*',
  /** RabbitMQ's direct reply-to pseudo-queue. */
  directReplyTo: 'amq.rabbitmq.reply-to',
} as const

/** Where a request for `target` is published, and the queue that holds it. */
export interface Route {
  readonly exchange: string
  readonly routingKey: string
  /** The durable queue the message lands in (none for a fanout). */
  readonly queue?: string
}

/** The route of a request to `target` on the control exchange `exchange`. */
export function routeOf(exchange: string, target: Target): Route {
  if (target.fanout) return { exchange: topology.fanoutExchange(target.topic), routingKey: '' }
  const queue = target.server !== undefined ? topology.serverQueue(target.topic, target.server) : topology.topicQueue(target.topic)
  return { exchange, routingKey: queue, queue }
}

/** How a target reads in messages: `topic`, `topic.server` or `topic (fanout)`. */
export function describeTarget(target: Target): string {
  return target.server !== undefined ? `${target.topic}.${target.server}` : target.fanout ? `${target.topic} (fanout)` : target.topic
}

/** Rejects names RabbitMQ would refuse or route wrongly (empty, longer than 255 bytes, `*`/`#` wildcards). */
export function checkName(kind: string, name: string): string | undefined {
  if (name === '') return `${kind} must not be empty`
  if (Buffer.byteLength(name) > 200) return `${kind} "${name.slice(0, 40)}…" is longer than 200 bytes`
  if (/[*#]/.test(name)) return `${kind} "${name}" must not contain "*" or "#" (topic exchange wildcards)`
  return undefined
}
