import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, type Dialect } from 'kysely'
import type { NovumDatabase } from './database.js'

/** Novum's database handle: a typed Kysely instance. */
export type NovumDb = Kysely<NovumDatabase>

/** Where the database lives. */
export type DatabaseConfig =
  | {
      readonly kind: 'sqlite'
      /** A file path, or `:memory:`. */
      readonly filename: string
    }
  | {
      readonly kind: 'postgres'
      /** e.g. `postgres://postgres@127.0.0.1:5432/novum` */
      readonly url: string
      /** @default 10 */
      readonly poolSize?: number
    }
  | {
      readonly kind: 'mysql'
      /** e.g. `mysql://root@127.0.0.1:3306/novum` (MariaDB or MySQL) */
      readonly url: string
      /** @default 10 */
      readonly poolSize?: number
    }
  | {
      readonly kind: 'dialect'
      /** Any kysely dialect the caller built. */
      readonly dialect: Dialect
    }

/**
 * Opens the database handle. Synchronous, so it fits a DI factory: the driver (`better-sqlite3`, `pg`, `mysql2`,
 * all optional peers) is loaded and connected on the first query. SQLite runs in WAL mode with a busy timeout,
 * so several processes can share one file.
 *
 * @example
 * ```ts
 * const db = createDatabase({ kind: 'sqlite', filename: '.novum/novum.sqlite' })
 * await migrateToLatest(db)
 * ```
 */
export function createDatabase(config: DatabaseConfig): NovumDb {
  return new Kysely<NovumDatabase>({ dialect: createDialect(config) })
}

function createDialect(config: DatabaseConfig): Dialect {
  switch (config.kind) {
    case 'dialect':
      return config.dialect
    case 'sqlite':
      return new SqliteDialect({
        database: async () => {
          const { default: SqliteDatabase } = await import('better-sqlite3')
          const database = new SqliteDatabase(config.filename)
          database.pragma('journal_mode = WAL')
          database.pragma('synchronous = NORMAL')
          database.pragma('busy_timeout = 5000')
          database.pragma('foreign_keys = ON')
          return withStatementCache(database)
        },
      })
    case 'postgres':
      return new PostgresDialect({
        pool: async () => {
          const pg = await import('pg')
          const types = pg.default.types
          // NOTE: bigint (int8) columns hold counts and sizes well inside 2^53; read them as numbers, not strings.
          types.setTypeParser(20, (v: string) => Number.parseInt(v, 10))
          types.setTypeParser(1700, (v: string) => Number.parseFloat(v))
          return new pg.default.Pool({ connectionString: config.url, max: config.poolSize ?? 10 })
        },
      })
    case 'mysql':
      return new MysqlDialect({
        pool: async () => {
          const mysql = await import('mysql2')
          return mysql.createPool({ uri: config.url, connectionLimit: config.poolSize ?? 10, supportBigNumbers: true, bigNumberStrings: false, decimalNumbers: true })
        },
      })
  }
}

/**
 * Wraps a better-sqlite3 database so `prepare` reuses statements by SQL text. Kysely prepares every query anew,
 * and on the boot path preparing cost as much as executing. Safe because Kysely runs one query at a time on its
 * single SQLite connection. The cache is bounded; the least recently added statements are dropped first.
 */
function withStatementCache<D extends { prepare(sql: string): unknown }>(database: D, max = 500): D {
  const cache = new Map<string, unknown>()
  const prepare = database.prepare.bind(database)
  return new Proxy(database, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') {
        const v = Reflect.get(target, prop, receiver) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      }
      return (sql: string) => {
        let stmt = cache.get(sql)
        if (stmt === undefined) {
          stmt = prepare(sql)
          if (cache.size >= max) cache.delete(cache.keys().next().value as string)
          cache.set(sql, stmt)
        }
        return stmt
      }
    },
  })
}
