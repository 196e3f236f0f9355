import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { RequestContext } from '../context.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import { ComputeError } from '../errors/compute-error.js'
import type { Flavor } from '../model/flavor.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { DEFAULT_QUOTAS, QuotaService } from './quota-service.js'

const admin: RequestContext = { requestId: 'req-admin', userId: 'admin-user', projectId: 'admin', roles: ['admin'], isAdmin: true }

function flavor(vcpus: number, memoryMb: number): Flavor {
  return { id: `f-${vcpus}-${memoryMb}`, name: `f-${vcpus}-${memoryMb}`, memoryMb, vcpus, rootGb: 1, ephemeralGb: 0, swapMb: 0, rxtxFactor: 1, isPublic: true, disabled: false, description: null, extraSpecs: {} }
}

async function expectQuotaError(p: Promise<unknown>, message: string): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e)
  expect(ComputeError.is(err, 'QUOTA')).toBe(true)
  expect((err as Error).message).toBe(message)
}

describe.each(databaseKindsUnderTest())('QuotaService on %s', (kind) => {
  let t: TestDatabase
  let quotas: QuotaService
  let project = ''
  let ctx: RequestContext
  let seq = 0

  beforeAll(async () => {
    t = await createTestDatabase(kind)
    quotas = new QuotaService(t.db)
  })
  afterAll(async () => {
    await t?.destroy()
  })
  beforeEach(() => {
    project = `proj-${++seq}`
    ctx = { requestId: `req-${seq}`, userId: `user-${seq}`, projectId: project, roles: ['member'], isAdmin: false }
  })

  async function addInstances(n: number, f: Flavor, projectId = project, userId = ctx.userId ?? 'u'): Promise<void> {
    const repo = new InstanceRepository(t.db)
    for (let i = 0; i < n; i++) {
      await repo.create({
        uuid: crypto.randomUUID(), displayName: 'x', description: null, hostname: 'x', projectId, userId, imageRef: 'img', flavor: f,
        availabilityZone: null, keyName: null, keyData: null, userData: null, metadata: {}, networks: 'none', reservationId: 'r-1',
        launchIndex: i, createdAt: new Date().toISOString(),
      })
    }
  }

  describe('.defaults / .show', () => {
    it('returns Nova\'s defaults, then the default class, then project overrides', async () => {
      expect(await quotas.defaults(ctx)).toEqual(DEFAULT_QUOTAS)
      await quotas.updateClass(admin, 'default', { cores: 40 })
      try {
        expect((await quotas.show(ctx, project)).cores).toBe(40)
        await quotas.update(admin, project, { cores: 8, instances: 3 })
        const shown = await quotas.show(ctx, project)
        expect(shown).toMatchObject({ cores: 8, instances: 3, ram: 51200, key_pairs: 100 })
      } finally {
        await quotas.updateClass(admin, 'default', { cores: 20 })
      }
    })

    it('refuses another project\'s quotas to a member', async () => {
      await expect(quotas.show(ctx, 'someone-else')).rejects.toThrowError("Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.")
    })
  })

  describe('.detail / .limits', () => {
    it('counts instances, cores and ram of live instances, with reserved 0', async () => {
      await addInstances(2, flavor(2, 1024))
      const detail = await quotas.detail(ctx, project)
      expect(detail.instances).toEqual({ limit: 10, inUse: 2, reserved: 0 })
      expect(detail.cores).toEqual({ limit: 20, inUse: 4, reserved: 0 })
      expect(detail.ram).toEqual({ limit: 51200, inUse: 2048, reserved: 0 })
      const limits = await quotas.limits(ctx)
      expect(limits).toMatchObject({ maxTotalInstances: 10, maxTotalCores: 20, maxTotalRAMSize: 51200, totalInstancesUsed: 2, totalCoresUsed: 4, totalRAMUsed: 2048, maxServerMeta: 128, maxTotalKeypairs: 100 })
    })

    it('does not count deleted or soft-deleted instances', async () => {
      await addInstances(3, flavor(1, 512))
      const rows = await t.db.selectFrom('instances').select(['id', 'uuid']).where('project_id', '=', project).execute()
      await t.db.updateTable('instances').set({ deleted: rows[0]!.id, vm_state: 'deleted' }).where('id', '=', rows[0]!.id).execute()
      await t.db.updateTable('instances').set({ vm_state: 'soft-delete' }).where('id', '=', rows[1]!.id).execute()
      expect((await quotas.usage({ projectId: project })).instances).toBe(1)
    })

    it('lets only an admin see another project\'s limits', async () => {
      await expect(quotas.limits(ctx, 'other')).rejects.toThrowError("Policy doesn't allow os_compute_api:limits:other_project to be performed.")
      expect((await quotas.limits(admin, project)).maxTotalInstances).toBe(10)
    })
  })

  describe('.update / .delete', () => {
    it('refuses a limit below usage unless forced, and is admin only', async () => {
      await addInstances(3, flavor(1, 512))
      await expect(quotas.update(ctx, project, { instances: 5 })).rejects.toThrowError("Policy doesn't allow os_compute_api:os-quota-sets:update to be performed.")
      await expect(quotas.update(admin, project, { instances: 2 })).rejects.toThrowError(
        'Quota limit 2 for instances must be greater than or equal to already used and reserved 3.',
      )
      expect((await quotas.update(admin, project, { instances: 2 }, { force: true })).instances).toBe(2)
      expect((await quotas.update(admin, project, { instances: -1 })).instances).toBe(-1)
      await expect(quotas.update(admin, project, { instances: -2 })).rejects.toSatisfy((e) => ComputeError.is(e, 'INVALID'))
      await expect(quotas.update(admin, project, { bogus: 1 } as never)).rejects.toThrowError('Bad key(s) bogus in quota_set')
    })

    it('keeps a per-user limit at or below the project limit', async () => {
      await quotas.update(admin, project, { instances: 4 })
      await expect(quotas.update(admin, project, { instances: 5 }, { userId: 'u-x' })).rejects.toThrowError('Quota limit 5 for instances must be less than or equal to 4.')
      expect((await quotas.update(admin, project, { instances: 2 }, { userId: 'u-x' })).instances).toBe(2)
      expect((await quotas.show(admin, project)).instances).toBe(4)
      expect((await quotas.show(admin, project, 'u-x')).instances).toBe(2)
    })

    it('reverts to the defaults on delete', async () => {
      await quotas.update(admin, project, { ram: 1024, key_pairs: 3 })
      await quotas.delete(admin, project)
      expect(await quotas.show(admin, project)).toEqual(DEFAULT_QUOTAS)
    })
  })

  describe('.checkInstances', () => {
    it('passes under the limit and returns max_count', async () => {
      expect(await quotas.checkInstances(ctx, flavor(1, 512), 1, 3)).toBe(3)
    })

    it('fails with Nova\'s TooManyInstances message at the instance limit', async () => {
      await addInstances(10, flavor(1, 512))
      await expectQuotaError(quotas.checkInstances(ctx, flavor(1, 512), 1, 1), 'Quota exceeded for instances: Requested 1, but already used 10 of 10 instances')
    })

    it('names several resources, sorted, with a min-max request', async () => {
      await addInstances(9, flavor(2, 512))
      await expectQuotaError(
        quotas.checkInstances(ctx, flavor(2, 512), 2, 3),
        'Quota exceeded for cores, instances: Requested 6, 2-3, but already used 18, 9 of 20, 10 cores, instances',
      )
    })

    it('reduces max_count to what fits when min_count fits', async () => {
      await addInstances(7, flavor(1, 512))
      expect(await quotas.checkInstances(ctx, flavor(1, 512), 1, 5)).toBe(3)
      await quotas.update(admin, project, { cores: 9 })
      expect(await quotas.checkInstances(ctx, flavor(1, 512), 1, 5)).toBe(2)
      await quotas.update(admin, project, { ram: 7 * 512 + 512 })
      expect(await quotas.checkInstances(ctx, flavor(1, 512), 1, 5)).toBe(1)
    })

    it('treats -1 as unlimited', async () => {
      await quotas.update(admin, project, { instances: -1, cores: -1, ram: -1 })
      expect(await quotas.checkInstances(ctx, flavor(64, 1_000_000), 100, 100)).toBe(100)
    })

    it('applies a per-user override to that user\'s instances', async () => {
      await quotas.update(admin, project, { instances: 1 }, { userId: ctx.userId ?? '' })
      await addInstances(1, flavor(1, 512))
      await expectQuotaError(quotas.checkInstances(ctx, flavor(1, 512), 1, 1), 'Quota exceeded for instances: Requested 1, but already used 1 of 1 instances')
      const other: RequestContext = { ...ctx, userId: 'another-user' }
      expect(await quotas.checkInstances(other, flavor(1, 512), 1, 1)).toBe(1)
    })
  })

  describe('.recheckInstances', () => {
    it('fails once usage exceeds the limit after creation', async () => {
      await quotas.update(admin, project, { instances: 2 })
      await addInstances(2, flavor(1, 512))
      await expect(quotas.recheckInstances(ctx, 2, flavor(1, 512))).resolves.toBeUndefined()
      await addInstances(1, flavor(1, 512))
      await expectQuotaError(quotas.recheckInstances(ctx, 1, flavor(1, 512)), 'Quota exceeded for instances: Requested 1, but already used 2 of 2 instances')
    })
  })

  describe('per-request checks', () => {
    it('limits metadata items, key pairs and personality files with Nova\'s messages', async () => {
      await quotas.checkMetadataItems(ctx, 128)
      await expectQuotaError(quotas.checkMetadataItems(ctx, 129), 'Maximum number of metadata items exceeds 128')
      await quotas.update(admin, project, { key_pairs: 1 })
      await quotas.checkKeyPairs(ctx, ctx.userId ?? '')
      await t.db.insertInto('key_pairs').values({ name: 'k', user_id: ctx.userId ?? '', fingerprint: 'f', public_key: 'p', type: 'ssh', created_at: new Date().toISOString() }).execute()
      await expectQuotaError(quotas.checkKeyPairs(ctx, ctx.userId ?? ''), 'Maximum number of key pairs exceeded')
      const files = Array.from({ length: 6 }, (_, i) => ({ path: `/f${i}`, contents: '' }))
      await expectQuotaError(quotas.checkInjectedFiles(ctx, files), 'Personality file limit exceeded')
      await expectQuotaError(quotas.checkInjectedFiles(ctx, [{ path: 'p'.repeat(256), contents: '' }]), 'Personality file path exceeds maximum 255')
      await expectQuotaError(quotas.checkInjectedFiles(ctx, [{ path: '/f', contents: Buffer.alloc(10241).toString('base64') }]), 'Personality file content exceeds maximum 10240')
    })
  })
})
