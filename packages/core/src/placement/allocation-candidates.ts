import { ComputeError } from '../errors/compute-error.js'
import { assertResourceClass, assertTraitNames } from './names.js'
import type {
  AllocationCandidates,
  AllocationCandidatesRequest,
  CandidateAllocationRequest,
  ProviderRejection,
} from './placement-client.js'
import { SHARING_TRAIT, type CachedProvider, type InventoryState, type ProviderSnapshot, type ProviderTree } from './provider-cache.js'

/*
 * `GET /allocation_candidates` over the database (Placement's `AllocationCandidates.get_by_requests`).
 *
 * Providers come from a {@link ProviderCache} snapshot: one narrow query reads every provider's generation, and
 * only providers whose generation moved are reloaded (a few set-based queries). Candidates are then generated
 * anchor tree by anchor tree in root-provider order, lazily, and generation stops at `limit`.
 *
 * Semantics implemented (Placement 1.39):
 * - unsuffixed group: each resource class comes whole from one provider of the anchor tree or from a sharing
 *   provider; classes may come from different providers; its traits are satisfied by the union of the providers
 *   serving it, and a forbidden trait on any of them excludes the combination; `member_of` matches a provider of
 *   the tree through its own aggregates or its root's (an aggregate on a root spans the tree);
 * - suffixed groups: all of a group's resources from one provider that itself has the group's traits and
 *   aggregates (its own: an aggregate on the root does not span the tree for them); `group_policy=isolate` puts
 *   different suffixed groups on different providers; a suffixed group may be resourceless (only traits,
 *   aggregates or `in_tree`) when a `same_subtree` names it, and then only its provider is mapped;
 * - sharing providers (trait `MISC_SHARES_VIA_AGGREGATE`) serve every tree that has a provider in one of the
 *   sharing provider's aggregates: for the unsuffixed group (unless it has `in_tree`) the sharing provider must
 *   itself match `member_of`, and neither it nor the anchor's root may be in a forbidden aggregate; for a
 *   suffixed group the sharing provider is checked like any single provider. Identical allocation requests
 *   reached from several anchors are returned once;
 * - `same_subtree` (1.36): the providers mapped to the listed groups must all be descendants of (or equal to)
 *   one of them;
 * - `root_required` on the anchor's root provider, `in_tree` per group, `limit`.
 *
 * Provider summaries are those of every tree with a provider in a returned allocation request (the anchor's
 * tree, and a sharing provider's tree when it serves a resource), as Placement builds them.
 */

/** A request group with defaults filled in and the resources as a list. */
interface NormalGroup {
  readonly suffix: string
  /** Empty for a resourceless group. */
  readonly resources: readonly (readonly [string, number])[]
  readonly required: readonly string[]
  readonly forbidden: readonly string[]
  readonly anyOf: readonly (readonly string[])[]
  readonly memberOf: readonly (readonly string[])[]
  readonly forbiddenAggregates: readonly string[]
  readonly inTree: string | undefined
}

