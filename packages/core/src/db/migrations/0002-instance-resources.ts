import type { Kysely, Migration } from 'kysely'
import { sqlFamily } from './dialect-helpers.js'

/**
 * Adds the instance's size as columns (`vcpus`, `memory_mb`, `root_gb`, `ephemeral_gb`, as Nova's `instances`
 * table has them), so quota usage is a SQL aggregate instead of a scan of every instance's embedded flavor.
 * Existing rows are filled from their embedded flavor.
 */
export const migration0002InstanceResources: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    for (const column of ['vcpus', 'memory_mb', 'root_gb', 'ephemeral_gb']) {
      await db.schema.alterTable('instances').addColumn(column, 'integer', (c) => c.notNull().defaultTo(0)).execute()
    }
    const rows = (await db.selectFrom('instances').select(['id', 'flavor']).execute()) as { id: number; flavor: string }[]
    for (const row of rows) {
      const f = JSON.parse(row.flavor) as { vcpus?: number; memoryMb?: number; rootGb?: number; ephemeralGb?: number }
      await db
        .updateTable('instances')
        .set({ vcpus: f.vcpus ?? 0, memory_mb: f.memoryMb ?? 0, root_gb: f.rootGb ?? 0, ephemeral_gb: f.ephemeralGb ?? 0 })
        .where('id', '=', row.id)
        .execute()
    }
    await db.schema.createIndex('instances_project_user_idx').on('instances').columns(['project_id', 'user_id', 'deleted']).execute()
  },
  async down(db: Kysely<any>): Promise<void> {
    // MySQL names the table of an index; SQLite and PostgreSQL reject that syntax.
    const drop = db.schema.dropIndex('instances_project_user_idx')
    await (sqlFamily(db) === 'mysql' ? drop.on('instances') : drop).execute()
    for (const column of ['ephemeral_gb', 'root_gb', 'memory_mb', 'vcpus']) await db.schema.alterTable('instances').dropColumn(column).execute()
  },
}
