import type { ProviderSummaryResource } from './placement-client.js'
import { type Queryable, chunks } from './sql.js'

/** @internal The trait that makes a provider share its inventory with the trees in its aggregates. */
export const SHARING_TRAIT = 'MISC_SHARES_VIA_AGGREGATE'

const NO_PROVIDERS: readonly CachedProvider[] = Object.freeze([])
const NO_SHARING: ReadonlyMap<number, readonly CachedProvider[]> = new Map()

/** @internal One inventory with the usage against it. */
export interface InventoryState {
  readonly total: number
  readonly reserved: number
  readonly minUnit: number
  readonly maxUnit: number
  readonly stepSize: number
  readonly ratio: number
  readonly used: number
  /** `floor((total − reserved) × ratio)`. */
  readonly capacity: number
}

/** @internal The provider summary of `GET /allocation_candidates` for one provider, built once per generation. */
export interface CachedSummary {
  readonly resources: Readonly<Record<string, ProviderSummaryResource>>
  readonly traits: readonly string[]
  readonly parentProviderUuid: string | null
  readonly rootProviderUuid: string
}

/** @internal Everything the candidate search needs to know of one provider, as of `generation`. */
export interface CachedProvider {
  readonly id: number
  readonly uuid: string
  readonly name: string
  readonly generation: number
  readonly parentId: number | null
  readonly rootId: number
  readonly inventories: ReadonlyMap<string, InventoryState>
  readonly traits: ReadonlySet<string>
  readonly aggregates: ReadonlySet<string>
  readonly summary: CachedSummary
}

/** @internal A provider tree: the root's id and its providers in id order. */
export interface ProviderTree {
  readonly rootId: number
  readonly nodes: readonly CachedProvider[]
}

/**
 * @internal A consistent-enough view of every provider for one query. It is valid until the next
 * {@link ProviderCache.snapshot} call (tree arrays are updated in place), so use it synchronously.
 */
export interface ProviderSnapshot {
  readonly byId: ReadonlyMap<number, CachedProvider>
  /** Trees in root-provider id order (Placement's database order). */
  readonly trees: readonly ProviderTree[]
  /** The tree of a root provider id. */
  tree(rootId: number): ProviderTree | undefined
  /**
   * Providers with the trait `MISC_SHARES_VIA_AGGREGATE`, in id order. Empty in most clouds, and then the
   * candidate search takes no sharing path at all.
   */
  readonly sharing: readonly CachedProvider[]
  /**
   * For each root provider id, the sharing providers of other trees that share an aggregate with any provider
   * of that tree (Placement's `anchors_for_sharing_providers`, seen from the anchor), in id order. Built on first
   * use after a change and kept until the next one.
   */
  sharingByRoot(): ReadonlyMap<number, readonly CachedProvider[]>
}

/**
 * @internal A cache of providers' inventories, usage, traits and aggregates, validated against the database on
 * every query by provider generation.
 *
 * Placement bumps a provider's generation on every change that touches it (inventory, allocations against it,
 * traits, aggregates, re-parenting), so `(id, generation)` pairs — one narrow query — tell which cached entries are
 * stale. Only those are reloaded, with a handful of set-based queries. The result is never older than the
 * generations read at the start of the query, which is what an uncached read would give too; claims recheck
 * capacity inside their own transaction in any case.
 *
 * The cache also tracks, as entries are stored, which providers have `MISC_SHARES_VIA_AGGREGATE`: with none (the
 * usual cloud) the snapshot's `sharing` list is a shared empty array and the candidate search never builds the
 * sharing index; with some, the index (anchor root → sharing providers) is built once per change of the entries.
 *
 * NOTE: this relies on every write to the Placement tables going through `PlacementService`. A write that skips
 * the generation bump (hand-written SQL) stays invisible to the cache until the provider's next change.
 */
export class ProviderCache {
  private readonly entries = new Map<number, CachedProvider>()
  /** Trees in root order; node arrays are patched in place while no provider changes tree or parent. */
  private trees: { rootId: number; nodes: CachedProvider[] }[] | null = null
  private treeOf = new Map<number, { rootId: number; nodes: CachedProvider[] }>()
  /** (count, sum of generations, max id) of the providers as of the last full check. */
  private signature: string | null = null
  /** Ids of the cached providers that have {@link SHARING_TRAIT}, kept up to date by every store and removal. */
  private readonly sharingIds = new Set<number>()
  /** The sharing providers in id order, and the sharing index by anchor root; dropped on every change. */
  private sharingList: readonly CachedProvider[] | null = null
  private sharingIndex: ReadonlyMap<number, readonly CachedProvider[]> | null = null
  /** The snapshot handed out: one object, whose tree list and sharing list are refreshed by every {@link snapshot}. */
  private readonly snap: { -readonly [K in keyof ProviderSnapshot]: ProviderSnapshot[K] }

  constructor(private readonly db: Queryable) {
    this.snap = {
      byId: this.entries,
      trees: [],
      tree: (rootId) => {
        this.treesNow()
        return this.treeOf.get(rootId)
      },
      sharing: NO_PROVIDERS,
      sharingByRoot: () => this.sharingIndexNow(),
    }
  }

