import { describe, expect, it } from 'vitest'
import { Semaphore } from './semaphore.js'

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

async function peakOf(semaphore: Semaphore, jobs: number): Promise<number> {
  let running = 0
  let peak = 0
  await Promise.all(
    Array.from({ length: jobs }, () =>
      semaphore.run(async () => {
        running++
        peak = Math.max(peak, running)
        await tick()
        running--
      }),
    ),
  )
  return peak
}

describe(Semaphore.name, () => {
  it.each([
    { limit: 1, jobs: 5, peak: 1 },
    { limit: 3, jobs: 10, peak: 3 },
    { limit: 0, jobs: 7, peak: 7 },
  ])('limit=$limit jobs=$jobs → peak $peak', async ({ limit, jobs, peak }) => {
    const semaphore = new Semaphore(limit)
    expect(await peakOf(semaphore, jobs)).toBe(peak)
    expect(semaphore.inUse).toBe(0)
  })

  it('frees the permit when the work throws', async () => {
    const semaphore = new Semaphore(1)
    await expect(semaphore.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    await expect(semaphore.run(async () => 'ok')).resolves.toBe('ok')
    expect(semaphore.inUse).toBe(0)
  })
})
