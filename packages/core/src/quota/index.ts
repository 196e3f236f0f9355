/**
 * Nova's quotas: limits, counted usage, checks.
 * @packageDocumentation
 */
export { QuotaService, QUOTA_RESOURCES, DEFAULT_QUOTAS, LEGACY_NETWORK_QUOTAS } from './quota-service.js'
export type {
  QuotaResource, QuotaSet, QuotaDetail, QuotaDetailItem, AbsoluteLimits, QuotaScope, QuotaEvaluation, QuotaServiceConfig, QuotaUpdateOptions,
} from './quota-service.js'
