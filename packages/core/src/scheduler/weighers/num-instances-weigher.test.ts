import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '../../testing/scheduler-fixtures.js'
import { NumInstancesWeigher } from './num-instances-weigher.js'

describe(NumInstancesWeigher.name, () => {
  it.each([
    { multiplier: 1, first: 'full' },
    { multiplier: -1, first: 'empty' },
    { multiplier: 0, first: 'empty' },
  ])('multiplier $multiplier → $first first', ({ multiplier, first }) => {
    const hosts = [makeHostState({ host: 'empty', numInstances: 0 }), makeHostState({ host: 'full', numInstances: 20 })]
    expect(runWeigher(NumInstancesWeigher, hosts, makeRequestSpec(), { multiplier })[0]?.host.host).toBe(first)
  })
})
