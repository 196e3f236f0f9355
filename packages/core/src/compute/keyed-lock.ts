/**
 * Serialises work per key (Nova's `@utils.synchronized(instance.uuid)`): calls for one key run one after
 * another in arrival order; calls for different keys run concurrently. Not re-entrant.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>()

  /** Runs `fn` once every earlier call for `key` has settled; resolves or rejects with `fn`'s outcome. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key)
    let release!: () => void
    const mine = new Promise<void>((resolve) => {
      release = resolve
    })
    const tail = previous ? previous.then(() => mine) : mine
    this.tails.set(key, tail)
    if (previous) await previous
    try {
      return await fn()
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }

  /** How many keys have work queued or running. */
  get size(): number {
    return this.tails.size
  }
}
