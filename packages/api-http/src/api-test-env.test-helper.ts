import {
  AvailabilityZoneService, ComputeApi, ComputeRpcClient, ConductorTaskRpcClient, FlavorService, HypervisorService, IdentityService, ImageService,
  InstanceRepository, InMemoryTransport, isoNow, KeypairService, PlacementService, Policy, QuotaService, ServiceService, silentLogger, systemClock, type NovumDb,
} from '@novum/core'
import { createTestDatabase, type TestDatabase } from '@novum/core/testing'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { createApiServers, type ApiHttpServices, type ApiServers, type ApiServersOptions } from './create-api-servers.js'

/** Users the test environment creates (besides the bootstrap admin). */
export interface TestUser {
  readonly userId: string
  readonly projectId: string
  readonly token: string
}

/** A deployment's HTTP side over real core services on an in-memory SQLite database, for `inject()` tests. */
export interface ApiTestEnv {
  readonly database: TestDatabase
  readonly db: NovumDb
  readonly services: ApiHttpServices
  readonly servers: ApiServers
  readonly transport: InMemoryTransport
  /** The bootstrap admin (admin role on project `admin`). */
  readonly admin: TestUser
  /** A member of project `demo`. */
  readonly demo: TestUser
  /** A member of project `other`. */
  readonly other: TestUser
  /** `compute.inject` with the given token and optional microversion. */
  compute(options: InjectOptions & { token?: string; version?: string }): Promise<LightMyRequestResponse>
  /** Makes a server look booted on `host` (what the conductor and compute would do), by writing its row. */
  markActive(uuid: string, host?: string): Promise<void>
  /** Records a nova-compute service and its compute node (what a compute service does at start-up). */
  addComputeHost(host: string, options?: { disabled?: boolean }): Promise<{ serviceUuid: string; nodeUuid: string }>
  close(): Promise<void>
}

/**
 * Builds the API test environment: every business service constructed directly (no container) on one SQLite
 * database and an {@link InMemoryTransport} (casts to the conductor and computes are published, nobody consumes
 * them), the identity bootstrapped with `admin`/`secret`, users `demo` and `other`, the default flavors and image.
 */
export async function createApiTestEnv(options: ApiServersOptions = {}): Promise<ApiTestEnv> {
  const database = await createTestDatabase('sqlite')
  const db = database.db
  const policy = new Policy()
  const transport = new InMemoryTransport()
  const clock = systemClock
  const quotas = new QuotaService(db, policy, clock, silentLogger)
  const flavors = new FlavorService(db, policy, clock, silentLogger)
  const images = new ImageService(db, policy, clock, silentLogger)
  const keypairs = new KeypairService(db, quotas, policy, clock, silentLogger, { rsaBits: 1024 })
  const identity = new IdentityService(db, clock, silentLogger, { scryptCost: 1024 })
  const hypervisors = new HypervisorService(db, policy, clock, silentLogger)
  const serviceService = new ServiceService(db, policy, clock, silentLogger)
  const availabilityZones = new AvailabilityZoneService(db, policy, clock)
  const computeApi = new ComputeApi(
    db, new ConductorTaskRpcClient(transport), new ComputeRpcClient(transport), flavors, images, keypairs, quotas, policy, clock, silentLogger,
  )
  const placement = new PlacementService(db, { clock })
  const services: ApiHttpServices = { computeApi, flavors, keypairs, quotas, identity, images, hypervisors, services: serviceService, availabilityZones, policy, placement }

  const { user: adminUser, project: adminProject } = await identity.bootstrap({ adminUser: 'admin', adminPassword: 'secret' })
  const makeUser = async (name: string): Promise<TestUser> => {
    const project = await identity.createProject({ name })
    const user = await identity.createUser({ name, password: 'secret', defaultProjectId: project.id })
    await identity.assignRole(user.id, project.id, 'member')
    const { token } = await identity.authenticate({ userName: name, password: 'secret', project: { name } })
    return { userId: user.id, projectId: project.id, token }
  }
  const adminToken = (await identity.authenticate({ userName: 'admin', password: 'secret', project: { name: 'admin' } })).token
  const demo = await makeUser('demo')
  const other = await makeUser('other')
  await flavors.ensureDefaultFlavors()
  await images.ensureDefaultImage()

  const servers = createApiServers(services, options)
  const repo = new InstanceRepository(db)

  return {
    database,
    db,
    services,
    servers,
    transport,
    admin: { userId: adminUser.id, projectId: adminProject.id, token: adminToken },
    demo,
    other,
    compute({ token, version, headers, ...rest }) {
      return servers.compute.inject({
        ...rest,
        headers: {
          ...(token ? { 'x-auth-token': token } : {}),
          ...(version ? { 'openstack-api-version': `compute ${version}` } : {}),
          ...(headers ?? {}),
        },
      } as InjectOptions)
    },
    async markActive(uuid, host = 'compute-1') {
      const now = isoNow(clock)
      await repo.update(uuid, { vmState: 'active', taskState: null, powerState: 1, host, node: host, launchedAt: now }, { updatedAt: now })
      await db.deleteFrom('build_requests').where('instance_uuid', '=', uuid).execute()
    },
    async addComputeHost(host, hostOptions = {}) {
      const now = isoNow(clock)
      const serviceUuid = crypto.randomUUID()
      const nodeUuid = crypto.randomUUID()
      const service = await db
        .insertInto('services')
        .values({
          uuid: serviceUuid, host, binary: 'nova-compute', topic: 'compute', report_count: 1, disabled: hostOptions.disabled ? 1 : 0,
          disabled_reason: null, forced_down: 0, last_seen_up: now, version: 1, created_at: now, updated_at: now, deleted_at: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await db
        .insertInto('compute_nodes')
        .values({
          uuid: nodeUuid, service_id: service.id, host, hypervisor_hostname: host, hypervisor_type: 'fake', hypervisor_version: 1000,
          vcpus: 8, memory_mb: 16384, local_gb: 200, vcpus_used: 0, memory_mb_used: 512, local_gb_used: 0, free_ram_mb: 15872,
          free_disk_gb: 200, disk_available_least: 200, current_workload: 0, running_vms: 0, host_ip: '192.0.2.10',
          cpu_info: JSON.stringify({ arch: 'x86_64', model: 'fake', vendor: 'fake', topology: { sockets: 1, cores: 8, threads: 1 }, features: [] }),
          supported_instances: JSON.stringify([['x86_64', 'fake', 'hvm']]), stats: '{}', metrics: '{}',
          cpu_allocation_ratio: 16, ram_allocation_ratio: 1.5, disk_allocation_ratio: 1, created_at: now, updated_at: now, deleted_at: null,
        })
        .execute()
      return { serviceUuid, nodeUuid }
    },
    async close() {
      await servers.close()
      await transport.close()
      await database.destroy()
    },
  }
}
