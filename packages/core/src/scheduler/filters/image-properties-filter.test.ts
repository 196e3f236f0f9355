import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { ImagePropertiesFilter, satisfiesVersion } from './image-properties-filter.js'

describe(ImagePropertiesFilter.name, () => {
  const host = makeHostState({ supportedInstances: [['x86_64', 'qemu', 'hvm'], ['i686', 'qemu', 'hvm']], hypervisorVersion: 6_002_000 })

  it.each([
    { properties: {}, passes: true },
    { properties: { hw_architecture: 'x86_64' }, passes: true },
    { properties: { hw_architecture: 'amd64' }, passes: true },
    { properties: { hw_architecture: 'i386', img_hv_type: 'QEMU' }, passes: true },
    { properties: { hw_architecture: 'aarch64' }, passes: false },
    { properties: { img_hv_type: 'xen' }, passes: false },
    { properties: { hw_vm_mode: 'hv' }, passes: true },
    { properties: { architecture: 'x86_64', vm_mode: 'xen' }, passes: false },
    { properties: { img_hv_requested_version: '>=6.0' }, passes: true },
    { properties: { img_hv_type: 'qemu', img_hv_requested_version: '>= 7.0' }, passes: false },
  ])('image properties $properties → passes=$passes', ({ properties, passes }) => {
    expect(runFilter(ImagePropertiesFilter, host, makeRequestSpec({ image: { properties } })).passed).toBe(passes)
  })

  it('fails hosts that report no supported instances when the image asks for any', () => {
    const bare = makeHostState({ supportedInstances: [] })
    expect(runFilter(ImagePropertiesFilter, bare, makeRequestSpec({ image: { properties: { hw_architecture: 'x86_64' } } })).passed).toBe(false)
    expect(runFilter(ImagePropertiesFilter, bare, makeRequestSpec()).passed).toBe(true)
  })

  it('uses the defaultArchitecture option for images without one', () => {
    const armHost = makeHostState({ supportedInstances: [['aarch64', 'qemu', 'hvm']] })
    expect(runFilter(ImagePropertiesFilter, armHost, makeRequestSpec(), { options: { defaultArchitecture: 'x86_64' } }).passed).toBe(false)
    expect(runFilter(ImagePropertiesFilter, armHost, makeRequestSpec()).passed).toBe(true)
  })

  it('runs on rebuild', () => {
    expect(ImagePropertiesFilter.runOnRebuild).toBe(true)
  })
})

describe(satisfiesVersion.name, () => {
  it.each([
    { version: 6_002_000, predicate: '>=6.0', ok: true },
    { version: 6_002_000, predicate: '>= 6.0, < 6.2', ok: false },
    { version: 6_002_000, predicate: '==6.2.0', ok: true },
    { version: 6_002_001, predicate: '>6.2', ok: true },
    { version: 6_002_000, predicate: 'banana', ok: false },
  ])('$version $predicate → $ok', ({ version, predicate, ok }) => {
    expect(satisfiesVersion(version, predicate)).toBe(ok)
  })
})
