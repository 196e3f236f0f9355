import { type Expression, type SqlBool, sql } from 'kysely'
import { ComputeError } from '../errors/compute-error.js'
import { assertResourceClass, assertTraitNames } from './names.js'
import type {
  AllocationCandidates,
  AllocationCandidatesRequest,
  CandidateAllocationRequest,
  ProviderRejection,
  ProviderSummaryResource,
} from './placement-client.js'
import { type Queryable, chunks } from './sql.js'

/*
 * `GET /allocation_candidates` over the database (Placement's `AllocationCandidates.get_by_requests`).
 *
 * A few set-based queries load what the request can use — inventories of the requested classes with their usage
 * (capacity checked in SQL), and only the traits and aggregates the request names — then candidates are generated
 * tree by tree in root-provider order, and generation stops at `limit`. Provider summaries are loaded afterwards,
 * for the trees in the answer only.
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

/** @internal One inventory row with its usage. */
interface InventoryState {
  readonly total: number
  readonly reserved: number
  readonly minUnit: number
  readonly maxUnit: number
  readonly stepSize: number
  readonly ratio: number
  readonly used: number
}

interface ProviderNode {
  readonly id: number
  readonly uuid: string
  readonly rootId: number
  readonly inventories: Map<string, InventoryState>
}

interface Tree {
  readonly rootId: number
  readonly rootUuid: string
  readonly nodes: ProviderNode[]
}

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

interface LoadedData {
  readonly trees: Tree[]
  readonly traits: Map<number, Set<string>>
  readonly aggregates: Map<number, Set<string>>
  /** in_tree uuid → root id (undefined entry: unknown provider). */
  readonly inTreeRoots: Map<string, number>
}

/** Capacity of an inventory, as Placement computes it: `int((total − reserved) × allocation_ratio)`. */
export function capacityOf(inv: { readonly total: number; readonly reserved: number; readonly allocationRatio: number }): number {
  return Math.floor((inv.total - inv.reserved) * inv.allocationRatio)
}

