import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { AggregateImagePropertiesIsolation } from './aggregate-image-properties-isolation.js'

const agg = (id: number, metadata: Record<string, string>) => ({ id, uuid: `agg-${id}`, name: `agg-${id}`, availabilityZone: null, metadata })

describe(AggregateImagePropertiesIsolation.name, () => {
  it.each<{ case: string; metadata: Record<string, string> | null; props: Record<string, string>; options: { namespace: string; separator: string } | undefined; passes: boolean }>([
    { case: 'no aggregate metadata', metadata: null, props: { os_distro: 'ubuntu' }, options: undefined, passes: true },
    { case: 'matching value', metadata: { os_distro: 'ubuntu' }, props: { os_distro: 'ubuntu' }, options: undefined, passes: true },
    { case: 'value in a list', metadata: { os_distro: 'debian,ubuntu' }, props: { os_distro: 'ubuntu' }, options: undefined, passes: true },
    { case: 'other value', metadata: { os_distro: 'windows' }, props: { os_distro: 'ubuntu' }, options: undefined, passes: false },
    { case: 'image without the property', metadata: { os_distro: 'windows' }, props: {}, options: undefined, passes: true },
    { case: 'key outside the namespace', metadata: { os_distro: 'windows' }, props: { os_distro: 'ubuntu' }, options: { namespace: 'iso', separator: '.' }, passes: true },
    { case: 'key inside the namespace', metadata: { 'iso.os': 'windows' }, props: { 'iso.os': 'ubuntu' }, options: { namespace: 'iso', separator: '.' }, passes: false },
  ])('$case → passes=$passes', ({ metadata, props, options, passes }) => {
    const host = makeHostState({ aggregates: metadata ? [agg(1, metadata)] : [] })
    const result = runFilter(AggregateImagePropertiesIsolation, host, makeRequestSpec({ image: { properties: props } }), options ? { options } : {})
    expect(result.passed).toBe(passes)
  })

  it('runs once per request and on rebuild', () => {
    expect([AggregateImagePropertiesIsolation.runOncePerRequest, AggregateImagePropertiesIsolation.runOnRebuild]).toEqual([true, true])
  })
})
