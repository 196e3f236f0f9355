import { type InsertQueryBuilder, type InsertResult, type Kysely, sql } from 'kysely'
import type { NovumDatabase } from '../db/database.js'
import { type SqlFamily, sqlFamily } from '../db/migrations/dialect-helpers.js'

/*
 * @internal Database helpers shared by Placement's service and candidate queries. Nothing here is exported
 * from the package: it is how Placement talks to the three SQL families, not a contract.
 */

/** A handle that can run queries: the database or an open transaction. */
export type Queryable = Kysely<NovumDatabase>

/** Thrown inside a write transaction to roll it back and run it again (a provider changed underneath). */
export class RetryWrite extends Error {
  override readonly name = 'RetryWrite'
}

/**
 * Runs `fn` in one write transaction. SQLite takes the write lock up front (`BEGIN IMMEDIATE`), so two processes
 * sharing a file serialise instead of failing the lock upgrade; PostgreSQL and MariaDB run at their default
 * isolation, and callers detect concurrent changes with generation compare-and-swap.
 */
export async function writeTransaction<T>(db: Queryable, family: SqlFamily, fn: (trx: Queryable) => Promise<T>): Promise<T> {
  if (family !== 'sqlite') return db.transaction().execute(fn)
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn)
    let result: T
    try {
      result = await fn(conn)
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined)
      throw err
    }
    await sql`commit`.execute(conn)
    return result
  })
}

/** The SQL family of a database handle. */
export function familyOf(db: Queryable): SqlFamily {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migration helper is schema-agnostic
  return sqlFamily(db as Kysely<any>)
}

function errorCode(err: unknown): { code: string | undefined; errno: number | undefined } {
  if (typeof err !== 'object' || err === null) return { code: undefined, errno: undefined }
  const e = err as { code?: unknown; errno?: unknown }
  return { code: typeof e.code === 'string' ? e.code : undefined, errno: typeof e.errno === 'number' ? e.errno : undefined }
}

/** True for errors a retry of the whole transaction can cure: deadlocks, serialisation failures, busy locks. */
export function isTransientDbError(err: unknown): boolean {
  if (err instanceof RetryWrite) return true
  const { code, errno } = errorCode(err)
  if (code === '40P01' || code === '40001') return true // PostgreSQL deadlock / serialization failure
  if (errno === 1213 || errno === 1205) return true // MariaDB deadlock / lock wait timeout
  if (code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT') return true
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED'
}

/** True for a unique-constraint violation on any family. */
export function isUniqueViolation(err: unknown): boolean {
  const { code, errno } = errorCode(err)
  return code === '23505' || errno === 1062 || code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/** Splits a list for `IN (…)` clauses, well under every family's bind-parameter limit. */
export function chunks<T>(items: readonly T[], size = 2000): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Waits a random 0–`maxMs` ms, so retried writers do not collide again in lock step. */
export function jitter(maxMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * maxMs))
}

/** Number of rows an UPDATE or DELETE touched, as a number. */
export function affected(result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): number {
  return Number(result.numUpdatedRows ?? result.numDeletedRows ?? 0n)
}

/** Inserts one row and returns its generated `id` (RETURNING on PostgreSQL, the insert id elsewhere). */
export async function insertReturningId(
  family: SqlFamily,
  query: InsertQueryBuilder<NovumDatabase, 'resource_providers', InsertResult>,
): Promise<number> {
  if (family === 'postgres') {
    const row = await query.returning('id').executeTakeFirstOrThrow()
    return Number(row.id)
  }
  const result = await query.executeTakeFirstOrThrow()
  return Number(result.insertId)
}
