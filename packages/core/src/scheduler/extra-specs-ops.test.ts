import { describe, expect, it } from 'vitest'
import { matchExtraSpec } from './extra-specs-ops.js'

describe(matchExtraSpec.name, () => {
  it.each([
    { value: 'x86_64', req: 'x86_64', ok: true },
    { value: 'x86_64', req: 'aarch64', ok: false },
    { value: '2048', req: '= 1024', ok: true },
    { value: '512', req: '= 1024', ok: false },
    { value: '1024', req: '== 1024.0', ok: true },
    { value: '1024', req: '!= 1024', ok: false },
    { value: '10', req: '>= 10', ok: true },
    { value: '10', req: '<= 9', ok: false },
    { value: 'abc', req: '>= 1', ok: false },
    { value: 'abc', req: 's== abc', ok: true },
    { value: 'abc', req: 's!= abc', ok: false },
    { value: 'abc', req: 's< abd', ok: true },
    { value: 'abc', req: 's<= abc', ok: true },
    { value: 'abd', req: 's> abc', ok: true },
    { value: 'abc', req: 's>= abd', ok: false },
    { value: 'sse4.2,avx2', req: '<in> avx2', ok: true },
    { value: 'sse4.2,avx2', req: '<all-in> avx2 sse4.2', ok: true },
    { value: 'sse4.2,avx2', req: '<all-in> avx2 avx512', ok: false },
    { value: 'qemu', req: '<or> xen <or> qemu', ok: true },
    { value: 'kvm', req: '<or> xen <or> qemu', ok: false },
    { value: null, req: '>= 1', ok: false },
    { value: '1', req: '>=', ok: false },
  ])('$value matches "$req" → $ok', ({ value, req, ok }) => {
    expect(matchExtraSpec(value, req)).toBe(ok)
  })
})
