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
 * Opens the database. The drivers (`better-sqlite3`, `pg`, `mysql2`) are optional peers, loaded only for the
 * kind asked for. SQLite runs in WAL mode with a busy timeout, so several processes can share one file.
 *
 * @example
 * ```ts
 * const db = await createDatabase({ kind: 'sqlite', filename: '.novum/novum.sqlite' })
 * await migrateToLatest(db)
 * ```
 */
export async function createDatabase(config: DatabaseConfig): Promise<NovumDb> {
  return new Kysely<NovumDatabase>({ dialect: await createDialect(config) })
}

async function createDialect(config: DatabaseConfig): Promise<Dialect> {
  switch (config.kind) {
    case 'dialect':
      return config.dialect
    case 'sqlite': {
      const { default: SqliteDatabase } = await import('better-sqlite3')
      const database = new SqliteDatabase(config.filename)
      database.pragma('journal_mode = WAL')
      database.pragma('synchronous = NORMAL')
      database.pragma('busy_timeout = 5000')
      database.pragma('foreign_keys = ON')
      return new SqliteDialect({ database })
    }
    case 'postgres': {
      const pg = await import('pg')
      const types = pg.default.types
      // NOTE: bigint (int8) columns hold counts and sizes well inside 2^53; read them as numbers, not strings.
      types.setTypeParser(20, (v: string) => Number.parseInt(v, 10))
      types.setTypeParser(1700, (v: string) => Number.parseFloat(v))
      return new PostgresDialect({ pool: new pg.default.Pool({ connectionString: config.url, max: config.poolSize ?? 10 }) })
    }
    case 'mysql': {
      const mysql = await import('mysql2')
      return new MysqlDialect({
        pool: mysql.createPool({ uri: config.url, connectionLimit: config.poolSize ?? 10, supportBigNumbers: true, bigNumberStrings: false, decimalNumbers: true }),
      })
    }
  }
}
