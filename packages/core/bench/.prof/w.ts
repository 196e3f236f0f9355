import { prepareWeighers, weighTable, createSchedulerProfile, createInTreeRegistry, RamWeigher } from '../../src/index.js'
import { makeRequestSpec } from '../../src/testing/index.js'
import { makeHosts } from '../scheduler.js'
const n = 1000
const hosts = makeHosts(n)
const request = makeRequestSpec()
const profile = createSchedulerProfile(createInTreeRegistry())
const weighers = (await prepareWeighers(profile.weighers, request))
const time = (label: string, f: () => unknown, reps = 2000) => {
  for (let i = 0; i < 200; i++) f()
  const t0 = performance.now()
  for (let i = 0; i < reps; i++) f()
  console.log(label, ((performance.now() - t0) / reps * 1000).toFixed(1), 'µs')
}
const ctx = { instanceUuid: 'x', instanceIndex: 0 }
time('weighTable all', () => weighTable(weighers, hosts, request, ctx))
time('ram only table', () => weighTable([weighers[0]!], hosts, request, ctx))
const c = { options: undefined, state: undefined, instanceUuid: 'x', instanceIndex: 0 }
time('ram raw loop', () => { const a = new Float64Array(n); for (let i = 0; i < n; i++) a[i] = RamWeigher.weigh(hosts[i]!, request, c); return a })

time('3 alloc', () => { for (const w of weighers) { new Float64Array(n); new Float64Array(n); new Float64Array(n) } })
