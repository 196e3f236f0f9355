import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@novum/core'
import { afterEach, describe, expect, it } from 'vitest'
import { compute, login, type Session } from './client.js'
import { defaultOptions, type ReferenceServerOptions } from './config.js'
import { startReferenceServer, type RunningReferenceServer } from './server.js'
import { freePort } from '../../../scripts/bench-api.js'


async function options(dataDir: string, overrides: Partial<ReferenceServerOptions> = {}): Promise<ReferenceServerOptions> {
  return defaultOptions({
    dataDir,
    computePort: await freePort(),
    identityPort: await freePort(),
    imagePort: await freePort(),
    placementPort: await freePort(),
    fakeHosts: 2,
    reportIntervalSec: 1,
    adminPassword: null,
    logLevel: 'silent',
    ...overrides,
  })
}

async function waitStatus(s: Session, id: string, want: string): Promise<{ status: string; 'OS-EXT-SRV-ATTR:host': string }> {
  for (let i = 0; i < 500; i++) {
    const { body } = await compute<{ server: { status: string; 'OS-EXT-SRV-ATTR:host': string } }>(s, 'GET', `/servers/${id}`)
    if (body.server.status === want) return body.server
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`server ${id} never became ${want}`)
}

async function bootOne(srv: RunningReferenceServer, name: string): Promise<{ session: Session; id: string; host: string }> {
  const session = await login(srv.urls.identity, srv.credentials.userName, srv.credentials.password, srv.credentials.projectName)
  const { body } = await compute<{ server: { id: string } }>(session, 'POST', '/servers', {
    server: { name, flavorRef: '1', imageRef: (await srv.deployment.api.images.ensureDefaultImage()).id, networks: 'none' },
  })
  const shown = await waitStatus(session, body.server.id, 'ACTIVE')
  return { session, id: body.server.id, host: shown['OS-EXT-SRV-ATTR:host'] }
}

describe('reference server', () => {
  const dirs: string[] = []
  const running: RunningReferenceServer[] = []
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'novum-ref-'))
    dirs.push(d)
    return d
  }
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop()
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it.each(['none', 'inversify', 'tsyringe'] as const)('wires the same deployment with container %s and boots a server on it', async (container) => {
    const srv = await startReferenceServer(await options(tempDir(), { container }), silentLogger)
    running.push(srv)
    const { host } = await bootOne(srv, `di-${container}`)
    expect(host).toMatch(/^compute-[12]$/)
  })

  it('creates the admin, flavors, image and an openrc at first start', async () => {
    const dir = tempDir()
    const srv = await startReferenceServer(await options(dir), silentLogger)
    running.push(srv)
    const rc = readFileSync(srv.openrcPath, 'utf8')
    expect(rc).toContain(`export OS_AUTH_URL='${srv.urls.identity}/v3'`)
    expect(rc).toContain(`export OS_PASSWORD='${srv.credentials.password}'`)
    expect(readFileSync(join(dir, 'admin-password'), 'utf8').trim()).toBe(srv.credentials.password)
    const session = await login(srv.urls.identity, 'admin', srv.credentials.password, 'admin')
    const flavors = await compute<{ flavors: { name: string }[] }>(session, 'GET', '/flavors')
    expect(flavors.body.flavors.map((f) => f.name)).toEqual(['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge'])
  })

  it('keeps every record, and the simulated guests, across a restart', async () => {
    const dir = tempDir()
    const opts = await options(dir)
    const first = await startReferenceServer(opts, silentLogger)
    const { id, host } = await bootOne(first, 'survivor')
    await first.stop()

    const second = await startReferenceServer(opts, silentLogger)
    running.push(second)
    expect(second.credentials.password).toBe(first.credentials.password)
    const session = await login(second.urls.identity, 'admin', second.credentials.password, 'admin')
    const shown = await waitStatus(session, id, 'ACTIVE')
    expect(shown['OS-EXT-SRV-ATTR:host']).toBe(host)
    // The guest is still on its simulated host, so a stop goes through the driver as usual.
    await compute(session, 'POST', `/servers/${id}/action`, { 'os-stop': null })
    await waitStatus(session, id, 'SHUTOFF')
    const flavors = await compute<{ flavors: unknown[] }>(session, 'GET', '/flavors')
    expect(flavors.body.flavors).toHaveLength(5)
  })
})
