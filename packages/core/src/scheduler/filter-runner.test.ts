import { describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { makeHostState, makeRequestSpec } from '../testing/scheduler-fixtures.js'
import { defineFilter, pass, reject } from './filter.js'
import { type PreparedFilter, prepareFilters, runFilters } from './filter-runner.js'
import type { AnyHostFilter } from './registry.js'

const OddHosts = defineFilter({ name: 'OddHosts', filter: (h) => (Number(h.host.slice(1)) % 2 ? pass() : reject(`host ${h.host} is even`)) })
const Once = defineFilter({ name: 'Once', runOncePerRequest: true, filter: () => reject('always') })
const OnRebuild = defineFilter({ name: 'OnRebuild', runOnRebuild: true, filter: () => pass() })
const prepared = (...filters: AnyHostFilter[]): PreparedFilter[] => filters.map((plugin) => ({ plugin, options: undefined, state: undefined }))

describe(runFilters.name, () => {
  const hosts = [1, 2, 3].map((n) => makeHostState({ host: `h${n}` }))

  it('keeps passing hosts in order and records which filter rejected the others, and why', () => {
    const result = runFilters(prepared(OddHosts, OnRebuild), hosts, makeRequestSpec(), { instanceUuid: 'i', instanceIndex: 0 })
    expect(result.passed.map((h) => h.host)).toEqual(['h1', 'h3'])
    expect(result.rejections).toEqual([{ host: 'h2', nodename: 'h2', uuid: hosts[1]?.uuid, by: 'OddHosts', reason: 'host h2 is even' }])
    expect(result.verdicts.get(hosts[1]?.uuid as string)).toEqual([{ filter: 'OddHosts', passed: false, reason: 'host h2 is even' }])
    expect(result.verdicts.get(hosts[0]?.uuid as string)).toEqual([{ filter: 'OddHosts', passed: true }, { filter: 'OnRebuild', passed: true }])
  })

  it.each([
    { instanceIndex: 0, isRebuild: false, passed: 0 },
    { instanceIndex: 1, isRebuild: false, passed: 3 },
    { instanceIndex: 0, isRebuild: true, passed: 3 },
  ])('runOncePerRequest / runOnRebuild: index $instanceIndex, rebuild $isRebuild → $passed pass', ({ instanceIndex, isRebuild, passed }) => {
    const result = runFilters(prepared(Once, OnRebuild), hosts, makeRequestSpec({ isRebuild }), { instanceUuid: null, instanceIndex })
    expect(result.passed).toHaveLength(passed)
  })

  it.each([
    { filter: defineFilter({ name: 'Throws', filter: () => { throw new TypeError('bad') } }), text: 'scheduler plugin "Throws" failed on host h1: bad' },
    { filter: defineFilter({ name: 'Returns', filter: () => true as never }), text: 'scheduler plugin "Returns" returned true on host h1 instead of pass() or reject()' },
  ])('turns a misbehaving plugin into ComputeError PLUGIN: $text', ({ filter, text }) => {
    let error: unknown
    try {
      runFilters(prepared(filter), hosts, makeRequestSpec(), { instanceUuid: null, instanceIndex: 0 })
    } catch (err) {
      error = err
    }
    expect(ComputeError.is(error, 'PLUGIN')).toBe(true)
    expect((error as Error).message).toBe(text)
  })

  it('runs prepare once per request and hands its result to filter as ctx.state', async () => {
    let calls = 0
    const WithState = defineFilter<undefined, string>({
      name: 'WithState',
      prepare: () => (calls++, 'h3'),
      filter: (h, _r, { state }) => (h.host === state ? pass() : reject(`not ${state}`)),
    })
    const filters = await prepareFilters([{ plugin: WithState, options: undefined }], makeRequestSpec())
    const result = runFilters(filters, hosts, makeRequestSpec(), { instanceUuid: null, instanceIndex: 0 })
    expect(calls).toBe(1)
    expect(result.passed.map((h) => h.host)).toEqual(['h3'])
  })

  it('skips a filter whose appliesTo answers false: it never runs and is listed as not applicable', () => {
    let calls = 0
    const Grouped = defineFilter({
      name: 'Grouped',
      appliesTo: (request) => request.instanceGroup !== null,
      filter: () => (calls++, reject('never reached without a group')),
    })
    const skipped = runFilters(prepared(Grouped, OddHosts), hosts, makeRequestSpec({ instanceGroup: null }), { instanceUuid: null, instanceIndex: 0 })
    expect(skipped).toMatchObject({ ran: ['OddHosts'], notApplicable: ['Grouped'] })
    expect(skipped.passed.map((h) => h.host)).toEqual(['h1', 'h3'])
    expect(calls).toBe(0)
    const applied = runFilters(prepared(Grouped), hosts, makeRequestSpec({ instanceGroup: { policy: 'affinity' } }), { instanceUuid: null, instanceIndex: 0 })
    expect(applied).toMatchObject({ ran: ['Grouped'], notApplicable: [], passed: [] })
    expect(calls).toBe(3)
  })

  it.each([
    { appliesTo: () => 'yes' as never, text: 'scheduler plugin "Odd" appliesTo returned "yes" instead of a boolean' },
    { appliesTo: (): boolean => { throw new Error('boom') }, text: 'scheduler plugin "Odd" appliesTo failed: boom' },
  ])('fails with PLUGIN when appliesTo misbehaves: $text', ({ appliesTo, text }) => {
    const Odd = defineFilter({ name: 'Odd', appliesTo, filter: () => pass() })
    expect(() => runFilters(prepared(Odd), hosts, makeRequestSpec(), { instanceUuid: null, instanceIndex: 0 })).toThrow(expect.objectContaining({ code: 'PLUGIN', message: text }) as ComputeError)
  })
})
