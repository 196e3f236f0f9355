/**
 * Nova `utils.isotime`: seconds precision with `Z` (`2026-11-22T18:33:52Z`), as `created`, `updated` and fault
 * timestamps are shown.
 */
export function isotime(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/\+00:00$/, 'Z')
}

/**
 * Nova's JSON rendering of a naive datetime (oslo `strtime`): microseconds, no zone
 * (`2026-11-22T18:33:52.123000`), as `OS-SRV-USG:launched_at`, instance action times and service `updated_at`
 * are shown. Null stays null.
 */
export function strtime(iso: string | null): string | null {
  if (iso === null) return null
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(?:Z|[+-]00:?00)?$/.exec(iso)
  if (!m) return iso
  return `${m[1]}.${(m[2] ?? '').padEnd(6, '0').slice(0, 6)}`
}
