/**
 * The examples' REST client lives with the reference server; the multi-node example uses the same one.
 */
export { compute, HttpError, liftQuotas, listServers, login, waitAll, waitServer } from '../../reference-server/src/client.js'
export type { ServerDetail, Session } from '../../reference-server/src/client.js'
