import { makeHosts, EveryHostPlacement } from '../scheduler.js'
const n = Number(process.argv[2] ?? 1000)
const hosts = makeHosts(n)
const cands = await new EveryHostPlacement(hosts).getAllocationCandidates({ groups: [], limit: n })
const time = (label: string, f: () => unknown) => {
  for (let i = 0; i < 300; i++) f()
  const t0 = performance.now()
  for (let i = 0; i < 2000; i++) f()
  console.log(label, ((performance.now() - t0) / 2000 * 1000).toFixed(1), 'µs')
}
const summaries = cands.providerSummaries
time('current', () => {
  const byRoot = new Map()
  for (const ar of cands.allocationRequests) {
    let root
    for (const provider in ar.allocations) { root = summaries[provider]?.rootProviderUuid ?? provider; break }
    if (root !== undefined && !byRoot.has(root)) byRoot.set(root, ar)
  }
  return byRoot
})
time('keys+map', () => {
  const byRoot = new Map()
  for (const ar of cands.allocationRequests) {
    const p = Object.keys(ar.allocations)[0]!
    const root = summaries[p]?.rootProviderUuid ?? p
    if (!byRoot.has(root)) byRoot.set(root, ar)
  }
  return byRoot
})
time('keys+set+arrays', () => {
  const seen = new Set(); const roots = []; const ars = []
  for (const ar of cands.allocationRequests) {
    const p = Object.keys(ar.allocations)[0]!
    const root = summaries[p]?.rootProviderUuid ?? p
    if (seen.has(root)) continue
    seen.add(root); roots.push(root); ars.push(ar)
  }
  return roots
})
time('no summary, map', () => {
  const byRoot = new Map()
  for (const ar of cands.allocationRequests) {
    const p = Object.keys(ar.allocations)[0]!
    if (!byRoot.has(p)) byRoot.set(p, ar)
  }
  return byRoot
})
time('summary only', () => { let c = 0; for (const ar of cands.allocationRequests) { const p = Object.keys(ar.allocations)[0]!; if (summaries[p]?.rootProviderUuid === p) c++ } return c })
