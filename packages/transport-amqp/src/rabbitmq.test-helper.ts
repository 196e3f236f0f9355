/**
 * Shared by this package's tests (not part of the public API): the RabbitMQ gate, `rabbitmqctl` helpers to
 * force-close our connections and to remove what the tests declared, and the conformance suite loader.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { connect } from 'amqplib'
import type { Transport } from '@novum/core'
import * as coreTesting from '@novum/core/testing'
import { DEFAULT_AMQP_URL } from './amqp-transport-config.js'

const run = promisify(execFile)

/** The broker the tests use (`NOVUM_AMQP_URL`, else the local default). */
export const TEST_AMQP_URL = process.env['NOVUM_AMQP_URL'] ?? DEFAULT_AMQP_URL

/**
 * Tests skip only when asked to (`NOVUM_SKIP_RABBITMQ=1`) outside CI; in CI (`CI=true`) an unreachable broker
 * makes them fail.
 */
export const SKIP_RABBITMQ = process.env['NOVUM_SKIP_RABBITMQ'] === '1' && process.env['CI'] !== 'true'

/** A prefix unique to this test process, for connection names, exchanges and topics. */
export const RUN_ID = `novum-test-${process.pid}-${Date.now().toString(36)}`

/** Throws a clear error when the broker cannot be reached (called from `beforeAll`). */
export async function assertBrokerReachable(): Promise<void> {
  try {
    const model = await connect(TEST_AMQP_URL, { timeout: 3000 })
    await model.close()
  } catch (err) {
    throw new Error(
      `RabbitMQ is not reachable at ${TEST_AMQP_URL.replace(/:[^:@/]*@/, ':***@')} (${(err as Error).message}). ` +
        'Start it (Debian: apt-get install rabbitmq-server) or, outside CI only, set NOVUM_SKIP_RABBITMQ=1 to skip these tests.',
      { cause: err },
    )
  }
}

/** Runs `rabbitmqctl --quiet <args>` and returns its stdout lines. */
async function rabbitmqctl(...args: string[]): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['--quiet', ...args], { timeout: 30_000 })
  return stdout.split('\n').filter((line) => line.trim() !== '')
}

/**
 * Force-closes, from the broker side, every connection whose `connection_name` contains `marker`
 * (`rabbitmqctl list_connections` + `close_connection`), and returns how many it closed.
 */
export async function closeConnectionsNamed(marker: string): Promise<number> {
  const lines = await rabbitmqctl('list_connections', '--no-table-headers', 'pid', 'client_properties')
  const pids = lines.filter((line) => line.includes(`"connection_name","${marker}`)).map((line) => line.split('\t')[0] ?? '')
  for (const pid of pids) await rabbitmqctl('close_connection', pid, 'novum test: forced close')
  return pids.length
}

/**
 * Deletes the queues and exchanges whose name satisfies `matches` (listed with `rabbitmqctl`, deleted over
 * AMQP) and returns their names.
 */
export async function deleteBrokerObjects(matches: (name: string) => boolean): Promise<string[]> {
  const queues = (await rabbitmqctl('list_queues', '--no-table-headers', 'name')).map((l) => l.trim()).filter(matches)
  const exchanges = (await rabbitmqctl('list_exchanges', '--no-table-headers', 'name')).map((l) => l.trim()).filter(matches)
  const model = await connect(TEST_AMQP_URL, { timeout: 3000 })
  try {
    const ch = await model.createChannel()
    for (const q of queues) await ch.deleteQueue(q)
    for (const x of exchanges) await ch.deleteExchange(x)
    await ch.close()
  } finally {
    await model.close()
  }
  return [...queues, ...exchanges]
}

/** Lists the queue names that satisfy `matches`, with their message counts. */
export async function listQueues(matches: (name: string) => boolean): Promise<Map<string, number>> {
  const lines = await rabbitmqctl('list_queues', '--no-table-headers', 'name', 'messages')
  const found = new Map<string, number>()
  for (const line of lines) {
    const [name = '', count = '0'] = line.trim().split('\t')
    if (matches(name)) found.set(name, Number(count))
  }
  return found
}

/** The signature of core's `describeTransportConformance`. */
export type DescribeTransportConformance = (
  makeTransport: () => Transport | Promise<Transport>,
  options?: { readonly name?: string; readonly shortTimeoutMs?: number; readonly testTimeoutMs?: number },
) => void

/**
 * Core's transport conformance suite.
 *
 * NOTE: `@novum/core/testing` does not export `describeTransportConformance` yet (packages/core/src/testing/index.ts
 * lists only the test databases), and its `exports` map blocks a deep import. Until core exports it, load the
 * module by file URL so vitest still runs it; once exported, the first branch is taken and this can go.
 */
export async function loadTransportConformance(): Promise<DescribeTransportConformance> {
  const exported = (coreTesting as Record<string, unknown>)['describeTransportConformance']
  if (typeof exported === 'function') return exported as DescribeTransportConformance
  const url = new URL('../../core/src/testing/transport-conformance.ts', import.meta.url).href
  const module = (await import(/* @vite-ignore */ url)) as { describeTransportConformance: DescribeTransportConformance }
  return module.describeTransportConformance
}
