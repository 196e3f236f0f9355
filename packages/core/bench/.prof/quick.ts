import bench from '../scheduler.js'
// only the in-process part: run the whole thing but it is fine
await bench.run({ rootDir: '/work/main', log: (m) => console.error(m) })
