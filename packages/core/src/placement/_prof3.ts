import { createTestDatabase } from '../testing/test-databases.js'
import { sql } from 'kysely'
const tdb = await createTestDatabase('sqlite')
const db = tdb.db
const now = new Date().toISOString()
await db.insertInto('resource_providers').values(Array.from({ length: 1000 }, (_, k) => ({ uuid: crypto.randomUUID(), name: `n-${k}`, generation: 1, root_provider_id: null, parent_provider_id: null, created_at: now, updated_at: null }))).execute()
await db.updateTable('resource_providers').set((eb) => ({ root_provider_id: eb.ref('id') })).execute()
const ids = (await db.selectFrom('resource_providers').select('id').execute()).map(r => r.id)
const inv = (id: number, rc: string, total: number) => ({ resource_provider_id: id, resource_class: rc, total, reserved: 0, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio: 1, created_at: now, updated_at: null })
for (let i = 0; i < 1000; i += 100) {
  const part = ids.slice(i, i + 100)
  await db.insertInto('inventories').values(part.flatMap(id => [inv(id,'VCPU',512), inv(id,'MEMORY_MB',200000), inv(id,'DISK_GB',2000)])).execute()
  await db.insertInto('allocations').values(part.flatMap(id => Array.from({length: 5}, () => { const c = crypto.randomUUID(); return ['VCPU','MEMORY_MB','DISK_GB'].map(rc => ({ resource_provider_id: id, consumer_id: c, resource_class: rc, used: 2, created_at: now, updated_at: null })) }).flat())).execute()
}
async function time(label: string, q: any) {
  for (let i = 0; i < 5; i++) await q.execute(db)
  const t0 = performance.now(); let r: any
  for (let i = 0; i < 30; i++) r = await q.execute(db)
  console.log(label.padEnd(40), ((performance.now() - t0) / 30).toFixed(2), 'ms rows', r.rows.length)
}
const fit = sql`coalesce((select sum(a.used) from allocations a where a.resource_provider_id = i.resource_provider_id and a.resource_class = i.resource_class), 0) + 2 <= (i.total - i.reserved) * i.allocation_ratio`
await time('a) 3000x3 no usage', sql`select i.resource_provider_id, i.resource_class, i.total from inventories i where i.resource_class in ('VCPU','MEMORY_MB','DISK_GB')`)
await time('b) 3000x3 with usage fit', sql`select i.resource_provider_id, rp.root_provider_id, i.resource_class from inventories i join resource_providers rp on rp.id = i.resource_provider_id where i.resource_class in ('VCPU','MEMORY_MB','DISK_GB') and ${fit}`)
await time('c) group_concat per provider', sql`select i.resource_provider_id, rp.root_provider_id, group_concat(i.resource_class) from inventories i join resource_providers rp on rp.id = i.resource_provider_id where i.resource_class in ('VCPU','MEMORY_MB','DISK_GB') and ${fit} group by i.resource_provider_id`)
await time('d) sum usage grouped', sql`select resource_provider_id, resource_class, sum(used) from allocations group by resource_provider_id, resource_class`)
await time('e) traits 0 rows', sql`select 1 from resource_provider_traits rpt join traits t on t.id = rpt.trait_id where t.name in ('COMPUTE_STATUS_DISABLED')`)
await sql`create index alloc_cover on allocations (resource_provider_id, resource_class, used)`.execute(db)
await time('b2) with covering index', sql`select i.resource_provider_id, rp.root_provider_id, i.resource_class from inventories i join resource_providers rp on rp.id = i.resource_provider_id where i.resource_class in ('VCPU','MEMORY_MB','DISK_GB') and ${fit}`)
await time('c2) group_concat covering', sql`select i.resource_provider_id, rp.root_provider_id, group_concat(i.resource_class) from inventories i join resource_providers rp on rp.id = i.resource_provider_id where i.resource_class in ('VCPU','MEMORY_MB','DISK_GB') and ${fit} group by i.resource_provider_id`)
await time('d2) sum usage grouped covering', sql`select resource_provider_id, resource_class, sum(used) from allocations group by resource_provider_id, resource_class`)
await time('f) providers uuids 1000', sql`select id, uuid from resource_providers`)
await time('g) exists-per-class providers', sql`select rp.id, rp.uuid from resource_providers rp where exists (select 1 from inventories i where i.resource_provider_id = rp.id and i.resource_class = 'VCPU' and ${fit}) and exists (select 1 from inventories i where i.resource_provider_id = rp.id and i.resource_class = 'MEMORY_MB' and ${fit}) and exists (select 1 from inventories i where i.resource_provider_id = rp.id and i.resource_class = 'DISK_GB' and ${fit})`)
await tdb.destroy()
