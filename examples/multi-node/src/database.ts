import { sql } from 'kysely'
import { createDatabase, type DatabaseConfig } from '@novum/core'
import { databaseFamily, databaseName } from './config.js'

/** The core database config of a URL, with a connection pool of `poolSize` per process. */
export function databaseConfig(url: string, poolSize: number): DatabaseConfig {
  return { kind: databaseFamily(url), url, poolSize }
}

/** The URL of the server's maintenance database: `postgres` on PostgreSQL, none on MariaDB/MySQL. */
function serverUrl(url: string): string {
  const u = new URL(url)
  u.pathname = databaseFamily(url) === 'postgres' ? '/postgres' : '/'
  return u.toString()
}

/**
 * Creates the database of `url` on its server when it does not exist yet; returns whether it did. Two processes
 * creating it at once is fine: the loser sees it exists.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const family = databaseFamily(url)
  const name = databaseName(url)
  const admin = createDatabase({ kind: family, url: serverUrl(url), poolSize: 1 })
  try {
    if (family === 'postgres') {
      const found = await sql<{ one: number }>`select 1 as one from pg_database where datname = ${name}`.execute(admin)
      if (found.rows.length > 0) return false
      try {
        await sql`create database ${sql.id(name)}`.execute(admin)
      } catch (err) {
        // 42P04 duplicate_database: created by someone else meanwhile
        if ((err as { code?: string }).code === '42P04') return false
        throw err
      }
      return true
    }
    const found = await sql<{ name: string }>`select schema_name as name from information_schema.schemata where schema_name = ${name}`.execute(admin)
    if (found.rows.length > 0) return false
    await sql`create database if not exists ${sql.id(name)}`.execute(admin)
    return true
  } finally {
    await admin.destroy()
  }
}

/** Drops the database of `url` (tests and benchmarks clean up with it). */
export async function dropDatabase(url: string): Promise<void> {
  const family = databaseFamily(url)
  const admin = createDatabase({ kind: family, url: serverUrl(url), poolSize: 1 })
  try {
    if (family === 'postgres') await sql`drop database if exists ${sql.id(databaseName(url))} with (force)`.execute(admin)
    else await sql`drop database if exists ${sql.id(databaseName(url))}`.execute(admin)
  } finally {
    await admin.destroy()
  }
}
