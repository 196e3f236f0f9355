import { describe, expect, it } from 'vitest'
import { validatePluginOptions } from '@novum/core/testing'
import { AcmeCostWeigher, AcmeLabelFilter } from './index.js'

/* The options are validated once, at start-up, by ajv against each plugin's schema; this is what the deployer sees. */
describe('plugin options', () => {
  it.each([
    { plugin: AcmeLabelFilter, given: { hostLabels: { 'compute-2': ['ssd'] } }, valid: { hostLabels: { 'compute-2': ['ssd'] }, defaultLabels: [] } },
    { plugin: AcmeLabelFilter, given: undefined, valid: { hostLabels: {}, defaultLabels: [] } }, // its defaultOptions
    { plugin: AcmeCostWeigher, given: { hourlyCost: { 'compute-1': 2 } }, valid: { hourlyCost: { 'compute-1': 2 }, defaultCost: 1 } },
    { plugin: AcmeCostWeigher, given: {}, valid: { hourlyCost: {}, defaultCost: 1 } },
  ])('$plugin.name accepts $given', ({ plugin, given, valid }) => {
    expect(validatePluginOptions(plugin as never, given)).toEqual(valid)
  })

  it.each([
    { plugin: AcmeLabelFilter, given: {}, text: 'invalid options for scheduler plugin "AcmeLabelFilter": options must have required property \'hostLabels\'' },
    { plugin: AcmeLabelFilter, given: { hostLabels: { h: ['Not Valid'] } }, text: 'options/hostLabels/h/0 must match pattern' },
    { plugin: AcmeLabelFilter, given: { hostLabels: {}, defaultLabels: ['ssd', 'ssd'] }, text: 'options/defaultLabels must NOT have duplicate items' },
    { plugin: AcmeCostWeigher, given: { hourlyCost: { h: -1 } }, text: 'options/hourlyCost/h must be >= 0' },
    { plugin: AcmeCostWeigher, given: { currency: 'EUR' }, text: 'options must NOT have additional properties' },
  ])('$plugin.name refuses $given', ({ plugin, given, text }) => {
    expect(() => validatePluginOptions(plugin as never, given)).toThrow(text)
  })
})
