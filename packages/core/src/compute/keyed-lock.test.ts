import { describe, expect, it } from 'vitest'
import { KeyedLock } from './keyed-lock.js'

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe(KeyedLock.name, () => {
  it('runs work for one key in arrival order, one at a time', async () => {
    const lock = new KeyedLock()
    const log: string[] = []
    const job = (name: string) => async () => {
      log.push(`${name}:in`)
      await tick()
      log.push(`${name}:out`)
      return name
    }
    const results = await Promise.all([lock.run('a', job('1')), lock.run('a', job('2')), lock.run('a', job('3'))])
    expect(results).toEqual(['1', '2', '3'])
    expect(log).toEqual(['1:in', '1:out', '2:in', '2:out', '3:in', '3:out'])
    expect(lock.size).toBe(0)
  })

  it('runs work for different keys concurrently', async () => {
    const lock = new KeyedLock()
    const log: string[] = []
    const job = (name: string) => async () => {
      log.push(`${name}:in`)
      await tick()
      log.push(`${name}:out`)
    }
    await Promise.all([lock.run('a', job('a')), lock.run('b', job('b'))])
    expect(log.slice(0, 2).sort()).toEqual(['a:in', 'b:in'])
  })

  it('releases the key when the work throws', async () => {
    const lock = new KeyedLock()
    await expect(lock.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    await expect(lock.run('a', async () => 'next')).resolves.toBe('next')
    expect(lock.size).toBe(0)
  })
})
