/**
 * `@novum/api-http`: the OpenStack HTTP surfaces of a Novum deployment on fastify — the Compute API v2.1 with
 * microversions (2.1–2.93) and Nova fault bodies, a Keystone v3 subset, a Glance v2 subset and the Placement root.
 * @packageDocumentation
 */
export { createApiServers, DEFAULT_PORTS } from './create-api-servers.js'
export type { ApiHttpServices, ApiServers, ApiServersOptions, ListenOptions } from './create-api-servers.js'
export { createComputeApp, computeFaultBody, COMPUTE_FAULT_NAMES, requireMicroversion } from './compute/compute-app.js'
export type { ComputeAppOptions, ComputeRoutes, ComputeRoutesFactory, ComputeRouteDeps } from './compute/compute-app.js'
export { ComputeLinks } from './compute/links.js'
export {
  mv, formatMicroversion, negotiateMicroversion, requestedVersion, MIN_MICROVERSION, MAX_MICROVERSION, API_VERSION_HEADER, LEGACY_API_VERSION_HEADER,
} from './compute/microversion.js'
export type { Microversion } from './compute/microversion.js'
export { serverRoutes } from './compute/routes/servers.js'
export type { ServerRouteServices } from './compute/routes/servers.js'
export { flavorRoutes } from './compute/routes/flavors.js'
export type { FlavorRouteServices } from './compute/routes/flavors.js'
export { keypairRoutes } from './compute/routes/keypairs.js'
export type { KeypairRouteServices } from './compute/routes/keypairs.js'
export { quotaRoutes } from './compute/routes/quotas.js'
export type { QuotaRouteServices } from './compute/routes/quotas.js'
export { infrastructureRoutes } from './compute/routes/infrastructure.js'
export type { InfrastructureRouteServices } from './compute/routes/infrastructure.js'
export { createIdentityApp, serviceCatalog } from './identity/identity-app.js'
export type { IdentityAppOptions, ServiceEndpoints } from './identity/identity-app.js'
export { createImageApp, glanceImageView } from './image/image-app.js'
export type { ImageAppOptions } from './image/image-app.js'
export { createPlacementApp, PLACEMENT_MIN_VERSION, PLACEMENT_MAX_VERSION } from './placement/placement-app.js'
export type { PlacementAppOptions } from './placement/placement-app.js'
export { HttpError } from './common/http-error.js'
export { COMPUTE_ERROR_STATUS, statusOfComputeError } from './common/error-status.js'
export { TokenCache } from './common/token-cache.js'
export type { TokenCacheOptions } from './common/token-cache.js'
export type { TokenValidator } from './common/auth.js'
export type { LoggingOptions } from './common/base-app.js'
export { SchemaCompiler } from './common/validation.js'
export type { JsonSchema, Validator } from './common/validation.js'
