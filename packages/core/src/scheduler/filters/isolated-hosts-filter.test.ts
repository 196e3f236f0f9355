import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { IsolatedHostsFilter } from './isolated-hosts-filter.js'

const ISO = 'iso-image'
const PLAIN = 'plain-image'

describe(IsolatedHostsFilter.name, () => {
  // Nova's test_isolated_hosts_filter matrix: (isolated image?, isolated host?, restrict) → passes.
  it.each([
    { image: ISO, host: 'isolated', restrict: true, passes: true },
    { image: ISO, host: 'normal', restrict: true, passes: false },
    { image: PLAIN, host: 'isolated', restrict: true, passes: false },
    { image: PLAIN, host: 'normal', restrict: true, passes: true },
    { image: ISO, host: 'isolated', restrict: false, passes: true },
    { image: ISO, host: 'normal', restrict: false, passes: false },
    { image: PLAIN, host: 'isolated', restrict: false, passes: true },
    { image: PLAIN, host: 'normal', restrict: false, passes: true },
  ])('image $image on $host host, restrict=$restrict → passes=$passes', ({ image, host, restrict, passes }) => {
    const options = { isolatedImages: [ISO], isolatedHosts: ['isolated'], restrictIsolatedHostsToIsolatedImages: restrict }
    expect(runFilter(IsolatedHostsFilter, makeHostState({ host }), makeRequestSpec({ image: { id: image } }), { options }).passed).toBe(passes)
  })

  it.each([
    { host: 'isolated', restrict: true, passes: false },
    { host: 'normal', restrict: true, passes: true },
    { host: 'isolated', restrict: false, passes: true },
  ])('without isolated images: $host host, restrict=$restrict → passes=$passes', ({ host, restrict, passes }) => {
    const options = { isolatedImages: [], isolatedHosts: ['isolated'], restrictIsolatedHostsToIsolatedImages: restrict }
    expect(runFilter(IsolatedHostsFilter, makeHostState({ host }), makeRequestSpec(), { options }).passed).toBe(passes)
  })

  it('passes everything with the default (empty) options, and runs on rebuild', () => {
    expect(runFilter(IsolatedHostsFilter, makeHostState(), makeRequestSpec()).passed).toBe(true)
    expect(IsolatedHostsFilter.runOnRebuild).toBe(true)
  })
})
