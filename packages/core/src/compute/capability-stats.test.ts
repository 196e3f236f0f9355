import { describe, expect, it } from 'vitest'
import { FakeVirtDriver } from '../testing/fake-virt-driver.js'
import { CAPABILITY_STATS, capabilityStats, driverSupports, statsSupport } from './capability-stats.js'

describe('capability stats', () => {
  it('publishes every capability of the fake driver as True', () => {
    expect(capabilityStats(new FakeVirtDriver({ hostname: 'h' }))).toEqual({
      supports_pause: 'True',
      supports_suspend: 'True',
      supports_console_output: 'True',
    })
  })

  it('publishes False for a capability the driver turns off', () => {
    const driver = new FakeVirtDriver({ hostname: 'h', capabilities: { supportsPause: false, supportsConsoleOutput: false } })
    expect(capabilityStats(driver)).toEqual({ supports_pause: 'False', supports_suspend: 'True', supports_console_output: 'False' })
  })

  it('needs the methods as well as the flag', () => {
    // the fake driver without its pause methods, although it still claims the capability
    const driver = new FakeVirtDriver({ hostname: 'h' })
    Object.defineProperty(driver, 'pause', { value: undefined })
    expect(driver.capabilities.supportsPause).toBe(true)
    expect(driverSupports(driver, 'supportsPause')).toBe(false)
    expect(driverSupports(driver, 'supportsSuspend')).toBe(true)
  })

  it.each([
    { stats: { supports_pause: 'True' }, expected: true },
    { stats: { supports_pause: 'False' }, expected: false },
    { stats: {}, expected: undefined },
    { stats: { num_instances: '3' }, expected: undefined },
  ])('reads $stats as $expected', ({ stats, expected }) => {
    expect(statsSupport(stats, 'supportsPause')).toBe(expected)
  })

  it('uses Nova-style snake_case keys', () => {
    expect(Object.values(CAPABILITY_STATS).every((k) => /^[a-z_]+$/.test(k))).toBe(true)
  })
})
