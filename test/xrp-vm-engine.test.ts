// Which engine runs programs, and how to choose it: the `jit` load option,
// XRPKV_JIT=0 for a whole process, and what programs and `xrpkv xrp probe` say.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfProgram, XrpFile, XrpProgram, vmEngine } from '../src/index.js';

const JIT_HERE = process.arch === 'x64' && process.platform === 'linux';
const root = new URL('..', import.meta.url).pathname;

// mov r0, 0; ja +0 (its own block); loop: r0 += 1; jlt r0, r1, loop; exit
const counting = Buffer.from(
  'b700000000000000' + '0500000000000000' + '0700000001000000' + 'ad10feff00000000' + '9500000000000000',
  'hex',
);
// r3 = 6; callx r3: bpf_trace_printk(r1 = the memory, r2 = its length); exit
const callx = Buffer.from('b703000006000000' + '8d03000000000000' + '9500000000000000', 'hex');

describe('the VM engine', () => {
  it('is the JIT by default on x86-64 Linux, and says why', () => {
    const e = vmEngine();
    expect(e.engine).toBe(JIT_HERE && process.env.XRPKV_JIT !== '0' ? 'jit' : 'interpreter');
    expect(e.reason.length).toBeGreaterThan(0);
  });

  it('is chosen per program with { jit }, and both engines agree', () => {
    const jit = BpfProgram.fromBytecode(counting, { jit: true });
    const interp = BpfProgram.fromBytecode(counting, { jit: false });
    expect(interp.engine).toBe('interpreter');
    expect(jit.engine).toBe(JIT_HERE ? 'jit' : 'interpreter');
    expect(jit.engineReason).toMatch(JIT_HERE ? /JIT/ : /no JIT/);
    expect(BpfProgram.fromBytecode(counting).engine).toBe(vmEngine().engine);
    // Without memory r1 = 0: one pass of the loop.
    for (const p of [jit, interp]) {
      expect(p.run()).toEqual({ r0: 1n, executed: 5, log: '' });
    }
    // With memory r1 is its (large) address: the budget ends the loop, at
    // the same pc on both engines.
    const fault = (p: BpfProgram) => {
      try {
        p.run(Buffer.alloc(1), { budget: 7 });
      } catch (e) {
        return e;
      }
      throw new Error('expected BUDGET_EXHAUSTED');
    };
    expect(fault(interp)).toMatchObject({ code: 'BUDGET_EXHAUSTED', pc: 2 });
    expect(fault(jit)).toMatchObject({ code: 'BUDGET_EXHAUSTED', pc: 2 });
  });

  it('runs callx on both engines', () => {
    for (const jit of [true, false]) {
      expect(BpfProgram.fromBytecode(callx, { jit }).run(Buffer.from('hi\0'))).toEqual({ r0: 2n, executed: 3, log: 'hi\n' });
    }
  });

  it('refuses a jit option that is not a boolean', () => {
    expect(() => BpfProgram.fromBytecode(counting, { jit: 'no' as unknown as boolean })).toThrow(TypeError);
    expect(() => BpfProgram.fromBytecode(counting, 5 as unknown as object)).toThrow(TypeError);
    expect(() => XrpProgram.fromFile(join(root, 'dist/bpf/follow.o'), undefined, { jit: 0 as unknown as boolean })).toThrow(
      TypeError,
    );
  });

  describe('for XRP programs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xrpkv-engine-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('compiles once at load and runs chains the same on both engines', () => {
      const path = join(dir, 'blocks');
      writeFileSync(path, Buffer.alloc(8192, 7));
      const file = XrpFile.open(path);
      try {
        const results = [true, false].map((jit) => {
          const program = XrpProgram.fromFile(join(root, 'dist/bpf/follow.o'), undefined, { jit });
          expect(program.engine).toBe(jit && JIT_HERE ? 'jit' : 'interpreter');
          const { startedNs: _s, finishedNs: _f, ...r } = { startedNs: 0, finishedNs: 0, ...program.runSync(file, { offset: 0 }) };
          return { ...r, error: r.error && { code: r.error.code, pc: r.error.pc, fault: r.error.fault } };
        });
        expect(results[0]).toEqual(results[1]);
      } finally {
        file.close();
      }
    });
  });

  it('is the interpreter for a whole process with XRPKV_JIT=0, which the probe prints', () => {
    const cli = join(root, 'dist/cli/main.js');
    for (const [env, engine] of [
      ['0', 'interpreter'],
      ['1', JIT_HERE ? 'jit' : 'interpreter'],
    ] as const) {
      const run = spawnSync(process.execPath, [cli, 'xrp', 'probe'], { env: { ...process.env, XRPKV_JIT: env }, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain(`programs run on: the ${engine} (`);
      const json = spawnSync(process.execPath, [cli, 'xrp', 'probe', '--json'], { env: { ...process.env, XRPKV_JIT: env }, encoding: 'utf8' });
      expect(JSON.parse(json.stdout).vm.engine).toBe(engine);
    }
    const code = `const { BpfProgram } = require(${JSON.stringify(join(root, 'dist/index.cjs'))});
      const p = BpfProgram.fromBytecode(Buffer.from('b7000000010000009500000000000000', 'hex'));
      const q = BpfProgram.fromBytecode(Buffer.from('b7000000010000009500000000000000', 'hex'), { jit: true });
      console.log(p.engine, q.engine);`;
    const off = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, XRPKV_JIT: '0' }, encoding: 'utf8' });
    expect(off.status, off.stderr).toBe(0);
    // The option wins over the environment.
    expect(off.stdout.trim()).toBe(`interpreter ${JIT_HERE ? 'jit' : 'interpreter'}`);
  });
});
