import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ComputeError } from '@novum/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { libvirtSkipReason } from '../testing/test-guest.js'
import { writeQcow2Overlay } from './qcow2.js'

const run = promisify(execFile)
const info = async (path: string) => JSON.parse((await run('qemu-img', ['info', '--output=json', path])).stdout) as Record<string, unknown>

describe.skipIf(libvirtSkipReason() !== undefined)(`${writeQcow2Overlay.name} (qemu-img as the oracle)`, () => {
  let dir = ''
  let base = ''
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'novum-qcow2-'))
    base = join(dir, 'base.raw')
    await writeFile(base, Buffer.concat([Buffer.from('BASE-DATA'), Buffer.alloc(4 * 1024 * 1024 - 9)]))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it.each([
    { size: 4 * 1024 ** 2, label: '4 MiB' },
    { size: 1024 ** 3, label: '1 GiB' },
    { size: 20 * 1024 ** 3 + 512, label: '20 GiB + 512 B' },
  ])('writes a $label overlay that qemu-img checks clean and reads like the one qemu-img create makes', async ({ size }) => {
    const ours = join(dir, `ours-${size}.qcow2`)
    const theirs = join(dir, `theirs-${size}.qcow2`)
    await writeQcow2Overlay(ours, { virtualSizeBytes: size, backingFile: base, backingFormat: 'raw' })
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base, theirs, String(size)])
    expect((await run('qemu-img', ['check', ours])).stdout).toContain('No errors were found on the image.')
    const [a, b] = [await info(ours), await info(theirs)]
    for (const key of ['format', 'virtual-size', 'cluster-size', 'backing-filename', 'backing-filename-format', 'format-specific']) {
      expect(a[key], key).toEqual(b[key])
    }
    await expect(run('qemu-img', ['compare', ours, theirs])).resolves.toMatchObject({ stdout: expect.stringContaining('Images are identical') })
    const raw = join(dir, `ours-${size}.raw`)
    await run('qemu-img', ['dd', '-f', 'qcow2', '-O', 'raw', 'bs=512', 'count=1', `if=${ours}`, `of=${raw}`])
    expect((await readFile(raw)).subarray(0, 9).toString()).toBe('BASE-DATA')
    await rm(raw)
  })

  it('refuses bad sizes and an existing file', async () => {
    await expect(writeQcow2Overlay(join(dir, 'odd.qcow2'), { virtualSizeBytes: 1000, backingFile: base, backingFormat: 'raw' })).rejects.toSatisfy((e) => ComputeError.is(e, 'INVALID'))
    const path = join(dir, 'twice.qcow2')
    await writeQcow2Overlay(path, { virtualSizeBytes: 1024 ** 2, backingFile: base, backingFormat: 'raw' })
    await expect(writeQcow2Overlay(path, { virtualSizeBytes: 1024 ** 2, backingFile: base, backingFormat: 'raw' })).rejects.toThrow(/EEXIST/)
  })
})
