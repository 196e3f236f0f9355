import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openstackCliSkipReason, openstackJson, runOpenstack, type OpenstackEnv } from './openstack-cli.js'
import { startServerProcess, type ServerProcess } from './reference-server-process.js'

// Debian's real `openstack resource provider …` commands (python3-osc-placement) against the reference server's
// Placement API (SQLite, in-process transport, 4 simulated hosts). Fails in CI when the CLI is missing.
const skip = openstackCliSkipReason()

interface Provider {
  uuid: string
  name: string
  generation: number
  root_provider_uuid?: string
  parent_provider_uuid?: string | null
}

interface InventoryRow {
  resource_class: string
  total: number
  reserved: number
  allocation_ratio: number
  max_unit: number
  used?: number
}

const CONSUMER = '5e1f0000-0000-4000-8000-00000000e2e1'
const AGGREGATE = '5e1f0000-0000-4000-8000-0000000a6601'

describe.skipIf(skip !== undefined)('Placement driven by the openstack CLI (osc-placement)', () => {
  let server: ServerProcess
  let env: OpenstackEnv
  let computeOne: Provider
  let projectId: string
  let userId: string
  let created: Provider

  beforeAll(async () => {
    server = await startServerProcess()
    env = { ...server.env, OS_PLACEMENT_API_VERSION: '1.39' }
    const token = await openstackJson<{ project_id: string; user_id: string }>(['token', 'issue'], env)
    projectId = token.project_id
    userId = token.user_id
  })
  afterAll(async () => {
    await server?.destroy()
  })

  it('lists the 4 simulated compute nodes as root providers (negotiated version and 1.39)', async () => {
    // Without OS_PLACEMENT_API_VERSION osc-placement negotiates from GET / (it asks for 1.29).
    const negotiated = await openstackJson<Provider[]>(['resource', 'provider', 'list'], server.env)
    expect(negotiated.map((p) => p.name)).toEqual(['compute-1', 'compute-2', 'compute-3', 'compute-4'])
    const providers = await openstackJson<Provider[]>(['resource', 'provider', 'list'], env)
    expect(providers.map((p) => p.name)).toEqual(['compute-1', 'compute-2', 'compute-3', 'compute-4'])
    for (const p of providers) expect(p).toMatchObject({ root_provider_uuid: p.uuid, parent_provider_uuid: null })
    computeOne = providers[0] as Provider
    const byName = await openstackJson<Provider[]>(['resource', 'provider', 'list', '--name', 'compute-2'], env)
    expect(byName.map((p) => p.name)).toEqual(['compute-2'])
  })

  it('shows a provider with its allocations', async () => {
    const shown = await openstackJson<Provider & { allocations: Record<string, unknown> }>(['resource', 'provider', 'show', computeOne.uuid, '--allocations'], env)
    expect(shown).toMatchObject({ uuid: computeOne.uuid, name: 'compute-1', allocations: {} })
  })

  it('lists the inventory the compute node reported and its usage', async () => {
    const inventory = await openstackJson<InventoryRow[]>(['resource', 'provider', 'inventory', 'list', computeOne.uuid], env)
    expect(inventory.map((i) => i.resource_class).sort()).toEqual(['DISK_GB', 'MEMORY_MB', 'VCPU'])
    expect(inventory.find((i) => i.resource_class === 'VCPU')).toMatchObject({ total: 32, allocation_ratio: 16, used: 0 })
    const usage = await openstackJson<{ resource_class: string; usage: number }[]>(['resource', 'provider', 'usage', 'show', computeOne.uuid], env)
    expect(usage).toEqual(expect.arrayContaining([{ resource_class: 'VCPU', usage: 0 }, { resource_class: 'MEMORY_MB', usage: 0 }]))
  })

  it('creates a child provider, renames it, and sets its inventory', async () => {
    created = await openstackJson<Provider>(['resource', 'provider', 'create', '--parent-provider', computeOne.uuid, 'e2e-gpu'], env)
    expect(created).toMatchObject({ name: 'e2e-gpu', generation: 0, parent_provider_uuid: computeOne.uuid, root_provider_uuid: computeOne.uuid })
    const renamed = await openstackJson<Provider>(['resource', 'provider', 'set', '--name', 'e2e-gpu-1', created.uuid], env)
    expect(renamed).toMatchObject({ uuid: created.uuid, name: 'e2e-gpu-1', parent_provider_uuid: computeOne.uuid })
    const inventory = await openstackJson<InventoryRow[]>(
      ['resource', 'provider', 'inventory', 'set', created.uuid, '--resource', 'VGPU=4', '--resource', 'VGPU:max_unit=2'],
      env,
    )
    expect(inventory).toEqual([expect.objectContaining({ resource_class: 'VGPU', total: 4, max_unit: 2 })])
  })

  it('creates a custom trait and sets traits on the provider', async () => {
    await runOpenstack(['trait', 'create', 'CUSTOM_E2E_GPU'], env)
    const set = await openstackJson<{ name: string }[]>(['resource', 'provider', 'trait', 'set', '--trait', 'CUSTOM_E2E_GPU', '--trait', 'HW_GPU_API_VULKAN', created.uuid], env)
    expect(set.map((t) => t.name).sort()).toEqual(['CUSTOM_E2E_GPU', 'HW_GPU_API_VULKAN'])
    const listed = await openstackJson<{ name: string }[]>(['resource', 'provider', 'trait', 'list', created.uuid], env)
    expect(listed.map((t) => t.name).sort()).toEqual(['CUSTOM_E2E_GPU', 'HW_GPU_API_VULKAN'])
    const traits = await openstackJson<{ name: string }[]>(['trait', 'list'], env)
    expect(traits.map((t) => t.name)).toEqual(expect.arrayContaining(['CUSTOM_E2E_GPU', 'HW_CPU_X86_AVX2', 'COMPUTE_STATUS_DISABLED']))
  })

  it('sets and lists aggregates with the provider generation (1.19)', async () => {
    const { generation } = await openstackJson<Provider>(['resource', 'provider', 'show', created.uuid], env)
    const set = await openstackJson<{ uuid: string }[]>(
      ['resource', 'provider', 'aggregate', 'set', '--aggregate', AGGREGATE, '--generation', String(generation), created.uuid],
      env,
    )
    expect(set.map((a) => a.uuid)).toEqual([AGGREGATE])
    const listed = await openstackJson<{ uuid: string }[]>(['resource', 'provider', 'aggregate', 'list', created.uuid], env)
    expect(listed.map((a) => a.uuid)).toEqual([AGGREGATE])
    const stale = await runOpenstack(['resource', 'provider', 'aggregate', 'set', '--aggregate', AGGREGATE, '--generation', String(generation), created.uuid], env, {
      allowFailure: true,
    })
    expect(stale.code).not.toBe(0)
    expect(stale.stderr).toContain('HTTP 409')
  })

  it('lists allocation candidates on all 4 hosts, and in the nested tree for a VGPU', async () => {
    const candidates = await openstackJson<{ '#': number; allocation: string; 'resource provider': string }[]>(
      ['allocation', 'candidate', 'list', '--resource', 'VCPU=1', '--resource', 'MEMORY_MB=256'],
      env,
    )
    expect(candidates).toHaveLength(4)
    expect(candidates[0]).toMatchObject({ allocation: 'VCPU=1,MEMORY_MB=256', 'resource provider': computeOne.uuid })
    const limited = await openstackJson<unknown[]>(['allocation', 'candidate', 'list', '--resource', 'VCPU=1', '--limit', '2'], env)
    expect(limited).toHaveLength(2)
    const gpu = await openstackJson<{ '#': number; allocation: string; 'resource provider': string }[]>(
      ['allocation', 'candidate', 'list', '--resource', 'VCPU=1', '--resource', 'VGPU=1', '--required', 'CUSTOM_E2E_GPU'],
      env,
    )
    expect(gpu.map((c) => [c.allocation, c['resource provider']])).toEqual([
      ['VCPU=1', computeOne.uuid],
      ['VGPU=1', created.uuid],
    ])
  })

  it('claims through the CLI and shows the project usage by consumer type', async () => {
    await runOpenstack(
      ['resource', 'provider', 'allocation', 'set', CONSUMER, '--project-id', projectId, '--user-id', userId, '--consumer-type', 'INSTANCE', '--allocation', `rp=${computeOne.uuid},VCPU=2,MEMORY_MB=512`],
      env,
    )
    const usage = await openstackJson<{ resource_class: string; usage: Record<string, number> }[]>(['resource', 'usage', 'show', projectId], env)
    expect(usage).toEqual([{ resource_class: 'INSTANCE', usage: { VCPU: 2, MEMORY_MB: 512, consumer_count: 1 } }])
    const before38 = await openstackJson<{ resource_class: string; usage: number }[]>(['resource', 'usage', 'show', projectId], { ...env, OS_PLACEMENT_API_VERSION: '1.9' })
    expect(before38).toEqual(expect.arrayContaining([{ resource_class: 'VCPU', usage: 2 }, { resource_class: 'MEMORY_MB', usage: 512 }]))
    const rpUsage = await openstackJson<{ resource_class: string; usage: number }[]>(['resource', 'provider', 'usage', 'show', computeOne.uuid], env)
    expect(rpUsage).toEqual(expect.arrayContaining([{ resource_class: 'VCPU', usage: 2 }]))
    await runOpenstack(['resource', 'provider', 'allocation', 'delete', CONSUMER], env)
  })

  it('lists the standard and custom resource classes', async () => {
    const classes = await openstackJson<{ name: string }[]>(['resource', 'class', 'list'], env)
    expect(classes.slice(0, 3).map((c) => c.name)).toEqual(['VCPU', 'MEMORY_MB', 'DISK_GB'])
    expect(classes.map((c) => c.name)).toContain('VGPU')
  })

  it('refuses to delete a parent provider (409), then deletes the child and the parent keeps its place', async () => {
    const blocked = await runOpenstack(['resource', 'provider', 'delete', computeOne.uuid], env, { allowFailure: true })
    expect(blocked.code).not.toBe(0)
    expect(blocked.stderr).toContain('HTTP 409')
    await runOpenstack(['resource', 'provider', 'delete', created.uuid], env)
    const names = (await openstackJson<Provider[]>(['resource', 'provider', 'list'], env)).map((p) => p.name)
    expect(names).toEqual(['compute-1', 'compute-2', 'compute-3', 'compute-4'])
    const gone = await runOpenstack(['resource', 'provider', 'show', created.uuid], env, { allowFailure: true })
    expect(gone.stderr).toContain('HTTP 404')
  })
})
