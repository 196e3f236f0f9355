import { ComputeError } from '../errors/compute-error.js'
import { assertResourceClass, assertTraitNames } from './names.js'
import type {
  AllocationCandidates,
  AllocationCandidatesRequest,
  CandidateAllocationRequest,
  ProviderRejection,
} from './placement-client.js'
import type { CachedProvider, InventoryState, ProviderSnapshot, ProviderTree } from './provider-cache.js'

/*
 * `GET /allocation_candidates` over the database (Placement's `AllocationCandidates.get_by_requests`).
 *
 * Providers come from a {@link ProviderCache} snapshot: one narrow query reads every provider's generation, and
 * only providers whose generation moved are reloaded (a few set-based queries). Candidates are then generated tree
 * by tree in root-provider order, lazily, and generation stops at `limit`; provider summaries are the cached ones
 * of the trees in the answer.
 *
 * Semantics implemented (Placement 1.39, except where noted):
 * - unsuffixed group: each resource class comes whole from one provider of the tree; classes may come from
 *   different providers; its traits are satisfied by the union of the providers serving it, and a forbidden
 *   trait on any of them excludes the combination;
 * - suffixed groups: all of a group's resources from one provider that itself has the group's traits;
 *   `group_policy=isolate` puts different suffixed groups on different providers;
 * - `member_of` / forbidden aggregates: a provider matches through its own aggregates or its root's;
 * - `root_required` on the root provider, `in_tree` per group, `limit`.
 * NOTE: sharing providers (`MISC_SHARES_VIA_AGGREGATE`) and `same_subtree` are not implemented yet; a request
 * with `sameSubtree` fails with `NOT_IMPLEMENTED`.
 */

/** A request group with defaults filled in and the resources as a list. */
interface NormalGroup {
  readonly suffix: string
  readonly resources: readonly (readonly [string, number])[]
  readonly required: readonly string[]
  readonly forbidden: readonly string[]
  readonly anyOf: readonly (readonly string[])[]
  readonly memberOf: readonly (readonly string[])[]
  readonly forbiddenAggregates: readonly string[]
  readonly inTree: string | undefined
}

interface NormalRequest {
  readonly groups: readonly NormalGroup[]
  readonly rootRequired: readonly string[]
  readonly rootForbidden: readonly string[]
  readonly isolate: boolean
  readonly limit: number
}

/** Capacity of an inventory, as Placement computes it: `int((total − reserved) × allocation_ratio)`. */
export function capacityOf(inv: { readonly total: number; readonly reserved: number; readonly allocationRatio: number }): number {
  return Math.floor((inv.total - inv.reserved) * inv.allocationRatio)
}

function fits(inv: InventoryState, amount: number): boolean {
  return amount >= inv.minUnit && amount <= inv.maxUnit && amount % inv.stepSize === 0 && inv.used + amount <= inv.capacity
}

function invalid(message: string): ComputeError {
  return new ComputeError('INVALID', message, { details: { code: 'placement.query.bad_value' } })
}

