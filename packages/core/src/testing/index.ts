/**
 * Fakes, fixtures and conformance suites for Novum's extension points.
 * @packageDocumentation
 */
export { createTestDatabase, databaseKindsUnderTest, DATABASE_KINDS } from './test-databases.js'
export type { DatabaseKind, TestDatabase } from './test-databases.js'
export { FakeVirtDriver, FAKE_VIRT_CAPABILITIES } from './fake-virt-driver.js'
export type { FakeVirtDriverConfig, FakeVirtOperation, FakeGuest } from './fake-virt-driver.js'
export { describeTransportConformance } from './transport-conformance.js'
export type { TransportConformanceOptions } from './transport-conformance.js'
export { describeVirtDriverConformance } from './virt-driver-conformance.js'
export type { VirtDriverConformanceOptions } from './virt-driver-conformance.js'
export { makeInstance, makeFlavor, makeImageMeta } from './make-instance.js'
export { seedBuildingInstances } from './seed-instances.js'
export type { SeedInstancesOptions, SeededBuild } from './seed-instances.js'
export { InMemoryTransport, InMemoryBroker } from '../transport/in-memory-transport.js'
export { appliesToViolations, makeHostState, makeRequestSpec, runFilter, runWeigher, uuidFromName, validatePluginOptions } from './scheduler-fixtures.js'
export type { DeepPartial, RunFilterOptions, RunWeigherOptions } from './scheduler-fixtures.js'
