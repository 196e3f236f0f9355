import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '../../testing/scheduler-fixtures.js'
import { DiskWeigher } from './disk-weigher.js'

describe(DiskWeigher.name, () => {
  it.each([
    { multiplier: 1, first: 'roomy' },
    { multiplier: -1, first: 'tight' },
  ])('multiplier $multiplier → $first first', ({ multiplier, first }) => {
    const hosts = [makeHostState({ host: 'tight', freeDiskMb: 10 * 1024 }), makeHostState({ host: 'roomy', freeDiskMb: 400 * 1024 })]
    expect(runWeigher(DiskWeigher, hosts, makeRequestSpec(), { multiplier })[0]?.host.host).toBe(first)
  })
})
