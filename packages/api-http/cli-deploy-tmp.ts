import { execFile } from 'node:child_process'
import { createDeployment } from '../core/src/composition/create-deployment.js'
import { FakeVirtDriver } from '@novum/core/testing'
import { createApiServers } from './src/create-api-servers.js'

const deployment = createDeployment({
  database: { kind: 'sqlite', filename: ':memory:' },
  computeHosts: [{ host: 'compute-1', driver: new FakeVirtDriver({ hostname: 'compute-1' }) }, { host: 'compute-2', driver: new FakeVirtDriver({ hostname: 'compute-2' }) }],
})
await deployment.start()
const api = deployment.api
await api.identity.bootstrap({ adminUser: 'admin', adminPassword: 'secret' })
await api.flavors.ensureDefaultFlavors()
await api.images.ensureDefaultImage()
const servers = createApiServers(api, {})
const a = await servers.listen({ host: '127.0.0.1', ports: { compute: 0, identity: 0, image: 0, placement: 0 } })
const osEnv = {
  PATH: process.env.PATH ?? '/usr/bin', HOME: '/tmp',
  OS_AUTH_URL: `${a.identity}/v3`, OS_IDENTITY_API_VERSION: '3', OS_USERNAME: 'admin', OS_PASSWORD: 'secret',
  OS_PROJECT_NAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_REGION_NAME: 'RegionOne', OS_INTERFACE: 'public',
}
const run = (args: string[], extra: Record<string, string> = {}) => new Promise<void>((resolve) => {
  execFile('openstack', args, { env: { ...osEnv, ...extra }, timeout: 120000 }, (err, stdout, stderr) => {
    console.log(`\n$ openstack ${args.join(' ')} ${JSON.stringify(extra)}\n[exit ${err ? (err as { code?: number }).code : 0}]\n${stdout.slice(0, 2500)}${stderr ? `STDERR: ${stderr.slice(0, 1500)}` : ''}`)
    resolve()
  })
})
const cmds: [string[], Record<string, string>?][] = JSON.parse(process.argv[2] ?? '[]')
for (const [args, extra] of cmds) await run(args, extra)
await servers.close()
await deployment.stop()
