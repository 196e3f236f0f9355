/** One log call: an optional object of fields, then a message (pino's signature). */
export interface LogFn {
  (obj: Record<string, unknown>, msg?: string): void
  (msg: string): void
}

/**
 * The logger services write to: a subset of pino's interface, so a pino logger fits as is.
 * Log lines carry the request id (`req_id`) of the work they belong to.
 */
export interface Logger {
  trace: LogFn
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  child(bindings: Record<string, unknown>): Logger
}

const noop = (): void => {}

/** A logger that discards everything. */
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
}