/** @internal Validates a candidates request and fills in defaults. */
export function normaliseCandidatesRequest(request: AllocationCandidatesRequest): NormalRequest {
  if (request.sameSubtree?.length) {
    throw new ComputeError('NOT_IMPLEMENTED', 'same_subtree is not supported by this placement service yet')
  }
  const seen = new Set<string>()
  const groups: NormalGroup[] = []
  for (const g of request.groups) {
    if (seen.has(g.suffix)) throw invalid(`request group suffix "${g.suffix}" appears more than once`)
    seen.add(g.suffix)
    if (g.suffix !== '' && !/^[a-zA-Z0-9_-]{1,64}$/.test(g.suffix)) throw invalid(`invalid request group suffix "${g.suffix}"`)
    const resources = Object.entries(g.resources)
    for (const [rc, amount] of resources) {
      assertResourceClass(rc)
      if (!Number.isInteger(amount) || amount < 1) throw invalid(`invalid amount ${amount} of ${rc} in request group "${g.suffix}": must be an integer ≥ 1`)
    }
    const required = [...(g.requiredTraits ?? [])]
    const forbidden = [...(g.forbiddenTraits ?? [])]
    const anyOf = (g.anyTraits ?? []).map((s) => [...s])
    assertTraitNames([...required, ...forbidden, ...anyOf.flat()])
    if (resources.length === 0) {
      throw invalid(`request group "${g.suffix}" has no resources (resourceless groups need same_subtree, which is not supported yet)`)
    }
    groups.push({
      suffix: g.suffix,
      resources,
      required,
      forbidden,
      anyOf,
      memberOf: (g.memberOf ?? []).map((s) => [...s]).filter((s) => s.length > 0),
      forbiddenAggregates: [...(g.forbiddenAggregates ?? [])],
      inTree: g.inTree,
    })
  }
  if (groups.length === 0) throw invalid('an allocation candidates request needs at least one request group with resources')
  const suffixed = groups.filter((g) => g.suffix !== '').length
  if (suffixed > 1 && !request.groupPolicy) throw invalid('group_policy is required when more than one suffixed request group is given')
  // Unsuffixed group first, then suffixed groups in the order given.
  groups.sort((a, b) => (a.suffix === '' ? -1 : b.suffix === '' ? 1 : 0))
  const rootRequired: string[] = []
  const rootForbidden: string[] = []
  for (const t of request.rootRequired ?? []) (t.startsWith('!') ? rootForbidden : rootRequired).push(t.replace(/^!/, ''))
  assertTraitNames([...rootRequired, ...rootForbidden])
  const limit = request.limit ?? Number.POSITIVE_INFINITY
  if (request.limit !== undefined && (!Number.isInteger(request.limit) || request.limit < 1)) throw invalid(`invalid limit ${request.limit}: must be an integer ≥ 1`)
  return { groups, rootRequired, rootForbidden, isolate: request.groupPolicy === 'isolate', limit }
}

const EMPTY: ReadonlySet<string> = new Set<string>()

type Alloc = Map<CachedProvider, Map<string, number>>

/** The allocation being assembled while combining request groups within one tree. */
interface CombineState {
  readonly alloc: Alloc
  readonly mappings: Map<string, CachedProvider[]>
  readonly suffixedUsed: Set<CachedProvider>
  readonly seen: Set<string>
}

/** Evaluation of one request against a provider snapshot. */
class Evaluator {
  /** in_tree uuid → root id. */
  private readonly inTreeRoots = new Map<string, number>()

  constructor(
    private readonly req: NormalRequest,
    private readonly snap: ProviderSnapshot,
  ) {
    const byUuid = new Map<string, CachedProvider>()
    const wanted = new Set(req.groups.map((g) => g.inTree).filter((u): u is string => u !== undefined))
    if (wanted.size) for (const p of snap.byId.values()) if (wanted.has(p.uuid)) byUuid.set(p.uuid, p)
    for (const uuid of wanted) {
      const p = byUuid.get(uuid)
      if (!p) throw invalid(`no resource provider with uuid ${uuid} for in_tree`)
      this.inTreeRoots.set(uuid, p.rootId)
    }
  }

  /** Root ids the request is limited to by in_tree on every group (null: no limit). */
  onlyRoots(): ReadonlySet<number> | null {
    if (this.req.groups.some((g) => g.inTree === undefined)) return null
    return new Set(this.inTreeRoots.values())
  }

  /** The root-trait verdict for a tree: null when it passes. */
  rootTraitFailure(rootId: number): { kind: 'root_trait' | 'forbidden_root_trait'; trait: string } | null {
    if (this.req.rootRequired.length === 0 && this.req.rootForbidden.length === 0) return null
    const t = this.snap.byId.get(rootId)?.traits ?? EMPTY
    for (const r of this.req.rootRequired) if (!t.has(r)) return { kind: 'root_trait', trait: r }
    for (const f of this.req.rootForbidden) if (t.has(f)) return { kind: 'forbidden_root_trait', trait: f }
    return null
  }

  inTreeOk(g: NormalGroup, node: CachedProvider): boolean {
    return g.inTree === undefined || this.inTreeRoots.get(g.inTree) === node.rootId
  }

  aggregatesOk(g: NormalGroup, node: CachedProvider): boolean {
    if (g.memberOf.length === 0 && g.forbiddenAggregates.length === 0) return true
    const own = node.aggregates
    const root = this.snap.byId.get(node.rootId)?.aggregates ?? EMPTY
    const has = (a: string): boolean => own.has(a) || root.has(a)
    return g.memberOf.every((anyOf) => anyOf.some(has)) && !g.forbiddenAggregates.some(has)
  }

