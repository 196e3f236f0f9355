import { isCustomName, isValidResourceClass, type AllocationCandidates, type AllocationCandidatesRequest, type RequestGroup } from '@novum/core'
import { CandidatesSerializer } from '../candidates-json.js'
import { PLACEMENT_ERROR_CODES, placementBadRequest } from '../errors.js'
import { requireVersion } from '../microversion.js'
import { parseInTree, parseMemberOf, parseRequired, parseResources, parseRootRequired, parseSameSubtree, pyList, type PlacementQuery } from '../query.js'
import { authorize, checkAccept, queryOf, type PlacementRoutes } from '../route-support.js'
import {
  GET_AC_1_10, GET_AC_1_16, GET_AC_1_17, GET_AC_1_21, GET_AC_1_25, GET_AC_1_31, GET_AC_1_33, GET_AC_1_35, GET_AC_1_36, GROUP_PAT, GROUP_PAT_1_33,
} from '../schemas.js'
import { missingTraits } from './resource-providers.js'

const SCHEMAS = [
  [36, GET_AC_1_36], [35, GET_AC_1_35], [33, GET_AC_1_33], [31, GET_AC_1_31], [25, GET_AC_1_25], [21, GET_AC_1_21], [17, GET_AC_1_17], [16, GET_AC_1_16],
] as const

const KEY_RE = new RegExp(`^(resources|required|member_of|in_tree)(${GROUP_PAT})?$`)
const KEY_RE_1_33 = new RegExp(`^(resources|required|member_of|in_tree)(${GROUP_PAT_1_33})?$`)

/** One request group as parsed from the query (Placement's `lib.RequestGroup`). */
interface ParsedGroup {
  suffix: string
  resources: Record<string, number>
  required: string[]
  anyOf: string[][]
  forbidden: string[]
  memberOf: string[][]
  forbiddenAggregates: string[]
  inTree: string | undefined
}

/** The request groups of a query, by suffix, in order of first appearance (`RequestGroup.dict_from_request`). */
function parseGroups(query: PlacementQuery, minor: number): Map<string, ParsedGroup> {
  const re = minor >= 33 ? KEY_RE_1_33 : KEY_RE
  const groups = new Map<string, ParsedGroup>()
  for (const [key, values] of Object.entries(query)) {
    const m = re.exec(key)
    if (!m) continue
    const kind = m[1] as string
    const suffix = m[2] ?? ''
    let g = groups.get(suffix)
    if (!g) groups.set(suffix, (g = { suffix, resources: {}, required: [], anyOf: [], forbidden: [], memberOf: [], forbiddenAggregates: [], inTree: undefined }))
    const last = values[values.length - 1] as string
    if (kind === 'resources') g.resources = parseResources(last)
    else if (kind === 'required') {
      const traits = parseRequired(values, minor)
      g.required = traits.required
      g.anyOf = traits.anyOf
      g.forbidden = traits.forbidden
    }
    else if (kind === 'member_of') {
      const aggs = parseMemberOf(values, minor, suffix)
      g.memberOf = aggs.memberOf
      g.forbiddenAggregates = aggs.forbidden
    } else g.inTree = parseInTree(last)
  }
  return groups
}

/** Placement's consistency checks on the groups (`lib.RequestGroup` `_check_*`). */
function checkGroups(groups: Map<string, ParsedGroup>, sameSubtree: readonly (readonly string[])[], minor: number): void {
  const all = [...groups.values()]
  const hasResources = (g: ParsedGroup): boolean => Object.keys(g.resources).length > 0
  if (minor >= 36) {
    const resourceless = all.filter((g) => !hasResources(g)).map((g) => g.suffix)
    if (resourceless.length === all.length) {
      throw placementBadRequest('There must be at least one resources or resources[$S] parameter.', PLACEMENT_ERROR_CODES.QUERYPARAM_MISSING_VALUE)
    }
    const subtree = new Set(sameSubtree.flat())
    const bad = resourceless.filter((s) => !subtree.has(s))
    if (bad.length) {
      throw placementBadRequest(
        `Resourceless suffixed group request should be specified in \`same_subtree\` query param: bad group(s) - ${pyList(bad)}.`,
        PLACEMENT_ERROR_CODES.QUERYPARAM_BAD_VALUE,
      )
    }
    const unknown = [...subtree].filter((s) => !groups.has(s))
    if (unknown.length) {
      throw placementBadRequest(
        `Real suffixes should be specified in \`same_subtree\`: ${pyList(unknown)} not found in ${pyList([...groups.keys()])}.`,
        PLACEMENT_ERROR_CODES.QUERYPARAM_BAD_VALUE,
      )
    }
  } else {
    const orphanTraits = all.filter((g) => (g.required.length || g.anyOf.length || g.forbidden.length) && !hasResources(g)).map((g) => `required${g.suffix}`)
    if (orphanTraits.length) {
      throw placementBadRequest(`All traits parameters must be associated with resources.  Found the following orphaned traits keys: ${orphanTraits.join(', ')}`)
    }
    const orphanAggs = all.filter((g) => (g.memberOf.length || g.forbiddenAggregates.length) && !hasResources(g)).map((g) => `member_of${g.suffix}`)
    if (orphanAggs.length) {
      throw placementBadRequest(`All member_of parameters must be associated with resources. Found the following orphaned member_of keys: ${orphanAggs.join(', ')}`)
    }
    if (!all.every(hasResources)) throw placementBadRequest('All request groups must specify resources.')
    if (all.length === 0) throw placementBadRequest('At least one request group (`resources` or `resources{$S}`) is required.')
  }
  if (minor >= 22) {
    const conflicts: string[] = []
    for (const g of all) {
      for (const t of g.required) if (g.forbidden.includes(t)) conflicts.push(`required${g.suffix}: (${t})`)
      for (const any of g.anyOf) if (any.every((t) => g.forbidden.includes(t))) conflicts.push(`required${g.suffix}: (${[...any].sort().join(', ')})`)
    }
    if (conflicts.length) throw placementBadRequest(`Conflicting required and forbidden traits found in the following traits keys: ${conflicts.sort().join(', ')}`)
  }
}

