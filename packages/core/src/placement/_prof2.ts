import Database from 'better-sqlite3'
const db = new Database(':memory:')
db.exec('create table inv (id integer primary key, rp integer, rc text, total integer, reserved integer, min_unit integer, max_unit integer, step integer, ratio real, created_at text, updated_at text)')
const ins = db.prepare('insert into inv (rp, rc, total, reserved, min_unit, max_unit, step, ratio, created_at) values (?,?,?,?,?,?,?,?,?)')
for (let i = 0; i < 3000; i++) ins.run(i, 'VCPU', 1, 0, 1, 1, 1, 1.0, 'x')
const st = db.prepare('select * from inv')
for (let k = 0; k < 5; k++) st.all()
let t0 = performance.now()
for (let k = 0; k < 50; k++) st.all()
console.log('all', ((performance.now() - t0) / 50).toFixed(2))
const st2 = db.prepare('select * from inv').raw(true)
t0 = performance.now()
for (let k = 0; k < 50; k++) st2.all()
console.log('raw', ((performance.now() - t0) / 50).toFixed(2))
let x = 0
t0 = performance.now()
for (let k = 0; k < 50; k++) for (const r of st.iterate()) x++
console.log('iterate', ((performance.now() - t0) / 50).toFixed(2))
