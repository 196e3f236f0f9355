import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '@novum/core'
import { FakeVirtDriver, makeImageMeta, makeInstance } from '@novum/core/testing'
import { parseInvocation } from './config.js'
import { createAgentDriver, directoryImageSource, fakeStatePath } from './drivers.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'novum-drivers-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const options = (...argv: string[]) => parseInvocation(['--data-dir', dir, ...argv], { PATH: '/usr/bin' }, '/').options

describe('createAgentDriver', () => {
  it('gives each fake agent its own state file, so a restarted agent finds its guests', async () => {
    const o = options()
    const first = await createAgentDriver(o, 'compute-2', silentLogger)
    expect(first).toBeInstanceOf(FakeVirtDriver)
    await first.init()
    const instance = makeInstance({ host: 'compute-2' })
    await first.spawn(instance, makeImageMeta(), {})
    await first.close()
    expect(fakeStatePath(o, 'compute-2')).toBe(join(dir, 'agents', 'compute-2', 'fake-driver.json'))
    const again = await createAgentDriver(o, 'compute-2', silentLogger)
    await again.init()
    expect(await again.listInstanceUuids()).toEqual([instance.uuid])
    await again.close()
    const other = await createAgentDriver(o, 'compute-1', silentLogger)
    await other.init()
    expect(await other.listInstanceUuids()).toEqual([])
    await other.close()
  })

  it('applies the --fake-delay of its host only', async () => {
    const o = options('--fake-delay', 'compute-2:spawn=60000')
    const slow = await createAgentDriver(o, 'compute-2', silentLogger)
    const fast = await createAgentDriver(o, 'compute-1', silentLogger)
    await Promise.all([slow.init(), fast.init()])
    const abort = new AbortController()
    let slowDone = false
    const slowSpawn = slow.spawn(makeInstance(), makeImageMeta(), { signal: abort.signal }).finally(() => (slowDone = true))
    await fast.spawn(makeInstance(), makeImageMeta(), {})
    expect(slowDone).toBe(false)
    abort.abort()
    await expect(slowSpawn).rejects.toMatchObject({ code: 'VIRT', message: 'fake spawn aborted' })
    await Promise.all([slow.close(), fast.close()])
  })

  it.each([
    { driver: 'nosuch', error: /unknown driver "nosuch": cannot load @novum\/driver-nosuch/ },
    { driver: '@novum/core', error: /@novum\/core has no createDriver export/ },
  ])('refuses --driver $driver with a clear INVALID error', async ({ driver, error }) => {
    await expect(createAgentDriver(options('--driver', driver), 'compute-1', silentLogger)).rejects.toMatchObject({ code: 'INVALID', message: expect.stringMatching(error) })
  })
})

describe('directoryImageSource', () => {
  it('says where image data is missing', async () => {
    await expect(directoryImageSource(null).download('img-1', join(dir, 'x'))).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('--image-dir') })
    await expect(directoryImageSource(dir).download('img-1', join(dir, 'x'))).rejects.toMatchObject({ code: 'NOT_FOUND', message: `image img-1 has no data in ${dir}` })
  })
})
