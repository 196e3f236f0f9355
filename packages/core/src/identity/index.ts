/**
 * The embedded Keystone: users, projects, roles and tokens.
 * @packageDocumentation
 */
export { IdentityService, DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, DEFAULT_ROLES, UNAUTHORIZED_MESSAGE } from './identity-service.js'
export type {
  IdentityUser, IdentityProject, IdentityRole, ProjectScope, AuthenticateRequest, AuthenticateResult, ValidatedToken,
  IdentityServiceConfig, BootstrapOptions,
} from './identity-service.js'
