/** A counting semaphore (Nova's `max_concurrent_builds` semaphore): at most `limit` holders at a time, FIFO. */
export class Semaphore {
  private active = 0
  private readonly queue: (() => void)[] = []

  /** @param limit how many holders at once; 0 or less means unlimited (as Nova's `max_concurrent_builds = 0`). */
  constructor(private readonly limit: number) {}

  /** Runs `fn` while holding one permit. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire()
    try {
      return await fn()
    } finally {
      this.release()
    }
  }

  /** Holders right now. */
  get inUse(): number {
    return this.active
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.queue.length
  }

  private acquire(): Promise<void> {
    if (this.limit <= 0 || this.active < this.limit) {
      this.active++
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => this.queue.push(resolve))
  }

  private release(): void {
    const next = this.queue.shift()
    if (next) next() // the permit passes straight to the next waiter
    else this.active--
  }
}
