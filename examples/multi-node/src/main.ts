/**
 * `novum-multi-node [up | init | service <role>] [flags]`: Novum as separate OS processes.
 *
 * - `up` (default): the supervisor. Runs `init` once, then starts the conductor, the scheduler, the compute agents
 *   and the api, each as a child process (`service <role>`) of this same script, and prints the endpoints.
 * - `init`: creates the database if missing, migrates it, bootstraps admin/flavors/image, writes `openrc`.
 * - `service <role>`: runs one service (`service compute --compute-host compute-7` for an agent); this is also how
 *   an operator runs a service on another machine.
 */
import { CommanderError } from 'commander'
import { ComputeError, type Logger } from '@novum/core'
import pino from 'pino'
import { computeHostNames, optionsToEnv, parseInvocation, redactUrl, type Invocation, type MultiNodeOptions } from './config.js'
import { initDeployment } from './init.js'
import { serviceName, startService, type ServiceSpec } from './service.js'
import { Supervisor } from './supervisor.js'

function fail(prefix: string, err: unknown): never {
  const e = err as NodeJS.ErrnoException
  const why =
    e?.code === 'EADDRINUSE' ? `an address is already in use (${e.message}); choose other ports with --compute-port, --identity-port, --image-port and --placement-port`
    : ComputeError.is(err) ? err.message
    : err instanceof Error ? (err.stack ?? err.message)
    : String(err)
  process.stderr.write(`${prefix}: ${why}\n`)
  process.exit(1)
}

function makeLogger(options: MultiNodeOptions, name: string): Logger {
  return pino({ level: options.logLevel, name }) as unknown as Logger
}

let invocation: Invocation
try {
  invocation = parseInvocation(process.argv.slice(2))
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2)
  fail('novum-multi-node', err)
}

if (invocation.command === 'init') {
  const result = await initDeployment(invocation.options, makeLogger(invocation.options, 'init')).catch((err: unknown) => fail('init', err))
  process.stdout.write(`init done: database ${redactUrl(invocation.options.database)} ${result.createdDatabase ? 'created and ' : ''}migrated; openrc at ${result.openrcPath}\n`)
  process.exit(0)
} else if (invocation.command === 'service') {
  await runService(invocation.role === 'compute' ? { role: 'compute', host: invocation.host } : { role: invocation.role }, invocation.options)
} else {
  await runSupervisor(invocation.options)
}

async function runService(spec: ServiceSpec, options: MultiNodeOptions): Promise<void> {
  const name = serviceName(spec)
  const logger = makeLogger(options, name)
  const started = performance.now()
  const service = await startService(spec, options, logger).catch((err: unknown) => fail(name, err))
  process.stdout.write(`${name} serving (pid ${process.pid}, ${Math.round(performance.now() - started)} ms)\n`)
  process.send?.({ type: 'ready', detail: { name, pid: process.pid } })
  let stopping = false
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    process.stdout.write(`${name}: ${why}: stopping\n`)
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${name}: error while stopping: ${String(err)}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // The supervisor is gone (it closed our IPC channel, or died): stop rather than linger as an orphan.
  process.on('disconnect', () => stop('supervisor gone'))
}

async function runSupervisor(options: MultiNodeOptions): Promise<void> {
  const t0 = performance.now()
  const script = process.argv[1]
  if (!script) fail('novum-multi-node', new Error('cannot tell which script to start the services from'))
  const computes = computeHostNames(options)
  const supervisor = new Supervisor(
    { env: optionsToEnv(options), stateDir: options.dataDir, restart: options.restart },
    [
      { name: 'conductor', args: [script, 'service', 'conductor'] },
      { name: 'scheduler', args: [script, 'service', 'scheduler'] },
      ...computes.map((host) => ({ name: host, args: [script, 'service', 'compute', '--compute-host', host] })),
      { name: 'api', args: [script, 'service', 'api'] },
    ],
  )
  const stopPhases = [['api'], computes, ['scheduler'], ['conductor']]
  let stopping: Promise<void> | null = null
  const shutdown = (why: string, code: number): Promise<void> => {
    stopping ??= (async () => {
      supervisor.say(`${why}: stopping every service`)
      await supervisor.stop(stopPhases, options.stopTimeoutSec * 1000)
      supervisor.say('stopped')
      process.exit(code)
    })()
    return stopping
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal, 0))
  // Started with an IPC channel (a test harness, a process manager): stop everything when that parent goes away.
  if (process.send) process.on('disconnect', () => void shutdown('parent gone', 0))
  process.on('SIGUSR2', () => {
    const names = supervisor.startStopped()
    supervisor.say(names.length ? `SIGUSR2: starting ${names.join(', ')} again` : 'SIGUSR2: every service is running')
  })

  try {
    supervisor.say(`init: database ${redactUrl(options.database)}`)
    await supervisor.runToCompletion({ name: 'init', args: [script, 'init'] })
    // The conductor first: compute agents register through it. Then the scheduler, the agents, and the api last.
    await supervisor.startGroups([['conductor'], ['scheduler'], computes, ['api']])
  } catch (err) {
    supervisor.say(`start-up failed: ${(err as Error).message}`)
    await shutdown('start-up failed', 1)
    return
  }
  const ms = Math.round(performance.now() - t0)
  const host = options.bind === '0.0.0.0' ? '127.0.0.1' : options.bind
  const children = supervisor.snapshot().children
  process.stdout.write(
    [
      `Novum multi-node deployment ready in ${ms} ms (supervisor pid ${process.pid}, data in ${options.dataDir})`,
      `  processes  ${children.map((c) => `${c.name}=${c.pid ?? '?'}`).join(' ')}`,
      `  database   ${redactUrl(options.database)}`,
      `  broker     ${redactUrl(options.amqpUrl)} (exchange ${options.exchange})`,
      `  identity   http://${host}:${options.identityPort}/v3`,
      `  compute    http://${host}:${options.computePort}/v2.1`,
      `  image      http://${host}:${options.imagePort}`,
      `  placement  http://${host}:${options.placementPort}`,
      `  liveness   heartbeat every ${options.reportIntervalSec} s; a service is down ${options.serviceDownTimeSec} s after its last heartbeat; RPC calls time out after ${options.rpcTimeoutSec} s`,
      `  restart    ${options.restart === 'never' ? 'none automatic (kill -USR2 ' + process.pid + ' starts stopped services again)' : 'on failure, with backoff'}`,
      `  credentials for the openstack CLI: source ${options.dataDir}/openrc`,
      '',
    ].join('\n'),
  )
}
