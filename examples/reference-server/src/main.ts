import { ComputeError } from '@novum/core'
import { parseOptions } from './config.js'
import { runDryRunCommand } from './dry-run.js'
import { startReferenceServer } from './server.js'

// `novum-server dry-run …` asks a running server where a server would land (see dry-run.ts).
if (process.argv[2] === 'dry-run') process.exit(await runDryRunCommand(process.argv.slice(3)))

const options = parseOptions(process.argv.slice(2))
const started = performance.now()
const server = await startReferenceServer(options).catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException
  const why =
    e.code === 'EADDRINUSE' ? `an address is already in use (${e.message.replace(/^listen EADDRINUSE: address already in use /, '')}); choose other ports with --compute-port, --identity-port, --image-port and --placement-port`
    : e.code === 'EACCES' ? `not allowed to listen: ${e.message}`
    : ComputeError.is(err) ? err.message
    : String(e?.stack ?? err)
  process.stderr.write(`novum-server: cannot start: ${why}\n`)
  process.exit(1)
})
const ms = Math.round(performance.now() - started)
const { urls, credentials } = server
process.stdout.write(
  [
    `Novum reference server ready in ${ms} ms (${options.driver === 'fake' ? `${options.fakeHosts} simulated hosts` : `${options.driver} driver on host ${options.computeHost}`}, data in ${options.dataDir})`,
    `  identity   ${urls.identity}/v3`,
    `  compute    ${urls.compute}`,
    `  image      ${urls.image}`,
    `  placement  ${urls.placement}`,
    `  user ${credentials.userName} / password ${credentials.password} / project ${credentials.projectName} (domain ${credentials.domain})`,
    `  credentials for the openstack CLI: source ${server.openrcPath}`,
    '',
  ].join('\n'),
)

let stopping = false
const stop = (signal: string) => {
  if (stopping) return
  stopping = true
  process.stdout.write(`${signal}: stopping\n`)
  server.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`error while stopping: ${String(err)}\n`)
      process.exit(1)
    },
  )
}
process.on('SIGINT', () => stop('SIGINT'))
process.on('SIGTERM', () => stop('SIGTERM'))
