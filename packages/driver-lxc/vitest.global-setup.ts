/**
 * vitest globalSetup of @novum/driver-lxc: makes sure LXC's tools and the busybox template are installed before the
 * real-container tests run, by running scripts/setup-lxc.sh when they are missing (a fresh CI machine).
 *
 * NOVUM_SKIP_LXC=1 outside CI skips the install (the tests then skip themselves); in CI (CI=true) that opt-out is
 * refused, and a failed install fails the run.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

function toolsPresent(): boolean {
  const r = spawnSync('sh', ['-c', 'command -v lxc-create && command -v lxc-monitor && command -v busybox'], { stdio: 'ignore' })
  return r.status === 0 && existsSync('/usr/share/lxc/templates/lxc-busybox')
}

export default function setup(): void {
  if (process.env['NOVUM_SKIP_LXC'] === '1') {
    if (process.env['CI'] === 'true') throw new Error('NOVUM_SKIP_LXC=1 is refused in CI (CI=true): LXC must be installed')
    return
  }
  if (toolsPresent()) return
  const script = resolve(here, '../../scripts/setup-lxc.sh')
  process.stderr.write(`[driver-lxc] LXC tools missing: running ${script}\n`)
  const r = spawnSync('bash', [script], { stdio: 'inherit', timeout: 900_000 })
  if (r.status !== 0 || !toolsPresent()) {
    throw new Error(`scripts/setup-lxc.sh failed (exit ${r.status ?? r.signal}); the LXC tests cannot run. Install lxc and busybox-static, or set NOVUM_SKIP_LXC=1 outside CI.`)
  }
}
