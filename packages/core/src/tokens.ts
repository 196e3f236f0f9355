import { token } from './composition/provider.js'
import type { NovumDb } from './db/create-database.js'
import type { Transport } from './transport/transport.js'
import type { VirtDriver } from './virt/virt-driver.js'
import type { Clock } from './util/clock.js'
import type { Logger } from './util/logger.js'

/*
 * Every DI token, in one file. Services add theirs here as they are written.
 */

/** The database handle (api, conductor, scheduler and Placement only; never a compute service). */
export const DATABASE = token<NovumDb>('Database')
/** The message transport shared by every service in the process. */
export const TRANSPORT = token<Transport>('Transport')
/** The compute service's driver. */
export const VIRT_DRIVER = token<VirtDriver>('VirtDriver')
/** The source of time. */
export const CLOCK = token<Clock>('Clock')
/** The structured logger (pino-compatible). */
export const LOGGER = token<Logger>('Logger')
