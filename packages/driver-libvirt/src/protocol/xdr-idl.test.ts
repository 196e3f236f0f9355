import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { renderProtocolFiles } from './generate.js'
import { RemoteProcedure, remoteCalls } from './generated/remote-protocol.js'
import { generateProtocolModule, IdlSyntaxError, parseCEnum, parseIdl } from './xdr-idl.js'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

describe('XDR IDL', () => {
  describe(parseIdl.name, () => {
    it('reads consts, typedefs, enums (implicit values count up), structs and unions', () => {
      const spec = parseIdl(`
        %#include <x.h>
        /* a comment */
        const MAX = 0x10;
        typedef string name_t<MAX>;
        typedef name_t *maybe_name;
        enum colour { RED = 1, GREEN, BLUE = 7 };
        struct thing { maybe_name name; unsigned hyper size; opaque id[16]; int list<>; char label[8]; unsigned int flags; };
        union value switch (int kind) { case 1: case 2: int i; case 3: void; default: string s<>; };
      `)
      expect(spec.definitions.map((d) => `${d.kind} ${d.name}`)).toEqual(['const MAX', 'typedef name_t', 'typedef maybe_name', 'enum colour', 'struct thing', 'union value'])
      expect(spec.definitions[3]).toEqual({ kind: 'enum', name: 'colour', members: [['RED', 1], ['GREEN', 2], ['BLUE', 7]] })
      expect(spec.definitions[4]).toMatchObject({
        fields: [
          { name: 'name', form: 'plain', type: { kind: 'named', name: 'maybe_name' } },
          { name: 'size', form: 'plain', type: { kind: 'uhyper' } },
          { name: 'id', form: 'fixed', size: 16, type: { kind: 'opaque' } },
          { name: 'list', form: 'variable', type: { kind: 'int' } },
          { name: 'label', form: 'fixed', size: 8, type: { kind: 'char' } },
          { name: 'flags', form: 'plain', type: { kind: 'uint' } },
        ],
      })
      expect(spec.definitions[5]).toMatchObject({ cases: [{ values: [1, 2] }, { values: [3], arm: null }], defaultArm: { name: 's' } })
    })

    it('reports the line of a syntax error', () => {
      expect(() => parseIdl('struct a {\n int x\n};')).toThrow(/expected ";" but found "}" at line 3/)
      expect(() => parseIdl('struct a { int x; } @')).toThrow(IdlSyntaxError)
    })
  })

  it('generates interfaces, codecs and the call table for the selected procedures only', () => {
    const spec = parseIdl(`
      const P_MAX = 4;
      struct p_ping_args { int n; };
      struct p_ping_ret { string echo<P_MAX>; };
      struct p_unused_ret { int x; };
      enum p_procedure { P_PROC_PING = 1, P_PROC_UNUSED = 2 };
    `)
    const out = generateProtocolModule({ spec, externalConstants: {}, procedures: ['PING'], procedureEnum: 'p_procedure', procedurePrefix: 'P_PROC_', structPrefix: 'p_', banner: 'test' })
    expect(out).toContain('export const PProcedure = {\n  PING: 1,\n  UNUSED: 2,\n} as const')
    expect(out).toContain("export const pPingRet: XdrCodec<PPingRet> = xdr.struct<PPingRet>([\n  ['echo', xdr.string(4)],\n])")
    expect(out).toContain('PING: { procedure: 1, args: pPingArgs, ret: pPingRet, msg: xdr.void },')
    expect(out).not.toContain('PUnusedRet')
  })

  it('reads C enums from virterror.h', () => {
    const codes = parseCEnum(readFileSync(join(packageDir, 'protocol', 'virterror.h'), 'utf8'), 'virErrorNumber')
    expect(codes).toContainEqual(['VIR_ERR_OK', 0])
    expect(codes).toContainEqual(['VIR_ERR_NO_DOMAIN', 42])
    expect(codes).toContainEqual(['VIR_ERR_OPERATION_INVALID', 55])
  })

  it('the committed generated files are what scripts/gen-protocol.ts makes of protocol/ (run it after editing PROCEDURES)', () => {
    const files = renderProtocolFiles((name) => readFileSync(join(packageDir, 'protocol', name), 'utf8'))
    for (const [relative, text] of Object.entries(files)) {
      expect(readFileSync(join(packageDir, relative), 'utf8'), relative).toBe(text)
    }
  })

  it('has the procedure numbers hypervisors.md measured, taken from remote_protocol.x', () => {
    expect(RemoteProcedure.CONNECT_OPEN).toBe(1)
    expect(RemoteProcedure.CONNECT_CLOSE).toBe(2)
    expect(RemoteProcedure.CONNECT_GET_VERSION).toBe(4)
    expect(RemoteProcedure.CONNECT_GET_HOSTNAME).toBe(59)
    expect(RemoteProcedure.AUTH_LIST).toBe(66)
    expect(RemoteProcedure.AUTH_POLKIT).toBe(70)
    expect(RemoteProcedure.CONNECT_LIST_ALL_DOMAINS).toBe(273)
    expect(remoteCalls.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY.procedure).toBe(316)
    expect(remoteCalls.DOMAIN_EVENT_CALLBACK_LIFECYCLE.procedure).toBe(318)
  })
})
