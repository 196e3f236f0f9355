/**
 * A parser for the XDR language (RFC 4506 §6) as libvirt's `.x` files use it, and the generator that turns
 * `remote_protocol.x` into TypeScript: procedure numbers, interfaces, and {@link XdrCodec}s built from the
 * combinators in `xdr.ts`. `scripts/gen-protocol.ts` runs it; a unit test checks that the committed output is
 * what the committed `.x` file gives.
 *
 * @internal
 */

/** A base type or a reference to a named one. */
export type IdlType =
  | { readonly kind: 'int' | 'uint' | 'hyper' | 'uhyper' | 'double' | 'float' | 'bool' | 'char' | 'uchar' | 'string' | 'opaque' | 'void' }
  | { readonly kind: 'named'; readonly name: string }

/** One declaration (`type name`, `type name[N]`, `type name<N>`, `type *name`). */
export interface IdlDeclaration {
  readonly name: string
  readonly type: IdlType
  readonly form: 'plain' | 'optional' | 'fixed' | 'variable'
  /** The size of a fixed array, or the maximum of a variable one (a number or a constant's name); absent for `<>`. */
  readonly size?: string | number
}

/** A top-level definition. */
export type IdlDefinition =
  | { readonly kind: 'const'; readonly name: string; readonly value: string | number }
  | { readonly kind: 'typedef'; readonly name: string; readonly declaration: IdlDeclaration }
  | { readonly kind: 'enum'; readonly name: string; readonly members: readonly (readonly [string, string | number])[] }
  | { readonly kind: 'struct'; readonly name: string; readonly fields: readonly IdlDeclaration[] }
  | {
      readonly kind: 'union'
      readonly name: string
      readonly discriminant: IdlDeclaration
      readonly cases: readonly { readonly values: readonly (string | number)[]; readonly arm: IdlDeclaration | null }[]
      readonly defaultArm?: IdlDeclaration | null
    }

/** A parsed `.x` file. */
export interface IdlSpec {
  readonly definitions: readonly IdlDefinition[]
}

/** A syntax error, with the line it was found on. */
export class IdlSyntaxError extends Error {
  override readonly name = 'IdlSyntaxError'
}

interface Token {
  readonly text: string
  readonly line: number
}

function tokenize(text: string): Token[] {
  // rpcgen passes lines starting with % to the C output; they are not XDR (kept as empty lines for line numbers).
  const source = text.replace(/^[ \t]*%.*$/gm, '')
  const tokens: Token[] = []
  let line = 1
  let i = 0
  while (i < source.length) {
    const c = source[i]!
    if (c === '\n') {
      line++
      i++
      continue
    }
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2)
      if (end < 0) throw new IdlSyntaxError(`unterminated comment at line ${line}`)
      for (let j = i; j < end; j++) if (source[j] === '\n') line++
      i = end + 2
      continue
    }
    if (c === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++
      continue
    }
    const word = /^(?:0x[0-9a-fA-F]+|-?\d+|[A-Za-z_][A-Za-z0-9_]*)/.exec(source.slice(i, i + 256))
    if (word) {
      tokens.push({ text: word[0], line })
      i += word[0].length
      continue
    }
    if ('{}[]<>();,=*:'.includes(c)) {
      tokens.push({ text: c, line })
      i++
      continue
    }
    throw new IdlSyntaxError(`unexpected character "${c}" at line ${line}`)
  }
  return tokens
}

const isNumber = (text: string): boolean => /^(?:0x[0-9a-fA-F]+|-?\d+)$/.test(text)
const toValue = (text: string): string | number => (isNumber(text) ? Number(text) : text)

class Parser {
  private at = 0
  constructor(private readonly tokens: readonly Token[]) {}

  private peek(offset = 0): string | undefined {
    return this.tokens[this.at + offset]?.text
  }

  private next(): string {
    const token = this.tokens[this.at++]
    if (!token) throw new IdlSyntaxError('unexpected end of input')
    return token.text
  }