  /** Required, any-of and forbidden traits against the union of some providers' traits. */
  traitsOk(g: NormalGroup, providers: readonly CachedProvider[]): boolean {
    if (g.required.length === 0 && g.forbidden.length === 0 && g.anyOf.length === 0) return true
    const has = (t: string): boolean => providers.some((p) => p.traits.has(t))
    return g.required.every(has) && g.anyOf.every((alts) => alts.some(has)) && !g.forbidden.some(has)
  }

  /** Whether one provider alone, the root of its own tree, satisfies the (only) group `g`. */
  singleProviderFits(g: NormalGroup, n: CachedProvider): boolean {
    if (this.rootTraitFailure(n.rootId) || !this.inTreeOk(g, n) || !this.aggregatesOk(g, n)) return false
    for (const [rc, amount] of g.resources) if (!fitsOn(n, rc, amount)) return false
    if (g.required.length === 0 && g.forbidden.length === 0 && g.anyOf.length === 0) return true
    const t = n.traits
    return g.required.every((r) => t.has(r)) && g.anyOf.every((alts) => alts.some((a) => t.has(a))) && !g.forbidden.some((f) => t.has(f))
  }

  /** Partial allocations (provider → class → amount) that satisfy one group within one tree. */
  *groupPartials(g: NormalGroup, tree: ProviderTree): Generator<Alloc> {
    const usable = tree.nodes.filter((n) => this.inTreeOk(g, n) && this.aggregatesOk(g, n))
    if (g.suffix !== '') {
      for (const n of usable) {
        if (!g.resources.every(([rc, amount]) => fitsOn(n, rc, amount))) continue
        if (!this.traitsOk(g, [n])) continue
        yield new Map([[n, new Map(g.resources)]])
      }
      return
    }
    const choices = g.resources.map(([rc, amount]) => usable.filter((n) => fitsOn(n, rc, amount)))
    if (choices.some((c) => c.length === 0)) return
    yield* this.walkChoices(g, choices, [], 0)
  }

  /** The cartesian product of per-class provider choices of the unsuffixed group, checked for traits. */
  private *walkChoices(g: NormalGroup, choices: readonly (readonly CachedProvider[])[], pick: CachedProvider[], i: number): Generator<Alloc> {
    if (i === choices.length) {
      if (!this.traitsOk(g, pick)) return
      const out: Alloc = new Map()
      pick.forEach((p, k) => {
        const [rc, amount] = g.resources[k] as readonly [string, number]
        let m = out.get(p)
        if (!m) out.set(p, (m = new Map()))
        m.set(rc, amount)
      })
      yield out
      return
    }
    for (const n of choices[i] as readonly CachedProvider[]) {
      pick.push(n)
      yield* this.walkChoices(g, choices, pick, i + 1)
      pick.pop()
    }
  }

  /** Every candidate of one tree, combining the groups' partials; shared providers are rechecked for capacity. */
  *treeCandidates(tree: ProviderTree): Generator<{ alloc: Alloc; mappings: Map<string, CachedProvider[]> }> {
    if (this.rootTraitFailure(tree.rootId)) return
    const groups = this.req.groups
    // The common case — one group, one provider — needs none of the combination machinery.
    if (groups.length === 1 && tree.nodes.length === 1) {
      const g = groups[0] as NormalGroup
      for (const partial of this.groupPartials(g, tree)) yield { alloc: partial, mappings: new Map([[g.suffix, [...partial.keys()]]]) }
      return
    }
    yield* this.combine(tree, { alloc: new Map(), mappings: new Map(), suffixedUsed: new Set(), seen: new Set() }, 0)
  }

