import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import type { Clock } from '../util/clock.js'
import { IdentityService, UNAUTHORIZED_MESSAGE } from './identity-service.js'

class TestClock implements Clock {
  constructor(public ms = Date.parse('2026-01-01T00:00:00.000Z')) {}
  now(): number {
    return this.ms
  }
}

async function expectUnauthorized(p: Promise<unknown>): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e)
  expect(ComputeError.is(err, 'UNAUTHORIZED')).toBe(true)
  expect((err as Error).message).toBe(UNAUTHORIZED_MESSAGE)
}

describe.each(databaseKindsUnderTest())('IdentityService on %s', (kind) => {
  let t: TestDatabase
  let clock: TestClock
  let identity: IdentityService

  beforeAll(async () => {
    t = await createTestDatabase(kind)
    clock = new TestClock()
    identity = new IdentityService(t.db, clock, undefined, { scryptCost: 1024, tokenTtlSec: 3600, validationCacheMs: 5000 })
    await identity.bootstrap({ adminUser: 'admin', adminPassword: 'secret' })
  })
  afterAll(async () => {
    await t?.destroy()
  })

  describe('.bootstrap', () => {
    it('creates roles, the admin project and user, and is idempotent', async () => {
      const again = await identity.bootstrap({ adminUser: 'admin', adminPassword: 'secret' })
      expect(again.project.name).toBe('admin')
      expect((await t.db.selectFrom('roles').select('name').orderBy('name').execute()).map((r) => r.name)).toEqual(['admin', 'member', 'reader'])
      expect(await t.db.selectFrom('users').select('id').where('name', '=', 'admin').execute()).toHaveLength(1)
      const stored = await t.db.selectFrom('users').select('password_hash').where('name', '=', 'admin').executeTakeFirstOrThrow()
      expect(stored.password_hash).toMatch(/^scrypt\$1024\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
      expect(stored.password_hash).not.toContain('secret')
    })
  })

  describe('.authenticate', () => {
    it('issues a project-scoped token with implied roles, stored only as its sha256', async () => {
      const r = await identity.authenticate({ userName: 'admin', domain: 'Default', password: 'secret', project: { name: 'admin', domain: 'Default' } })
      expect(r.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(r.roles.map((x) => x.name)).toEqual(['admin', 'member', 'reader'])
      expect(r.project?.name).toBe('admin')
      expect(Date.parse(r.expiresAt) - Date.parse(r.issuedAt)).toBe(3600_000)
      const rows = await t.db.selectFrom('tokens').select('id').execute()
      expect(rows.map((x) => x.id)).toContain(createHash('sha256').update(r.token).digest('hex'))
      expect(rows.map((x) => x.id)).not.toContain(r.token)
    })

    it('scopes by project id too, and gives a member member+reader', async () => {
      const project = await identity.createProject({ name: 'demo' })
      const user = await identity.createUser({ name: 'demo', password: 'pw' })
      await identity.assignRole(user.id, project.id, 'member')
      const r = await identity.authenticate({ userName: 'demo', password: 'pw', project: { id: project.id } })
      expect(r.roles.map((x) => x.name)).toEqual(['member', 'reader'])
      const v = await identity.validateToken(r.token)
      expect(v.context).toMatchObject({ userId: user.id, projectId: project.id, isAdmin: false, roles: ['member', 'reader'], userName: 'demo', projectName: 'demo' })
      expect(v.context.requestId).toMatch(/^req-[0-9a-f-]{36}$/)
    })

    it('refuses a wrong password, an unknown user, a project without a role, and a disabled user', async () => {
      await expectUnauthorized(identity.authenticate({ userName: 'admin', password: 'wrong', project: { name: 'admin' } }))
      await expectUnauthorized(identity.authenticate({ userName: 'nobody', password: 'secret' }))
      await expectUnauthorized(identity.authenticate({ userName: 'demo', password: 'pw', project: { name: 'admin' } }))
      await expectUnauthorized(identity.authenticate({ userName: 'demo', password: 'pw', project: { name: 'no-such-project' } }))
      await identity.createUser({ name: 'off', password: 'pw', enabled: false })
      await expectUnauthorized(identity.authenticate({ userName: 'off', password: 'pw' }))
    })

    it('issues an unscoped token with no roles', async () => {
      const r = await identity.authenticate({ userName: 'admin', password: 'secret' })
      expect(r.project).toBeNull()
      const v = await identity.validateToken(r.token)
      expect(v.context).toMatchObject({ projectId: null, roles: [], isAdmin: false })
    })
  })

  describe('.validateToken', () => {
    it('rejects unknown and expired tokens', async () => {
      await expectUnauthorized(identity.validateToken('not-a-token'))
      await expectUnauthorized(identity.validateToken(''))
      const r = await identity.authenticate({ userName: 'admin', password: 'secret', project: { name: 'admin' } })
      expect((await identity.validateToken(r.token)).context.isAdmin).toBe(true)
      clock.ms += 3600_000
      await expectUnauthorized(identity.validateToken(r.token))
      expect(await identity.purgeExpiredTokens()).toBeGreaterThanOrEqual(1)
    })

    it('serves repeated validations from the cache, but a revoke takes effect at once', async () => {
      const r = await identity.authenticate({ userName: 'admin', password: 'secret', project: { name: 'admin' } })
      const first = await identity.validateToken(r.token, 'req-1')
      expect(first.context.requestId).toBe('req-1')
      // The row is gone, yet the cache still answers within its window (with a fresh request id) …
      await t.db.deleteFrom('tokens').execute()
      expect((await identity.validateToken(r.token, 'req-2')).context).toMatchObject({ requestId: 'req-2', isAdmin: true })
      // … and stops answering when the window is over.
      clock.ms += 5001
      await expectUnauthorized(identity.validateToken(r.token))
      const r2 = await identity.authenticate({ userName: 'admin', password: 'secret', project: { name: 'admin' } })
      await identity.validateToken(r2.token)
      await identity.revokeToken(r2.token)
      await expectUnauthorized(identity.validateToken(r2.token))
      await expect(identity.revokeToken(r2.token)).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
    })
  })

  describe('management', () => {
    it('refuses duplicate users and projects, and lists a user\'s projects', async () => {
      await expect(identity.createUser({ name: 'admin', password: 'x' })).rejects.toSatisfy((e) => ComputeError.is(e, 'CONFLICT'))
      await expect(identity.createProject({ name: 'admin' })).rejects.toSatisfy((e) => ComputeError.is(e, 'CONFLICT'))
      const admin = (await identity.listUsers()).find((u) => u.name === 'admin')
      expect((await identity.listUserProjects(admin?.id ?? '')).map((p) => p.name)).toEqual(['admin'])
      await identity.unassignRole(admin?.id ?? '', (await identity.findProject({ name: 'admin' }))?.id ?? '', 'admin')
      await expectUnauthorized(identity.authenticate({ userName: 'admin', password: 'secret', project: { name: 'admin' } }))
    })
  })
})
