/**
 * True when `err` is a unique-constraint violation from SQLite (`SQLITE_CONSTRAINT_UNIQUE`/`_PRIMARYKEY`),
 * PostgreSQL (`23505`) or MariaDB/MySQL (`ER_DUP_ENTRY`, 1062). Lets a service turn a lost insert race into
 * its own `CONFLICT` instead of a 500.
 * @internal
 */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const e = err as { code?: unknown; errno?: unknown; message?: unknown }
  if (e.code === '23505' || e.code === 'ER_DUP_ENTRY' || e.errno === 1062) return true
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true
  return typeof e.message === 'string' && /UNIQUE constraint failed/.test(e.message)
}
