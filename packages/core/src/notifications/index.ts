export { Notifier } from './notifier.js'
export type { NotifierConfig } from './notifier.js'
export {
  PAYLOAD_VERSIONS,
  versionedPayload,
  faultFromError,
  exceptionPayload,
  flavorPayload,
  instanceActionPayload,
  computeTaskPayload,
  aggregatePayload,
} from './payloads.js'
export type { VersionedPayload, FaultInfo, InstancePayloadOptions, AggregatePayloadSource } from './payloads.js'