  private expect(text: string): void {
    const token = this.tokens[this.at]
    if (token?.text !== text) throw new IdlSyntaxError(`expected "${text}" but found "${token?.text ?? 'end of input'}" at line ${token?.line ?? '?'}`)
    this.at++
  }

  private identifier(): string {
    const token = this.tokens[this.at++]
    if (!token || !/^[A-Za-z_]/.test(token.text)) throw new IdlSyntaxError(`expected a name but found "${token?.text ?? 'end of input'}" at line ${token?.line ?? '?'}`)
    return token.text
  }

  parse(): IdlSpec {
    const definitions: IdlDefinition[] = []
    while (this.at < this.tokens.length) definitions.push(this.definition())
    return { definitions }
  }

  private definition(): IdlDefinition {
    const keyword = this.next()
    switch (keyword) {
      case 'const': {
        const name = this.identifier()
        this.expect('=')
        const value = toValue(this.next())
        this.expect(';')
        return { kind: 'const', name, value }
      }
      case 'typedef': {
        const declaration = this.declaration()
        this.expect(';')
        return { kind: 'typedef', name: declaration.name, declaration }
      }
      case 'enum': {
        const name = this.identifier()
        const members = this.enumBody()
        this.expect(';')
        return { kind: 'enum', name, members }
      }
      case 'struct': {
        const name = this.identifier()
        const fields = this.structBody()
        this.expect(';')
        return { kind: 'struct', name, fields }
      }
      case 'union': {
        const name = this.identifier()
        const body = this.unionBody()
        this.expect(';')
        return { kind: 'union', name, ...body }
      }
      default:
        throw new IdlSyntaxError(`unexpected "${keyword}" at the top level`)
    }
  }

  private enumBody(): [string, string | number][] {
    this.expect('{')
    const members: [string, string | number][] = []
    let previous: string | number = -1
    while (this.peek() !== '}') {
      const name = this.identifier()
      let value: string | number
      if (this.peek() === '=') {
        this.next()
        value = toValue(this.next())
      } else {
        value = typeof previous === 'number' ? previous + 1 : `${previous} + 1`
      }
      members.push([name, value])
      previous = value
      if (this.peek() === ',') this.next()
    }
    this.expect('}')
    return members
  }

  private structBody(): IdlDeclaration[] {
    this.expect('{')
    const fields: IdlDeclaration[] = []
    while (this.peek() !== '}') {
      fields.push(this.declaration())
      this.expect(';')
    }
    this.expect('}')
    return fields
  }

  private unionBody(): Omit<Extract<IdlDefinition, { kind: 'union' }>, 'kind' | 'name'> {
    this.expect('switch')
    this.expect('(')
    const discriminant = this.declaration()
    this.expect(')')
    this.expect('{')
    const cases: { values: (string | number)[]; arm: IdlDeclaration | null }[] = []
    let defaultArm: IdlDeclaration | null | undefined
    while (this.peek() !== '}') {
      if (this.peek() === 'default') {
        this.next()
        this.expect(':')
        defaultArm = this.armDeclaration()
        continue
      }
      const values: (string | number)[] = []
      while (this.peek() === 'case') {
        this.next()
        values.push(toValue(this.next()))
        this.expect(':')
      }
      if (values.length === 0) throw new IdlSyntaxError(`expected "case" or "default" but found "${this.peek() ?? 'end of input'}"`)
      cases.push({ values, arm: this.armDeclaration() })
    }
    this.expect('}')
    return defaultArm === undefined ? { discriminant, cases } : { discriminant, cases, defaultArm }
  }

  private armDeclaration(): IdlDeclaration | null {
    if (this.peek() === 'void') {
      this.next()
      this.expect(';')
      return null
    }
    const d = this.declaration()
    this.expect(';')
    return d
  }

