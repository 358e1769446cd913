// `xrpkv xrp ...`, spawned as `node dist/cli/main.js` (the compiled CLI).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileChainProgram, node, requireFreshDist, shuffledChain, tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
let object: string;
let chain: { path: string; first: number };

beforeAll(() => {
  requireFreshDist();
  object = compileChainProgram(tmp.dir);
  chain = shuffledChain(join(tmp.dir, 'chain'), 3, 1);
});
afterAll(() => tmp.remove());

const xrpkv = (...args: string[]) => node(['dist/cli/main.js', ...args]);

describe('xrpkv xrp run', () => {
  it('prints the outcome, the hops and the scratch page up to its last non-zero row', () => {
    const r = xrpkv('xrp', 'run', `${object}:xrp_chain`, chain.path, '--offset', String(chain.first), '--direct', 'off');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('program xrp_chain (');
    expect(r.stdout).toMatch(/^backend: emulator \(.+\)$/m);
    expect(r.stdout).toContain('outcome: DONE: done\n');
    expect(r.stdout).toMatch(/^hops: 3, last offset: \d+$/m);
    expect(r.stdout).toContain('scratch (the first 32 bytes; the other 4064 are zero):\n');
    expect(r.stdout).toContain('0000  06 00 00 00 00 00 00 00  03 00 00 00 00 00 00 00  |................|\n');
    expect(r.stdout).toContain('0010  03 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n');
    const full = xrpkv('xrp', 'run', object, chain.path, '--offset', String(chain.first), '--full-scratch');
    expect(full.stdout).toContain('scratch (the first 4096 bytes):');
    expect(full.stdout).toContain('\n0ff0  00 00');
  });

  it('prints JSON, starts from a scratch file and follows --compat kernel and --hop-limit', () => {
    const scratch = join(tmp.dir, 'scratch.bin');
    writeFileSync(scratch, Buffer.from('0a00000000000000', 'hex'));
    const args = ['xrp', 'run', object, chain.path, '--offset', String(chain.first), '--scratch-file', scratch];
    const r = xrpkv(...args, '--compat', 'kernel', '--json');
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ program: 'xrp_chain', code: 'DONE', ok: true, message: 'done', hops: 3, log: '' });
    expect(out.backend.backend).toBe('emulator');
    expect(out.file).toMatchObject({ path: chain.path, size: 3 * 4096 });
    expect(out.scratch).toBe('1000000000000000' + '0300000000000000' + '0300000000000000' + '00'.repeat(8));

    // A chain that ends in a fault still prints its result, and exits 2.
    const limited = xrpkv(...args, '--hop-limit', '2', '--json');
    expect(limited.status).toBe(2);
    expect(JSON.parse(limited.stdout)).toMatchObject({ code: 'HOP_LIMIT', ok: false, hops: 2 });
  });

  it('fails on a bad path or argument with a message on stderr', () => {
    const missing = xrpkv('xrp', 'run', object, join(tmp.dir, 'no-such-file'), '--offset', '0');
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^xrpkv: ENOENT: cannot open .*no-such-file/);
    const noObject = xrpkv('xrp', 'run', join(tmp.dir, 'nope.o'), chain.path, '--offset', '0');
    expect(noObject.status).toBe(1);
    expect(noObject.stderr).toMatch(/^xrpkv: ENOENT: cannot read /);
    const badObject = xrpkv('xrp', 'run', chain.path, chain.path, '--offset', '0');
    expect(badObject).toMatchObject({ status: 1, stderr: expect.stringMatching(/^xrpkv: ELF: /) });
    const misaligned = xrpkv('xrp', 'run', object, chain.path, '--offset', '100');
    expect(misaligned.status).not.toBe(0);
    expect(misaligned.stderr).toContain('multiple of 512');
    const forced = xrpkv('xrp', 'run', object, chain.path, '--offset', '0', '--backend', 'kernel');
    expect(forced).toMatchObject({ status: 1, stderr: expect.stringMatching(/^xrpkv: NO_KERNEL_(XRP|PATH): /) });
    expect(xrpkv('xrp', 'run', object, chain.path).stderr).toContain("required option '--offset <n>'");
  });

  it('has help', () => {
    for (const args of [['xrp', '--help'], ['xrp', 'run', '--help'], ['xrp', 'bench', '--help']]) {
      const r = xrpkv(...args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: xrpkv xrp/);
    }
    expect(xrpkv('xrp', 'bench', '--help').stdout).toContain('--random-u64 <field>');
  });
});

describe('xrpkv xrp bench', () => {
  it('reports throughput and per-chain latency percentiles', () => {
    const long = shuffledChain(join(tmp.dir, 'long'), 100, 2);
    const args = ['xrp', 'bench', object, long.path, '--offset', String(long.first), '--chains', '1000', '--depth', '16'];
    const r = xrpkv(...args, '--random-u64', '4088=1..1000', '--hop-limit', '50', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ program: 'xrp_chain', chains: 1000, batch: 1000, hops: 50_000, outcomes: { HOP_LIMIT: 1000 } });
    expect(out.io).toMatch(/^(io_uring, queue depth 16|\d+ threads doing pread)/);
    expect(out.seconds).toBeGreaterThan(0);
    expect(out.chainsPerSecond).toBeCloseTo(1000 / out.seconds, -1);
    expect(out.hopsPerSecond).toBeCloseTo(out.chainsPerSecond * 50, -2);
    const { p50, p99, p999, max, mean } = out.latencyUs;
    expect(p50).toBeGreaterThan(0);
    expect(p50).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(p999);
    expect(p999).toBeLessThanOrEqual(max);
    expect(mean).toBeLessThanOrEqual(max);
    expect(max).toBeLessThan(out.seconds * 1e6);

    const text = xrpkv(...args, '--compat', 'kernel', '--io', 'threads');
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('1000 chains in batches of 1000, kernel mode; reads: ');
    expect(text.stdout).toMatch(/^outcomes: DONE 1000$/m);
    expect(text.stdout).toMatch(/^throughput: [\d,]+ chains\/s, [\d,]+ hops\/s/m);
    expect(text.stdout).toMatch(/p50 [\d.]+ {2}p99 [\d.]+ {2}p99\.9 [\d.]+/);
  });

  it('refuses a malformed --random-u64', () => {
    for (const spec of ['8=5..1', '4090=1..2', 'x=1..2', '0=1..18446744073709551616']) {
      const r = xrpkv('xrp', 'bench', object, chain.path, '--offset', '0', '--chains', '1', '--random-u64', spec);
      expect(r.status, spec).not.toBe(0);
      expect(r.stderr, spec).toContain("option '--random-u64 <field>' argument");
    }
  });
});

describe('xrpkv xrp probe', () => {
  it('says where chains run and why', () => {
    const r = xrpkv('xrp', 'probe');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^kernel XRP: (yes|no): .+\nchains run in: the emulator/);
    const json = JSON.parse(xrpkv('xrp', 'probe', '--json').stdout);
    expect(json).toMatchObject({ backend: 'emulator', requested: 'auto' });
  });
});
