import { createAdminContext, SchedulerManager } from '../../src/index.js'
import { profDump } from '../../src/scheduler/scheduler-manager.js'
import { makeRequestSpec } from '../../src/testing/index.js'
import { EveryHostPlacement, makeHosts, MemoryHostStates } from '../scheduler.js'
const ctx = createAdminContext('x')
let seq = 0
const n = Number(process.argv[2] ?? 5000)
const hosts = makeHosts(n)
const s = new SchedulerManager({ placement: new EveryHostPlacement(hosts), hostStates: new MemoryHostStates(hosts), config: { explain: process.argv[3] !== 'off', maxPlacementResults: Number(process.argv[4] ?? n) } })
let runs = 0
const t0 = performance.now()
while (performance.now() - t0 < 4000) {
  await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: ['00000000-0000-4000-8000-' + (++seq).toString(16).padStart(12, '0')] }), { returnAlternates: true })
  runs++
}
console.log(runs, Object.fromEntries(Object.entries(profDump()).map(([k, v]) => [k, +(v / runs).toFixed(3)])))
