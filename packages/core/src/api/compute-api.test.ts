import { describe, expect, it } from 'vitest'
import { generatePassword, sanitizeHostname } from './compute-api.js'

describe('compute api helpers', () => {
  describe(sanitizeHostname.name, () => {
    it.each([
      ['web', 'web'],
      ['My Server_1', 'my-server-1'],
      ['a.b.c', 'a-b-c'],
      ['--x--', 'x'],
      ['héllo wörld', 'héllo-wörld'],
      ['日本 server', 'server'],
      ['x'.repeat(70), 'x'.repeat(63)],
    ])('%j → %j', (name, expected) => {
      expect(sanitizeHostname(name)).toBe(expected)
    })
    it('falls back to the default name', () => {
      expect(sanitizeHostname('!!!', 'Server-1234')).toBe('Server-1234')
    })
  })

  describe(generatePassword.name, () => {
    it('has the requested length and a digit, an upper and a lower case letter', () => {
      for (let i = 0; i < 50; i++) {
        const p = generatePassword(12)
        expect(p).toHaveLength(12)
        expect(p).toMatch(/[2-9]/)
        expect(p).toMatch(/[A-Z]/)
        expect(p).toMatch(/[a-z]/)
        expect(p).not.toMatch(/[01lIO]/)
      }
    })
  })
})
