export type { Transport, Target, CallOptions, CastOptions, RpcEndpoint, RpcListener, Notification, NotificationPriority } from './transport.js'
export { ENVELOPE_VERSION } from './envelope.js'
export type { RequestEnvelope, ReplyEnvelope } from './envelope.js'
