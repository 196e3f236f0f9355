import { createDeployment } from '../core/src/composition/create-deployment.js'
import { FakeVirtDriver } from '@novum/core/testing'
import { createApiServers } from './src/create-api-servers.js'

const deployment = createDeployment({
  database: { kind: 'sqlite', filename: ':memory:' },
  computeHosts: Array.from({ length: 4 }, (_, i) => ({ host: `compute-${i}`, driver: new FakeVirtDriver({ hostname: `compute-${i}`, vcpus: 10000, memoryMb: 10_000_000, localGb: 1_000_000 }) })),
})
await deployment.start()
const api = deployment.api
const { project } = await api.identity.bootstrap({ adminUser: 'admin', adminPassword: 'secret' })
await api.flavors.ensureDefaultFlavors()
const image = await api.images.ensureDefaultImage()
const admin = { requestId: 'x', userId: null, projectId: null, roles: ['admin'], isAdmin: true }
await api.quotas.update(admin, project.id, { instances: -1, cores: -1, ram: -1 }, { force: true })
const { token } = await api.identity.authenticate({ userName: 'admin', password: 'secret', project: { name: 'admin' } })
const servers = createApiServers(api, {})
const N = Number(process.argv[2] ?? 1000)
let done = 0
const payload = { server: { name: 'bench', imageRef: image.id, flavorRef: '1', networks: 'none' } }
const t0 = performance.now()
async function worker() {
  while (done < N) {
    done++
    const r = await servers.compute.inject({ method: 'POST', url: '/v2.1/servers', headers: { 'x-auth-token': token, 'openstack-api-version': 'compute 2.37' }, payload })
    if (r.statusCode !== 202) { console.log(r.statusCode, r.body); process.exit(1) }
  }
}
await Promise.all(Array.from({ length: 16 }, worker))
const dt = (performance.now() - t0) / 1000
console.log(`${N} creates in ${dt.toFixed(2)}s = ${(N / dt).toFixed(0)}/s (api accepted)`)
await servers.close()
await deployment.stop()
