import { describe, expect, it } from 'vitest'
import { PowerState } from '@novum/core'
import { novaArch, parseMeminfo, versionNumber } from './host-resources.js'
import { powerStateOf } from './lxc-driver.js'
import { isLxcState, type LxcState } from './lxc-tools.js'

describe(parseMeminfo.name, () => {
  it('reads kB fields by name', () => {
    const fields = parseMeminfo('MemTotal:       24568300 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\nHugePages_Total:       0\n')
    expect(fields.get('MemTotal')).toBe(24_568_300)
    expect(fields.get('MemAvailable')).toBe(20_000_000)
    expect(fields.get('HugePages_Total')).toBe(0)
  })
})

describe(versionNumber.name, () => {
  it.each([
    ['5.0.2', 5_000_002],
    ['4.0.12', 4_000_012],
    ['6.0', 6_000_000],
    ['5.0.2-devel', 5_000_002],
  ])('%s → %d', (version, expected) => {
    expect(versionNumber(version)).toBe(expected)
  })
})

describe(novaArch.name, () => {
  it.each([
    ['x64', 'x86_64'],
    ['arm64', 'aarch64'],
    ['ia32', 'i686'],
  ])('%s → %s', (arch, expected) => {
    expect(novaArch(arch)).toBe(expected)
  })
})

describe(powerStateOf.name, () => {
  it.each<[LxcState, number]>([
    ['RUNNING', PowerState.RUNNING],
    ['STARTING', PowerState.RUNNING],
    ['STOPPING', PowerState.RUNNING],
    ['FREEZING', PowerState.RUNNING],
    ['THAWED', PowerState.RUNNING],
    ['FROZEN', PowerState.PAUSED],
    ['STOPPED', PowerState.SHUTDOWN],
    ['ABORTING', PowerState.CRASHED],
  ])('%s → %d', (state, power) => {
    expect(isLxcState(state)).toBe(true)
    expect(powerStateOf(state)).toBe(power)
  })

  it('knows no other state', () => {
    expect(isLxcState('BOOTING')).toBe(false)
  })
})
