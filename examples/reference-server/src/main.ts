import { parseOptions } from './config.js'
import { startReferenceServer } from './server.js'

const options = parseOptions(process.argv.slice(2))
const started = performance.now()
const server = await startReferenceServer(options)
const ms = Math.round(performance.now() - started)
const { urls, credentials } = server
process.stdout.write(
  [
    `Novum reference server ready in ${ms} ms (${options.fakeHosts} simulated hosts, data in ${options.dataDir})`,
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
