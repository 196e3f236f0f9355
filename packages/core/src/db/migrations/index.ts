import type { Migration, MigrationProvider } from 'kysely'
import { migration0001Initial } from './0001-initial.js'
import { migration0002InstanceResources } from './0002-instance-resources.js'

/** Every migration, by name, in order. A static list: no file system access, so bundles work. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-initial': migration0001Initial,
  '0002-instance-resources': migration0002InstanceResources,
}

/** A kysely `MigrationProvider` over {@link migrations}. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
}
