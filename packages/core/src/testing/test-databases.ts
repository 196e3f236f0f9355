import { sql } from 'kysely'
import { createDatabase, type DatabaseConfig, type NovumDb } from '../db/create-database.js'
import { migrateToLatest } from '../db/migrate.js'

/** The database families Novum supports. */
export type DatabaseKind = 'sqlite' | 'postgres' | 'mysql'

/** Every supported family. */
export const DATABASE_KINDS: readonly DatabaseKind[] = ['sqlite', 'postgres', 'mysql']

/** A throw-away database for one test file. */
export interface TestDatabase {
  readonly kind: DatabaseKind
  readonly db: NovumDb
  readonly config: DatabaseConfig
  /** Closes the handle and drops the database. */
  destroy(): Promise<void>
}

/**
 * The families a database suite runs on. All three, always in CI; a developer may opt out of one locally with
 * `NOVUM_SKIP_DATABASES=postgres,mysql`. In CI (`CI=true`) the opt-out is refused, so a missing server fails
 * the suite instead of skipping it.
 */
export function databaseKindsUnderTest(): DatabaseKind[] {
  const skip = (process.env.NOVUM_SKIP_DATABASES ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  if (skip.length && process.env.CI === 'true') throw new Error('NOVUM_SKIP_DATABASES is not allowed in CI')
  return DATABASE_KINDS.filter((k) => !skip.includes(k))
}

function serverUrl(kind: 'postgres' | 'mysql'): string {
  return kind === 'postgres'
    ? (process.env.NOVUM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
    : (process.env.NOVUM_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test')
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

/**
 * Creates a fresh database of the given family (a new schema-less database on the server, or an in-memory
 * SQLite one), optionally migrated to the latest schema.
 */
export async function createTestDatabase(kind: DatabaseKind, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const migrate = options.migrate ?? true
  if (kind === 'sqlite') {
    const config: DatabaseConfig = { kind: 'sqlite', filename: ':memory:' }
    const db = await createDatabase(config)
    if (migrate) await migrateToLatest(db)
    return { kind, db, config, destroy: () => db.destroy() }
  }
  const name = `novum_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = await createDatabase({ kind, url: serverUrl(kind), poolSize: 1 })
  try {
    await sql`create database ${sql.id(name)}`.execute(admin)
  } finally {
    await admin.destroy()
  }
  const config: DatabaseConfig = { kind, url: withDatabase(serverUrl(kind), name), poolSize: 5 }
  const db = await createDatabase(config)
  if (migrate) await migrateToLatest(db)
  return {
    kind,
    db,
    config,
    async destroy() {
      await db.destroy()
      const a = await createDatabase({ kind, url: serverUrl(kind), poolSize: 1 })
      try {
        await sql`drop database if exists ${sql.id(name)}`.execute(a)
      } finally {
        await a.destroy()
      }
    },
  }
}
