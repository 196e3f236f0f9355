import { describe, expect, it } from 'vitest'
import { tailConsoleLog } from './console-log.js'

describe(tailConsoleLog.name, () => {
  it.each([
    // Nova `_tail_log`: the last n pieces of split('\n'), so a trailing newline counts as an (empty) piece
    { log: 'a\nb\nc\n', tail: null, expected: 'a\nb\nc\n' },
    { log: 'a\nb\nc\n', tail: 2, expected: 'c\n' },
    { log: 'a\nb\nc\n', tail: 1, expected: '' },
    { log: 'a\nb\nc', tail: 2, expected: 'b\nc' },
    { log: 'a\nb\nc', tail: 3, expected: 'a\nb\nc' },
    { log: 'a\nb\nc', tail: 99, expected: 'a\nb\nc' },
    { log: 'a\nb\nc', tail: 0, expected: '' },
    { log: '', tail: 5, expected: '' },
    // a negative length is "unlimited" (Nova's documented intent; its slice would drop the first line)
    { log: 'a\nb\nc', tail: -1, expected: 'a\nb\nc' },
  ])('$log with tail $tail → $expected', ({ log, tail, expected }) => {
    expect(tailConsoleLog(log, tail)).toBe(expected)
  })

  it('decodes as ASCII, one U+FFFD per byte that is not (Python decode("ascii", "replace"))', () => {
    expect(tailConsoleLog('héllo\n€', null)).toBe('h\ufffd\ufffdllo\n\ufffd\ufffd\ufffd')
  })

  it('counts lines in bytes, so multi-byte characters do not shift the cut', () => {
    expect(tailConsoleLog('ünïcode\nsecond\nthird', 2)).toBe('second\nthird')
  })
})
