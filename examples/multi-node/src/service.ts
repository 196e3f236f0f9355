import type { ApiServers } from '@novum/api-http'
import { ComputeError, createDeployment, type Deployment, type DeploymentConfig, type DeploymentRole, type Logger } from '@novum/core'
import { AmqpTransport } from '@novum/transport-amqp'
import { redactUrl, type MultiNodeOptions } from './config.js'
import { databaseConfig } from './database.js'
import { createAgentDriver } from './drivers.js'
import { endpointsOf } from './init.js'

/** Which service one process runs: a control service, or the compute agent of one host. */
export type ServiceSpec = { readonly role: Exclude<DeploymentRole, 'compute'> } | { readonly role: 'compute'; readonly host: string }

/** A service running in this process. */
export interface RunningService {
  /** `api`, `conductor`, `scheduler`, or the compute agent's host name. */
  readonly name: string
  readonly deployment: Deployment
  readonly transport: AmqpTransport
  /** The HTTP surfaces (api only). */
  readonly servers: ApiServers | null
  /** Stops the HTTP servers, then the services, the transport and the database pool. */
  stop(): Promise<void>
}

/** Database connections per process, by role (a compute agent has none). */
const POOL_SIZE: Readonly<Record<Exclude<DeploymentRole, 'compute'>, number>> = { api: 10, conductor: 10, scheduler: 5 }

/** The name a service has in logs, the supervisor and `rabbitmqctl list_connections`. */
export function serviceName(spec: ServiceSpec): string {
  return spec.role === 'compute' ? spec.host : spec.role
}

/**
 * Starts one service of the multi-node deployment in this process, over RabbitMQ ({@link AmqpTransport}) and, for
 * the control services, the database (already migrated by `init`):
 *
 * - `api`: the Compute, Identity, Image and Placement HTTP APIs on the configured ports;
 * - `conductor`: the task API and the compute-facing database proxy, plus its `nova-conductor` heartbeat;
 * - `scheduler`: `select_destinations` and the Placement claims, plus its `nova-scheduler` heartbeat;
 * - `compute`: one host with the configured driver; it reconciles what a previous run left behind
 *   ({@link ComputeHostReconciler} through `reconcileComputeHosts`), then heartbeats through the conductor.
 *
 * Every service heartbeats every `reportIntervalSec`; every RPC call waits `rpcTimeoutSec`.
 */
export async function startService(spec: ServiceSpec, options: MultiNodeOptions, logger: Logger): Promise<RunningService> {
  const name = serviceName(spec)
  const transport = new AmqpTransport({
    url: options.amqpUrl,
    exchange: options.exchange,
    defaultCallTimeoutMs: Math.round(options.rpcTimeoutSec * 1000),
    // NOTE: a short backoff cap: back within about a second of the broker (the default 30 s cap can leave a service
    // away for half a minute after a restart, and calls waiting for the connection time out meanwhile).
    reconnect: { initialDelayMs: 100, maxDelayMs: Math.round(options.amqpReconnectMaxDelaySec * 1000) },
    // NOTE: no service here reads notifications; a lazy subscription spares each process a copy of every one.
    notificationSubscription: 'lazy',
    connectionName: `novum:${name}:${process.pid}`,
    logger: logger.child({ component: 'amqp' }),
  })
  try {
    await transport.init({ timeoutMs: 30_000 })
  } catch (err) {
    await transport.close().catch(() => undefined)
    throw new ComputeError('TRANSPORT', `cannot reach RabbitMQ at ${redactUrl(options.amqpUrl)}: ${(err as Error).message}`, { cause: err })
  }
  const common: DeploymentConfig = {
    roles: [spec.role],
    transport,
    migrate: false,
    serviceDownTimeSec: options.serviceDownTimeSec,
    rpcTimeoutMs: Math.round(options.rpcTimeoutSec * 1000),
    serviceReport: { host: options.host, intervalMs: Math.round(options.reportIntervalSec * 1000) },
    logger,
  }
  let config: DeploymentConfig
  if (spec.role === 'compute') {
    const driver = await createAgentDriver(options, spec.host, logger)
    config = {
      ...common,
      computeHosts: [{ host: spec.host, driver }],
      compute: { reportIntervalMs: Math.round(options.reportIntervalSec * 1000), maxConcurrentBuilds: options.maxConcurrentBuilds },
      reconcileComputeHosts: true,
      // the compute's conductor calls survive a dropped broker connection (RetryingConductorComputeRpcClient)
      computeRpcRetries: 3,
    }
  } else {
    config = {
      ...common,
      database: databaseConfig(options.database, POOL_SIZE[spec.role]),
      // a scheduler reply lost to a broker restart: ask again once reconnected instead of failing the build
      conductor: { retryLostSchedulerReply: true },
    }
  }
  const deployment = createDeployment(config)
  try {
    await deployment.start()
  } catch (err) {
    await deployment.stop().catch(() => undefined)
    throw err
  }
  let servers: ApiServers | null = null
  if (spec.role === 'api') {
    try {
      // NOTE: loaded here, not at the top: only the api process needs the HTTP stack (fastify, ajv, the routes).
      const { createApiServers } = await import('@novum/api-http')
      servers = createApiServers(deployment.api, { logger, endpoints: endpointsOf(options) })
      await servers.listen({
        host: options.bind,
        ports: { identity: options.identityPort, compute: options.computePort, image: options.imagePort, placement: options.placementPort },
      })
    } catch (err) {
      await servers?.close().catch(() => undefined)
      await deployment.stop().catch(() => undefined)
      throw err
    }
  }
  let stopping: Promise<void> | null = null
  return {
    name,
    deployment,
    transport,
    servers,
    stop() {
      stopping ??= (async () => {
        await servers?.close()
        await deployment.stop()
      })()
      return stopping
    },
  }
}
