// The binding over hand-assembled bytecode: results, memory, errors, arguments.
import { describe, expect, it } from 'vitest';
import { BpfLoadError, BpfProgram, BpfRunError, DEFAULT_BUDGET, MEMORY_ADDRESS } from '../src/index.js';
import { native } from '../src/native.js';
import { asm, program } from './asm.js';

const load = (...insns: Buffer[]) => BpfProgram.fromBytecode(program(...insns));

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}

describe('addon', () => {
  it('loads and exports the VM functions', () => {
    for (const f of ['loadElf', 'loadBytecode', 'listPrograms', 'programInfo', 'run'] as const) {
      expect(typeof native[f]).toBe('function');
    }
    expect(MEMORY_ADDRESS).toBe(3n << 32n);
    expect(DEFAULT_BUDGET).toBe(1_000_000);
  });
});

describe('bytecode programs', () => {
  it('run mov/add/exit', () => {
    const p = load(asm.movImm(0, 40), asm.movImm(1, 2), asm.addReg(0, 1), asm.exit());
    expect(p.name).toBe('bytecode');
    expect(p.length).toBe(4);
    expect(p.run()).toEqual({ r0: 42n, executed: 4, log: '' });
  });

  it('return r0 as an unsigned 64-bit bigint', () => {
    expect(load(asm.movImm(0, -1), asm.exit()).run().r0).toBe(0xffff_ffff_ffff_ffffn);
  });

  it('get r1 = memory address and r2 = its length, or 0 and 0', () => {
    const r1 = load(asm.movReg(0, 1), asm.exit());
    const r2 = load(asm.movReg(0, 2), asm.exit());
    expect(r1.run(new Uint8Array(24)).r0).toBe(MEMORY_ADDRESS);
    expect(r2.run(new Uint8Array(24)).r0).toBe(24n);
    expect(r1.run().r0).toBe(0n);
    expect(r2.run().r0).toBe(0n);
  });

  it('load and store through r1', () => {
    const p = load(asm.ldxdw(0, 1, 0), asm.addImm(0, 1), asm.stxdw(1, 8, 0), asm.exit());
    const memory = Buffer.alloc(16);
    memory.writeBigUInt64LE(0x1122_3344_5566_7788n, 0);
    expect(p.run(memory).r0).toBe(0x1122_3344_5566_7789n);
    expect(memory.readBigUInt64LE(8)).toBe(0x1122_3344_5566_7789n);
  });

  it('see exactly the bytes of a Uint8Array view', () => {
    const p = load(asm.movImm(0, 7), asm.stxdw(1, 0, 0), asm.movReg(0, 2), asm.exit());
    const whole = new Uint8Array(32);
    const view = new Uint8Array(whole.buffer, 8, 8);
    expect(p.run(view).r0).toBe(8n);
    expect([...whole.subarray(8, 9)]).toEqual([7]);
    expect(whole.reduce((a, b) => a + b)).toBe(7);
  });

  it('log bpf_trace_printk lines', () => {
    // r1 = the format in memory, r2 = its size (with the NUL), r3 = the argument.
    const p = load(asm.movImm(3, -7), asm.call(6), asm.exit());
    const { r0, log } = p.run(Buffer.from('x=%d\0'));
    expect(log).toBe('x=-7\n');
    expect(r0).toBe(4n);
  });

  it('fault with MEMORY_ACCESS and the pc on an out-of-bounds load', () => {
    const p = load(asm.movImm(0, 0), asm.ldxdw(0, 1, 16), asm.exit());
    const e = thrown(() => p.run(new Uint8Array(16)));
    expect(e).toBeInstanceOf(BpfRunError);
    expect(e).toMatchObject({ code: 'MEMORY_ACCESS', pc: 1, name: 'BpfRunError' });
    // Without memory r1 is 0, which is never mapped.
    expect(thrown(() => p.run())).toMatchObject({ code: 'MEMORY_ACCESS', pc: 1 });
  });

  it('stop an endless loop with BUDGET_EXHAUSTED', () => {
    const p = load(asm.movImm(0, 0), asm.addImm(0, 1), asm.ja(-2), asm.exit());
    const e = thrown(() => p.run(undefined, { budget: 100 }));
    expect(e).toBeInstanceOf(BpfRunError);
    expect(e).toMatchObject({ code: 'BUDGET_EXHAUSTED' });
    expect((e as BpfRunError).pc).toBeGreaterThanOrEqual(1);
    expect(thrown(() => p.run())).toMatchObject({ code: 'BUDGET_EXHAUSTED' });
  });

  it('run within an exact budget', () => {
    const p = load(asm.movImm(0, 1), asm.exit());
    expect(p.run(undefined, { budget: 2 }).executed).toBe(2);
    expect(thrown(() => p.run(undefined, { budget: 1 }))).toMatchObject({ code: 'BUDGET_EXHAUSTED' });
  });
});