  private typeSpecifier(): IdlType {
    const word = this.next()
    switch (word) {
      case 'unsigned': {
        const following = this.peek()
        if (following === 'int' || following === 'long') {
          this.next()
          return { kind: 'uint' }
        }
        if (following === 'hyper') {
          this.next()
          return { kind: 'uhyper' }
        }
        if (following === 'char') {
          this.next()
          return { kind: 'uchar' }
        }
        if (following === 'short') {
          this.next()
          return { kind: 'uint' }
        }
        return { kind: 'uint' }
      }
      case 'int':
      case 'long':
      case 'short':
        return { kind: 'int' }
      case 'hyper':
        return { kind: 'hyper' }
      case 'double':
        return { kind: 'double' }
      case 'float':
        return { kind: 'float' }
      case 'bool':
        return { kind: 'bool' }
      case 'char':
        return { kind: 'char' }
      case 'string':
        return { kind: 'string' }
      case 'opaque':
        return { kind: 'opaque' }
      case 'void':
        return { kind: 'void' }
      case 'struct':
      case 'enum':
      case 'union':
        return { kind: 'named', name: this.identifier() }
      default:
        if (!/^[A-Za-z_]/.test(word)) throw new IdlSyntaxError(`expected a type but found "${word}"`)
        return { kind: 'named', name: word }
    }
  }

  private declaration(): IdlDeclaration {
    const type = this.typeSpecifier()
    if (this.peek() === '*') {
      this.next()
      return { name: this.identifier(), type, form: 'optional' }
    }
    const name = this.identifier()
    if (this.peek() === '[') {
      this.next()
      const size = toValue(this.next())
      this.expect(']')
      return { name, type, form: 'fixed', size }
    }
    if (this.peek() === '<') {
      this.next()
      if (this.peek() === '>') {
        this.next()
        return { name, type, form: 'variable' }
      }
      const size = toValue(this.next())
      this.expect('>')
      return { name, type, form: 'variable', size }
    }
    return { name, type, form: 'plain' }
  }
}

/** Parses the text of an `.x` file. */
export function parseIdl(source: string): IdlSpec {
  return new Parser(tokenize(source)).parse()
}

// --- generation --------------------------------------------------------------------------------------------------

/** What {@link generateProtocolModule} emits. */
export interface GenerateOptions {
  /** The `.x` file, as parsed. */
  readonly spec: IdlSpec
  /** Values of constants the `.x` file takes from C headers (`VIR_UUID_BUFLEN`, `VIR_TYPED_PARAM_INT`, …). */
  readonly externalConstants: Readonly<Record<string, number>>
  /** Procedures to generate typed calls for, without the `REMOTE_PROC_` prefix; the procedure table lists all. */
  readonly procedures: readonly string[]
  /** Further types to generate although no selected procedure reaches them (e.g. `remote_error`). */
  readonly extraTypes?: readonly string[]
  /** The enum that numbers the procedures. @default 'remote_procedure' */
  readonly procedureEnum?: string
  /** The prefix of the procedure enum's members. @default 'REMOTE_PROC_' */
  readonly procedurePrefix?: string
  /** The prefix of argument/result struct names. @default 'remote_' */
  readonly structPrefix?: string
  /** A first comment line naming the source. */
  readonly banner: string
}

const pascal = (name: string): string =>
  name
    .split('_')
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('')
const camel = (name: string): string => {
  const p = pascal(name)
  return p[0]!.toLowerCase() + p.slice(1)
}

/**
 * Generates the TypeScript module for a protocol: the constants and procedure numbers of the whole file, plus an
 * interface and a codec for every type the selected procedures reach, and the `*_CALLS` table that maps each
 * selected procedure to its number and its argument and result codecs (`remote_<proc>_args` / `_ret` / `_msg`,
 * libvirt's naming rule; a missing struct means `void`).
 */