  /** Adds group `i`'s partials to the allocation built so far, recursing over the remaining groups. */
  private *combine(tree: ProviderTree, st: CombineState, i: number): Generator<{ alloc: Alloc; mappings: Map<string, CachedProvider[]> }> {
    const groups = this.req.groups
    if (i === groups.length) {
      const key = `${[...st.alloc].map(([p, m]) => `${p.id}:${[...m].sort().join(',')}`).sort().join(';')}|${[...st.mappings].map(([k, ps]) => `${k}=${ps.map((p) => p.id).join(',')}`).join(';')}`
      if (st.seen.has(key)) return
      st.seen.add(key)
      yield { alloc: new Map([...st.alloc].map(([k, v]) => [k, new Map(v)])), mappings: new Map(st.mappings) }
      return
    }
    const g = groups[i] as NormalGroup
    for (const partial of this.groupPartials(g, tree)) {
      if (this.req.isolate && g.suffix !== '' && [...partial.keys()].some((p) => st.suffixedUsed.has(p))) continue
      // Merge, checking the combined amount wherever two groups draw from one provider and class.
      let ok = true
      const added: [CachedProvider, string, number][] = []
      for (const [p, m] of partial) {
        for (const [rc, amount] of m) {
          const prior = st.alloc.get(p)?.get(rc) ?? 0
          if (prior > 0 && !fitsOn(p, rc, prior + amount)) ok = false
          added.push([p, rc, amount])
        }
      }
      if (!ok) continue
      for (const [p, rc, amount] of added) {
        let m = st.alloc.get(p)
        if (!m) st.alloc.set(p, (m = new Map()))
        m.set(rc, (m.get(rc) ?? 0) + amount)
      }
      st.mappings.set(g.suffix, [...partial.keys()])
      const marked = g.suffix !== '' ? [...partial.keys()].filter((p) => !st.suffixedUsed.has(p)) : []
      for (const p of marked) st.suffixedUsed.add(p)
      yield* this.combine(tree, st, i + 1)
      for (const p of marked) st.suffixedUsed.delete(p)
      st.mappings.delete(g.suffix)
      for (const [p, rc, amount] of added) {
        const m = st.alloc.get(p) as Map<string, number>
        const left = (m.get(rc) ?? 0) - amount
        if (left === 0) m.delete(rc)
        else m.set(rc, left)
        if (m.size === 0) st.alloc.delete(p)
      }
    }
  }

  /** Why a tree yields nothing: the first requirement it fails. */
  diagnose(tree: ProviderTree): Omit<ProviderRejection, 'providerUuid' | 'providerName'> {
    const rootFailure = this.rootTraitFailure(tree.rootId)
    if (rootFailure) {
      return rootFailure.kind === 'root_trait'
        ? { kind: 'root_trait', trait: rootFailure.trait, summary: `no trait ${rootFailure.trait}`, message: `the root provider lacks required trait ${rootFailure.trait}` }
        : { kind: 'forbidden_root_trait', trait: rootFailure.trait, summary: `forbidden trait ${rootFailure.trait}`, message: `the root provider has forbidden trait ${rootFailure.trait}` }
    }
    for (const g of this.req.groups) {
      const inTree = tree.nodes.filter((n) => this.inTreeOk(g, n))
      if ((g.memberOf.length || g.forbiddenAggregates.length) && !inTree.some((n) => this.aggregatesOk(g, n))) {
        const wanted = g.memberOf.map((s) => s.join('|')).join(' and ')
        return {
          kind: 'aggregate',
          summary: 'no membership in the requested aggregates',
          message: wanted ? `no provider is a member of aggregate(s) ${wanted}` : `every provider is in a forbidden aggregate (${g.forbiddenAggregates.join(', ')})`,
        }
      }
      const usable = inTree.filter((n) => this.aggregatesOk(g, n))
      for (const [rc, amount] of g.resources) {
        const invs = usable.map((n) => n.inventories.get(rc)).filter((i): i is InventoryState => i !== undefined)
        if (invs.length === 0) return { kind: 'no_inventory', resourceClass: rc, summary: `no ${rc} inventory`, message: `no provider has ${rc} inventory` }
        if (invs.some((inv) => fits(inv, amount))) continue
        const unitOk = invs.filter((inv) => amount >= inv.minUnit && amount <= inv.maxUnit && amount % inv.stepSize === 0)
        if (unitOk.length) {
          const best = unitOk.reduce((a, b) => (a.capacity - a.used >= b.capacity - b.used ? a : b))
          return {
            kind: 'capacity',
            resourceClass: rc,
            summary: `too little ${rc}`,
            message: `wants ${amount} ${rc}, free ${Math.max(0, best.capacity - best.used)} (capacity ${best.capacity}, used ${best.used})`,
          }
        }
        const inv = invs[0] as InventoryState
        return {
          kind: 'unit',
          resourceClass: rc,
          summary: `no ${rc} unit size fitting ${amount}`,
          message: `wants ${amount} ${rc}, but min_unit ${inv.minUnit}, max_unit ${inv.maxUnit}, step_size ${inv.stepSize}`,
        }
      }
      const serving = usable.filter((n) => g.resources.some(([rc, amount]) => fitsOn(n, rc, amount)))
      const has = (t: string): boolean => serving.some((n) => n.traits.has(t))
      const missing = g.required.find((t) => !has(t)) ?? g.anyOf.find((alts) => !alts.some(has))?.join('|')
      if (missing !== undefined) return { kind: 'trait', trait: missing, summary: `no trait ${missing}`, message: `no provider that could serve the request has required trait ${missing}` }
      const bad = g.forbidden.find((t) => serving.every((n) => n.traits.has(t)))
      if (bad !== undefined) return { kind: 'forbidden_trait', trait: bad, summary: `forbidden trait ${bad}`, message: `every provider that could serve the request has forbidden trait ${bad}` }
    }
    return { kind: 'combination', summary: 'no combination of providers for all request groups', message: 'each requirement can be met, but not all at once by one combination of providers' }
  }
}

