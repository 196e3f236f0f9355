import type { Migration, MigrationProvider } from 'kysely'
import { migration0001Initial } from './0001-initial.js'
import { migration0002InstanceResources } from './0002-instance-resources.js'
import { migration0003ResourceClasses } from './0003-resource-classes.js'

/** Every migration, by name, in order. A static list: no file system access, so bundles work. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-initial': migration0001Initial,
  '0002-instance-resources': migration0002InstanceResources,
  '0003-resource-classes': migration0003ResourceClasses,
}

/** A kysely `MigrationProvider` over {@link migrations}. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
}
