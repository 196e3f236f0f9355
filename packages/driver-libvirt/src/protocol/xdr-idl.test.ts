import { describe, expect, it } from 'vitest'
import { RemoteProcedure, remoteCalls } from './generated/remote-protocol.js'
import { VirErrorCode } from './generated/virterror.js'
import { generateProtocolModule, IdlSyntaxError, parseCEnum, parseIdl } from './xdr-idl.js'

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

  it('reads a C enum with implicit, explicit and commented values', () => {
    const codes = parseCEnum(
      `typedef enum {
         E_OK = 0,      /* no error */
         E_ONE,         /* counts up */
         E_TEN = 10,
         E_ELEVEN,
       # ifdef SOMETHING
         E_LAST
       # endif
       } errorNumber;`,
      'errorNumber',
    )
    expect(codes).toContainEqual(['E_OK', 0])
    expect(codes).toContainEqual(['E_ONE', 1])
    expect(codes).toContainEqual(['E_TEN', 10])
    expect(codes).toContainEqual(['E_ELEVEN', 11])
  })

  it('the generated error tables hold the codes libvirt documents', () => {
    expect(VirErrorCode.VIR_ERR_OK).toBe(0)
    expect(VirErrorCode.VIR_ERR_NO_DOMAIN).toBe(42)
    expect(VirErrorCode.VIR_ERR_OPERATION_INVALID).toBe(55)
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