function fits(inv: InventoryState, amount: number, alsoUsed = 0): boolean {
  return (
    amount >= inv.minUnit &&
    amount <= inv.maxUnit &&
    amount % inv.stepSize === 0 &&
    inv.used + alsoUsed + amount <= Math.floor((inv.total - inv.reserved) * inv.ratio)
  )
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

/** Every trait name and aggregate uuid the request mentions (only those are loaded). */
function mentioned(req: NormalRequest): { traits: string[]; aggregates: string[] } {
  const traits = new Set<string>([...req.rootRequired, ...req.rootForbidden])
  const aggregates = new Set<string>()
  for (const g of req.groups) {
    for (const t of [...g.required, ...g.forbidden, ...g.anyOf.flat()]) traits.add(t)
    for (const a of [...g.memberOf.flat(), ...g.forbiddenAggregates]) aggregates.add(a)
  }
  return { traits: [...traits], aggregates: [...aggregates] }
}

/**
 * @internal Loads inventories (with usage) of the requested classes, grouped into trees in root-id order.
 * With `prefilter`, SQL keeps only rows that could serve the smallest amount asked of their class.
 */
async function loadData(db: Queryable, req: NormalRequest, prefilter: boolean): Promise<LoadedData> {
  const minAmount = new Map<string, number>()
  for (const g of req.groups) for (const [rc, n] of g.resources) minAmount.set(rc, Math.min(n, minAmount.get(rc) ?? n))
  const classes = [...minAmount.keys()]

  const inTreeUuids = [...new Set(req.groups.map((g) => g.inTree).filter((u): u is string => u !== undefined))]
  const inTreeRoots = new Map<string, number>()
  if (inTreeUuids.length) {
    const rows = await db.selectFrom('resource_providers').select(['uuid', 'root_provider_id']).where('uuid', 'in', inTreeUuids).execute()
    for (const r of rows) inTreeRoots.set(r.uuid, r.root_provider_id ?? -1)
    const unknown = inTreeUuids.filter((u) => !inTreeRoots.has(u))
    if (unknown.length) throw invalid(`no resource provider with uuid ${unknown.join(', ')} for in_tree`)
  }
  const onlyRoot = inTreeUuids.length > 0 && req.groups.every((g) => g.inTree !== undefined) && new Set(inTreeRoots.values()).size === 1 ? [...inTreeRoots.values()][0] : undefined

  const usage = db
    .selectFrom('allocations')
    .select(['resource_provider_id', 'resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
    .where('resource_class', 'in', classes)
    .groupBy(['resource_provider_id', 'resource_class'])
    .as('u')

  let q = db
    .selectFrom('inventories as i')
    .innerJoin('resource_providers as rp', 'rp.id', 'i.resource_provider_id')
    .innerJoin('resource_providers as r', 'r.id', 'rp.root_provider_id')
    .leftJoin(usage, (join) => join.onRef('u.resource_provider_id', '=', 'i.resource_provider_id').onRef('u.resource_class', '=', 'i.resource_class'))
    .select([
      'i.resource_provider_id as id',
      'rp.uuid as uuid',
      'rp.root_provider_id as root_id',
      'r.uuid as root_uuid',
      'i.resource_class as rc',
      'i.total',
      'i.reserved',
      'i.min_unit',
      'i.max_unit',
      'i.step_size',
      'i.allocation_ratio',
      'u.used as used',
    ])
    .where('i.resource_class', 'in', classes)
  if (onlyRoot !== undefined) q = q.where('rp.root_provider_id', '=', onlyRoot)
  if (prefilter) {
    q = q.where((eb) =>
      eb.or(
        classes.map((rc) => {
          const n = minAmount.get(rc) ?? 1
          return eb.and([
            eb('i.resource_class', '=', rc),
            eb('i.min_unit', '<=', n),
            eb('i.max_unit', '>=', n),
            sql<SqlBool>`coalesce(u.used, 0) + ${n} <= (i.total - i.reserved) * i.allocation_ratio` as Expression<SqlBool>,
          ])
        }),
      ),
    )
  }
  const { traits: traitNames, aggregates: aggregateUuids } = mentioned(req)
  const [rows, traitRows, aggregateRows] = await Promise.all([
    q.execute(),
    traitNames.length
      ? db
          .selectFrom('resource_provider_traits as rpt')
          .innerJoin('traits as t', 't.id', 'rpt.trait_id')
          .select(['rpt.resource_provider_id as id', 't.name as name'])
          .where('t.name', 'in', traitNames)
          .execute()
      : Promise.resolve([]),
    aggregateUuids.length
      ? db
          .selectFrom('resource_provider_aggregates')
          .select(['resource_provider_id as id', 'aggregate_uuid'])
          .where('aggregate_uuid', 'in', aggregateUuids)
          .execute()
      : Promise.resolve([]),
  ])

  const nodes = new Map<number, ProviderNode>()
  const trees = new Map<number, Tree>()
  for (const row of rows) {
    const rootId = row.root_id ?? row.id
    let node = nodes.get(row.id)
    if (!node) {
      node = { id: row.id, uuid: row.uuid, rootId, inventories: new Map() }
      nodes.set(row.id, node)
      let tree = trees.get(rootId)
      if (!tree) {
        tree = { rootId, rootUuid: row.root_uuid, nodes: [] }
        trees.set(rootId, tree)
      }
      tree.nodes.push(node)
    }
    node.inventories.set(row.rc, {
      total: Number(row.total),
      reserved: Number(row.reserved),
      minUnit: Number(row.min_unit),
      maxUnit: Number(row.max_unit),
      stepSize: Number(row.step_size),
      ratio: Number(row.allocation_ratio),
      used: Number(row.used ?? 0),
    })
  }
  const traits = new Map<number, Set<string>>()
  for (const r of traitRows) {
    let s = traits.get(r.id)
    if (!s) traits.set(r.id, (s = new Set()))
    s.add(r.name)
  }
  const aggregates = new Map<number, Set<string>>()
  for (const r of aggregateRows) {
    let s = aggregates.get(r.id)
    if (!s) aggregates.set(r.id, (s = new Set()))
    s.add(r.aggregate_uuid)
  }
  const ordered = [...trees.values()].sort((a, b) => a.rootId - b.rootId)
  for (const t of ordered) t.nodes.sort((a, b) => a.id - b.id)
  return { trees: ordered, traits, aggregates, inTreeRoots }
}

const EMPTY = new Set<string>()

/** Evaluation of one request against loaded data. */
class Evaluator {
  constructor(
    private readonly req: NormalRequest,
    private readonly data: LoadedData,
  ) {}

  traitsOf(id: number): Set<string> {
    return this.data.traits.get(id) ?? EMPTY
  }

  /** The root-trait verdict for a tree: null when it passes. */
  rootTraitFailure(rootId: number): { kind: 'root_trait' | 'forbidden_root_trait'; trait: string } | null {
    const t = this.traitsOf(rootId)
    for (const r of this.req.rootRequired) if (!t.has(r)) return { kind: 'root_trait', trait: r }
    for (const f of this.req.rootForbidden) if (t.has(f)) return { kind: 'forbidden_root_trait', trait: f }
    return null
  }

  inTreeOk(g: NormalGroup, node: ProviderNode): boolean {
    return g.inTree === undefined || this.data.inTreeRoots.get(g.inTree) === node.rootId
  }

  aggregatesOk(g: NormalGroup, node: ProviderNode): boolean {
    if (g.memberOf.length === 0 && g.forbiddenAggregates.length === 0) return true
    const own = this.data.aggregates.get(node.id) ?? EMPTY
    const root = this.data.aggregates.get(node.rootId) ?? EMPTY
    const has = (a: string): boolean => own.has(a) || root.has(a)
    return g.memberOf.every((anyOf) => anyOf.some(has)) && !g.forbiddenAggregates.some(has)
  }

  /** Required, any-of and forbidden traits against a set of providers' traits. */
  traitsOk(g: NormalGroup, providerIds: Iterable<number>): boolean {
    if (g.required.length === 0 && g.forbidden.length === 0 && g.anyOf.length === 0) return true
    const sets = [...providerIds].map((id) => this.traitsOf(id))
    const has = (t: string): boolean => sets.some((s) => s.has(t))
    return g.required.every(has) && g.anyOf.every((alts) => alts.some(has)) && !g.forbidden.some(has)
  }

  /** Partial allocations (provider id → class → amount) that satisfy one group within one tree. */
  *groupPartials(g: NormalGroup, tree: Tree): Generator<Map<number, Map<string, number>>> {
    const usable = tree.nodes.filter((n) => this.inTreeOk(g, n) && this.aggregatesOk(g, n))
    if (g.suffix !== '') {
      for (const n of usable) {
        if (!g.resources.every(([rc, amount]) => { const inv = n.inventories.get(rc); return inv !== undefined && fits(inv, amount) })) continue
        if (!this.traitsOk(g, [n.id])) continue
        yield new Map([[n.id, new Map(g.resources)]])
      }
      return
    }
    const choices = g.resources.map(([rc, amount]) =>
      usable.filter((n) => { const inv = n.inventories.get(rc); return inv !== undefined && fits(inv, amount) }),
    )
    if (choices.some((c) => c.length === 0)) return
    const pick: ProviderNode[] = []
    const self = this
    function* walk(i: number): Generator<Map<number, Map<string, number>>> {
      if (i === choices.length) {
        const ids = new Set(pick.map((p) => p.id))
        if (!self.traitsOk(g, ids)) return
        const out = new Map<number, Map<string, number>>()
        pick.forEach((p, k) => {
          const [rc, amount] = g.resources[k] as readonly [string, number]
          let m = out.get(p.id)
          if (!m) out.set(p.id, (m = new Map()))
          m.set(rc, amount)
        })
        yield out
        return
      }
      for (const n of choices[i] as ProviderNode[]) {
        pick.push(n)
        yield* walk(i + 1)
        pick.pop()
      }
    }
    yield* walk(0)
  }

  /** Every candidate of one tree, combining the groups' partials; shared providers are rechecked for capacity. */
  *treeCandidates(tree: Tree): Generator<{ alloc: Map<number, Map<string, number>>; mappings: Map<string, Set<number>> }> {
    if (this.rootTraitFailure(tree.rootId)) return
    const byId = new Map(tree.nodes.map((n) => [n.id, n]))
    const groups = this.req.groups
    const alloc = new Map<number, Map<string, number>>()
    const mappings = new Map<string, Set<number>>()
    const suffixedUsed = new Set<number>()
    const seen = new Set<string>()
    const self = this
    function* combine(i: number): Generator<{ alloc: Map<number, Map<string, number>>; mappings: Map<string, Set<number>> }> {
      if (i === groups.length) {
        const key = [...alloc].map(([id, m]) => `${id}:${[...m].sort().join(',')}`).sort().join(';')
        if (seen.has(key)) return
        seen.add(key)
        yield { alloc: cloneAlloc(alloc), mappings: new Map([...mappings].map(([k, v]) => [k, new Set(v)])) }
        return
      }
      const g = groups[i] as NormalGroup
      for (const partial of self.groupPartials(g, tree)) {
        if (self.req.isolate && g.suffix !== '' && [...partial.keys()].some((id) => suffixedUsed.has(id))) continue
        // Merge, checking the combined amount wherever two groups draw from one provider and class.
        let ok = true
        const added: [number, string, number][] = []
        for (const [id, m] of partial) {
          for (const [rc, amount] of m) {
            const prior = alloc.get(id)?.get(rc) ?? 0
            if (prior > 0) {
              const inv = byId.get(id)?.inventories.get(rc)
              if (!inv || !fits(inv, prior + amount)) ok = false
            }
            added.push([id, rc, amount])
          }
        }
        if (!ok) continue
        for (const [id, rc, amount] of added) {
          let m = alloc.get(id)
          if (!m) alloc.set(id, (m = new Map()))
          m.set(rc, (m.get(rc) ?? 0) + amount)
        }
        mappings.set(g.suffix, new Set(partial.keys()))
        const marked = g.suffix !== '' ? [...partial.keys()].filter((id) => !suffixedUsed.has(id)) : []
        for (const id of marked) suffixedUsed.add(id)
        yield* combine(i + 1)
        for (const id of marked) suffixedUsed.delete(id)
        mappings.delete(g.suffix)
        for (const [id, rc, amount] of added) {
          const m = alloc.get(id) as Map<string, number>
          const left = (m.get(rc) ?? 0) - amount
          if (left === 0) m.delete(rc)
          else m.set(rc, left)
          if (m.size === 0) alloc.delete(id)
        }
      }
    }
    yield* combine(0)
  }

  /** Why a tree yields nothing: the first requirement it fails. */
  diagnose(tree: Tree | undefined, rootId: number): Omit<ProviderRejection, 'providerUuid' | 'providerName'> {
    const rootFailure = this.rootTraitFailure(rootId)
    if (rootFailure) {
      return rootFailure.kind === 'root_trait'
        ? { kind: 'root_trait', trait: rootFailure.trait, summary: `no trait ${rootFailure.trait}`, message: `the root provider lacks required trait ${rootFailure.trait}` }
        : { kind: 'forbidden_root_trait', trait: rootFailure.trait, summary: `forbidden trait ${rootFailure.trait}`, message: `the root provider has forbidden trait ${rootFailure.trait}` }
    }
    const nodes = tree?.nodes ?? []
    for (const g of this.req.groups) {
      const inTree = nodes.filter((n) => this.inTreeOk(g, n))
      if (g.memberOf.length || g.forbiddenAggregates.length) {
        if (!inTree.some((n) => this.aggregatesOk(g, n))) {
          const wanted = g.memberOf.map((s) => s.join('|')).join(' and ')
          return {
            kind: 'aggregate',
            summary: 'no membership in the requested aggregates',
            message: wanted ? `no provider is a member of aggregate(s) ${wanted}` : `every provider is in a forbidden aggregate (${g.forbiddenAggregates.join(', ')})`,
          }
        }
      }
      const usable = inTree.filter((n) => this.aggregatesOk(g, n))
      for (const [rc, amount] of g.resources) {
        const invs = usable.map((n) => n.inventories.get(rc)).filter((i): i is InventoryState => i !== undefined)
        if (invs.length === 0) return { kind: 'no_inventory', resourceClass: rc, summary: `no ${rc} inventory`, message: `no provider has ${rc} inventory` }
        if (invs.some((inv) => fits(inv, amount))) continue
        const unitOk = invs.filter((inv) => amount >= inv.minUnit && amount <= inv.maxUnit && amount % inv.stepSize === 0)
        if (unitOk.length) {
          const best = unitOk.reduce((a, b) => (free(a) >= free(b) ? a : b))
          const cap = Math.floor((best.total - best.reserved) * best.ratio)
          return { kind: 'capacity', resourceClass: rc, summary: `too little ${rc}`, message: `wants ${amount} ${rc}, free ${Math.max(0, free(best))} (capacity ${cap}, used ${best.used})` }
        }
        const inv = invs[0] as InventoryState
        return {
          kind: 'unit',
          resourceClass: rc,
          summary: `no ${rc} unit size fitting ${amount}`,
          message: `wants ${amount} ${rc}, but min_unit ${inv.minUnit}, max_unit ${inv.maxUnit}, step_size ${inv.stepSize}`,
        }
      }
      const serving = usable.filter((n) => g.resources.some(([rc, amount]) => { const inv = n.inventories.get(rc); return inv !== undefined && fits(inv, amount) }))
      const union = new Set(serving.flatMap((n) => [...this.traitsOf(n.id)]))
      const missing = g.required.find((t) => !union.has(t)) ?? g.anyOf.find((alts) => !alts.some((t) => union.has(t)))?.join('|')
      if (missing !== undefined) return { kind: 'trait', trait: missing, summary: `no trait ${missing}`, message: `no provider that could serve the request has required trait ${missing}` }
      const bad = g.forbidden.find((t) => serving.every((n) => this.traitsOf(n.id).has(t)))
      if (bad !== undefined) return { kind: 'forbidden_trait', trait: bad, summary: `forbidden trait ${bad}`, message: `every provider that could serve the request has forbidden trait ${bad}` }
    }
    return { kind: 'combination', summary: 'no combination of providers for all request groups', message: 'each requirement can be met, but not all at once by one combination of providers' }
  }
}

function free(inv: InventoryState): number {
  return Math.floor((inv.total - inv.reserved) * inv.ratio) - inv.used
}

function cloneAlloc(a: Map<number, Map<string, number>>): Map<number, Map<string, number>> {
  return new Map([...a].map(([k, v]) => [k, new Map(v)]))
}

/** @internal Loads provider summaries (every class with capacity and usage, all traits) for the given trees. */
async function loadSummaries(db: Queryable, rootIds: readonly number[]): Promise<AllocationCandidates['providerSummaries']> {
  const summaries: Record<string, { resources: Record<string, ProviderSummaryResource>; traits: string[]; parentProviderUuid: string | null; rootProviderUuid: string }> = {}
  const uuidOf = new Map<number, string>()
  for (const part of chunks(rootIds)) {
    const [providers, inventories, traits] = await Promise.all([
      db
        .selectFrom('resource_providers as rp')
        .leftJoin('resource_providers as p', 'p.id', 'rp.parent_provider_id')
        .innerJoin('resource_providers as r', 'r.id', 'rp.root_provider_id')
        .select(['rp.id', 'rp.uuid', 'p.uuid as parent_uuid', 'r.uuid as root_uuid'])
        .where('rp.root_provider_id', 'in', part)
        .execute(),
      db
        .selectFrom('inventories as i')
        .innerJoin('resource_providers as rp', 'rp.id', 'i.resource_provider_id')
        .select([
          'i.resource_provider_id as id',
          'i.resource_class as rc',
          'i.total',
          'i.reserved',
          'i.allocation_ratio',
          (eb) =>
            eb
              .selectFrom('allocations as a')
              .select((eb2) => eb2.fn.sum<number>('a.used').as('s'))
              .whereRef('a.resource_provider_id', '=', 'i.resource_provider_id')
              .whereRef('a.resource_class', '=', 'i.resource_class')
              .as('used'),
        ])
        .where('rp.root_provider_id', 'in', part)
        .execute(),
      db
        .selectFrom('resource_provider_traits as rpt')
        .innerJoin('resource_providers as rp', 'rp.id', 'rpt.resource_provider_id')
        .innerJoin('traits as t', 't.id', 'rpt.trait_id')
        .select(['rpt.resource_provider_id as id', 't.name as name'])
        .where('rp.root_provider_id', 'in', part)
        .execute(),
    ])
    for (const p of providers) {
      uuidOf.set(p.id, p.uuid)
      summaries[p.uuid] = { resources: {}, traits: [], parentProviderUuid: p.parent_uuid, rootProviderUuid: p.root_uuid }
    }
    for (const i of inventories) {
      const s = summaries[uuidOf.get(i.id) ?? '']
      if (s) s.resources[i.rc] = { capacity: capacityOf({ total: Number(i.total), reserved: Number(i.reserved), allocationRatio: Number(i.allocation_ratio) }), used: Number(i.used ?? 0) }
    }
    for (const t of traits) summaries[uuidOf.get(t.id) ?? '']?.traits.push(t.name)
  }
  for (const s of Object.values(summaries)) s.traits.sort()
  return summaries
}

/**
 * Answers an allocation-candidates request from the database; see the module notes for the semantics.
 * Candidates come in root-provider id order and generation stops after `limit`.
 */
export async function queryAllocationCandidates(db: Queryable, request: AllocationCandidatesRequest): Promise<AllocationCandidates> {
  const req = normaliseCandidatesRequest(request)
  const data = await loadData(db, req, true)
  const evaluator = new Evaluator(req, data)
  const allocationRequests: CandidateAllocationRequest[] = []
  const roots: number[] = []
  outer: for (const tree of data.trees) {
    let any = false
    for (const c of evaluator.treeCandidates(tree)) {
      const uuidOf = new Map(tree.nodes.map((n) => [n.id, n.uuid]))
      const allocations: Record<string, { resources: Record<string, number> }> = {}
      for (const [id, m] of c.alloc) allocations[uuidOf.get(id) as string] = { resources: Object.fromEntries(m) }
      const mappings: Record<string, string[]> = {}
      for (const [suffix, ids] of c.mappings) mappings[suffix] = [...ids].map((id) => uuidOf.get(id) as string)
      allocationRequests.push({ allocations, mappings })
      any = true
      if (allocationRequests.length >= req.limit) {
        roots.push(tree.rootId)
        break outer
      }
    }
    if (any) roots.push(tree.rootId)
  }
  const providerSummaries = roots.length ? await loadSummaries(db, roots) : {}
  return { allocationRequests, providerSummaries }
}

/**
 * For every root provider that yields no candidate for `request` (ignoring `limit`), the first requirement it
 * fails. Trees excluded by `in_tree` are not reported.
 */
export async function explainAllocationCandidates(db: Queryable, request: AllocationCandidatesRequest): Promise<ProviderRejection[]> {
  const req = normaliseCandidatesRequest({ ...request, limit: undefined } as AllocationCandidatesRequest)
  const [data, roots] = await Promise.all([
    loadData(db, req, false),
    db.selectFrom('resource_providers').select(['id', 'uuid', 'name']).where('parent_provider_id', 'is', null).orderBy('id').execute(),
  ])
  const evaluator = new Evaluator(req, data)
  const trees = new Map(data.trees.map((t) => [t.rootId, t]))
  const inTreeRoots = new Set(data.inTreeRoots.values())
  const out: ProviderRejection[] = []
  for (const root of roots) {
    if (inTreeRoots.size && !inTreeRoots.has(root.id)) continue
    const tree = trees.get(root.id)
    if (tree && !evaluator.treeCandidates(tree).next().done) continue
    out.push({ providerUuid: root.uuid, providerName: root.name, ...evaluator.diagnose(tree, root.id) })
  }
  return out
}
