import { mergeConfig } from 'vitest/config'
import { novumProject } from '../../vitest.shared.js'

// NOTE: the test files share one broker and one of them restarts it (rabbitmqctl stop_app/start_app), so they
// run one after another.
export default mergeConfig(novumProject('transport-amqp'), { test: { fileParallelism: false } })