describe('load errors', () => {
  it('refuse bad bytecode with CHECK and the pc', () => {
    const e = thrown(() => BpfProgram.fromBytecode(new Uint8Array(12)));
    expect(e).toBeInstanceOf(BpfLoadError);
    expect(e).toMatchObject({ code: 'CHECK', name: 'BpfLoadError' });
    const unknownOp = thrown(() => BpfProgram.fromBytecode(program(asm.movImm(0, 0), Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0]))));
    expect(unknownOp).toMatchObject({ code: 'CHECK', pc: 1 });
    expect(thrown(() => BpfProgram.fromBytecode(new Uint8Array(0)))).toMatchObject({ code: 'CHECK', pc: 0 });
  });

  it('refuse a non-ELF object with ELF', () => {
    expect(thrown(() => BpfProgram.fromElf(Buffer.from('not an elf file')))).toMatchObject({ code: 'ELF' });
    expect(thrown(() => BpfProgram.list(new Uint8Array(64)))).toBeInstanceOf(BpfLoadError);
  });
});

describe('arguments', () => {
  const p = load(asm.movImm(0, 1), asm.exit());
  const anyOf = <T>(v: unknown) => v as T;

  it('of the wrong type are TypeErrors', () => {
    expect(() => BpfProgram.fromBytecode(anyOf('abc'))).toThrow(TypeError);
    expect(() => BpfProgram.fromBytecode(anyOf([0x95, 0, 0, 0, 0, 0, 0, 0]))).toThrow(TypeError);
    expect(() => BpfProgram.fromBytecode(anyOf(new Uint16Array(4)))).toThrow(TypeError);
    expect(() => BpfProgram.fromElf(new Uint8Array(8), anyOf(5))).toThrow(TypeError);
    expect(() => BpfProgram.fromFile(anyOf(5))).toThrow(TypeError);
    expect(() => p.run(anyOf('memory'))).toThrow(TypeError);
    expect(() => p.run(undefined, anyOf(5))).toThrow(TypeError);
    expect(() => p.run(undefined, { budget: anyOf('5') })).toThrow(TypeError);
    expect(() => p.run(undefined, { budget: anyOf(5n) })).toThrow(TypeError);
  });

  it('out of range are RangeErrors', () => {
    for (const budget of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) {
      expect(() => p.run(undefined, { budget })).toThrow(RangeError);
    }
  });

  it('are checked by the addon too', () => {
    const handle = native.loadBytecode(program(asm.movImm(0, 1), asm.exit()));
    expect(() => native.run(anyOf({}))).toThrow(TypeError);
    expect(() => native.run(anyOf(undefined))).toThrow(TypeError);
    expect(() => native.programInfo(anyOf(null))).toThrow(TypeError);
    expect(() => native.run(handle, anyOf([1, 2]))).toThrow(TypeError);
    expect(() => native.run(handle, undefined, anyOf('3'))).toThrow(TypeError);
    expect(() => native.run(handle, undefined, 0)).toThrow(RangeError);
    expect(() => native.run(handle, undefined, 0.5)).toThrow(RangeError);
    expect(() => native.loadElf(new Uint8Array(8), anyOf(1))).toThrow(TypeError);
    expect(() => native.loadBytecode(anyOf(undefined))).toThrow(TypeError);
    expect(native.run(handle, null as never, 10)).toEqual([1n, 2, '']);
  });
});
