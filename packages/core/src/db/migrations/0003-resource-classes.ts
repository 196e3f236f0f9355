import type { Kysely, Migration } from 'kysely'
import { sqlFamily, withId } from './dialect-helpers.js'

const CUSTOM = /^CUSTOM_[A-Z0-9_]+$/

/**
 * Adds Placement's `resource_classes` table for custom resource classes (`CUSTOM_*`, created with
 * `POST /resource_classes` or `PUT /resource_classes/{name}`); the standard classes are not stored. Until now a
 * custom class existed as soon as an inventory or allocation named it, so every well-formed custom class already
 * in `inventories` or `allocations` is inserted, in name order.
 */
export const migration0003ResourceClasses: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    const f = sqlFamily(db)
    await withId(f, db.schema.createTable('resource_classes'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(32)')
      .execute()
    const used = new Set<string>()
    for (const table of ['inventories', 'allocations']) {
      const rows = (await db.selectFrom(table).select('resource_class').distinct().where('resource_class', 'like', 'CUSTOM%').execute()) as { resource_class: string }[]
      for (const r of rows) if (CUSTOM.test(r.resource_class)) used.add(r.resource_class)
    }
    const now = new Date().toISOString()
    const names = [...used].sort()
    for (let i = 0; i < names.length; i += 500) {
      await db
        .insertInto('resource_classes')
        .values(names.slice(i, i + 500).map((name) => ({ name, created_at: now, updated_at: null })))
        .execute()
    }
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('resource_classes').ifExists().execute()
  },
}
