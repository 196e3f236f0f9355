import { makeHosts, EveryHostPlacement } from '../scheduler.js'
const n = Number(process.argv[2] ?? 5000)
const hosts = makeHosts(n)
const cands = await new EveryHostPlacement(hosts).getAllocationCandidates({ groups: [] })
const time = (label: string, f: () => unknown) => {
  for (let i = 0; i < 50; i++) f()
  const t0 = performance.now()
  for (let i = 0; i < 300; i++) f()
  console.log(label, ((performance.now() - t0) / 300).toFixed(3), 'ms')
}
const summaries = cands.providerSummaries
time('summary lookup only', () => { let c = 0; for (const ar of cands.allocationRequests) { for (const p in ar.allocations) { if (summaries[p]) c++; break } } return c })
time('for-in only', () => { let c = 0; for (const ar of cands.allocationRequests) { for (const p in ar.allocations) { c += p.length; break } } return c })
time('keys only', () => { let c = 0; for (const ar of cands.allocationRequests) { c += Object.keys(ar.allocations)[0]!.length } return c })
time('map set only', () => { const m = new Map(); for (const h of hosts) m.set(h.uuid, h); return m })
time('map has+set', () => { const m = new Map(); for (const h of hosts) if (!m.has(h.uuid)) m.set(h.uuid, h); return m })
time('mappings', () => { let c = 0; for (const ar of cands.allocationRequests) { c += ar.mappings['']![0]!.length } return c })