export function generateProtocolModule(options: GenerateOptions): string {
  const { spec } = options
  const procedureEnum = options.procedureEnum ?? 'remote_procedure'
  const procedurePrefix = options.procedurePrefix ?? 'REMOTE_PROC_'
  const structPrefix = options.structPrefix ?? 'remote_'
  const byName = new Map<string, IdlDefinition>()
  const constants = new Map<string, number>(Object.entries(options.externalConstants))
  for (const d of spec.definitions) {
    byName.set(d.name, d)
    if (d.kind === 'const') constants.set(d.name, resolveValue(d.value, constants, d.name))
  }
  for (const d of spec.definitions) {
    if (d.kind !== 'enum') continue
    for (const [name, value] of d.members) constants.set(name, resolveValue(value, constants, name))
  }
  const value = (v: string | number, where: string): number => resolveValue(v, constants, where)

  const procEnum = byName.get(procedureEnum)
  if (!procEnum || procEnum.kind !== 'enum') throw new IdlSyntaxError(`no enum ${procedureEnum} in the spec`)
  const procedureNumbers = new Map(procEnum.members.map(([n, v]) => [n.slice(procedurePrefix.length), value(v, n)]))

  // The types the selected procedures need, dependencies first.
  const ordered: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const lazy = new Set<string>()
  const visitType = (t: IdlType): void => {
    if (t.kind === 'named') visit(t.name)
  }
  const visit = (name: string): void => {
    const s = state.get(name)
    if (s === 'done') return
    if (s === 'visiting') {
      lazy.add(name)
      return
    }
    const d = byName.get(name)
    if (!d) throw new IdlSyntaxError(`unknown type ${name}`)
    state.set(name, 'visiting')
    if (d.kind === 'typedef') visitType(d.declaration.type)
    else if (d.kind === 'struct') for (const f of d.fields) visitType(f.type)
    else if (d.kind === 'union') {
      visitType(d.discriminant.type)
      for (const c of d.cases) if (c.arm) visitType(c.arm.type)
      if (d.defaultArm) visitType(d.defaultArm.type)
    }
    state.set(name, 'done')
    if (d.kind !== 'const') ordered.push(name)
  }
  const calls: { name: string; number: number; args: string | null; ret: string | null; msg: string | null }[] = []
  for (const proc of options.procedures) {
    const number = procedureNumbers.get(proc)
    if (number === undefined) throw new IdlSyntaxError(`unknown procedure ${procedurePrefix}${proc}`)
    const base = `${structPrefix}${proc.toLowerCase()}`
    const pick = (suffix: string): string | null => (byName.get(`${base}_${suffix}`)?.kind === 'struct' ? `${base}_${suffix}` : null)
    const entry = { name: proc, number, args: pick('args'), ret: pick('ret'), msg: pick('msg') }
    for (const t of [entry.args, entry.ret, entry.msg]) if (t) visit(t)
    calls.push(entry)
  }
  for (const t of options.extraTypes ?? []) visit(t)

  const tsType = (t: IdlType): string => {
    switch (t.kind) {
      case 'int':
      case 'uint':
      case 'double':
      case 'float':
      case 'char':
      case 'uchar':
        return 'number'
      case 'hyper':
      case 'uhyper':
        return 'bigint'
      case 'bool':
        return 'boolean'
      case 'string':
        return 'string'
      case 'opaque':
        return 'Uint8Array'
      case 'void':
        return 'void'
      case 'named':
        return pascal(t.name)
    }
  }
  const baseCodec = (t: IdlType): string => {
    switch (t.kind) {
      case 'named':
        return lazy.has(t.name) ? `xdr.lazy(() => ${camel(t.name)})` : camel(t.name)
      case 'uchar':
        return 'xdr.char'
      case 'string':
      case 'opaque':
        throw new IdlSyntaxError(`${t.kind} needs a size`)
      default:
        return `xdr.${t.kind}`
    }
  }
  const declType = (d: IdlDeclaration): string => {
    const base = tsType(d.type)
    if (d.type.kind === 'string') return 'string'
    if (d.type.kind === 'opaque') return 'Uint8Array'
    if ((d.type.kind === 'char' || d.type.kind === 'uchar') && d.form === 'fixed') return 'string'
    switch (d.form) {
      case 'plain':
        return base
      case 'optional':
        return `${base} | null`
      case 'fixed':
      case 'variable':
        return `${base}[]`
    }
  }
  const declCodec = (d: IdlDeclaration): string => {
    const size = d.size === undefined ? undefined : value(d.size, d.name)
    if (d.type.kind === 'string') return size === undefined ? 'xdr.string()' : `xdr.string(${size})`
    if (d.type.kind === 'opaque') {
      if (d.form === 'fixed') return `xdr.fixedOpaque(${size})`
      return size === undefined ? 'xdr.opaque()' : `xdr.opaque(${size})`
    }
    if ((d.type.kind === 'char' || d.type.kind === 'uchar') && d.form === 'fixed') return `xdr.charString(${size})`
    const base = baseCodec(d.type)
    switch (d.form) {
      case 'plain':
        return base
      case 'optional':
        return `xdr.optional(${base})`
      case 'fixed':
        return `xdr.fixedArray(${base}, ${size})`
      case 'variable':
        return size === undefined ? `xdr.array(${base})` : `xdr.array(${base}, ${size})`
    }
  }

  const out: string[] = []
  out.push(`// ${options.banner}`)
  out.push('// GENERATED by scripts/gen-protocol.ts: do not edit. Regenerate with `pnpm --filter @novum/driver-libvirt gen:protocol`.')
  out.push("import { xdr, type XdrCodec } from '../xdr.js'")
  out.push('')
  out.push('// --- constants ---------------------------------------------------------------------------------------------')
  for (const d of spec.definitions) {
    if (d.kind === 'const') out.push(`export const ${d.name} = ${formatNumber(constants.get(d.name)!)}`)
  }
  out.push('')
  out.push(`/** Every procedure of the program, by name without the \`${procedurePrefix}\` prefix. */`)
  out.push(`export const ${pascal(procedureEnum.replace(/_procedure$/, ''))}Procedure = {`)
  for (const [name, number] of procedureNumbers) out.push(`  ${name}: ${number},`)
  out.push('} as const')
  out.push('')
  out.push('// --- types and codecs reached by the generated procedures -----------------------------------------------------')
  for (const name of ordered) {
    const d = byName.get(name)!
    const typeName = pascal(name)
    const codecName = camel(name)
    switch (d.kind) {
      case 'typedef':
        out.push(`export type ${typeName} = ${declType(d.declaration)}`)
        out.push(`export const ${codecName}: XdrCodec<${typeName}> = ${declCodec(d.declaration)}`)
        break
      case 'enum':
        out.push(`export const ${typeName} = {`)
        for (const [member] of d.members) out.push(`  ${member}: ${constants.get(member)},`)
        out.push('} as const')
        out.push(`export type ${typeName} = (typeof ${typeName})[keyof typeof ${typeName}]`)
        out.push(`export const ${codecName}: XdrCodec<${typeName}> = xdr.int as XdrCodec<${typeName}>`)
        break
      case 'struct':
        out.push(`export interface ${typeName} {`)
        for (const f of d.fields) out.push(`  ${f.name}: ${declType(f)}`)
        out.push('}')
        out.push(`export const ${codecName}: XdrCodec<${typeName}> = xdr.struct<${typeName}>([`)
        for (const f of d.fields) out.push(`  ['${f.name}', ${declCodec(f)}],`)
        out.push('])')
        break
      case 'union': {
        const discriminant = d.discriminant.name
        const variants: string[] = []
        const arms: string[] = []
        for (const c of d.cases) {
          for (const v of c.values) {
            const n = value(v, d.name)
            variants.push(c.arm ? `{ ${discriminant}: ${n}; ${c.arm.name}: ${declType(c.arm)} }` : `{ ${discriminant}: ${n} }`)
            arms.push(`  ${n}: ${c.arm ? `['${c.arm.name}', ${declCodec(c.arm)} as XdrCodec<unknown>]` : 'null'},`)
          }
        }
        if (d.defaultArm !== undefined) variants.push(d.defaultArm ? `{ ${discriminant}: number; ${d.defaultArm.name}: ${declType(d.defaultArm)} }` : `{ ${discriminant}: number }`)
        out.push(`export type ${typeName} =\n  | ${variants.join('\n  | ')}`)
        const defaultArm = d.defaultArm === undefined ? '' : d.defaultArm ? `, ['${d.defaultArm.name}', ${declCodec(d.defaultArm)} as XdrCodec<unknown>]` : ', null'
        out.push(`export const ${codecName}: XdrCodec<${typeName}> = xdr.union<${typeName}>('${discriminant}', {\n${arms.join('\n')}\n}${defaultArm})`)
        break
      }
      case 'const':
        break
    }
  }
  out.push('')
  out.push('// --- procedures ----------------------------------------------------------------------------------------------')
  const tableName = `${pascal(procedureEnum.replace(/_procedure$/, ''))}Calls`
  out.push(`/** Argument, result and message types of each generated procedure. */`)
  out.push(`export interface ${tableName} {`)
  for (const c of calls) {
    out.push(`  ${c.name}: { args: ${c.args ? pascal(c.args) : 'void'}; ret: ${c.ret ? pascal(c.ret) : 'void'}; msg: ${c.msg ? pascal(c.msg) : 'void'} }`)
  }
  out.push('}')
  out.push(`/** The number and codecs of each generated procedure. */`)
  out.push(`export const ${camel(procedureEnum.replace(/_procedure$/, ''))}Calls: { readonly [P in keyof ${tableName}]: { readonly procedure: number; readonly args: XdrCodec<${tableName}[P]['args']>; readonly ret: XdrCodec<${tableName}[P]['ret']>; readonly msg: XdrCodec<${tableName}[P]['msg']> } } = {`)
  for (const c of calls) {
    const codec = (t: string | null) => (t ? camel(t) : 'xdr.void')
    out.push(`  ${c.name}: { procedure: ${c.number}, args: ${codec(c.args)}, ret: ${codec(c.ret)}, msg: ${codec(c.msg)} },`)
  }
  out.push('}')
  out.push('')
  return out.join('\n')
}

