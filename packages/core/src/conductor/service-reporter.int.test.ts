import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isServiceUp } from '../api/service-liveness.js'
import { createTestDatabase, databaseKindsUnderTest, type TestDatabase } from '../testing/test-databases.js'
import type { Clock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import { ServiceReporter } from './service-reporter.js'

/** A clock the test moves by hand. */
function manualClock(start: number): Clock & { advance(ms: number): void } {
  let now = start
  return { now: () => now, advance: (ms) => void (now += ms) }
}

describe.each(databaseKindsUnderTest())('ServiceReporter on %s', (kind) => {
  let tdb: TestDatabase
  let reporter: ServiceReporter | undefined

  beforeEach(async () => {
    tdb = await createTestDatabase(kind)
  })
  afterEach(async () => {
    await reporter?.stop()
    reporter = undefined
    await tdb.destroy()
  })

  const row = () => tdb.db.selectFrom('services').selectAll().where('binary', '=', 'nova-conductor').executeTakeFirstOrThrow()

  it('registers the service at start and heartbeats it every interval', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'))
    reporter = new ServiceReporter({ db: tdb.db, host: 'ctl-1', binary: 'nova-conductor', topic: 'conductor', intervalMs: 20, clock })
    await reporter.start()
    expect(await row()).toMatchObject({ host: 'ctl-1', topic: 'conductor', report_count: 1, last_seen_up: '2026-01-01T00:00:00.000Z' })
    expect(reporter.serviceRecord).toMatchObject({ host: 'ctl-1', binary: 'nova-conductor', reportCount: 1 })
    clock.advance(5_000)
    await vi.waitFor(async () => expect((await row()).report_count).toBeGreaterThanOrEqual(2), { timeout: 5000 })
    expect((await row()).last_seen_up).toBe('2026-01-01T00:00:05.000Z')
  })

  it('stops heartbeating at stop, so the service goes down once service_down_time has passed', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'))
    reporter = new ServiceReporter({ db: tdb.db, host: 'ctl-1', binary: 'nova-conductor', topic: 'conductor', intervalMs: 10, clock })
    await reporter.start()
    await reporter.stop()
    const count = (await row()).report_count
    await new Promise((r) => setTimeout(r, 60))
    expect((await row()).report_count).toBe(count)
    expect(isServiceUp(await row(), clock.now() + 10_000, 10)).toBe(true)
    expect(isServiceUp(await row(), clock.now() + 10_001, 10)).toBe(false)
  })

  it('logs a failed heartbeat instead of throwing, and keeps trying', async () => {
    const warnings: string[] = []
    const logger: Logger = {
      trace: () => {}, debug: () => {}, info: () => {}, error: () => {},
      warn: (a: unknown, b?: string) => void warnings.push(typeof a === 'string' ? a : (b ?? '')),
      child: () => logger,
    }
    reporter = new ServiceReporter({ db: tdb.db, host: 'ctl-1', binary: 'nova-conductor', topic: 'conductor', intervalMs: 10, logger })
    await reporter.start()
    await tdb.db.schema.alterTable('services').renameTo('services_gone').execute()
    await vi.waitFor(() => expect(warnings.some((w) => w.startsWith('heartbeat of nova-conductor on ctl-1 failed'))).toBe(true), { timeout: 5000 })
    await tdb.db.schema.alterTable('services_gone').renameTo('services').execute()
    const before = (await row()).report_count
    await vi.waitFor(async () => expect((await row()).report_count).toBeGreaterThan(before), { timeout: 5000 })
  })
})
