import { createAdminContext, SchedulerManager } from '../../src/index.js'
import { makeRequestSpec } from '../../src/testing/index.js'
import { EveryHostPlacement, makeHosts, MemoryHostStates } from '../scheduler.js'

const ctx = createAdminContext('x')
let seq = 0
const n = Number(process.argv[2] ?? 5000)
const hosts = makeHosts(n)
const s = new SchedulerManager({ placement: new EveryHostPlacement(hosts), hostStates: new MemoryHostStates(hosts), config: { explain: process.argv[3] !== 'off', maxPlacementResults: n } })
const t0 = performance.now()
let runs = 0
while (performance.now() - t0 < 5000) {
  await s.selectDestinations(ctx, makeRequestSpec({ instanceUuids: ['00000000-0000-4000-8000-' + (++seq).toString(16).padStart(12, '0')] }), { returnAlternates: true })
  runs++
}
console.log(runs / 5, 'per s')