function resolveValue(v: string | number, constants: ReadonlyMap<string, number>, where: string): number {
  if (typeof v === 'number') return v
  const plusOne = /^(\w+) \+ 1$/.exec(v)
  if (plusOne) return resolveValue(plusOne[1]!, constants, where) + 1
  const known = constants.get(v)
  if (known === undefined) throw new IdlSyntaxError(`unknown constant ${v} (in ${where}): add it to the external constants`)
  return known
}

function formatNumber(n: number): string {
  return n > 0xffff && Number.isInteger(n) && n.toString(16).length >= 8 ? `0x${n.toString(16)}` : String(n)
}

/**
 * Reads a C header's `enum { NAME = value, NAME, … } typeName;` members (implicit values count up), for error
 * code and domain names from `virterror.h`.
 */
export function parseCEnum(header: string, typeName: string): [string, number][] {
  const end = new RegExp(`\\}\\s*${typeName}\\s*;`).exec(header)?.index
  const start = end === undefined ? -1 : header.lastIndexOf('{', end)
  if (end === undefined || start < 0 || !/typedef\s+enum\s*$/.test(header.slice(0, start))) throw new IdlSyntaxError(`no enum ${typeName} in the header`)
  const body = header.slice(start + 1, end)
  const clean = body.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/^\s*#.*$/gm, '')
  const out: [string, number][] = []
  let next = 0
  for (const raw of clean.split(',')) {
    const item = raw.trim()
    if (!item) continue
    const m = /^([A-Z_][A-Z0-9_]*)\s*(?:=\s*(-?(?:0x[0-9a-fA-F]+|\d+)))?$/.exec(item)
    if (!m) throw new IdlSyntaxError(`cannot read enum member "${item}" of ${typeName}`)
    const v = m[2] !== undefined ? Number(m[2]) : next
    out.push([m[1]!, v])
    next = v + 1
  }
  return out
}
