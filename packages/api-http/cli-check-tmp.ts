import { execFile } from 'node:child_process'
import { createApiTestEnv } from './src/api-test-env.test-helper.js'

const env = await createApiTestEnv()
const a = await env.servers.listen({ host: '127.0.0.1', ports: { compute: 0, identity: 0, image: 0, placement: 0 } })
const osEnv = {
  PATH: process.env.PATH ?? '/usr/bin', HOME: '/tmp',
  OS_AUTH_URL: `${a.identity}/v3`, OS_IDENTITY_API_VERSION: '3', OS_USERNAME: process.argv[2] ?? 'admin', OS_PASSWORD: 'secret',
  OS_PROJECT_NAME: process.argv[2] ?? 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_REGION_NAME: 'RegionOne', OS_INTERFACE: 'public',
}
const run = (args: string[], extra: Record<string, string> = {}) => new Promise<void>((resolve) => {
  execFile('openstack', args, { env: { ...osEnv, ...extra }, timeout: 120000 }, (err, stdout, stderr) => {
    console.log(`\n$ openstack ${args.join(' ')} ${JSON.stringify(extra)}\n[exit ${err ? (err as { code?: number }).code : 0}]\n${stdout.slice(0, 1500)}${stderr ? `STDERR: ${stderr.slice(0, 1500)}` : ''}`)
    resolve()
  })
})
const cmds: [string[], Record<string, string>?][] = JSON.parse(process.argv[3] ?? '[]')
for (const [args, extra] of cmds) await run(args, extra)
await env.close()
