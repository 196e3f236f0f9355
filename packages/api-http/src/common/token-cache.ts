import type { RequestContext } from '@novum/core'

/** Options of {@link TokenCache}. */
export interface TokenCacheOptions {
  /**
   * How long a validated token is trusted without asking the identity service again (keystonemiddleware
   * `token_cache_time`). A token is never trusted past its own expiry.
   * @default 300000
   */
  readonly ttlMs?: number
  /** Most tokens kept; the oldest entry is dropped first. @default 10000 */
  readonly maxEntries?: number
  /** The time source, in epoch milliseconds. @default Date.now */
  readonly now?: () => number
}

interface Entry {
  readonly context: RequestContext
  readonly until: number
}

/**
 * Validated tokens → their {@link RequestContext}, so a busy client does not cost one identity lookup per request
 * (keystonemiddleware's token cache). Revoking a token through the identity app evicts it at once.
 */
export class TokenCache {
  private readonly entries = new Map<string, Entry>()
  private readonly ttlMs: number
  private readonly maxEntries: number
  private readonly now: () => number

  constructor(options: TokenCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 300_000
    this.maxEntries = options.maxEntries ?? 10_000
    this.now = options.now ?? Date.now
  }

  /** The cached context of a token, or undefined when absent or stale. */
  get(token: string): RequestContext | undefined {
    const entry = this.entries.get(token)
    if (!entry) return undefined
    if (entry.until <= this.now()) {
      this.entries.delete(token)
      return undefined
    }
    return entry.context
  }

  /** Remembers a validated token until `min(now + ttl, expiresAt)`. */
  set(token: string, context: RequestContext, expiresAt?: string | number | Date | null): void {
    let until = this.now() + this.ttlMs
    if (expiresAt !== undefined && expiresAt !== null) {
      const exp = expiresAt instanceof Date ? expiresAt.getTime() : typeof expiresAt === 'number' ? expiresAt : Date.parse(expiresAt)
      if (Number.isFinite(exp)) until = Math.min(until, exp)
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (!oldest.done) this.entries.delete(oldest.value)
    }
    this.entries.set(token, { context, until })
  }

  /** Forgets a token (after a revocation). */
  delete(token: string): void {
    this.entries.delete(token)
  }

  /** Forgets every token. */
  clear(): void {
    this.entries.clear()
  }
}
