import { type CreateTableBuilder, type Expression, type Kysely, MysqlAdapter, PostgresAdapter, sql } from 'kysely'

/** The SQL family a migration runs on; migrations take `Kysely<any>` and never import app code. */
export type SqlFamily = 'sqlite' | 'postgres' | 'mysql'

/** Which family `db` speaks, from its adapter. */
export function sqlFamily(db: Kysely<any>): SqlFamily {
  const adapter = db.getExecutor().adapter
  if (adapter instanceof PostgresAdapter) return 'postgres'
  if (adapter instanceof MysqlAdapter) return 'mysql'
  return 'sqlite'
}

/** Adds an autoincrement integer primary key named `id`, in each family's own way. */
export function withId<T extends string>(family: SqlFamily, builder: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'id'> {
  if (family === 'postgres') return builder.addColumn('id', 'serial', (c) => c.primaryKey())
  return builder.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
}

/** A double-precision column type for the family. */
export function doubleType(family: SqlFamily): 'double precision' | 'real' {
  return family === 'sqlite' ? 'real' : 'double precision'
}

/** A large-text column type for the family (MySQL's TEXT is 64 KiB, so use MEDIUMTEXT there). */
export function bigText(family: SqlFamily): 'text' | Expression<unknown> {
  return family === 'mysql' ? sql`mediumtext` : 'text'
}
