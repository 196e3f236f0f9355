import { createDeployment, type Deployment, type DeploymentConfig, type NovumDb, type SchedulerConfig, type SchedulerPlugin } from '@novum/core'
import { createTestDatabase, FakeVirtDriver } from '@novum/core/testing'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { createApiServers, type ApiServers } from './create-api-servers.js'

/*
 * @internal A whole deployment behind the HTTP apps, for tests that follow a request through the API, the conductor,
 * the scheduler, Placement and compute services (FakeVirtDriver) over the in-memory transport, on SQLite.
 */

/** A user of the environment, with a token. */
export interface DeploymentUser {
  readonly userId: string
  readonly projectId: string
  readonly token: string
}

/** One simulated compute host. */
export interface DeploymentHost {
  readonly host: string
  /** @default 16 */
  readonly vcpus?: number
  /** @default 32768 */
  readonly memoryMb?: number
  /** @default 500 */
  readonly localGb?: number
}

/** The running environment. */
export interface DeploymentEnv {
  readonly deployment: Deployment
  readonly servers: ApiServers
  readonly db: NovumDb
  /** The bootstrap admin (project `admin`). */
  readonly admin: DeploymentUser
  /** A member of project `demo`. */
  readonly demo: DeploymentUser
  /** The default image's id. */
  readonly imageId: string
  /** `compute.inject` with a token and an optional microversion. */
  compute(options: InjectOptions & { token?: string; version?: string }): Promise<LightMyRequestResponse>
  /** Polls `GET /servers/{id}` (as admin) until its status is one of `statuses`; returns the server. */
  waitForStatus(id: string, ...statuses: string[]): Promise<Record<string, unknown> & { status: string }>
  close(): Promise<void>
}

/** Options of {@link createDeploymentEnv}. */
export interface DeploymentEnvOptions {
  readonly hosts?: readonly DeploymentHost[]
  readonly scheduler?: SchedulerConfig
  readonly schedulerPlugins?: readonly SchedulerPlugin[]
  readonly extra?: Partial<DeploymentConfig>
}

/** Starts a deployment (two 16-vCPU hosts by default), bootstraps identity, flavors and the image, and builds the HTTP apps. */
export async function createDeploymentEnv(options: DeploymentEnvOptions = {}): Promise<DeploymentEnv> {
  const database = await createTestDatabase('sqlite')
  const hosts = options.hosts ?? [{ host: 'compute-1' }, { host: 'compute-2' }]
  const deployment = createDeployment({
    database: { kind: 'handle', db: database.db },
    migrate: false,
    computeHosts: hosts.map((h) => ({
      host: h.host,
      driver: new FakeVirtDriver({ hostname: h.host, vcpus: h.vcpus ?? 16, memoryMb: h.memoryMb ?? 32768, localGb: h.localGb ?? 500, allocationRatios: { cpu: 1, ram: 1, disk: 1 } }),
    })),
    compute: { updateResourcesIntervalMs: 0, syncPowerStatesIntervalMs: 0 },
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
    ...(options.schedulerPlugins ? { schedulerPlugins: options.schedulerPlugins } : {}),
    ...options.extra,
  })
  await deployment.start()
  const api = deployment.api
  const { project } = await api.identity.bootstrap({ adminUser: 'admin', adminPassword: 'secret' })
  const login = async (name: string, projectName: string) => (await api.identity.authenticate({ userName: name, password: 'secret', project: { name: projectName } })).token
  const demoProject = await api.identity.createProject({ name: 'demo' })
  const demoUser = await api.identity.createUser({ name: 'demo', password: 'secret', defaultProjectId: demoProject.id })
  await api.identity.assignRole(demoUser.id, demoProject.id, 'member')
  await api.flavors.ensureDefaultFlavors()
  const image = await api.images.ensureDefaultImage()
  const adminUser = (await api.identity.authenticate({ userName: 'admin', password: 'secret', project: { name: 'admin' } }))
  const servers = createApiServers(api)
  const compute: DeploymentEnv['compute'] = ({ token, version, headers, ...rest }) =>
    servers.compute.inject({
      ...rest,
      headers: { ...(token ? { 'x-auth-token': token } : {}), ...(version ? { 'openstack-api-version': `compute ${version}` } : {}), ...(headers ?? {}) },
    } as InjectOptions)
  const admin = { userId: adminUser.user.id, projectId: project.id, token: adminUser.token }
  return {
    deployment,
    servers,
    db: database.db,
    admin,
    demo: { userId: demoUser.id, projectId: demoProject.id, token: await login('demo', 'demo') },
    imageId: image.id,
    compute,
    async waitForStatus(id, ...statuses) {
      for (let i = 0; i < 3000; i++) {
        const res = await compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: admin.token, version: '2.93' })
        const server = res.json().server as Record<string, unknown> & { status: string }
        if (server && statuses.includes(server.status)) return server
        await new Promise((r) => setTimeout(r, 5))
      }
      throw new Error(`server ${id} never reached ${statuses.join('/')}`)
    },
    async close() {
      await servers.close()
      await deployment.stop()
    },
  }
}
