import { Migrator, type Kysely, type MigrationResultSet } from 'kysely'
import { ComputeError } from '../errors/compute-error.js'
import { migrationProvider } from './migrations/index.js'

function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: migrationProvider, migrationTableName: 'novum_migrations', migrationLockTableName: 'novum_migrations_lock' })
}

function check(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')
    throw new ComputeError('INTERNAL', `migration ${failed?.migrationName ?? '(unknown)'} failed: ${String((result.error as Error)?.message ?? result.error)}`, { cause: result.error })
  }
  return result
}

/** Applies every pending migration; throws `ComputeError('INTERNAL')` naming the failed one. */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  return check(await migrator(db).migrateToLatest())
}

/** Reverts every applied migration (for tests and tear-down). */
export async function migrateDownToZero(db: Kysely<any>): Promise<MigrationResultSet> {
  const { NO_MIGRATIONS } = await import('kysely')
  return check(await migrator(db).migrateTo(NO_MIGRATIONS))
}
