const NEWLINE = 0x0a

/**
 * What `get_console_output` returns for a driver's console log (Nova `ComputeManager.get_console_output` and
 * `_tail_log`): the log as bytes (UTF-8, as a guest writes its console), split on `\n`; with a `tailLength`, only
 * the last `tailLength` pieces joined again (so a log that ends with a newline yields `tailLength - 1` lines and
 * the final newline, as in Nova); 0 gives `''`; then decoded as ASCII with every byte above 0x7f replaced by
 * U+FFFD (Python's `decode('ascii', 'replace')`).
 *
 * NOTE: a negative `tailLength` means the whole log. Nova's schema documents -1 as "unlimited", but its
 * `_tail_log` slices `[1:]` and drops the first line; Novum follows the documented intent.
 *
 * @example
 * ```ts
 * tailConsoleLog('a\nb\nc\n', 2) // 'c\n'
 * tailConsoleLog('a\nb\nc', 2) // 'b\nc'
 * ```
 */
export function tailConsoleLog(output: string, tailLength: number | null): string {
  let bytes: Uint8Array = Buffer.from(output, 'utf8')
  if (tailLength !== null && tailLength >= 0) bytes = tail(bytes, Math.floor(tailLength))
  let text = ''
  for (const b of bytes) text += b < 0x80 ? String.fromCharCode(b) : '\ufffd'
  return text
}

/** The bytes after the `n`-th newline from the end (all of them when there are fewer pieces than `n`). */
function tail(bytes: Uint8Array, n: number): Uint8Array {
  if (n === 0) return new Uint8Array(0)
  let seen = 0
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] === NEWLINE && ++seen === n) return bytes.subarray(i + 1)
  }
  return bytes
}