interface NormalRequest {
  /** Unsuffixed group first, then suffixed groups in the order given. */
  readonly groups: readonly NormalGroup[]
  readonly rootRequired: readonly string[]
  readonly rootForbidden: readonly string[]
  readonly isolate: boolean
  readonly limit: number
  /** The `same_subtree` sets of suffixes, each without duplicates. */
  readonly sameSubtree: readonly (readonly string[])[]
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
  if (!groups.some((g) => g.resources.length > 0)) throw invalid('an allocation candidates request needs at least one request group with resources')
  const sameSubtree: string[][] = []
  for (const set of request.sameSubtree ?? []) {
    const suffixes = [...new Set(set)]
    if (suffixes.length === 0) throw invalid('a same_subtree set names no request group')
    for (const suffix of suffixes) {
      if (suffix === '') throw invalid('same_subtree cannot name the unsuffixed request group')
      if (!seen.has(suffix)) throw invalid(`same_subtree names request group "${suffix}", which the request does not have`)
    }
    sameSubtree.push(suffixes)
  }
  for (const g of groups) {
    if (g.resources.length > 0) continue
    if (g.suffix === '') throw invalid('the unsuffixed request group has no resources; only a suffixed group named in same_subtree may be resourceless')
    if (!sameSubtree.some((set) => set.includes(g.suffix))) throw invalid(`request group "${g.suffix}" has no resources and is not named in same_subtree`)
  }
  const suffixed = groups.filter((g) => g.suffix !== '').length
  if (suffixed > 1 && !request.groupPolicy) throw invalid('group_policy is required when more than one suffixed request group is given')
  groups.sort((a, b) => (a.suffix === '' ? -1 : b.suffix === '' ? 1 : 0))
  const rootRequired: string[] = []
  const rootForbidden: string[] = []
  for (const t of request.rootRequired ?? []) (t.startsWith('!') ? rootForbidden : rootRequired).push(t.replace(/^!/, ''))
  assertTraitNames([...rootRequired, ...rootForbidden])
  const limit = request.limit ?? Number.POSITIVE_INFINITY
  if (request.limit !== undefined && (!Number.isInteger(request.limit) || request.limit < 1)) throw invalid(`invalid limit ${request.limit}: must be an integer ≥ 1`)
  return { groups, rootRequired, rootForbidden, isolate: request.groupPolicy === 'isolate', limit, sameSubtree }
}

const EMPTY: ReadonlySet<string> = new Set<string>()
const NO_PROVIDERS: readonly CachedProvider[] = Object.freeze([])

type Alloc = Map<CachedProvider, Map<string, number>>

/** What one request group contributes to a candidate: its allocations, and the providers mapped to it. */
interface GroupPartial {
  readonly alloc: Alloc
  /** The providers serving the group (1.34 `mappings`); a resourceless group's provider has no allocation. */
  readonly providers: readonly CachedProvider[]
}

/** One candidate of an anchor tree. */
interface TreeCandidate {
  readonly alloc: Alloc
  readonly mappings: ReadonlyMap<string, readonly CachedProvider[]>
}

/** The allocation being assembled while combining request groups within one anchor tree. */
interface CombineState {
  readonly alloc: Alloc
  readonly mappings: Map<string, readonly CachedProvider[]>
  readonly suffixedUsed: Set<CachedProvider>
  readonly seen: Set<string>
}

/** A string that is equal for two candidates exactly when their allocations and mappings are. */
function candidateKey(alloc: Alloc, mappings: ReadonlyMap<string, readonly CachedProvider[]>): string {
  const a = [...alloc].map(([p, m]) => `${p.id}:${[...m].sort().join(',')}`).sort().join(';')
  const m = [...mappings].map(([k, ps]) => `${k}=${ps.map((p) => p.id).sort((x, y) => x - y).join(',')}`).join(';')
  return `${a}|${m}`
}

