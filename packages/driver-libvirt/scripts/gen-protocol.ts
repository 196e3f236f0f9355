/**
 * Generates src/protocol/generated/ from the libvirt protocol files kept in protocol/ (copied verbatim from the
 * libvirt 9.0.0 source, Debian bookworm's version; see protocol/README.md):
 *
 * - `remote-protocol.ts`: every constant and procedure number of `remote_protocol.x`, plus interfaces and XDR codecs
 *   for the procedures listed in {@link PROCEDURES} (and every type they reach);
 * - `virterror.ts`: the error code and error domain names of `virterror.h`.
 *
 * Usage: `pnpm --filter @novum/driver-libvirt gen:protocol` (or `--check`, which exits 1 when the files differ).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderProtocolFiles } from '../src/protocol/generate.js'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const files = renderProtocolFiles((name) => readFileSync(join(packageDir, 'protocol', name), 'utf8'))
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
