import { LibvirtClient } from '../src/protocol/client.js'
const t0 = performance.now()
const c = await LibvirtClient.connect({ uri: 'qemu:///system' })
console.log('connect', (performance.now()-t0).toFixed(1))
console.log(await c.call('CONNECT_GET_VERSION'), await c.call('CONNECT_GET_HOSTNAME'), await c.call('NODE_GET_INFO'))
console.log(await c.call('CONNECT_LIST_ALL_DOMAINS', { need_results: 1, flags: 0 }))
try { await c.call('DOMAIN_LOOKUP_BY_NAME', { name: 'nope' }) } catch (e) { console.log(e.name, e.message, e.details) }
const t1 = performance.now(); for (let i=0;i<1000;i++) await c.call('CONNECT_GET_VERSION'); console.log('per call ms', ((performance.now()-t1)/1000).toFixed(3))
const t2 = performance.now(); await Promise.all(Array.from({length:1000}, () => c.call('CONNECT_GET_VERSION'))); console.log('pipelined per call ms', ((performance.now()-t2)/1000).toFixed(3))
await c.close(); console.log('closed', c.isOpen)
