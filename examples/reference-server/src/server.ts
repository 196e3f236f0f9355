import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ComputeError, createAdminContext, createDeployment, type ComputeHostConfig, type Deployment, type DriverFactory, type ImageService, type ImageSource, type Logger } from '@novum/core'
import { FakeVirtDriver } from '@novum/core/testing'
import { createApiServers, type ApiServers } from '@novum/api-http'
import { createInversifyResolver } from '@novum/di-inversify'
import { createTsyringeResolver } from '@novum/di-tsyringe'
import pino from 'pino'
import type { ReferenceServerOptions } from './config.js'
import { openrcText, storedAdminPassword } from './credentials.js'
import { loadSchedulerSetup } from './scheduler-config.js'

/** The running reference server: where it listens and how to log in. */
export interface RunningReferenceServer {
  readonly urls: { readonly identity: string; readonly compute: string; readonly image: string; readonly placement: string }
  readonly credentials: { readonly userName: string; readonly password: string; readonly projectName: string; readonly domain: string }
  /** Path of the generated `openrc`. */
  readonly openrcPath: string
  readonly deployment: Deployment
  /** Stops the HTTP servers, then every service; resolves when all are closed. */
  stop(): Promise<void>
}

/**
 * Starts the all-in-one reference server: SQLite in the data directory, the in-process transport, `fakeHosts`
 * simulated hosts, and the Identity, Compute, Image and Placement APIs. At first start it creates the admin user
 * and project, Nova's default flavors and one image, and writes `openrc` into the data directory. A restart keeps
 * every record (and the simulated guests, which the fake driver keeps in the data directory).
 */
export async function startReferenceServer(options: ReferenceServerOptions, logger?: Logger): Promise<RunningReferenceServer> {
  mkdirSync(options.dataDir, { recursive: true })
  // The image service exists once the deployment is created, after the drivers that read images through it.
  const ready: { images?: ImageService } = {}
  const imageSource: ImageSource = {
    async download(imageId, destPath) {
      if (!ready.images) throw new ComputeError('INTERNAL', 'the image service is not ready')
      const image = await ready.images.get(createAdminContext(), imageId)
      if (!image.location) throw new ComputeError('NOT_FOUND', `image ${imageId} has no data`)
      await copyFile(image.location, destPath)
    },
  }
  const log = logger ?? (pino({ level: options.logLevel, base: { service: 'novum-server' } }) as unknown as Logger)
  const password = storedAdminPassword(options.dataDir, options.adminPassword)

  function fakeHosts(o: ReferenceServerOptions): ComputeHostConfig[] {
    return Array.from({ length: o.fakeHosts }, (_, i) => {
      const host = `compute-${i + 1}`
      const driver = new FakeVirtDriver({
        hostname: host,
        vcpus: o.hostVcpus,
        memoryMb: o.hostMemoryMb,
        localGb: o.hostDiskGb,
        statePath: join(o.dataDir, `fake-${host}.json`),
      })
      return { host, driver }
    })
  }

  async function realHost(o: ReferenceServerOptions, l: Logger): Promise<ComputeHostConfig> {
    const pkg = `@novum/driver-${o.driver}`
    let mod: { createDriver?: DriverFactory }
    try {
      // The known drivers are named literally so a bundler includes them; any other package is loaded by name.
      mod =
        o.driver === 'libvirt' ? ((await import('@novum/driver-libvirt')) as { createDriver?: DriverFactory })
        : o.driver === 'lxc' ? ((await import('@novum/driver-lxc')) as { createDriver?: DriverFactory })
        : ((await import(pkg)) as { createDriver?: DriverFactory })
    } catch (err) {
      throw new ComputeError('INVALID', `unknown driver "${o.driver}": cannot load ${pkg} (${(err as Error).message})`, { cause: err })
    }
    if (typeof mod.createDriver !== 'function') throw new ComputeError('INVALID', `${pkg} has no createDriver export`)
    const dataDir = join(o.dataDir, `driver-${o.driver}`)
    mkdirSync(dataDir, { recursive: true })
    const driver = mod.createDriver({ hostname: o.computeHost, dataDir, images: imageSource, logger: l.child({ driver: o.driver }), settings: o.driverSettings })
    return { host: o.computeHost, driver }
  }
  const computeHosts = options.driver === 'fake' ? fakeHosts(options) : [await realHost(options, log)]
  const scheduler = await loadSchedulerSetup(options)
  const resolver = options.container === 'inversify' ? createInversifyResolver : options.container === 'tsyringe' ? createTsyringeResolver : undefined
  const deployment = createDeployment(
    {
      database: { kind: 'sqlite', filename: join(options.dataDir, 'novum.sqlite') },
      computeHosts,
      compute: { reportIntervalMs: options.reportIntervalSec * 1000 },
      ...(scheduler.config ? { scheduler: scheduler.config } : {}),
      ...(scheduler.plugins.length ? { schedulerPlugins: scheduler.plugins } : {}),
      logger: log,
    },
    resolver ? { resolver } : {},
  )
  ready.images = deployment.api.images
  await deployment.start()
  let servers: ApiServers | undefined
  try {
    const api = deployment.api
    const credentials = { userName: 'admin', password, projectName: 'admin', domain: 'Default' }
    await api.identity.bootstrap({ adminUser: credentials.userName, adminPassword: password, projectName: credentials.projectName })
    await api.flavors.ensureDefaultFlavors()
    await api.images.ensureDefaultImage()
    const host = options.bind.includes(':') ? `[${options.bind}]` : options.bind
    const urls = {
      identity: `http://${host}:${options.identityPort}`,
      compute: `http://${host}:${options.computePort}/v2.1`,
      image: `http://${host}:${options.imagePort}`,
      placement: `http://${host}:${options.placementPort}`,
    }
    servers = createApiServers(api, { logger: log, endpoints: urls, imageDataDir: join(options.dataDir, 'images') })
    await servers.listen({
      host: options.bind,
      ports: { identity: options.identityPort, compute: options.computePort, image: options.imagePort, placement: options.placementPort },
    })
    const openrcPath = join(options.dataDir, 'openrc')
    writeFileSync(openrcPath, openrcText('Novum reference server credentials: source this file, then run `openstack server list`.', urls.identity, credentials), { mode: 0o600 })
    chmodSync(openrcPath, 0o600)
    const running = servers
    return {
      urls,
      credentials,
      openrcPath,
      deployment,
      async stop() {
        await running.close()
        await deployment.stop()
      },
    }
  } catch (err) {
    await servers?.close().catch(() => {})
    await deployment.stop().catch(() => {})
    throw err
  }
}
