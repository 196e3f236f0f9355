import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import { ComputeError } from '../errors/compute-error.js'
import { isoNow, type Clock } from '../util/clock.js'

/** One finished event to record in a single write (what the conductor does for its own steps). */
export interface RecordedEvent {
  readonly instanceUuid: string
  readonly event: string
  readonly result: 'Success' | 'Error'
  readonly startTime: string
  readonly host?: string | null
  readonly details?: string | null
  readonly traceback?: string | null
}

/**
 * Writes `instance_actions` and `instance_actions_events` the way Nova's DB API does: an action per request
 * (instance uuid + request id), events named `compute_<method>`/`conductor_<method>` with a Success/Error
 * result, and the action's message set to `Error` when one of its events fails.
 */
export class InstanceActionLog {
  constructor(
    private readonly db: NovumDb,
    private readonly clock: Clock,
  ) {}

  /** Starts a new action for the context's request; returns its id. */
  async start(context: RequestContext, instanceUuid: string, action: string): Promise<number> {
    const now = isoNow(this.clock)
    const inserted = await this.db
      .insertInto('instance_actions')
      .values({
        action,
        instance_uuid: instanceUuid,
        request_id: context.requestId,
        user_id: context.userId,
        project_id: context.projectId,
        start_time: now,
        finish_time: null,
        message: null,
        created_at: now,
        updated_at: null,
      })
      .executeTakeFirst()
    if (inserted.insertId !== undefined) return Number(inserted.insertId)
    const row = await this.findByRequest(instanceUuid, context.requestId)
    if (!row) throw new ComputeError('INTERNAL', `instance action ${action} for instance ${instanceUuid} was not recorded`)
    return row.id
  }

  /** The context's action on the instance, created as `action` if the request has none yet. */
  async ensure(context: RequestContext, instanceUuid: string, action: string): Promise<number> {
    const existing = await this.findByRequest(instanceUuid, context.requestId)
    return existing ? existing.id : this.start(context, instanceUuid, action)
  }

  /**
   * Records the start of an event. The action is the context's request's; for work without a project
   * (start-up recovery, periodic tasks) the instance's latest action is used, as Nova does.
   * Throws `NOT_FOUND` when there is no action to attach the event to.
   */
  async eventStart(context: RequestContext, input: { readonly instanceUuid: string; readonly event: string; readonly host?: string | null }): Promise<void> {
    const action = await this.actionFor(context, input.instanceUuid)
    await this.db
      .insertInto('instance_actions_events')
      .values({
        action_id: action.id,
        event: input.event,
        start_time: isoNow(this.clock),
        finish_time: null,
        result: null,
        traceback: null,
        host: input.host ?? null,
        details: null,
      })
      .execute()
  }

  /** Records the end of an event started with {@link InstanceActionLog.eventStart} (or a whole one if none was started). */
  async eventFinish(
    context: RequestContext,
    input: {
      readonly instanceUuid: string
      readonly event: string
      readonly result: 'Success' | 'Error'
      readonly traceback?: string | null
      readonly details?: string | null
      readonly host?: string | null
    },
  ): Promise<void> {
    const action = await this.actionFor(context, input.instanceUuid)
    const now = isoNow(this.clock)
    const open = await this.db
      .selectFrom('instance_actions_events')
      .select(['id'])
      .where('action_id', '=', action.id)
      .where('event', '=', input.event)
      .where('finish_time', 'is', null)
      .orderBy('id', 'desc')
      .executeTakeFirst()
    const values = { finish_time: now, result: input.result, traceback: input.traceback ?? null, ...(input.details != null ? { details: input.details } : {}) }
    if (open) {
      await this.db.updateTable('instance_actions_events').set(values).where('id', '=', open.id).execute()
    } else {
      await this.db
        .insertInto('instance_actions_events')
        .values({ action_id: action.id, event: input.event, start_time: now, host: input.host ?? null, details: input.details ?? null, ...values })
        .execute()
    }
    await this.touch(action.id, input.result, now)
  }

  /** Records a finished event in one write, under the context's action (created as `action` if needed). */
  async record(context: RequestContext, action: string, event: RecordedEvent): Promise<void> {
    const actionId = await this.ensure(context, event.instanceUuid, action)
    const now = isoNow(this.clock)
    await this.db
      .insertInto('instance_actions_events')
      .values({
        action_id: actionId,
        event: event.event,
        start_time: event.startTime,
        finish_time: now,
        result: event.result,
        traceback: event.traceback ?? null,
        host: event.host ?? null,
        details: event.details ?? null,
      })
      .execute()
    await this.touch(actionId, event.result, now)
  }

  private async touch(actionId: number, result: 'Success' | 'Error', now: string): Promise<void> {
    await this.db
      .updateTable('instance_actions')
      .set({ updated_at: now, ...(result === 'Error' ? { message: 'Error' } : {}) })
      .where('id', '=', actionId)
      .execute()
  }

  private async actionFor(context: RequestContext, instanceUuid: string): Promise<{ id: number }> {
    const byRequest = await this.findByRequest(instanceUuid, context.requestId)
    if (byRequest) return byRequest
    if (!context.projectId) {
      const latest = await this.db
        .selectFrom('instance_actions')
        .select(['id'])
        .where('instance_uuid', '=', instanceUuid)
        .orderBy('id', 'desc')
        .executeTakeFirst()
      if (latest) return latest
    }
    throw new ComputeError('NOT_FOUND', `Action for request_id ${context.requestId} on instance ${instanceUuid} not found`, {
      details: { instanceUuid, requestId: context.requestId },
    })
  }

  private findByRequest(instanceUuid: string, requestId: string): Promise<{ id: number } | undefined> {
    return this.db
      .selectFrom('instance_actions')
      .select(['id'])
      .where('instance_uuid', '=', instanceUuid)
      .where('request_id', '=', requestId)
      .orderBy('id', 'desc')
      .executeTakeFirst()
  }
}
