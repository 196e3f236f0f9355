/**
 * Runs scripts/setup-libvirt.sh once before the package's tests (idempotent: packages, daemons, the tiny guest),
 * so `bash scripts/test-all.sh` works on a fresh machine. Skipped only with NOVUM_SKIP_LIBVIRT=1 outside CI; in CI
 * a failed setup fails the run.
 */
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export default function setup(): void {
  if (process.env['NOVUM_SKIP_LIBVIRT'] === '1') {
    if (process.env['CI'] === 'true') throw new Error('NOVUM_SKIP_LIBVIRT=1 is refused in CI (CI=true)')
    return
  }
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'setup-libvirt.sh')
  execFileSync('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'] })
}
