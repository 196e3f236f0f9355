import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RequestContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { DEFAULT_FLAVORS, FlavorService } from './flavor-service.js'

const admin: RequestContext = { requestId: 'req-a', userId: 'admin-user', projectId: 'admin', roles: ['admin'], isAdmin: true }
const alice: RequestContext = { requestId: 'req-b', userId: 'alice', projectId: 'p-alice', roles: ['member'], isAdmin: false }
const bob: RequestContext = { requestId: 'req-c', userId: 'bob', projectId: 'p-bob', roles: ['member'], isAdmin: false }

describe.each(databaseKindsUnderTest())('FlavorService on %s', (kind) => {
  let t: TestDatabase
  let flavors: FlavorService

  beforeAll(async () => {
    t = await createTestDatabase(kind)
    flavors = new FlavorService(t.db)
    await flavors.ensureDefaultFlavors()
  })
  afterAll(async () => {
    await t?.destroy()
  })

  describe('.ensureDefaultFlavors', () => {
    it('creates Nova\'s m1 flavors once', async () => {
      const again = await flavors.ensureDefaultFlavors()
      expect(again.map((f) => [f.id, f.name, f.memoryMb, f.vcpus, f.rootGb])).toEqual(DEFAULT_FLAVORS.map((d) => [d.id, d.name, d.ram, d.vcpus, d.disk]))
      expect(await t.db.selectFrom('flavors').select('id').where('name', 'like', 'm1.%').execute()).toHaveLength(5)
    })
  })

  describe('.list', () => {
    it('sorts by flavorid ascending and filters minRam/minDisk', async () => {
      const all = await flavors.list(alice)
      expect(all.slice(0, 5).map((f) => f.id)).toEqual(['1', '2', '3', '4', '5'])
      expect((await flavors.list(alice, { minRam: 4096 })).map((f) => f.name)).toEqual(['m1.medium', 'm1.large', 'm1.xlarge'])
      expect((await flavors.list(alice, { minDisk: 80, sortKey: 'memory_mb', sortDir: 'desc' })).map((f) => f.name)).toEqual(['m1.xlarge', 'm1.large'])
    })

    it('pages with limit and marker, and rejects an unknown marker or sort key', async () => {
      expect((await flavors.list(alice, { limit: 2 })).map((f) => f.id)).toEqual(['1', '2'])
      expect((await flavors.list(alice, { limit: 2, marker: '2' })).map((f) => f.id)).toEqual(['3', '4'])
      await expect(flavors.list(alice, { marker: 'nope' })).rejects.toThrowError('marker [nope] not found')
      await expect(flavors.list(alice, { sortKey: 'bogus' })).rejects.toThrowError('Invalid sort_key: bogus')
    })

    it('shows private flavors only to projects with access (and to admins asking for all)', async () => {
      await flavors.create(admin, { name: 'private.one', ram: 256, vcpus: 1, disk: 0, id: 'priv1', isPublic: false })
      await flavors.addAccess(admin, 'priv1', 'p-alice')
      expect((await flavors.list(alice)).map((f) => f.id)).toContain('priv1')
      expect((await flavors.list(bob)).map((f) => f.id)).not.toContain('priv1')
      expect((await flavors.list(bob, { isPublic: null })).map((f) => f.id)).not.toContain('priv1')
      expect((await flavors.list(admin, { isPublic: null })).map((f) => f.id)).toContain('priv1')
      expect((await flavors.list(admin, { isPublic: false })).map((f) => f.id)).toEqual(['priv1'])
      await expect(flavors.get(bob, 'priv1')).rejects.toThrowError('Flavor priv1 could not be found.')
      expect((await flavors.get(alice, 'priv1')).isPublic).toBe(false)
    })
  })

  describe('.create', () => {
    it('creates a flavor with defaults and a generated uuid id', async () => {
      const f = await flavors.create(admin, { name: 'gen.id', ram: 128, vcpus: 2, disk: 5 })
      expect(f.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(f).toMatchObject({ name: 'gen.id', memoryMb: 128, vcpus: 2, rootGb: 5, ephemeralGb: 0, swapMb: 0, rxtxFactor: 1, isPublic: true, disabled: false, description: null, extraSpecs: {} })
    })

    it('refuses duplicates with Nova\'s 409 messages', async () => {
      await expect(flavors.create(admin, { name: 'm1.tiny', ram: 1, vcpus: 1, disk: 0 })).rejects.toThrowError('Flavor with name m1.tiny already exists.')
      await expect(flavors.create(admin, { name: 'new-one', ram: 1, vcpus: 1, disk: 0, id: '1' })).rejects.toThrowError('Flavor with ID 1 already exists.')
      const err = await flavors.create(admin, { name: 'm1.tiny', ram: 1, vcpus: 1, disk: 0 }).catch((e: unknown) => e)
      expect(ComputeError.is(err, 'CONFLICT')).toBe(true)
    })

    it.each([
      [{ name: '', ram: 1, vcpus: 1, disk: 0 }],
      [{ name: ' padded', ram: 1, vcpus: 1, disk: 0 }],
      [{ name: 'x', ram: 0, vcpus: 1, disk: 0 }],
      [{ name: 'x', ram: 1, vcpus: 0, disk: 0 }],
      [{ name: 'x', ram: 1, vcpus: 1, disk: -1 }],
      [{ name: 'x', ram: 1.5, vcpus: 1, disk: 0 }],
      [{ name: 'x', ram: 1, vcpus: 1, disk: 0, id: 'bad/id' }],
      [{ name: 'x', ram: 1, vcpus: 1, disk: 0, rxtxFactor: 0 }],
    ])('rejects %j as INVALID', async (req) => {
      const err = await flavors.create(admin, req).catch((e: unknown) => e)
      expect(ComputeError.is(err, 'INVALID')).toBe(true)
    })

    it('is admin only', async () => {
      await expect(flavors.create(alice, { name: 'x', ram: 1, vcpus: 1, disk: 0 })).rejects.toThrowError(
        "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.",
      )
    })
  })

  describe('.delete', () => {
    it('deletes a flavor with its extra specs; a second delete is NOT_FOUND', async () => {
      await flavors.create(admin, { name: 'doomed', ram: 1, vcpus: 1, disk: 0, id: 'doomed' })
      await flavors.setExtraSpecs(admin, 'doomed', { 'hw:cpu_policy': 'dedicated' })
      await flavors.delete(admin, 'doomed')
      await expect(flavors.get(admin, 'doomed')).rejects.toThrowError('Flavor doomed could not be found.')
      await expect(flavors.delete(admin, 'doomed')).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
      await expect(flavors.delete(alice, '1')).rejects.toSatisfy((e) => ComputeError.is(e, 'FORBIDDEN'))
    })
  })

  describe('extra specs', () => {
    it('sets, merges, updates one, reads and deletes one', async () => {
      await flavors.create(admin, { name: 'specs', ram: 64, vcpus: 1, disk: 0, id: 'specs' })
      expect(await flavors.setExtraSpecs(admin, 'specs', { 'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': 2 })).toEqual({ 'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '2' })
      expect(await flavors.setExtraSpecs(admin, 'specs', { 'hw:numa_nodes': '1', 'trait:CUSTOM_X': 'required' })).toEqual({
        'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '1', 'trait:CUSTOM_X': 'required',
      })
      expect(await flavors.updateExtraSpec(admin, 'specs', 'hw:cpu_policy', 'shared')).toEqual({ 'hw:cpu_policy': 'shared' })
      expect(await flavors.getExtraSpec(alice, 'specs', 'hw:cpu_policy')).toBe('shared')
      expect((await flavors.get(alice, 'specs')).extraSpecs).toEqual({ 'hw:cpu_policy': 'shared', 'hw:numa_nodes': '1', 'trait:CUSTOM_X': 'required' })
      await flavors.deleteExtraSpec(admin, 'specs', 'hw:numa_nodes')
      expect(await flavors.getExtraSpecs(alice, 'specs')).toEqual({ 'hw:cpu_policy': 'shared', 'trait:CUSTOM_X': 'required' })
      await expect(flavors.getExtraSpec(alice, 'specs', 'hw:numa_nodes')).rejects.toThrowError('Flavor specs has no extra specs with key hw:numa_nodes.')
      await expect(flavors.deleteExtraSpec(admin, 'specs', 'hw:numa_nodes')).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
      await expect(flavors.setExtraSpecs(alice, 'specs', { a: 'b' })).rejects.toThrowError(
        "Policy doesn't allow os_compute_api:os-flavor-extra-specs:create to be performed.",
      )
      await expect(flavors.setExtraSpecs(admin, 'specs', { 'bad key!': 'x' })).rejects.toSatisfy((e) => ComputeError.is(e, 'INVALID'))
    })
  })

  describe('access', () => {
    it('lists, adds and removes project access with Nova\'s errors', async () => {
      await flavors.create(admin, { name: 'acc', ram: 64, vcpus: 1, disk: 0, id: 'acc', isPublic: false })
      expect(await flavors.listAccess(admin, 'acc')).toEqual([])
      expect(await flavors.addAccess(admin, 'acc', 'p1')).toEqual([{ flavorId: 'acc', tenantId: 'p1' }])
      await expect(flavors.addAccess(admin, 'acc', 'p1')).rejects.toThrowError('Flavor access already exists for flavor acc and project p1 combination.')
      expect(await flavors.removeAccess(admin, 'acc', 'p1')).toEqual([])
      await expect(flavors.removeAccess(admin, 'acc', 'p1')).rejects.toThrowError('Flavor access not found for acc / p1 combination.')
      await expect(flavors.listAccess(admin, '1')).rejects.toThrowError('Access list not available for public flavors.')
      await expect(flavors.addAccess(admin, '1', 'p1')).rejects.toThrowError('Can not add access to a public flavor.')
    })
  })

  describe('.getForBuild', () => {
    it('turns a missing, hidden or disabled flavor into Invalid flavorRef provided.', async () => {
      await expect(flavors.getForBuild(alice, 'm1.huge')).rejects.toThrowError('Invalid flavorRef provided.')
      await flavors.create(admin, { name: 'off', ram: 64, vcpus: 1, disk: 0, id: 'off' })
      await t.db.updateTable('flavors').set({ disabled: 1 }).where('flavorid', '=', 'off').execute()
      await expect(flavors.getForBuild(alice, 'off')).rejects.toSatisfy((e) => ComputeError.is(e, 'INVALID'))
      expect((await flavors.getForBuild(alice, '1')).name).toBe('m1.tiny')
      await expect(flavors.get(alice, 'm1.huge')).rejects.toThrowError('Flavor m1.huge could not be found.')
    })
  })
})
