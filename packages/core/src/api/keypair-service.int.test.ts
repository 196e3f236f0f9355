import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RequestContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'
import { QuotaService } from '../quota/quota-service.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { KeypairService, keypairFingerprint } from './keypair-service.js'

const admin: RequestContext = { requestId: 'req-a', userId: 'admin-user', projectId: 'admin', roles: ['admin'], isAdmin: true }
const alice: RequestContext = { requestId: 'req-b', userId: 'alice', projectId: 'p1', roles: ['member'], isAdmin: false }
const bob: RequestContext = { requestId: 'req-c', userId: 'bob', projectId: 'p1', roles: ['member'], isAdmin: false }

const PUBLIC_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl novum@test'

describe.each(databaseKindsUnderTest())('KeypairService on %s', (kind) => {
  let t: TestDatabase
  let keypairs: KeypairService
  let quotas: QuotaService

  beforeAll(async () => {
    t = await createTestDatabase(kind)
    quotas = new QuotaService(t.db)
    keypairs = new KeypairService(t.db, quotas, undefined, undefined, undefined, { rsaBits: 1024 })
  })
  afterAll(async () => {
    await t?.destroy()
  })

  it('imports a public key with Nova\'s fingerprint and no private key', async () => {
    const kp = await keypairs.create(alice, { name: 'imported', publicKey: PUBLIC_KEY })
    expect(kp).toMatchObject({ name: 'imported', userId: 'alice', type: 'ssh', publicKey: PUBLIC_KEY, privateKey: null })
    expect(kp.fingerprint).toBe(keypairFingerprint(PUBLIC_KEY))
    expect(await keypairs.get(alice, 'imported')).toMatchObject({ fingerprint: kp.fingerprint, id: kp.id })
  })

  it('generates a keypair and returns the private key once', async () => {
    const kp = await keypairs.create(alice, { name: 'generated' })
    expect(kp.privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/)
    expect(kp.publicKey).toMatch(/^ssh-rsa \S+ Generated-by-Nova$/)
    expect(kp.fingerprint).toBe(keypairFingerprint(kp.publicKey))
    expect(Object.keys(await keypairs.get(alice, 'generated'))).not.toContain('privateKey')
  })

  it('rejects garbage, duplicates and bad names with Nova\'s messages', async () => {
    await expect(keypairs.import(alice, { name: 'garbage', publicKey: 'this is not a key' })).rejects.toThrowError('Keypair data is invalid: failed to generate fingerprint')
    await expect(keypairs.create(alice, { name: 'imported', publicKey: PUBLIC_KEY })).rejects.toThrowError("Key pair 'imported' already exists.")
    const dup = await keypairs.create(alice, { name: 'imported', publicKey: PUBLIC_KEY }).catch((e: unknown) => e)
    expect(ComputeError.is(dup, 'CONFLICT')).toBe(true)
    await expect(keypairs.create(alice, { name: 'bad/name', publicKey: PUBLIC_KEY })).rejects.toThrowError('Keypair data is invalid: Keypair name contains unsafe characters')
    expect(await t.db.selectFrom('key_pairs').select('name').where('name', '=', 'garbage').execute()).toEqual([])
  })

  it('keeps keypairs per user', async () => {
    await keypairs.create(bob, { name: 'imported', publicKey: PUBLIC_KEY })
    expect((await keypairs.list(bob)).map((k) => k.name)).toEqual(['imported'])
    expect((await keypairs.list(alice)).map((k) => k.name)).toEqual(['generated', 'imported'])
    await expect(keypairs.list(alice, { userId: 'bob' })).rejects.toSatisfy((e) => ComputeError.is(e, 'FORBIDDEN'))
    expect((await keypairs.list(admin, { userId: 'bob' })).map((k) => k.name)).toEqual(['imported'])
    expect((await keypairs.list(alice, { limit: 1 })).map((k) => k.name)).toEqual(['generated'])
    expect((await keypairs.list(alice, { marker: 'generated' })).map((k) => k.name)).toEqual(['imported'])
  })

  it('deletes, then reports NOT_FOUND with Nova\'s message', async () => {
    await keypairs.delete(bob, 'imported')
    await expect(keypairs.get(bob, 'imported')).rejects.toThrowError('Keypair imported not found for user bob')
    await expect(keypairs.delete(bob, 'imported')).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
  })

  it('enforces the key_pairs quota per user (403)', async () => {
    const carol: RequestContext = { ...alice, userId: 'carol', projectId: 'p-carol' }
    await quotas.update(admin, 'p-carol', { key_pairs: 1 })
    await keypairs.create(carol, { name: 'one', publicKey: PUBLIC_KEY })
    const err = await keypairs.create(carol, { name: 'two', publicKey: PUBLIC_KEY }).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'QUOTA')).toBe(true)
    expect((err as Error).message).toBe('Maximum number of key pairs exceeded')
  })
})
