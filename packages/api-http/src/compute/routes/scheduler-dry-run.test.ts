import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createDeploymentEnv, type DeploymentEnv } from '../../deployment-env.test-helper.js'

/*
 * Explanations over HTTP: the NoValidHost fault names the counts, admins read the scheduler's record on the instance
 * action's events (2.84), and POST /os-scheduler-dry-run answers where a request would land and why not host X.
 * compute-1 has 4 GiB of memory (512 MiB reserved); compute-2 and compute-3 32 GiB each. Flavor `huge` fits nowhere.
 */
describe('scheduling explanations over HTTP', () => {
  let env: DeploymentEnv
  beforeAll(async () => {
    env = await createDeploymentEnv({ hosts: [{ host: 'compute-1', memoryMb: 4096 }, { host: 'compute-2' }, { host: 'compute-3' }] })
    const flavor = await env.compute({ method: 'POST', url: '/v2.1/flavors', token: env.admin.token, payload: { flavor: { name: 'huge', id: 'huge', ram: 65536, vcpus: 1, disk: 1 } } })
    expect(flavor.statusCode).toBe(200)
    const ctx = { requestId: 'req-setup', userId: env.admin.userId, projectId: env.admin.projectId, roles: ['admin'], isAdmin: true }
    await env.deployment.api.quotas.update(ctx, env.demo.projectId, { instances: -1, cores: -1, ram: -1 })
  })
  afterAll(async () => {
    await env?.close()
  })

  const boot = async (name: string, flavorRef: string, token = env.demo.token): Promise<{ id: string; requestId: string }> => {
    const res = await env.compute({ method: 'POST', url: '/v2.1/servers', token, version: '2.93', payload: { server: { name, imageRef: env.imageId, flavorRef, networks: 'none' } } })
    expect(res.statusCode).toBe(202)
    return { id: res.json().server.id, requestId: String(res.headers['x-openstack-request-id']) }
  }
  const dryRun = (body: Record<string, unknown>, token = env.admin.token) => env.compute({ method: 'POST', url: '/v2.1/os-scheduler-dry-run', token, payload: body })
  const serviceId = async (host: string): Promise<string> => {
    const res = await env.compute({ method: 'GET', url: `/v2.1/os-services?host=${host}&binary=nova-compute`, token: env.admin.token, version: '2.53' })
    return res.json().services[0].id
  }
  const setDisabled = async (host: string, disabled: boolean) => {
    const res = await env.compute({
      method: 'PUT', url: `/v2.1/os-services/${await serviceId(host)}`, token: env.admin.token, version: '2.53',
      payload: disabled ? { status: 'disabled', disabled_reason: 'maintenance' } : { status: 'enabled' },
    })
    expect(res.statusCode).toBe(200)
  }

  it('names the counts in the NoValidHost fault a user sees (server show fault.message)', async () => {
    await setDisabled('compute-2', true)
    await setDisabled('compute-3', true)
    try {
      const { id } = await boot('nowhere', '3') // m1.medium: 4 GiB, more than compute-1's 3.5 GiB
      const server = await env.waitForStatus(id, 'ERROR')
      expect((server as unknown as { fault: { code: number; message: string } }).fault).toMatchObject({
        code: 500,
        message: 'No valid host was found. 0 of 3 hosts: 2 rejected by ComputeFilter (disabled (maintenance)), 1 had too little MEMORY_MB in Placement',
      })
      const asOwner = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}`, token: env.demo.token, version: '2.93' })
      expect(asOwner.json().server.fault.message).toMatch(/^No valid host was found\. 0 of 3 hosts: 2 rejected by ComputeFilter/)
      expect(asOwner.json().server.fault).not.toHaveProperty('details')
    } finally {
      await setDisabled('compute-2', false)
      await setDisabled('compute-3', false)
    }
  })

  it('lets admins read the scheduler’s record on the instance action’s events at 2.84, and only them', async () => {
    const { id, requestId } = await boot('explained', '1')
    await env.waitForStatus(id, 'ACTIVE')
    const url = `/v2.1/servers/${id}/os-instance-actions/${requestId}`
    const asAdmin = await env.compute({ method: 'GET', url, token: env.admin.token, version: '2.84' })
    expect(asAdmin.statusCode).toBe(200)
    const event = asAdmin.json().instanceAction.events.find((e: { event: string }) => e.event === 'conductor_schedule_and_build_instances')
    const record = JSON.parse(event.details)
    expect(record.requestFilters).toEqual([
      { requestFilter: 'AvailabilityZoneRequestFilter', changed: false },
      { requestFilter: 'ComputeStatusRequestFilter', changed: true },
    ])
    expect(record.hostCount).toBe(3)
    const first = record.instances[0]
    expect(first.instanceUuid).toBe(id)
    // A plain flavor and image in no server group: of Zed's default filters only ComputeFilter has anything to check.
    expect(first.filters).toEqual(['ComputeFilter'])
    expect(first.notApplicable).toEqual(expect.arrayContaining(['ComputeCapabilitiesFilter', 'ImagePropertiesFilter', 'ServerGroupAntiAffinityFilter', 'ServerGroupAffinityFilter']))
    expect(first.hosts.map((h: { host: string }) => h.host).sort()).toEqual(['compute-1', 'compute-2', 'compute-3'])
    const best = first.hosts[0]
    expect(best.weights.map((w: { weigher: string }) => w.weigher)).toContain('RamWeigher')
    expect(best.weights[0]).toEqual({ weigher: expect.any(String), raw: expect.any(Number), normalized: expect.any(Number), multiplier: expect.any(Number), weighted: expect.any(Number) })

    const asOwner = await env.compute({ method: 'GET', url, token: env.demo.token, version: '2.84' })
    expect(asOwner.json().instanceAction.events.every((e: Record<string, unknown>) => !('details' in e))).toBe(true)
    const before = await env.compute({ method: 'GET', url, token: env.admin.token, version: '2.83' })
    expect(before.json().instanceAction.events.every((e: Record<string, unknown>) => !('details' in e))).toBe(true)
  })

  it('records why a failed build found no host on its event too', async () => {
    const { id, requestId } = await boot('too-big', 'huge')
    await env.waitForStatus(id, 'ERROR')
    // The conductor records the event just after it sets ERROR: wait for it.
    const event = await vi.waitFor(async () => {
      const res = await env.compute({ method: 'GET', url: `/v2.1/servers/${id}/os-instance-actions/${requestId}`, token: env.admin.token, version: '2.84' })
      const found = res.json().instanceAction.events.find((e: { event: string }) => e.event === 'conductor_schedule_and_build_instances')
      expect(found?.result).toBe('Error')
      return found
    })
    const details = JSON.parse(event.details)
    expect(details.summary).toMatch(/^0 of 3 hosts: /)
    expect(details.explanation.placementRejections.map((r: { host: string }) => r.host).sort()).toContain('compute-1')
  })

  describe('POST /os-scheduler-dry-run', () => {
    it('answers where a request would land, with alternates, without claiming', async () => {
      const usages = async () => Promise.all((await env.deployment.api.placement.listProviders({})).map(async (p) => (await env.deployment.api.placement.getProviderUsages(p.uuid)).usages['MEMORY_MB']))
      const before = await usages()
      const res = await dryRun({ server: { flavorRef: '2', imageRef: env.imageId, min_count: 2 } })
      expect(res.statusCode).toBe(200)
      const answer = res.json().dry_run
      expect(answer.placed).toBe(true)
      expect(answer.destinations).toHaveLength(2)
      expect(new Set(answer.destinations.map((d: { host: string }) => d.host)).size).toBe(2)
      expect(answer.destinations[0]).toMatchObject({ hypervisor_hostname: expect.stringMatching(/^compute-[23]$/), availability_zone: 'nova', alternates: expect.any(Array) })
      expect(answer.summary).toBe('would land on 2 host(s): ' + answer.destinations.map((d: { host: string }) => d.host).join(', '))
      expect(answer.explanation.dryRun).toBe(true)
      expect(await usages()).toEqual(before)
    })

    it('explains why not host X: a filter, Placement, or not a host at all', async () => {
      await setDisabled('compute-3', true)
      try {
        const disabled = (await dryRun({ server: { flavorRef: '2', imageRef: env.imageId }, explain_host: 'compute-3' })).json().dry_run
        expect(disabled.explain_host).toEqual({ host: 'compute-3', outcome: 'rejected', by: 'ComputeFilter', reason: 'disabled (maintenance)', summary: 'compute-3 was rejected by ComputeFilter: disabled (maintenance)' })
        const small = (await dryRun({ server: { flavorRef: '3', imageRef: env.imageId }, explain_host: 'compute-1' })).json().dry_run
        expect(small.explain_host).toMatchObject({ outcome: 'rejected', by: 'Placement', summary: expect.stringMatching(/^compute-1 was left out by Placement: too little MEMORY_MB: wants 4096 MEMORY_MB, free \d+ \(capacity 3584, used \d+\)$/) })
        const chosen = (await dryRun({ server: { flavorRef: '3', imageRef: env.imageId }, explain_host: 'compute-2' })).json().dry_run
        expect(chosen.explain_host).toMatchObject({ outcome: 'selected' })
        expect(chosen.summary).toBe('would land on compute-2')
        const ghost = (await dryRun({ server: { flavorRef: '1', imageRef: env.imageId }, explain_host: 'compute-9' })).json().dry_run
        expect(ghost.explain_host.outcome).toBe('unknown')
      } finally {
        await setDisabled('compute-3', false)
      }
    })

    it('answers placed=false with the NoValidHost counts when nothing fits', async () => {
      const res = await dryRun({ server: { flavorRef: 'huge', imageRef: env.imageId, min_count: 3 }, explain_host: 'compute-2' })
      expect(res.statusCode).toBe(200)
      const answer = res.json().dry_run
      expect(answer.placed).toBe(false)
      expect(answer.destinations).toEqual([])
      expect(answer.summary).toBe('No valid host was found. 0 of 3 hosts: 3 had no MEMORY_MB unit size fitting 65536 in Placement')
      expect(answer.explain_host).toEqual({
        host: 'compute-2',
        outcome: 'rejected',
        by: 'Placement',
        reason: 'no MEMORY_MB unit size fitting 65536: wants 65536 MEMORY_MB, but min_unit 1, max_unit 32768, step_size 1',
        summary: 'compute-2 was left out by Placement: no MEMORY_MB unit size fitting 65536: wants 65536 MEMORY_MB, but min_unit 1, max_unit 32768, step_size 1',
      })
    })

    it.each([
      { body: { server: { flavorRef: '1', imageRef: 'nope' } }, status: 400, fault: 'badRequest' },
      { body: { server: { flavorRef: '99', imageRef: '00000000-0000-4000-8000-000000000000' } }, status: 400, fault: 'badRequest' },
      { body: { server: { imageRef: '00000000-0000-4000-8000-000000000000' } }, status: 400, fault: 'badRequest' },
      { body: { server: { flavorRef: '1', imageRef: '00000000-0000-4000-8000-000000000000' }, unexpected: true }, status: 400, fault: 'badRequest' },
    ])('refuses a malformed request with $status', async ({ body, status, fault }) => {
      const res = await dryRun(body)
      expect(res.statusCode).toBe(status)
      expect(Object.keys(res.json())).toEqual([fault])
    })

    it('is for admins only', async () => {
      const res = await dryRun({ server: { flavorRef: '1', imageRef: env.imageId } }, env.demo.token)
      expect(res.statusCode).toBe(403)
      expect(res.json().forbidden.message).toBe("Policy doesn't allow novum:scheduler:dry-run to be performed.")
    })
  })
})
