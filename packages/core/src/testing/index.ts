/**
 * Fakes, fixtures and conformance suites for Novum's extension points.
 * @packageDocumentation
 */
export { createTestDatabase, databaseKindsUnderTest, DATABASE_KINDS } from './test-databases.js'
export type { DatabaseKind, TestDatabase } from './test-databases.js'
