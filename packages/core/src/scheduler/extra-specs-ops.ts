/*
 * Nova's extra-spec match operators (`nova/scheduler/filters/extra_specs_ops.py`), for filters that compare a
 * flavor extra spec (or aggregate metadata) with a host value.
 */

const numeric = (op: (a: number, b: number) => boolean) => (value: string, arg: string): boolean => {
  const a = Number.parseFloat(value)
  const b = Number.parseFloat(arg)
  return Number.isFinite(a) && Number.isFinite(b) && op(a, b)
}

const OPS: Readonly<Record<string, (value: string, arg: string) => boolean>> = {
  // NOTE: `=` is "at least" (numeric ≥), as in Nova.
  '=': numeric((a, b) => a >= b),
  '==': numeric((a, b) => a === b),
  '!=': numeric((a, b) => a !== b),
  '>=': numeric((a, b) => a >= b),
  '<=': numeric((a, b) => a <= b),
  's==': (a, b) => a === b,
  's!=': (a, b) => a !== b,
  's<': (a, b) => a < b,
  's<=': (a, b) => a <= b,
  's>': (a, b) => a > b,
  's>=': (a, b) => a >= b,
  '<in>': (a, b) => a.includes(b),
}

/**
 * True when a host value satisfies an extra-spec requirement: a plain value means string equality; otherwise the
 * first word is an operator (`=`, `==`, `!=`, `>=`, `<=`, `s==`, `s!=`, `s<`, `s<=`, `s>`, `s>=`, `<in>`,
 * `<all-in>`, `<or>`). A numeric operator on a non-number fails to match (Nova raises instead).
 *
 * @example
 * ```ts
 * matchExtraSpec('2048', '>= 1024') // true
 * matchExtraSpec('x86_64', '<or> aarch64 <or> x86_64') // true
 * ```
 */
export function matchExtraSpec(value: string | null | undefined, requirement: string): boolean {
  const words = requirement.trim().split(/\s+/).filter(Boolean)
  const op = words.shift()
  if (op === undefined || (op !== '<or>' && op !== '<all-in>' && !(op in OPS))) return value === requirement
  if (value === null || value === undefined) return false
  if (op === '<or>') {
    // `<or> v1 <or> v2 …`: every other word is a value.
    for (let i = 0; i < words.length; i += 2) if (words[i] === value) return true
    return false
  }
  if (words.length === 0) return false
  if (op === '<all-in>') return words.every((w) => value.includes(w))
  return (OPS[op] as (v: string, a: string) => boolean)(value, words[0] as string)
}
