import { mkdtempSync, chmodSync } from 'node:fs'
import { makeInstance } from '@novum/core/testing'
import { LibvirtDriver } from '../src/index.js'
import { testGuestImage, testGuestImageSource, waitForConsole, GUEST_MARKER, destroyDomainsWithPrefix } from '../src/testing/test-guest.js'
const L: any = { trace(){}, debug(){}, info: (...a: any[]) => console.log('INFO', ...a.map((x: any) => typeof x === 'string' ? x : '')), warn: (...a: any[]) => console.log('WARN', ...a), error: (...a: any[]) => console.log('ERR', ...a), child: () => L }
const dir = mkdtempSync('/var/tmp/novum-smoke-'); chmodSync(dir, 0o755)
console.log('cleanup', await destroyDomainsWithPrefix('novumsmoke-'))
const d = new LibvirtDriver({ instancesPath: dir, images: testGuestImageSource(), namePrefix: 'novumsmoke-', logger: L, shutdownRetryIntervalSec: 2 })
d.events().subscribe((e) => console.log('EVENT', e.transition, e.instanceUuid.slice(0,8)))
await d.init()

const inst = makeInstance({ instanceName: 'instance-smoke1', flavor: { vcpus: 1, memoryMb: 256, rootGb: 1, ephemeralGb: 0 } as any })
const t0 = performance.now()
await d.spawn(inst, testGuestImage(), {})
console.log('spawn ms', performance.now() - t0, await d.getInfo(inst))
const out = await waitForConsole(() => d.getConsoleOutput(inst), GUEST_MARKER)
console.log('marker after', performance.now() - t0, out)
let t = performance.now(); await d.reboot(inst, 'SOFT'); console.log('soft reboot ms', performance.now() - t)
await waitForConsole(() => d.getConsoleOutput(inst), GUEST_MARKER, { count: 2 }); console.log('marker 2 after', performance.now() - t)
t = performance.now(); await d.suspend(inst); console.log('suspend', performance.now() - t, await d.getInfo(inst))
t = performance.now(); await d.resume(inst); console.log('resume', performance.now() - t, await d.getInfo(inst))
t = performance.now(); await d.powerOff(inst); console.log('poweroff', performance.now() - t, await d.getInfo(inst))
t = performance.now(); await d.destroy(inst); console.log('destroy', performance.now() - t, await d.instanceExists(inst))
await d.close()
