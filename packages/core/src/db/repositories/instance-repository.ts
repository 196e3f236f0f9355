import type { Selectable, Updateable } from 'kysely'
import { ComputeError } from '../../errors/compute-error.js'
import type { Flavor } from '../../model/flavor.js'
import type { Instance } from '../../model/instance.js'
import type { PowerState } from '../../model/states.js'
import type { NovumDb } from '../create-database.js'
import type { InstancesTable } from '../database.js'

/** A row of the `instances` table. */
export type InstanceRow = Selectable<InstancesTable>

/** The fields of an instance that can change after creation. */
export type InstancePatch = Partial<
  Pick<
    Instance,
    | 'displayName' | 'description' | 'vmState' | 'taskState' | 'powerState' | 'host' | 'node' | 'availabilityZone'
    | 'metadata' | 'locked' | 'lockedBy' | 'launchedAt' | 'terminatedAt' | 'hostname'
  >
>

/** Converts a row to the JSON {@link Instance} that crosses service boundaries. */
export function instanceFromRow(row: InstanceRow): Instance {
  return {
    uuid: row.uuid,
    displayName: row.display_name,
    description: row.description,
    projectId: row.project_id,
    userId: row.user_id,
    imageRef: row.image_ref,
    flavor: JSON.parse(row.flavor) as Flavor,
    vmState: row.vm_state,
    taskState: row.task_state,
    powerState: row.power_state as PowerState,
    host: row.host,
    node: row.node,
    availabilityZone: row.availability_zone,
    keyName: row.key_name,
    keyData: row.key_data,
    userData: row.user_data,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    locked: row.locked === 1,
    lockedBy: row.locked_by,
    launchedAt: row.launched_at,
    terminatedAt: row.terminated_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
    reservationId: row.reservation_id,
    launchIndex: row.launch_index,
    instanceName: `instance-${row.id.toString(16).padStart(8, '0')}`,
    hostname: row.hostname,
    networks: JSON.parse(row.networks) as Instance['networks'],
  }
}

function patchToRow(patch: InstancePatch): Updateable<InstancesTable> {
  const row: Record<string, unknown> = {}
  if (patch.displayName !== undefined) row.display_name = patch.displayName
  if (patch.description !== undefined) row.description = patch.description
  if (patch.vmState !== undefined) row.vm_state = patch.vmState
  if (patch.taskState !== undefined) row.task_state = patch.taskState
  if (patch.powerState !== undefined) row.power_state = patch.powerState
  if (patch.host !== undefined) row.host = patch.host
  if (patch.node !== undefined) row.node = patch.node
  if (patch.availabilityZone !== undefined) row.availability_zone = patch.availabilityZone
  if (patch.metadata !== undefined) row.metadata = JSON.stringify(patch.metadata)
  if (patch.locked !== undefined) row.locked = patch.locked ? 1 : 0
  if (patch.lockedBy !== undefined) row.locked_by = patch.lockedBy
  if (patch.launchedAt !== undefined) row.launched_at = patch.launchedAt
  if (patch.terminatedAt !== undefined) row.terminated_at = patch.terminatedAt
  if (patch.hostname !== undefined) row.hostname = patch.hostname
  return row as Updateable<InstancesTable>
}

/** What is needed to record a new instance. */
export interface NewInstance {
  readonly uuid: string
  readonly displayName: string
  readonly description: string | null
  readonly hostname: string
  readonly projectId: string
  readonly userId: string
  readonly imageRef: string
  readonly flavor: Flavor
  readonly availabilityZone: string | null
  readonly keyName: string | null
  readonly keyData: string | null
  readonly userData: string | null
  readonly metadata: Readonly<Record<string, string>>
  readonly networks: Instance['networks']
  readonly accessIpV4?: string | null
  readonly accessIpV6?: string | null
  readonly configDrive?: string
  readonly reservationId: string
  readonly launchIndex: number
  readonly createdAt: string
}

/**
 * Reads and writes instances. Used by the api and conductor services (never by a compute service, which goes
 * through the conductor). Every state change goes through {@link InstanceRepository.update}, whose
 * `expectedTaskState` is Nova's compare-and-swap on `task_state`.
 */
export class InstanceRepository {
  constructor(private readonly db: NovumDb) {}

