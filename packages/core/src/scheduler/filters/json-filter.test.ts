import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runFilter } from '../../testing/scheduler-fixtures.js'
import { JsonFilter } from './json-filter.js'

const host = makeHostState({ host: 'h1', freeRamMb: 2048, freeDiskMb: 10_240, numInstances: 3, stats: { num_instances: '3' }, metrics: { 'cpu.percent': 0.5 } })
const query = (q: unknown) => makeRequestSpec({ schedulerHints: { query: [JSON.stringify(q)] } })

describe(JsonFilter.name, () => {
  it.each([
    { q: ['>=', '$free_ram_mb', 1024], passes: true },
    { q: ['>=', '$free_ram_mb', 4096], passes: false },
    { q: ['<', '$num_instances', 4], passes: true },
    { q: ['=', '$host', 'h1'], passes: true },
    { q: ['in', '$host', 'h2', 'h3'], passes: false },
    { q: ['in', '$host', 'h1', 'h3'], passes: true },
    { q: ['and', ['>=', '$free_ram_mb', 1024], ['>=', '$free_disk_mb', 200 * 1024]], passes: false },
    { q: ['or', ['>=', '$free_ram_mb', 4096], ['>=', '$free_disk_mb', 1024]], passes: true },
    { q: ['not', ['=', '$host', 'h1']], passes: false },
    { q: ['=', '$stats.num_instances', '3'], passes: true },
    { q: ['<', '$metrics.cpu.percent', 0.9], passes: true },
    { q: ['>=', '$no_such_attribute', 1], passes: false },
    { q: ['<', '$host', 5], passes: false },
    { q: [], passes: true },
  ])('$q → passes=$passes', ({ q, passes }) => {
    expect(runFilter(JsonFilter, host, query(q)).passed).toBe(passes)
  })

  it.each([
    { hint: 'not json', reason: /^the query hint is not JSON/ },
    { hint: '{"a":1}', reason: /^the query hint must be a JSON list/ },
    { hint: '["~", 1, 2]', reason: /^unknown JsonFilter operator "~"/ },
  ])('rejects every host, as unresolvable, for the hint $hint', ({ hint, reason }) => {
    const result = runFilter(JsonFilter, host, makeRequestSpec({ schedulerHints: { query: [hint] } }))
    expect(result.passed).toBe(false)
    expect(result.passed ? null : [result.unresolvable, reason.test(result.reason)]).toEqual([true, true])
  })

  it('passes every host without a query hint and parses the hint once in prepare', async () => {
    expect(runFilter(JsonFilter, host, makeRequestSpec()).passed).toBe(true)
    const state = await JsonFilter.prepare?.(query(['=', 1, 1]), { options: undefined })
    expect(state).toEqual({ query: ['=', 1, 1] })
    expect(runFilter(JsonFilter, host, makeRequestSpec(), { state }).passed).toBe(true)
  })
})
