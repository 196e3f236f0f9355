/** The source of time for services, so tests can control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() }

/** The ISO-8601 string of a clock's current time. */
export function isoNow(clock: Clock = systemClock): string {
  return new Date(clock.now()).toISOString()
}
