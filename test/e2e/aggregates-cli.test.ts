import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openstackCliSkipReason, openstackJson, runOpenstack, type OpenstackEnv } from './openstack-cli.js'
import { startServerProcess, type ServerProcess } from './reference-server-process.js'

// Host aggregates and availability zones driven by the real `openstack` CLI against the reference server (4 simulated
// hosts). The scheduler asks Placement for the zone by default (`queryPlacementForAvailabilityZone`, Nova's
// `query_placement_for_availability_zone`), so the boot into az1 only lands if `aggregate add host` mirrored the host
// into the Placement aggregate. Fails in CI when the CLI is missing.
const skip = openstackCliSkipReason()

interface AggregateShow {
  id: number
  name: string
  availability_zone: string | null
  hosts: string[] | null
  properties: Record<string, string>
  uuid: string | null
}

interface ServerShow {
  id: string
  status: string
  'OS-EXT-SRV-ATTR:host'?: string
  'OS-EXT-AZ:availability_zone'?: string
}

describe.skipIf(skip !== undefined)('host aggregates driven by the openstack CLI', () => {
  let server: ServerProcess
  let env: OpenstackEnv
  /** For the aggregate commands: 2.41 shows the uuid, and openstacksdk caps Aggregate at 2.81. */
  let aggEnv: OpenstackEnv
  let uuid: string

  beforeAll(async () => {
    server = await startServerProcess()
    // `--nic none` needs 2.37.
    env = { ...server.env, OS_COMPUTE_API_VERSION: '2.37' }
    aggEnv = { ...server.env, OS_COMPUTE_API_VERSION: '2.81' }
  })
  afterAll(async () => {
    await server?.destroy()
  })

  it('creates an aggregate in zone az1', async () => {
    const created = await openstackJson<AggregateShow>(['aggregate', 'create', '--zone', 'az1', 'agg1'], aggEnv)
    expect(created).toMatchObject({ name: 'agg1', availability_zone: 'az1' })
    expect(created.uuid).toMatch(/^[0-9a-f-]{36}$/)
    uuid = created.uuid as string
    const dup = await runOpenstack(['aggregate', 'create', 'agg1'], aggEnv, { allowFailure: true })
    expect(dup.code).not.toBe(0)
    expect(dup.stderr).toContain('Aggregate agg1 already exists.')
  })

  it('adds compute-3, whose provider joins the Placement aggregate', async () => {
    const added = await openstackJson<AggregateShow>(['aggregate', 'add', 'host', 'agg1', 'compute-3'], aggEnv)
    expect(added.hosts).toEqual(['compute-3'])
    const unknown = await runOpenstack(['aggregate', 'add', 'host', 'agg1', 'compute-9'], aggEnv, { allowFailure: true })
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr).toMatch(/404.*Compute host compute-9 could not be found\./)
    const providers = await openstackJson<{ uuid: string; name: string }[]>(['resource', 'provider', 'list', '--member-of', uuid], { ...env, OS_PLACEMENT_API_VERSION: '1.3' })
    expect(providers.map((p) => p.name)).toEqual(['compute-3'])
  })

  it('sets a property, and shows and lists the aggregate', async () => {
    await runOpenstack(['aggregate', 'set', '--property', 'ssd=true', 'agg1'], aggEnv)
    const shown = await openstackJson<AggregateShow>(['aggregate', 'show', 'agg1'], aggEnv)
    // The CLI leaves availability_zone out of the properties it prints (show and list --long).
    expect(shown).toMatchObject({ name: 'agg1', availability_zone: 'az1', hosts: ['compute-3'], properties: { ssd: 'true' }, uuid })
    const listed = await openstackJson<{ ID: number; Name: string; 'Availability Zone': string; Hosts: string[]; Properties: Record<string, string> }[]>(['aggregate', 'list', '--long'], aggEnv)
    expect(listed).toEqual([expect.objectContaining({ Name: 'agg1', 'Availability Zone': 'az1', Hosts: ['compute-3'], Properties: { ssd: 'true' } })])
  })

  it('lists az1 among the availability zones', async () => {
    const zones = await openstackJson<{ 'Zone Name': string; 'Zone Status': string }[]>(['availability', 'zone', 'list', '--compute'], env)
    expect(zones).toEqual(expect.arrayContaining([{ 'Zone Name': 'az1', 'Zone Status': 'available' }, { 'Zone Name': 'nova', 'Zone Status': 'available' }]))
    const hosts = await openstackJson<{ 'Zone Name': string; 'Host Name': string }[]>(['availability', 'zone', 'list', '--compute', '--long'], env)
    expect(hosts.filter((h) => h['Zone Name'] === 'az1').map((h) => h['Host Name'])).toEqual(['compute-3'])
  })

  it('boots a server with --availability-zone az1 onto compute-3', async () => {
    const images = await openstackJson<{ ID: string }[]>(['image', 'list'], env)
    const created = await openstackJson<ServerShow>(
      ['server', 'create', '--flavor', 'm1.tiny', '--image', images[0]!.ID, '--nic', 'none', '--availability-zone', 'az1', '--wait', 'in-az1'],
      env,
    )
    expect(created).toMatchObject({ status: 'ACTIVE', 'OS-EXT-SRV-ATTR:host': 'compute-3', 'OS-EXT-AZ:availability_zone': 'az1' })
    const shown = await openstackJson<ServerShow>(['server', 'show', 'in-az1'], env)
    expect(shown['OS-EXT-SRV-ATTR:host']).toBe('compute-3')
    await runOpenstack(['server', 'delete', '--wait', 'in-az1'], env)
  })

  it('refuses to delete the aggregate while it has a host, then removes the host and deletes it', async () => {
    const busy = await runOpenstack(['aggregate', 'delete', 'agg1'], aggEnv, { allowFailure: true })
    expect(busy.code).not.toBe(0)
    expect(busy.stderr).toContain('Host aggregate is not empty.')
    const removed = await openstackJson<AggregateShow>(['aggregate', 'remove', 'host', 'agg1', 'compute-3'], aggEnv)
    expect(removed.hosts).toEqual([])
    const providers = await openstackJson<unknown[]>(['resource', 'provider', 'list', '--member-of', uuid], { ...env, OS_PLACEMENT_API_VERSION: '1.3' })
    expect(providers).toEqual([])
    await runOpenstack(['aggregate', 'delete', 'agg1'], aggEnv)
    expect(await openstackJson<unknown[]>(['aggregate', 'list'], aggEnv)).toEqual([])
    const zones = await openstackJson<{ 'Zone Name': string }[]>(['availability', 'zone', 'list', '--compute'], env)
    expect(zones.map((z) => z['Zone Name'])).toEqual(['nova'])
  })
})
