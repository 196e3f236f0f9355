import Database from 'better-sqlite3'
const probe = new Database(':memory:'); const Stmt = Object.getPrototypeOf(probe.prepare('select 1'))
let sqlMs = 0; let on = false
for (const m of ['run', 'all', 'get']) { const orig = Stmt[m]; Stmt[m] = function (...a: unknown[]) { const t = performance.now(); try { return orig.apply(this, a) } finally { if (on) sqlMs += performance.now() - t } } }
const extra = (process.env.PRAGMAS ?? '').split(';').filter(Boolean)
const origPragma = Database.prototype.pragma
let applied = false
Database.prototype.pragma = function (this: any, s: string, o?: any) { const r = origPragma.call(this, s, o); if (!applied && s.startsWith('foreign_keys')) { applied = true; for (const p of extra) origPragma.call(this, p) } return r }
const { createDeployment, createAdminContext, createDatabase } = await import('@novum/core')
const { FakeVirtDriver } = await import('@novum/core/testing')
const db = createDatabase({ kind: 'sqlite', filename: '/tmp/count.sqlite' })
const d = createDeployment({ database: { kind: 'handle', db }, computeHosts: [1,2,3,4].map(i => ({ host: `c${i}`, driver: new FakeVirtDriver({ hostname: `c${i}` }) })) })
await d.start()
const api = d.api
const { project, user } = await api.identity.bootstrap({ adminUser: 'admin', adminPassword: 'pw' })
await api.flavors.ensureDefaultFlavors(); const img = await api.images.ensureDefaultImage()
const ctx = { ...createAdminContext(), projectId: project.id, userId: user.id }
await api.quotas.update(ctx, project.id, { instances: -1, cores: -1, ram: -1 })
const N = 300; on = true
const t0 = performance.now(); const ids: string[] = []
await Promise.all(Array.from({ length: 10 }, async (_, c) => { for (let i = 0; i < N / 10; i++) ids.push((await api.computeApi.createServers(ctx, { name: `s${c}-${i}`, flavorRef: '1', imageRef: img.id, networks: 'none' })).instances[0]!.uuid) }))
for (;;) { const l = await Promise.all(ids.map(id => api.computeApi.getServer(ctx, id))); if (l.every(s => s.vmState === 'active')) break; await new Promise(r => setTimeout(r, 20)) }
on = false
const wall = performance.now() - t0
console.log((process.env.PRAGMAS || 'default').padEnd(60), 'boots/s', (N / wall * 1000).toFixed(0), 'sql ms/boot', (sqlMs / N).toFixed(2))
await d.stop()