  /** Drops every entry (the next snapshot reloads everything). */
  clear(): void {
    this.entries.clear()
    this.trees = null
    this.signature = null
    this.sharingIds.clear()
    this.changed()
  }

  /**
   * Reads the current generations, reloads what changed, and returns the snapshot.
   *
   * First it reads one aggregate row, (count, sum of generations, max id): generations only grow and ids are
   * never reused, so while that row is unchanged no provider was created, deleted or changed, and the per-provider
   * generation read is skipped.
   */
  async snapshot(): Promise<ProviderSnapshot> {
    if (this.signature !== null) {
      const sig = await this.db
        .selectFrom('resource_providers')
        .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum<number>('generation').as('g'), eb.fn.max('id').as('m')])
        .executeTakeFirstOrThrow()
      if (signatureOf(Number(sig.n), Number(sig.g ?? 0), Number(sig.m ?? 0)) === this.signature) return this.current()
    }
    const gens = await this.db.selectFrom('resource_providers').select(['id', 'generation']).orderBy('id').execute()
    const live = new Set<number>()
    const stale: number[] = []
    for (const g of gens) {
      live.add(g.id)
      if (this.entries.get(g.id)?.generation !== Number(g.generation)) stale.push(g.id)
    }
    for (const id of this.entries.keys()) {
      if (!live.has(id)) {
        this.entries.delete(id)
        this.sharingIds.delete(id)
        this.trees = null
        this.changed()
      }
    }
    if (stale.length) await this.load(stale, stale.length === gens.length)
    // The signature of what was read above; entries loaded since may be newer, which only makes the next check
    // take the slow path once more.
    let sum = 0
    for (const g of gens) sum += Number(g.generation)
    this.signature = signatureOf(gens.length, sum, gens.at(-1)?.id ?? 0)
    return this.current()
  }

  private current(): ProviderSnapshot {
    this.snap.trees = this.treesNow()
    this.snap.sharing = this.sharingNow()
    return this.snap
  }

  /** Forgets what is derived from the entries as a whole (the sharing list and index). */
  private changed(): void {
    this.sharingList = null
    this.sharingIndex = null
  }

  private sharingNow(): readonly CachedProvider[] {
    if (this.sharingList) return this.sharingList
    if (this.sharingIds.size === 0) return (this.sharingList = NO_PROVIDERS)
    const list = [...this.sharingIds].map((id) => this.entries.get(id) as CachedProvider).sort((a, b) => a.id - b.id)
    return (this.sharingList = list)
  }

  /**
   * Root id → sharing providers outside that tree which share an aggregate with one of its providers. One pass
   * over every provider's aggregates; only run when a sharing provider exists and something changed.
   */
  private sharingIndexNow(): ReadonlyMap<number, readonly CachedProvider[]> {
    if (this.sharingIndex) return this.sharingIndex
    const sharing = this.sharingNow()
    if (sharing.length === 0) return (this.sharingIndex = NO_SHARING)
    const byAggregate = new Map<string, CachedProvider[]>()
    for (const s of sharing) {
      for (const a of s.aggregates) {
        let list = byAggregate.get(a)
        if (!list) byAggregate.set(a, (list = []))
        list.push(s)
      }
    }
    const byRoot = new Map<number, Set<CachedProvider>>()
    for (const p of this.entries.values()) {
      for (const a of p.aggregates) {
        for (const s of byAggregate.get(a) ?? NO_PROVIDERS) {
          if (s.rootId === p.rootId) continue
          let set = byRoot.get(p.rootId)
          if (!set) byRoot.set(p.rootId, (set = new Set()))
          set.add(s)
        }
      }
    }
    const index = new Map<number, readonly CachedProvider[]>()
    for (const [root, set] of byRoot) index.set(root, [...set].sort((a, b) => a.id - b.id))
    return (this.sharingIndex = index)
  }

  private treesNow(): ProviderTree[] {
    if (this.trees) return this.trees
    const byRoot = new Map<number, CachedProvider[]>()
    for (const p of this.entries.values()) {
      let list = byRoot.get(p.rootId)
      if (!list) byRoot.set(p.rootId, (list = []))
      list.push(p)
    }
    const trees = [...byRoot].map(([rootId, nodes]) => ({ rootId, nodes: nodes.sort((a, b) => a.id - b.id) })).sort((a, b) => a.rootId - b.rootId)
    this.trees = trees
    this.treeOf = new Map(trees.map((t) => [t.rootId, t]))
    return trees
  }

  /** Stores a (re)loaded entry, patching its tree in place when it stayed where it was. */
  private put(entry: CachedProvider): void {
    const old = this.entries.get(entry.id)
    this.entries.set(entry.id, entry)
    if (entry.traits.has(SHARING_TRAIT)) this.sharingIds.add(entry.id)
    else this.sharingIds.delete(entry.id)
    this.changed()
    if (!this.trees) return
    const tree = old && old.rootId === entry.rootId && old.parentId === entry.parentId ? this.treeOf.get(entry.rootId) : undefined
    const at = tree ? tree.nodes.indexOf(old as CachedProvider) : -1
    if (tree && at >= 0) tree.nodes[at] = entry
    else this.trees = null
  }

  private async load(ids: readonly number[], all: boolean): Promise<void> {
    const parts = all ? [null] : chunks(ids, 1000)
    for (const part of parts) {
      let providersQ = this.db
        .selectFrom('resource_providers as rp')
        .leftJoin('resource_providers as p', 'p.id', 'rp.parent_provider_id')
        .leftJoin('resource_providers as r', 'r.id', 'rp.root_provider_id')
        .select(['rp.id', 'rp.uuid', 'rp.name', 'rp.generation', 'rp.parent_provider_id', 'rp.root_provider_id', 'p.uuid as parent_uuid', 'r.uuid as root_uuid'])
      let inventoriesQ = this.db
        .selectFrom('inventories')
        .select(['resource_provider_id', 'resource_class', 'total', 'reserved', 'min_unit', 'max_unit', 'step_size', 'allocation_ratio'])
      let usageQ = this.db
        .selectFrom('allocations')
        .select(['resource_provider_id', 'resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
        .groupBy(['resource_provider_id', 'resource_class'])
      let traitsQ = this.db.selectFrom('resource_provider_traits as rpt').innerJoin('traits as t', 't.id', 'rpt.trait_id').select(['rpt.resource_provider_id', 't.name'])
      let aggregatesQ = this.db.selectFrom('resource_provider_aggregates').select(['resource_provider_id', 'aggregate_uuid'])
      if (part) {
        providersQ = providersQ.where('rp.id', 'in', part)
        inventoriesQ = inventoriesQ.where('resource_provider_id', 'in', part)
        usageQ = usageQ.where('resource_provider_id', 'in', part)
        traitsQ = traitsQ.where('rpt.resource_provider_id', 'in', part)
        aggregatesQ = aggregatesQ.where('resource_provider_id', 'in', part)
      }
      const [providers, inventories, usage, traits, aggregates] = await Promise.all([
        providersQ.execute(),
        inventoriesQ.execute(),
        usageQ.execute(),
        traitsQ.execute(),
        aggregatesQ.execute(),
      ])
      const used = new Map<number, Map<string, number>>()
      for (const u of usage) {
        let m = used.get(u.resource_provider_id)
        if (!m) used.set(u.resource_provider_id, (m = new Map()))
        m.set(u.resource_class, Number(u.used))
      }
      const invs = new Map<number, Map<string, InventoryState>>()
      for (const i of inventories) {
        let m = invs.get(i.resource_provider_id)
        if (!m) invs.set(i.resource_provider_id, (m = new Map()))
        const total = Number(i.total)
        const reserved = Number(i.reserved)
        const ratio = Number(i.allocation_ratio)
        m.set(i.resource_class, {
          total,
          reserved,
          minUnit: Number(i.min_unit),
          maxUnit: Number(i.max_unit),
          stepSize: Number(i.step_size),
          ratio,
          used: used.get(i.resource_provider_id)?.get(i.resource_class) ?? 0,
          capacity: Math.floor((total - reserved) * ratio),
        })
      }
      const traitSets = new Map<number, Set<string>>()
      for (const t of traits) {
        let s = traitSets.get(t.resource_provider_id)
        if (!s) traitSets.set(t.resource_provider_id, (s = new Set()))
        s.add(t.name)
      }
      const aggSets = new Map<number, Set<string>>()
      for (const a of aggregates) {
        let s = aggSets.get(a.resource_provider_id)
        if (!s) aggSets.set(a.resource_provider_id, (s = new Set()))
        s.add(a.aggregate_uuid)
      }
      for (const p of providers) {
        const inventories = invs.get(p.id) ?? new Map<string, InventoryState>()
        const traitSet = traitSets.get(p.id) ?? new Set<string>()
        const resources: Record<string, ProviderSummaryResource> = {}
        // Classes with allocations but no inventory any more still show their usage.
        for (const [rc, u] of used.get(p.id) ?? []) resources[rc] = Object.freeze({ capacity: 0, used: u })
        for (const [rc, inv] of inventories) resources[rc] = Object.freeze({ capacity: inv.capacity, used: inv.used })
        const entry: CachedProvider = {
          id: p.id,
          uuid: p.uuid,
          name: p.name,
          generation: Number(p.generation),
          parentId: p.parent_provider_id,
          rootId: p.root_provider_id ?? p.id,
          inventories,
          traits: traitSet,
          aggregates: aggSets.get(p.id) ?? new Set<string>(),
          summary: Object.freeze({
            resources: Object.freeze(resources),
            traits: Object.freeze([...traitSet].sort()),
            parentProviderUuid: p.parent_uuid,
            rootProviderUuid: p.root_uuid ?? p.uuid,
          }),
        }
        this.put(entry)
      }
    }
  }
}

function signatureOf(count: number, generationSum: number, maxId: number): string {
  return `${count}:${generationSum}:${maxId}`
}