  /** Inserts a new instance in `building`/`scheduling`; returns it. Runs inside `trx` when given. */
  async create(input: NewInstance, trx: NovumDb = this.db): Promise<Instance> {
    await trx
      .insertInto('instances')
      .values({
        uuid: input.uuid,
        display_name: input.displayName,
        description: input.description,
        hostname: input.hostname,
        project_id: input.projectId,
        user_id: input.userId,
        image_ref: input.imageRef,
        flavor: JSON.stringify(input.flavor),
        vm_state: 'building',
        task_state: 'scheduling',
        power_state: 0,
        host: null,
        node: null,
        availability_zone: input.availabilityZone,
        key_name: input.keyName,
        key_data: input.keyData,
        user_data: input.userData,
        metadata: JSON.stringify(input.metadata),
        system_metadata: '{}',
        networks: JSON.stringify(input.networks),
        access_ip_v4: input.accessIpV4 ?? null,
        access_ip_v6: input.accessIpV6 ?? null,
        config_drive: input.configDrive ?? '',
        progress: 0,
        locked: 0,
        locked_by: null,
        locked_reason: null,
        reservation_id: input.reservationId,
        launch_index: input.launchIndex,
        launched_at: null,
        terminated_at: null,
        created_at: input.createdAt,
        updated_at: null,
        deleted_at: null,
        deleted: 0,
        vcpus: input.flavor.vcpus,
        memory_mb: input.flavor.memoryMb,
        root_gb: input.flavor.rootGb,
        ephemeral_gb: input.flavor.ephemeralGb,
      })
      .execute()
    const row = await trx.selectFrom('instances').selectAll().where('uuid', '=', input.uuid).executeTakeFirstOrThrow()
    return instanceFromRow(row)
  }

  /** The instance, or null. Deleted instances are returned only with `readDeleted`. */
  async find(uuid: string, options: { readDeleted?: boolean } = {}): Promise<Instance | null> {
    let q = this.db.selectFrom('instances').selectAll().where('uuid', '=', uuid)
    if (!options.readDeleted) q = q.where('deleted', '=', 0)
    const row = await q.executeTakeFirst()
    return row ? instanceFromRow(row) : null
  }

  /** The instance; throws `NOT_FOUND` with Nova's message. */
  async get(uuid: string, options: { readDeleted?: boolean } = {}): Promise<Instance> {
    const found = await this.find(uuid, options)
    if (!found) throw new ComputeError('NOT_FOUND', `Instance ${uuid} could not be found.`, { details: { instanceUuid: uuid } })
    return found
  }

  /**
   * Applies `patch`. With `expectedTaskState`, the update happens only if the current task_state is one of
   * those values (null meaning idle); otherwise it throws `CONFLICT` with details `{ code: 'UnexpectedTaskState' }`
   * and changes nothing. Throws `NOT_FOUND` if the instance is gone.
   */
  async update(uuid: string, patch: InstancePatch, options: { expectedTaskState?: readonly (string | null)[]; updatedAt: string }): Promise<Instance> {
    const values = { ...patchToRow(patch), updated_at: options.updatedAt }
    let q = this.db.updateTable('instances').set(values).where('uuid', '=', uuid).where('deleted', '=', 0)
    const expected = options.expectedTaskState
    if (expected) {
      const nonNull = expected.filter((s): s is string => s !== null)
      const allowNull = expected.includes(null)
      q = q.where((eb) => {
        const ors = []
        if (nonNull.length) ors.push(eb('task_state', 'in', nonNull))
        if (allowNull) ors.push(eb('task_state', 'is', null))
        return ors.length ? eb.or(ors) : eb.val(false)
      })
    }
    // PostgreSQL and SQLite return the updated row in the same statement; MariaDB cannot (no UPDATE … RETURNING).
    if (this.db.getExecutor().adapter.supportsReturning) {
      const row = await q.returningAll().executeTakeFirst()
      if (row) return instanceFromRow(row)
    } else if (Number((await q.executeTakeFirst()).numUpdatedRows) > 0) {
      return this.get(uuid)
    }
    const current = await this.find(uuid)
    if (!current) throw new ComputeError('NOT_FOUND', `Instance ${uuid} could not be found.`, { details: { instanceUuid: uuid } })
    throw new ComputeError(
      'CONFLICT',
      `Conflict updating instance ${uuid}. Expected: {'task_state': [${(expected ?? []).map((s) => (s === null ? 'None' : `'${s}'`)).join(', ')}]}. Actual: {'task_state': ${current.taskState === null ? 'None' : `'${current.taskState}'`}}`,
      { details: { code: 'UnexpectedTaskState', instanceUuid: uuid, actual: current.taskState } },
    )
  }

  /** Marks the instance deleted (Nova's soft-delete convention: `deleted` = id). */
  async markDeleted(uuid: string, at: string): Promise<void> {
    const row = await this.db.selectFrom('instances').select(['id']).where('uuid', '=', uuid).where('deleted', '=', 0).executeTakeFirst()
    if (!row) return
    await this.db
      .updateTable('instances')
      .set({ vm_state: 'deleted', task_state: null, power_state: 0, deleted: row.id, deleted_at: at, terminated_at: at, updated_at: at })
      .where('id', '=', row.id)
      .execute()
  }

  /** Live instances on a compute host. */
  async listByHost(host: string): Promise<Instance[]> {
    const rows = await this.db.selectFrom('instances').selectAll().where('host', '=', host).where('deleted', '=', 0).execute()
    return rows.map(instanceFromRow)
  }
}