/** Evaluation of one request against a provider snapshot. */
class Evaluator {
  /** in_tree uuid → root id. */
  private readonly inTreeRoots = new Map<string, number>()
  /** Sharing providers of other trees by anchor root id; null when no provider shares. */
  private readonly shared: ReadonlyMap<number, readonly CachedProvider[]> | null
  /** The same_subtree sets to check once the group at that index is placed (the last of the set's groups). */
  private readonly subtreeChecks: Map<number, (readonly string[])[]> | null = null

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
    this.shared = snap.sharing.length > 0 ? snap.sharingByRoot() : null
    for (const set of req.sameSubtree) {
      if (set.length < 2) continue
      const last = Math.max(...set.map((s) => req.groups.findIndex((g) => g.suffix === s)))
      this.subtreeChecks ??= new Map()
      let list = this.subtreeChecks.get(last)
      if (!list) this.subtreeChecks.set(last, (list = []))
      list.push(set)
    }
  }

  /** Whether some provider shares its inventory through aggregates (the sharing paths run only then). */
  get sharingInPlay(): boolean {
    return this.shared !== null
  }

  /** Sharing providers of other trees that can serve candidates anchored at `rootId`. */
  sharedFor(rootId: number): readonly CachedProvider[] {
    return this.shared?.get(rootId) ?? NO_PROVIDERS
  }

  /** Root ids the request is limited to by in_tree on every group (null: no limit). */
  onlyRoots(): ReadonlySet<number> | null {
    // A suffixed group's in_tree names the tree of its provider; a sharing provider serves other anchors too.
    if (this.shared || this.req.groups.some((g) => g.inTree === undefined)) return null
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

  /** `member_of` and forbidden aggregates through the provider's own aggregates or its root's (unsuffixed group). */
  aggregatesOk(g: NormalGroup, node: CachedProvider): boolean {
    if (g.memberOf.length === 0 && g.forbiddenAggregates.length === 0) return true
    const own = node.aggregates
    const root = this.snap.byId.get(node.rootId)?.aggregates ?? EMPTY
    const has = (a: string): boolean => own.has(a) || root.has(a)
    return g.memberOf.every((anyOf) => anyOf.some(has)) && !g.forbiddenAggregates.some(has)
  }

  /** `member_of` and forbidden aggregates through the provider's own aggregates only (suffixed groups, sharing providers). */
  ownAggregatesOk(g: NormalGroup, node: CachedProvider): boolean {
    if (g.memberOf.length === 0 && g.forbiddenAggregates.length === 0) return true
    const own = node.aggregates
    return g.memberOf.every((anyOf) => anyOf.some((a) => own.has(a))) && !g.forbiddenAggregates.some((a) => own.has(a))
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

  /**
   * The providers that may serve group `g` in candidates anchored at `tree` once `in_tree` and aggregates are
   * applied: the tree's own, then sharing providers of other trees in one of its aggregates.
   */
  groupProviders(g: NormalGroup, tree: ProviderTree): CachedProvider[] {
    const granular = g.suffix !== ''
    const out: CachedProvider[] = []
    for (const n of tree.nodes) if (this.inTreeOk(g, n) && (granular ? this.ownAggregatesOk(g, n) : this.aggregatesOk(g, n))) out.push(n)
    // NOTE: Placement skips sharing providers for an unsuffixed group with in_tree (it restricts the group to one tree).
    if (this.shared === null || (!granular && g.inTree !== undefined)) return out
    const shared = this.sharedFor(tree.rootId)
    if (shared.length === 0) return out
    const anchorRoot = this.snap.byId.get(tree.rootId)?.aggregates ?? EMPTY
    if (!granular && g.forbiddenAggregates.some((a) => anchorRoot.has(a))) return out
    for (const s of shared) if (this.inTreeOk(g, s) && this.ownAggregatesOk(g, s)) out.push(s)
    return out
  }

  /** What group `g` can contribute to a candidate anchored at `tree`, in provider order. */
  groupPartials(g: NormalGroup, tree: ProviderTree): GroupPartial[] {
    const usable = this.groupProviders(g, tree)
    const out: GroupPartial[] = []
    if (g.suffix !== '') {
      for (const n of usable) {
        if (!g.resources.every(([rc, amount]) => fitsOn(n, rc, amount))) continue
        if (!this.traitsOk(g, [n])) continue
        out.push({ alloc: g.resources.length ? new Map([[n, new Map(g.resources)]]) : new Map(), providers: [n] })
      }
      return out
    }
    // The unsuffixed group: the cartesian product of per-class provider choices, checked for traits.
    const choices = g.resources.map(([rc, amount]) => usable.filter((n) => fitsOn(n, rc, amount)))
    if (choices.some((c) => c.length === 0)) return out
    const at = choices.map(() => 0)
    const pick: CachedProvider[] = choices.map((c) => c[0] as CachedProvider)
    for (;;) {
      if (this.traitsOk(g, pick)) {
        const alloc: Alloc = new Map()
        pick.forEach((p, k) => {
          const [rc, amount] = g.resources[k] as readonly [string, number]
          let m = alloc.get(p)
          if (!m) alloc.set(p, (m = new Map()))
          m.set(rc, amount)
        })
        out.push({ alloc, providers: [...alloc.keys()] })
      }
      // Next combination, the last class varying fastest.
      let k = choices.length - 1
      for (; k >= 0; k--) {
        const list = choices[k] as readonly CachedProvider[]
        const i = (at[k] as number) + 1
        if (i < list.length) {
          at[k] = i
          pick[k] = list[i] as CachedProvider
          break
        }
        at[k] = 0
        pick[k] = list[0] as CachedProvider
      }
      if (k < 0) return out
    }
  }

  /** Every candidate anchored at one tree, combining the groups' partials; shared providers are rechecked for capacity. */
  *treeCandidates(tree: ProviderTree): Generator<TreeCandidate> {
    if (this.rootTraitFailure(tree.rootId)) return
    const groups = this.req.groups
    // One group needs none of the combination machinery: its partials are distinct and fit on their own.
    if (groups.length === 1) {
      const g = groups[0] as NormalGroup
      for (const partial of this.groupPartials(g, tree)) yield { alloc: partial.alloc, mappings: new Map([[g.suffix, partial.providers]]) }
      return
    }
    const partials: GroupPartial[][] = []
    for (const g of groups) {
      const list = this.groupPartials(g, tree)
      if (list.length === 0) return
      partials.push(list)
    }
    yield* this.combine(partials, { alloc: new Map(), mappings: new Map(), suffixedUsed: new Set(), seen: new Set() }, 0)
  }

  /** Whether the same_subtree sets completed by placing group `i` hold for the mappings so far. */
  private subtreesOk(i: number, mappings: ReadonlyMap<string, readonly CachedProvider[]>): boolean {
    const sets = this.subtreeChecks?.get(i)
    if (!sets) return true
    for (const set of sets) {
      const providers = [...new Set(set.flatMap((s) => mappings.get(s) ?? NO_PROVIDERS))]
      if (providers.length < 2) continue
      if (!providers.some((top) => providers.every((p) => this.isAncestorOrSelf(top, p)))) return false
    }
    return true
  }

  /** True when `top` is `p` or one of its ancestors. */
  private isAncestorOrSelf(top: CachedProvider, p: CachedProvider): boolean {
    if (top.rootId !== p.rootId) return false
    for (let n: CachedProvider | undefined = p; n; n = n.parentId === null ? undefined : this.snap.byId.get(n.parentId)) {
      if (n.id === top.id) return true
    }
    return false
  }

  /** Adds group `i`'s partials to the allocation built so far, recursing over the remaining groups. */
  private *combine(partials: readonly (readonly GroupPartial[])[], st: CombineState, i: number): Generator<TreeCandidate> {
    const groups = this.req.groups
    if (i === groups.length) {
      const key = candidateKey(st.alloc, st.mappings)
      if (st.seen.has(key)) return
      st.seen.add(key)
      yield { alloc: new Map([...st.alloc].map(([k, v]) => [k, new Map(v)])), mappings: new Map(st.mappings) }
      return
    }
    const g = groups[i] as NormalGroup
    const granular = g.suffix !== ''
    for (const partial of partials[i] as readonly GroupPartial[]) {
      if (this.req.isolate && granular && partial.providers.some((p) => st.suffixedUsed.has(p))) continue
      st.mappings.set(g.suffix, partial.providers)
      if (!this.subtreesOk(i, st.mappings)) {
        st.mappings.delete(g.suffix)
        continue
      }
      // Merge, checking the combined amount wherever two groups draw from one provider and class.
      let ok = true
      const added: [CachedProvider, string, number][] = []
      for (const [p, m] of partial.alloc) {
        for (const [rc, amount] of m) {
          const prior = st.alloc.get(p)?.get(rc) ?? 0
          if (prior > 0 && !fitsOn(p, rc, prior + amount)) ok = false
          added.push([p, rc, amount])
        }
      }
      if (!ok) {
        st.mappings.delete(g.suffix)
        continue
      }
      for (const [p, rc, amount] of added) {
        let m = st.alloc.get(p)
        if (!m) st.alloc.set(p, (m = new Map()))
        m.set(rc, (m.get(rc) ?? 0) + amount)
      }
      const marked = granular ? partial.providers.filter((p) => !st.suffixedUsed.has(p)) : []
      for (const p of marked) st.suffixedUsed.add(p)
      yield* this.combine(partials, st, i + 1)
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
      const usable = this.groupProviders(g, tree)
      if ((g.memberOf.length || g.forbiddenAggregates.length) && usable.length === 0 && tree.nodes.some((n) => this.inTreeOk(g, n))) {
        const wanted = g.memberOf.map((s) => s.join('|')).join(' and ')
        return {
          kind: 'aggregate',
          summary: 'no membership in the requested aggregates',
          message: wanted ? `no provider is a member of aggregate(s) ${wanted}` : `every provider is in a forbidden aggregate (${g.forbiddenAggregates.join(', ')})`,
        }
      }
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
      const serving = g.resources.length ? usable.filter((n) => g.resources.some(([rc, amount]) => fitsOn(n, rc, amount))) : usable
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

/** A class → amount map as a plain record. */
function recordOf(m: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [rc, amount] of m) out[rc] = amount
  return out
}

/** True when every provider a candidate names is a sharing provider, the only case other anchors can reach it too. */
function onlySharing(c: TreeCandidate): boolean {
  for (const p of c.alloc.keys()) if (!p.traits.has(SHARING_TRAIT)) return false
  for (const ps of c.mappings.values()) for (const p of ps) if (!p.traits.has(SHARING_TRAIT)) return false
  return true
}

/** Adds the summaries of every provider of one tree, once per tree. */
function summarise(snap: ProviderSnapshot, rootId: number, done: Set<number>, into: Record<string, CachedProvider['summary']>): void {
  if (done.has(rootId)) return
  done.add(rootId)
  for (const n of snap.tree(rootId)?.nodes ?? NO_PROVIDERS) into[n.uuid] = n.summary
}

/**
 * Answers an allocation-candidates request from a provider snapshot; see the module notes for the semantics.
 * Candidates come in root-provider id order of their anchor tree and generation stops after `limit`.
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
  // With sharing providers, one allocation request can be reached from several anchors (when every provider in it
  // shares: any other provider belongs to its anchor's tree): Placement returns it once.
  const sharing = evaluator.sharingInPlay
  const seen = sharing ? new Set<string>() : null
  // Roots whose trees are in providerSummaries already (the general path only).
  const summarised = new Set<number>()
  outer: for (const tree of snap.trees) {
    if (only && !only.has(tree.rootId)) continue
    if (single && sharedResources && tree.nodes.length === 1 && (!sharing || evaluator.sharedFor(tree.rootId).length === 0)) {
      const n = tree.nodes[0] as CachedProvider
      if (evaluator.singleProviderFits(single, n)) {
        if (seen && n.traits.has(SHARING_TRAIT)) {
          const key = candidateKey(new Map([[n, new Map(single.resources)]]), new Map([[single.suffix, [n]]]))
          if (seen.has(key)) continue
          seen.add(key)
        }
        allocationRequests.push({ allocations: { [n.uuid]: { resources: sharedResources } }, mappings: { [single.suffix]: [n.uuid] } })
        providerSummaries[n.uuid] = n.summary
        if (allocationRequests.length >= req.limit) break
      }
      continue
    }
    for (const c of evaluator.treeCandidates(tree)) {
      if (seen && onlySharing(c)) {
        const key = candidateKey(c.alloc, c.mappings)
        if (seen.has(key)) continue
        seen.add(key)
      }
      // The anchor tree's providers first: the first provider of an allocation request names its host.
      const allocations: Record<string, { resources: Record<string, number> }> = {}
      let fromAnchor = false
      let fromOtherTrees = false
      for (const [p, m] of c.alloc) {
        if (p.rootId !== tree.rootId) fromOtherTrees = true
        else {
          allocations[p.uuid] = { resources: recordOf(m) }
          fromAnchor = true
        }
      }
      if (fromAnchor) summarise(snap, tree.rootId, summarised, providerSummaries)
      if (fromOtherTrees) {
        for (const [p, m] of c.alloc) {
          if (p.rootId === tree.rootId) continue
          allocations[p.uuid] = { resources: recordOf(m) }
          summarise(snap, p.rootId, summarised, providerSummaries)
        }
      }
      const mappings: Record<string, string[]> = {}
      for (const [suffix, ps] of c.mappings) mappings[suffix] = ps.map((p) => p.uuid)
      allocationRequests.push({ allocations, mappings })
      if (allocationRequests.length >= req.limit) break outer
    }
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
