import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createDeployment, InMemoryTransport, type Logger } from '@novum/core'
import { openrcText, storedAdminPassword } from '../../reference-server/src/credentials.js'
import { redactUrl, type MultiNodeOptions } from './config.js'
import { databaseConfig, ensureDatabase } from './database.js'

/** Where the APIs of the deployment answer. */
export interface Endpoints {
  readonly identity: string
  readonly compute: string
  readonly image: string
  readonly placement: string
}

/** What `init` prepared: the endpoints, the admin credentials and the `openrc` written for them. */
export interface InitResult {
  readonly createdDatabase: boolean
  readonly endpoints: Endpoints
  readonly credentials: { readonly userName: string; readonly password: string; readonly projectName: string; readonly domain: string }
  readonly openrcPath: string
}

/** The public URLs of the four APIs for the configured bind address and ports. */
export function endpointsOf(options: MultiNodeOptions): Endpoints {
  const host = options.bind === '0.0.0.0' ? '127.0.0.1' : options.bind.includes(':') ? `[${options.bind}]` : options.bind
  return {
    identity: `http://${host}:${options.identityPort}`,
    compute: `http://${host}:${options.computePort}/v2.1`,
    image: `http://${host}:${options.imagePort}`,
    placement: `http://${host}:${options.placementPort}`,
  }
}

/**
 * The one-time step before any service starts: creates the database if it is missing, applies the migrations,
 * creates the admin user and project, Nova's default flavors and the default image (each only if absent), and
 * writes `openrc` into the data directory. Needs the database only (no broker). Safe to run at every start.
 */
export async function initDeployment(options: MultiNodeOptions, logger: Logger): Promise<InitResult> {
  mkdirSync(options.dataDir, { recursive: true })
  const createdDatabase = await ensureDatabase(options.database)
  logger.info(`${createdDatabase ? 'created' : 'found'} database ${redactUrl(options.database)}`)
  const password = storedAdminPassword(options.dataDir, options.adminPassword)
  const deployment = createDeployment({
    roles: ['api'],
    database: databaseConfig(options.database, 2),
    transport: new InMemoryTransport({ logger }),
    migrate: true,
    logger,
  })
  const credentials = { userName: 'admin', password, projectName: 'admin', domain: 'Default' }
  try {
    await deployment.start()
    const api = deployment.api
    await api.identity.bootstrap({ adminUser: credentials.userName, adminPassword: password, projectName: credentials.projectName })
    await api.flavors.ensureDefaultFlavors()
    await api.images.ensureDefaultImage()
  } finally {
    await deployment.stop()
  }
  const endpoints = endpointsOf(options)
  const openrcPath = join(options.dataDir, 'openrc')
  writeFileSync(openrcPath, openrcText('Novum multi-node credentials: source this file, then run `openstack compute service list`.', endpoints.identity, credentials), { mode: 0o600 })
  chmodSync(openrcPath, 0o600)
  return { createdDatabase, endpoints, credentials, openrcPath }
}
