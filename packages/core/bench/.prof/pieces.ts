import { prepareFilters, prepareWeighers, runFilters, weighTable, createSchedulerProfile, createInTreeRegistry, Ranking } from '../../src/index.js'
import { makeRequestSpec } from '../../src/testing/index.js'
import { EveryHostPlacement, makeHosts } from '../scheduler.js'

const n = 5000
const hosts = makeHosts(n)
const placement = new EveryHostPlacement(hosts)
const cands = await placement.getAllocationCandidates({ groups: [] })
const request = makeRequestSpec()
const profile = createSchedulerProfile(createInTreeRegistry())
const filters = await prepareFilters(profile.filters, request)
const weighers = await prepareWeighers(profile.weighers, request)
const time = (label: string, f: () => unknown) => {
  for (let i = 0; i < 50; i++) f()
  const t0 = performance.now()
  for (let i = 0; i < 200; i++) f()
  console.log(label, ((performance.now() - t0) / 200).toFixed(3), 'ms')
}
time('byRoot', () => {
  const byRoot = new Map()
  const summaries = cands.providerSummaries
  for (const ar of cands.allocationRequests) {
    let root
    for (const provider in ar.allocations) { root = summaries[provider]?.rootProviderUuid ?? provider; break }
    if (root !== undefined && !byRoot.has(root)) byRoot.set(root, ar)
  }
})
time('byRoot keys', () => {
  const byRoot = new Map()
  const summaries = cands.providerSummaries
  for (const ar of cands.allocationRequests) {
    const provider = Object.keys(ar.allocations)[0]!
    const root = summaries[provider]?.rootProviderUuid ?? provider
    if (!byRoot.has(root)) byRoot.set(root, ar)
  }
})
time('traits', () => new Map(hosts.map((h) => [h.uuid, cands.providerSummaries[h.uuid]?.traits ?? []])))
time('filters', () => runFilters(filters, hosts, request, { instanceUuid: 'x', instanceIndex: 0 }, { recordVerdicts: false }))
const passed = runFilters(filters, hosts, request, { instanceUuid: 'x', instanceIndex: 0 }, { recordVerdicts: false }).passed
time('weigh', () => weighTable(weighers, passed, request, { instanceUuid: 'x', instanceIndex: 0 }))
const t = weighTable(weighers, passed, request, { instanceUuid: 'x', instanceIndex: 0 })
time('rank', () => new Ranking(t.totals).first(50))
time('map', () => passed.map((h) => (h.uuid === 'zz' ? h : h)))
for (const w of weighers) time('w ' + w.plugin.name, () => weighTable([w], passed, request, { instanceUuid: 'x', instanceIndex: 0 }))
for (const f of filters) time('f ' + f.plugin.name, () => runFilters([f], hosts, request, { instanceUuid: 'x', instanceIndex: 0 }, { recordVerdicts: false }))
