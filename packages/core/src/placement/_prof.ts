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
const raw = (db.getExecutor() as any)
async function time(label: string, f: () => Promise<unknown>) {
  for (let i = 0; i < 5; i++) await f()
  const t0 = performance.now(); let r: any
  for (let i = 0; i < 20; i++) r = await f()
  console.log(label, ((performance.now() - t0) / 20).toFixed(2), 'ms', Array.isArray(r) ? r.length : r?.rows?.length)
}
await time('derived usage join', () => sql`select i.resource_provider_id as id, rp.uuid, rp.root_provider_id, r.uuid as ru, i.resource_class, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, i.allocation_ratio, u.used from inventories i join resource_providers rp on rp.id = i.resource_provider_id join resource_providers r on r.id = rp.root_provider_id left join (select resource_provider_id, resource_class, sum(used) as used from allocations where resource_class in ('VCPU','MEMORY_MB','DISK_GB') group by resource_provider_id, resource_class) u on u.resource_provider_id = i.resource_provider_id and u.resource_class = i.resource_class where i.resource_class in ('VCPU','MEMORY_MB','DISK_GB')`.execute(db))
await time('correlated usage', () => sql`select i.resource_provider_id as id, rp.uuid, rp.root_provider_id, i.resource_class, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, i.allocation_ratio, (select sum(used) from allocations a where a.resource_provider_id = i.resource_provider_id and a.resource_class = i.resource_class) as used from inventories i join resource_providers rp on rp.id = i.resource_provider_id where i.resource_class in ('VCPU','MEMORY_MB','DISK_GB')`.execute(db))
await time('usage group only', () => sql`select resource_provider_id, resource_class, sum(used) as used from allocations group by resource_provider_id, resource_class`.execute(db))
await time('inventories only', () => sql`select * from inventories`.execute(db))
await time('providers only', () => sql`select id, uuid, root_provider_id from resource_providers`.execute(db))
await time('explain qp', () => sql`explain query plan select i.resource_provider_id as id, rp.uuid, rp.root_provider_id, r.uuid as ru, i.resource_class, i.total, u.used from inventories i join resource_providers rp on rp.id = i.resource_provider_id join resource_providers r on r.id = rp.root_provider_id left join (select resource_provider_id, resource_class, sum(used) as used from allocations where resource_class in ('VCPU','MEMORY_MB','DISK_GB') group by resource_provider_id, resource_class) u on u.resource_provider_id = i.resource_provider_id and u.resource_class = i.resource_class where i.resource_class in ('VCPU','MEMORY_MB','DISK_GB')`.execute(db).then(r => { console.log(r.rows); return r }))
await tdb.destroy()