function fitsOn(p: CachedProvider, rc: string, amount: number): boolean {
  const inv = p.inventories.get(rc)
  return inv !== undefined && fits(inv, amount)
}

/**
 * Answers an allocation-candidates request from a provider snapshot; see the module notes for the semantics.
 * Candidates come in root-provider id order and generation stops after `limit`.
 */
export function computeAllocationCandidates(snap: ProviderSnapshot, request: AllocationCandidatesRequest): AllocationCandidates {
  const req = normaliseCandidatesRequest(request)
  const evaluator = new Evaluator(req, snap)
  const only = evaluator.onlyRoots()
  const allocationRequests: CandidateAllocationRequest[] = []
  const providerSummaries: Record<string, CachedProvider['summary']> = {}
  // The common case — one request group, single-provider trees — takes a path with no generators and shares one
  // frozen resources object between all allocation requests.
  const single = req.groups.length === 1 ? (req.groups[0] as NormalGroup) : null
  const sharedResources = single ? Object.freeze(Object.fromEntries(single.resources)) : null
  outer: for (const tree of snap.trees) {
    if (only && !only.has(tree.rootId)) continue
    if (single && sharedResources && tree.nodes.length === 1) {
      const n = tree.nodes[0] as CachedProvider
      if (evaluator.singleProviderFits(single, n)) {
        allocationRequests.push({ allocations: { [n.uuid]: { resources: sharedResources } }, mappings: { [single.suffix]: [n.uuid] } })
        providerSummaries[n.uuid] = n.summary
        if (allocationRequests.length >= req.limit) break
      }
      continue
    }
    let any = false
    for (const c of evaluator.treeCandidates(tree)) {
      const allocations: Record<string, { resources: Record<string, number> }> = {}
      for (const [p, m] of c.alloc) allocations[p.uuid] = { resources: Object.fromEntries(m) }
      const mappings: Record<string, string[]> = {}
      for (const [suffix, ps] of c.mappings) mappings[suffix] = ps.map((p) => p.uuid)
      allocationRequests.push({ allocations, mappings })
      any = true
      if (allocationRequests.length >= req.limit) break
    }
    if (any) for (const n of tree.nodes) providerSummaries[n.uuid] = n.summary
    if (allocationRequests.length >= req.limit) break outer
  }
  return { allocationRequests, providerSummaries }
}

/**
 * For every root provider that yields no candidate for `request` (ignoring `limit`), the first requirement it
 * fails. Trees excluded by `in_tree` are not reported.
 */
export function explainAllocationCandidates(snap: ProviderSnapshot, request: AllocationCandidatesRequest): ProviderRejection[] {
  const req = normaliseCandidatesRequest({ ...request, limit: undefined } as AllocationCandidatesRequest)
  const evaluator = new Evaluator(req, snap)
  const only = evaluator.onlyRoots()
  const out: ProviderRejection[] = []
  for (const tree of snap.trees) {
    if (only && !only.has(tree.rootId)) continue
    if (!evaluator.treeCandidates(tree).next().done) continue
    const root = snap.byId.get(tree.rootId) ?? (tree.nodes[0] as CachedProvider)
    out.push({ providerUuid: root.uuid, providerName: root.name, ...evaluator.diagnose(tree) })
  }
  return out
}
