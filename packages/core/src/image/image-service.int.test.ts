import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RequestContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import { DEFAULT_IMAGE_ID, DEFAULT_IMAGE_NAME, ImageService } from './image-service.js'

const admin: RequestContext = { requestId: 'req-a', userId: 'admin-user', projectId: 'admin', roles: ['admin'], isAdmin: true }
const alice: RequestContext = { requestId: 'req-b', userId: 'alice', projectId: 'p-alice', roles: ['member'], isAdmin: false }
const bob: RequestContext = { requestId: 'req-c', userId: 'bob', projectId: 'p-bob', roles: ['member'], isAdmin: false }

describe.each(databaseKindsUnderTest())('ImageService on %s', (kind) => {
  let t: TestDatabase
  let images: ImageService

  beforeAll(async () => {
    t = await createTestDatabase(kind)
    images = new ImageService(t.db)
  })
  afterAll(async () => {
    await t?.destroy()
  })

  it('creates the default public active image once', async () => {
    const first = await images.ensureDefaultImage()
    const second = await images.ensureDefaultImage()
    expect(first).toMatchObject({ id: DEFAULT_IMAGE_ID, name: DEFAULT_IMAGE_NAME, status: 'active', diskFormat: 'qcow2', containerFormat: 'bare', minDiskGb: 0, visibility: 'public' })
    expect(second.id).toBe(first.id)
    expect((await images.get(bob, DEFAULT_IMAGE_ID)).name).toBe(DEFAULT_IMAGE_NAME)
  })

  it('shows public images and the project\'s own, never another project\'s private ones', async () => {
    const mine = await images.create(alice, { name: 'alice-img', visibility: 'private', diskFormat: 'raw', containerFormat: 'bare', minRam: 256, properties: { hw_architecture: 'x86_64' } })
    expect(mine).toMatchObject({ status: 'queued', owner: 'p-alice', minRamMb: 256, properties: { hw_architecture: 'x86_64' } })
    expect((await images.list(alice)).map((i) => i.id)).toContain(mine.id)
    expect((await images.list(bob)).map((i) => i.id)).not.toContain(mine.id)
    expect((await images.list(admin)).map((i) => i.id)).toContain(mine.id)
    const err = await images.get(bob, mine.id).catch((e: unknown) => e)
    expect(ComputeError.is(err, 'NOT_FOUND')).toBe(true)
    expect((err as Error).message).toBe(`Image ${mine.id} could not be found.`)
  })

  it('becomes active when its data is recorded, and converts to ImageMeta', async () => {
    const img = await images.create(alice, { name: 'upload' })
    const active = await images.setData(alice, img.id, { location: '/data/images/x', size: 1234, checksum: 'abc' })
    expect(active).toMatchObject({ status: 'active', size: 1234, location: '/data/images/x' })
    expect(images.toImageMeta(active)).toEqual({
      id: img.id, name: 'upload', status: 'active', diskFormat: '', containerFormat: '', minRamMb: 0, minDiskGb: 0, size: 1234, properties: {},
    })
    await expect(images.setData(alice, img.id, { location: '/x', size: 1 })).rejects.toSatisfy((e) => ComputeError.is(e, 'CONFLICT'))
  })

  it('needs admin to publicise, and protects protected images from delete', async () => {
    await expect(images.create(alice, { name: 'pub', visibility: 'public' })).rejects.toThrowError("Policy doesn't allow image:publicize_image to be performed.")
    const prot = await images.create(alice, { name: 'prot', protected: true })
    await expect(images.delete(alice, prot.id)).rejects.toSatisfy((e) => ComputeError.is(e, 'FORBIDDEN'))
    await images.update(alice, prot.id, { protected: false, properties: { os_distro: 'cirros' } })
    expect((await images.get(alice, prot.id)).properties).toEqual({ os_distro: 'cirros' })
    await images.delete(alice, prot.id)
    await expect(images.get(alice, prot.id)).rejects.toSatisfy((e) => ComputeError.is(e, 'NOT_FOUND'))
  })

  it('filters and pages the list', async () => {
    await images.create(alice, { name: 'page-a' })
    await images.create(alice, { name: 'page-b' })
    expect((await images.list(alice, { name: 'page-a' })).map((i) => i.name)).toEqual(['page-a'])
    const all = await images.list(alice)
    const page = await images.list(alice, { marker: all[0]!.id, limit: 1 })
    expect(page).toEqual([all[1]])
  })
})
