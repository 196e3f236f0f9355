import { mergeConfig } from 'vitest/config'
import { novumProject } from '../vitest.shared.js'

// The multi-node end-to-end tests (test/e2e/multi-node-*.test.ts) start a whole deployment each and one of them
// restarts RabbitMQ (rabbitmqctl stop_app/start_app). With file parallelism off, vitest runs them one file at a
// time in its final sequential group, together with transport-amqp's files, after every parallel project: no
// other test shares the broker or the two cores with a deployment.
export default mergeConfig(
  novumProject('e2e-multi-node', { include: ['e2e/multi-node-*.test.ts'], testTimeout: 600_000, hookTimeout: 300_000 }),
  { test: { fileParallelism: false } },
)
