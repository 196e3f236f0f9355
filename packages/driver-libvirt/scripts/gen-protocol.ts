/**
 * Generates src/protocol/generated/ from libvirt's protocol definitions in a libvirt source tree (not kept in this
 * repository; e.g. `apt-get source libvirt` on Debian bookworm gives libvirt 9.0.0), read from
 * `<libvirt-src>/src/remote/remote_protocol.x` and `<libvirt-src>/include/libvirt/virterror.h`:
 *
 * - `remote-protocol.ts`: every constant and procedure number of `remote_protocol.x`, plus interfaces and XDR codecs
 *   for the procedures listed in {@link PROCEDURES} (and every type they reach);
 * - `virterror.ts`: the error code and error domain names of `virterror.h`.
 *
 * Usage: `pnpm --filter @novum/driver-libvirt gen:protocol -- --libvirt-src <dir>` (add `--check` to exit 1 when the
 * committed files differ).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderProtocolFiles } from '../src/protocol/generate.js'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const srcArg = process.argv.indexOf('--libvirt-src')
const libvirtSrc = srcArg >= 0 ? process.argv[srcArg + 1] : process.env['LIBVIRT_SRC']
if (!libvirtSrc) {
  console.error('usage: gen-protocol --libvirt-src <libvirt source tree> [--check]   (or LIBVIRT_SRC=<dir>)')
  process.exit(2)
}
const SOURCES: Record<string, string> = {
  'remote_protocol.x': join('src', 'remote', 'remote_protocol.x'),
  'virterror.h': join('include', 'libvirt', 'virterror.h'),
}
const files = renderProtocolFiles((name) => readFileSync(join(libvirtSrc, SOURCES[name] ?? name), 'utf8'))
const check = process.argv.includes('--check')
let stale = 0
for (const [relative, text] of Object.entries(files)) {
  const path = join(packageDir, relative)
  let current = ''
  try {
    current = readFileSync(path, 'utf8')
  } catch {
    // missing: written below
  }
  if (current === text) continue
  stale++
  if (check) console.error(`${relative} is out of date`)
  else {
    writeFileSync(path, text)
    console.log(`wrote ${relative} (${text.length} characters)`)
  }
}
if (check && stale) process.exitCode = 1
if (!stale) console.log('generated protocol files are up to date')
