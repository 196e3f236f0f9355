import { createTestDatabase } from '../testing/test-databases.js'
import { PlacementService } from '../placement/placement-service.js'
import { seedHost } from './seed-hosts.test-helper.js'
const tdb = await createTestDatabase((process.argv[2] ?? 'sqlite') as 'sqlite')
const db = tdb.db
const placement = new PlacementService(tdb.db)
for (let i = 0; i < 1000; i++) await seedHost(tdb.db, placement, { host: `h${i}`, traits: ['HW_CPU_X86_AVX2', 'COMPUTE_NET_ATTACH_INTERFACE', 'HW_CPU_X86_SSE42'] })
const list = (await db.selectFrom('compute_nodes').select('uuid').execute()).map((r) => r.uuid)
async function time(label: string, f: () => Promise<unknown> | unknown) {
  for (let i = 0; i < 5; i++) await f()
  const t: number[] = []
  for (let i = 0; i < 20; i++) { const t0 = performance.now(); await f(); t.push(performance.now() - t0) }
  t.sort((a, b) => a - b)
  console.log(label.padEnd(30), t[10]!.toFixed(2), 'ms')
}
const hostsOf = db.selectFrom('compute_nodes').select('host').where('uuid', 'in', list).where('deleted_at', 'is', null)
await time('nodes selectAll', () => db.selectFrom('compute_nodes').selectAll().where('uuid', 'in', list).where('deleted_at', 'is', null).execute())
await time('nodes uuid+updated', () => db.selectFrom('compute_nodes').select(['uuid', 'updated_at']).where('uuid', 'in', list).execute())
await time('services', () => db.selectFrom('services').select(['id', 'host', 'binary', 'disabled', 'disabled_reason', 'forced_down', 'last_seen_up', 'updated_at', 'created_at']).where('deleted_at', 'is', null).where((eb) => eb.or([eb('id', 'in', db.selectFrom('compute_nodes').select('service_id').where('uuid', 'in', list)), eb.and([eb('binary', '=', 'nova-compute'), eb('host', 'in', hostsOf)])])).execute())
await time('aggregates', () => db.selectFrom('aggregate_hosts as ah').innerJoin('aggregates as a', 'a.id', 'ah.aggregate_id').select(['ah.host', 'a.id']).where('ah.host', 'in', hostsOf).execute())
await time('instances', () => db.selectFrom('instances').select(['uuid', 'host', 'node']).where('host', 'in', hostsOf).where('deleted', '=', 0).execute())
await time('traits', () => db.selectFrom('resource_providers as rp').innerJoin('resource_provider_traits as rpt', 'rpt.resource_provider_id', 'rp.id').innerJoin('traits as t', 't.id', 'rpt.trait_id').select(['rp.uuid', 't.name']).where('rp.uuid', 'in', list).execute())
await tdb.destroy()
