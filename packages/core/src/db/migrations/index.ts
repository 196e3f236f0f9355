import type { Migration, MigrationProvider } from 'kysely'
import { migration0001Initial } from './0001-initial.js'

/** Every migration, by name, in order. A static list: no file system access, so bundles work. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-initial': migration0001Initial,
}

/** A kysely `MigrationProvider` over {@link migrations}. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
}
