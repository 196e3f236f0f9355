import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_FILTERS, DEFAULT_WEIGHERS, silentLogger } from '@novum/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compute, login, type Session } from './client.js'
import { defaultOptions } from './config.js'
import { runDryRunCommand } from './dry-run.js'
import { startReferenceServer, type RunningReferenceServer } from './server.js'
import { freePort } from '../../../scripts/bench-api.js'


type ShownServer = { status: string; 'OS-EXT-SRV-ATTR:host': string | null; fault?: { message: string } }

/*
 * The reference server enables the third-party plugin package @novum/example-custom-filter through configuration only:
 * --scheduler-plugins names the module, a --scheduler-config JSON file enables its filter and weigher with options.
 * compute-2 is labelled `ssd`; compute-1 is the cheapest host, and the cost weigher's multiplier dominates.
 */
describe('reference server with a third-party scheduler plugin', () => {
  let dir: string
  let srv: RunningReferenceServer
  let session: Session

  const boot = async (name: string, flavorRef: string): Promise<string> =>
    (await compute<{ server: { id: string } }>(session, 'POST', '/servers', { server: { name, flavorRef, imageRef: (await srv.deployment.api.images.ensureDefaultImage()).id, networks: 'none' } })).body.server.id
  const settle = async (id: string): Promise<ShownServer> => {
    for (let i = 0; i < 1000; i++) {
      const { body } = await compute<{ server: ShownServer }>(session, 'GET', `/servers/${id}`)
      if (body.server.status === 'ACTIVE' || body.server.status === 'ERROR') return body.server
      await new Promise((r) => setTimeout(r, 10))
    }
    throw new Error(`server ${id} did not settle`)
  }
  const flavor = async (id: string, labels: string): Promise<void> => {
    await compute(session, 'POST', '/flavors', { flavor: { name: id, id, ram: 512, vcpus: 1, disk: 1 } })
    await compute(session, 'POST', `/flavors/${id}/os-extra_specs`, { extra_specs: { 'acme:labels': labels } })
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'novum-plugin-'))
    const configFile = join(dir, 'scheduler.json')
    writeFileSync(
      configFile,
      JSON.stringify({
        filters: [...DEFAULT_FILTERS, 'AcmeLabelFilter'],
        weighers: { ...DEFAULT_WEIGHERS, AcmeCostWeigher: 100 },
        pluginOptions: { AcmeLabelFilter: { hostLabels: { 'compute-2': ['ssd'] } }, AcmeCostWeigher: { hourlyCost: { 'compute-1': 0.1 } } },
      }),
    )
    srv = await startReferenceServer(
      defaultOptions({
        dataDir: dir,
        computePort: await freePort(),
        identityPort: await freePort(),
        imagePort: await freePort(),
        placementPort: await freePort(),
        fakeHosts: 2,
        reportIntervalSec: 1,
        logLevel: 'silent',
        container: 'none',
        schedulerPlugins: ['@novum/example-custom-filter'],
        schedulerConfigFile: configFile,
      }),
      silentLogger,
    )
    session = await login(srv.urls.identity, 'admin', srv.credentials.password, 'admin')
    await flavor('ssd', 'ssd')
    await flavor('gpu', 'gpu')
  })
  afterAll(async () => {
    await srv?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('lands where the plugin’s weigher and filter say', async () => {
    expect((await settle(await boot('cheap', '1')))['OS-EXT-SRV-ATTR:host']).toBe('compute-1')
    expect((await settle(await boot('fast', 'ssd')))['OS-EXT-SRV-ATTR:host']).toBe('compute-2')
    const refused = await settle(await boot('gpu', 'gpu'))
    expect(refused.status).toBe('ERROR')
    expect(refused.fault?.message).toBe('No valid host was found. 0 of 2 hosts: 2 rejected by AcmeLabelFilter (wants label(s) gpu, host has none; wants label(s) gpu, host has ssd)')
  })

  it('answers the dry-run command: where a server would land, and why not another host', async () => {
    const out: string[] = []
    const err: string[] = []
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }
    expect(await runDryRunCommand(['--flavor', 'm1.tiny', '--host', 'compute-2', '--data-dir', dir], io, {})).toBe(0)
    expect(err).toEqual([])
    expect(out.join('')).toMatch(/^would land on compute-1 \(node compute-1, zone nova\); alternates: compute-2\ncompute-2 passed every filter and is an alternate: ranked 2 of 2 with weight [\d.-]+ \(best [\d.-]+\)\n$/)

    out.length = 0
    expect(await runDryRunCommand(['--flavor', 'gpu', '--host', 'compute-2', '--data-dir', dir], io, {})).toBe(2)
    expect(out.join('')).toBe(
      'would not land anywhere: No valid host was found. 0 of 2 hosts: 2 rejected by AcmeLabelFilter (wants label(s) gpu, host has none; wants label(s) gpu, host has ssd)\n' +
        'compute-2 was rejected by AcmeLabelFilter: wants label(s) gpu, host has ssd\n',
    )

    err.length = 0
    expect(await runDryRunCommand(['--flavor', 'm9.nothing', '--data-dir', dir], io, {})).toBe(1)
    expect(err.join('')).toMatch(/^novum-server dry-run: no flavor named or numbered "m9.nothing"/)
  })

  it('refuses to start with a plugin module it cannot load', async () => {
    const bad = defaultOptions({ dataDir: join(dir, 'bad'), fakeHosts: 0, logLevel: 'silent', container: 'none', schedulerPlugins: ['@novum/no-such-plugin'] })
    await expect(startReferenceServer(bad, silentLogger)).rejects.toThrow(/^cannot load scheduler plugin module "@novum\/no-such-plugin"/)
  })
})

describe('scheduler options of the reference server', () => {
  it('reads plugins, weighers and a config file from flags', async () => {
    const { parseOptions } = await import('./config.js')
    const o = parseOptions(['--scheduler-plugins', '@acme/a, @acme/b', '--scheduler-weighers', 'RamWeigher=-1,AcmeCostWeigher=2.5', '--scheduler-config', 'sched.json'], '/etc/novum')
    expect(o).toMatchObject({ schedulerPlugins: ['@acme/a', '@acme/b'], schedulerWeighers: { RamWeigher: -1, AcmeCostWeigher: 2.5 }, schedulerConfigFile: '/etc/novum/sched.json' })
    expect(() => parseOptions(['--scheduler-weighers', 'RamWeigher=lots'])).toThrow('--scheduler-weighers entries must be Name=multiplier, got "RamWeigher=lots"')
  })
})
