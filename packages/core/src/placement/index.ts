/**
 * Placement: resource providers, inventories, traits, aggregates, allocations and allocation candidates.
 * @packageDocumentation
 */
export { PlacementService, normaliseInventory, isProviderGenerationConflict, isConsumerGenerationConflict } from './placement-service.js'
export type {
  PlacementServiceConfig,
  CreateProviderRequest,
  UpdateProviderRequest,
  ListProvidersFilter,
  ListTraitsFilter,
  ProviderInventories,
  ProviderTraits,
  ProviderAggregates,
  ProviderUsages,
  ProviderAllocations,
  ConsumerRecord,
  ConsumerTypeUsage,
} from './placement-service.js'
export { capacityOf } from './allocation-candidates.js'
export { STANDARD_RESOURCE_CLASSES, isValidResourceClass, isValidTraitName, isCustomName } from './names.js'
export { STANDARD_TRAITS } from './standard-traits.js'
export type {
  PlacementClient,
  ResourceProvider,
  Inventory,
  InventoryInput,
  ConsumerAllocations,
  PutAllocationsRequest,
  RequestGroup,
  AllocationCandidatesRequest,
  AllocationCandidates,
  CandidateAllocationRequest,
  ProviderSummaryResource,
  ProviderTreeReport,
  ProviderRejection,
} from './placement-client.js'