/** Drops candidates that use two providers of one tree, for clients older than 1.29 (`exclude_nested_providers`). */
function excludeNested(result: AllocationCandidates, limit: number | undefined): AllocationCandidates {
  const rootOf = (uuid: string): string => result.providerSummaries[uuid]?.rootProviderUuid ?? uuid
  const kept = result.allocationRequests.filter((ar) => {
    const rps = Object.keys(ar.allocations)
    return new Set(rps.map(rootOf)).size === rps.length
  })
  const limited = limit !== undefined ? kept.slice(0, limit) : kept
  const used = new Set(limited.flatMap((ar) => Object.keys(ar.allocations)))
  return { allocationRequests: limited, providerSummaries: Object.fromEntries(Object.entries(result.providerSummaries).filter(([uuid]) => used.has(uuid))) }
}

/**
 * `GET /allocation_candidates` (1.10; `handlers/allocation_candidate.py`): `resources`; `limit` (1.16, applied
 * while candidates are generated); `required` (1.17, forbidden `!` 1.22, `in:` and repeats 1.39); `member_of`
 * (1.21, repeated 1.24, forbidden 1.32); granular groups `resourcesN`/`requiredN`/`member_ofN` with
 * `group_policy` (1.25; any suffix 1.33); `in_tree` (1.31); `root_required` (1.35); `same_subtree` with
 * resourceless suffixed groups (1.36). Sharing providers (`MISC_SHARES_VIA_AGGREGATE`) take part at every
 * microversion. Answers in the shape of the microversion (see {@link CandidatesSerializer}).
 */
export const allocationCandidateRoutes: PlacementRoutes = (app, { placement, schemas }) => {
  const serializer = new CandidatesSerializer()

  app.get('/allocation_candidates', async (request, reply) => {
    requireVersion(request, 10)
    authorize(request, 'placement:allocation_candidates:list')
    checkAccept(request)
    const minor = request.placementVersion
    const query = queryOf(request)
    schemas.query(SCHEMAS.find(([v]) => minor >= v)?.[1] ?? GET_AC_1_10, query)

    const limitValue = query['limit']?.[0]
    const limit = limitValue !== undefined ? Number(limitValue) : undefined
    const groupPolicy = query['group_policy']?.[0] as 'none' | 'isolate' | undefined
    const root = query['root_required'] ? parseRootRequired(query['root_required']) : undefined
    const sameSubtree = query['same_subtree'] ? parseSameSubtree(query['same_subtree']) : []
    const groups = parseGroups(query, minor)
    checkGroups(groups, sameSubtree, minor)
    if (!groupPolicy && [...groups.keys()].filter((s) => s !== '').length > 1) {
      throw placementBadRequest('The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.')
    }

    const requested = new Set<string>()
    const traitNames: string[] = [...(root?.required ?? []), ...(root?.forbidden ?? [])]
    for (const g of groups.values()) {
      for (const rc of Object.keys(g.resources)) {
        // Standard classes are known without a query; a custom one must have been created.
        if (!isValidResourceClass(rc) || (isCustomName(rc) && !(await placement.hasResourceClass(rc)))) {
          throw placementBadRequest(`Invalid resource class in resources parameter: No such resource class ${rc}.`)
        }
        requested.add(rc)
      }
      traitNames.push(...g.required, ...g.anyOf.flat(), ...g.forbidden)
    }
    const missing = await missingTraits(placement, traitNames)
    if (missing.length) throw placementBadRequest(`No such trait(s): ${missing.join(', ')}.`)

    reply.type('application/json')
    // Placement answers an empty result when an in_tree provider does not exist.
    const inTrees = [...new Set([...groups.values()].map((g) => g.inTree).filter((u): u is string => u !== undefined))]
    for (const uuid of inTrees) {
      if (!(await placement.getProvider(uuid))) return serializer.serialize({ allocationRequests: [], providerSummaries: {} }, minor, requested)
    }

    const nestedAware = minor >= 29
    const coreRequest: AllocationCandidatesRequest = {
      groups: [...groups.values()].map(
        (g): RequestGroup => ({
          suffix: g.suffix,
          resources: g.resources,
          requiredTraits: g.required,
          anyTraits: g.anyOf,
          forbiddenTraits: g.forbidden,
          memberOf: g.memberOf,
          forbiddenAggregates: g.forbiddenAggregates,
          ...(g.inTree !== undefined ? { inTree: g.inTree } : {}),
        }),
      ),
      ...(groupPolicy ? { groupPolicy } : {}),
      ...(root ? { rootRequired: [...root.required, ...root.forbidden.map((t) => `!${t}`)] } : {}),
      ...(sameSubtree.length ? { sameSubtree } : {}),
      ...(limit !== undefined && nestedAware ? { limit } : {}),
    }
    let result: AllocationCandidates = await placement.getAllocationCandidates(coreRequest)
    if (!nestedAware) result = excludeNested(result, limit)
    return serializer.serialize(result, minor, requested)
  })
}
