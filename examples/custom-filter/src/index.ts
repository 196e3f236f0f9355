/**
 * A third-party scheduler plugin package for Novum, written against `@novum/core/scheduler` only. A deployment
 * registers every plugin this module exports (`schedulerPlugins`) and enables them by name in its scheduler
 * configuration.
 * @packageDocumentation
 */
export { AcmeLabelFilter, ACME_LABEL_SPEC } from './acme-label-filter.js'
export type { AcmeLabelFilterOptions } from './acme-label-filter.js'
export { AcmeCostWeigher } from './acme-cost-weigher.js'
export type { AcmeCostWeigherOptions } from './acme-cost-weigher.js'
