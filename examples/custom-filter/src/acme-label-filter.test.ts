import { describe, expect, it } from 'vitest'
import { appliesToViolations, makeHostState, makeRequestSpec, runFilter } from '@novum/core/testing'
import { AcmeLabelFilter, type AcmeLabelFilterOptions } from './acme-label-filter.js'

const options: AcmeLabelFilterOptions = { hostLabels: { 'fast-1': ['ssd', 'gpu'], 'slow-1': ['hdd'] }, defaultLabels: [] }

describe(AcmeLabelFilter.name, () => {
  it.each([
    { host: 'fast-1', wants: undefined, passes: true, reason: undefined },
    { host: 'slow-1', wants: 'ssd', passes: false, reason: 'wants label(s) ssd, host has hdd' },
    { host: 'fast-1', wants: 'ssd', passes: true, reason: undefined },
    { host: 'fast-1', wants: 'ssd, gpu', passes: true, reason: undefined },
    { host: 'fast-1', wants: 'ssd,gpu,fpga', passes: false, reason: 'wants label(s) fpga, host has ssd, gpu' },
    { host: 'unknown', wants: 'ssd', passes: false, reason: 'wants label(s) ssd, host has none' },
  ])('$host with acme:labels=$wants → passes=$passes', ({ host, wants, passes, reason }) => {
    const request = makeRequestSpec({ flavor: { extraSpecs: wants === undefined ? {} : { 'acme:labels': wants } } })
    const result = runFilter(AcmeLabelFilter, makeHostState({ host }), request, { options })
    expect(result.passed).toBe(passes)
    expect(result.passed ? undefined : result.reason).toBe(reason)
  })

  it('gives unlisted hosts the default labels', () => {
    const request = makeRequestSpec({ flavor: { extraSpecs: { 'acme:labels': 'ssd' } } })
    expect(runFilter(AcmeLabelFilter, makeHostState({ host: 'other' }), request, { options: { hostLabels: {}, defaultLabels: ['ssd'] } }).passed).toBe(true)
  })

  it('applies only to flavors that ask for labels, and then keeps the appliesTo contract', () => {
    const hosts = ['fast-1', 'slow-1', 'unknown'].map((host) => makeHostState({ host }))
    const ctx = { options, state: undefined, instanceUuid: null, instanceIndex: 0 }
    for (const extraSpecs of [{}, { 'acme:labels': ' , ' }, { 'acme:other': 'ssd' }]) {
      const request = makeRequestSpec({ flavor: { extraSpecs } })
      expect(AcmeLabelFilter.appliesTo?.(request, ctx)).toBe(false)
      expect(appliesToViolations(AcmeLabelFilter, hosts, request, { options })).toEqual([])
    }
    expect(AcmeLabelFilter.appliesTo?.(makeRequestSpec({ flavor: { extraSpecs: { 'acme:labels': 'ssd' } } }), ctx)).toBe(true)
  })

  it('declares an options schema that ajv-style validation can enforce', () => {
    expect(AcmeLabelFilter.optionsSchema).toMatchObject({ required: ['hostLabels'], additionalProperties: false })
    expect(AcmeLabelFilter.runOncePerRequest).toBe(true)
  })
})
