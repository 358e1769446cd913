// The XRP binding over bpf/tests/xrp_chain.c (compiled here with clang) and
// chain files written to a temporary directory: outcomes, batches, faults,
// backends, arguments, closing with runs in flight, and the event loop.
import { readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XrpBatchChains, XrpError, XrpFile, XrpProgram, XrpSyncIo, xrpBackend, xrpProbe, type XrpResult } from '../src/index.js';
import { native, type NativeSyncField } from '../src/native.js';
import { resolveBackend } from '../src/xrp.js';
import { END, compileChainProgram, rng, shuffledChain, tally, tempDir, writeBlocks, type Block } from './xrp-fixtures.js';

const tmp = tempDir();
let objectPath: string;
let program: XrpProgram;
let seq = 0;
const path = (name: string) => join(tmp.dir, `${seq++}-${name}`);
const files: XrpFile[] = [];
/** Opens buffered, so 512-byte reads work whatever the file system's block size. */
const open = (p: string) => {
  const f = XrpFile.open(p, { direct: 'off' });
  files.push(f);
  return f;
};

beforeAll(() => {
  objectPath = compileChainProgram(tmp.dir);
  program = XrpProgram.fromFile(objectPath);
});
afterAll(() => {
  for (const f of files) f.close();
  tmp.remove();
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}

/** A two-block chain whose first block is `first` (pointing at slot 1 unless it says otherwise). */
function twoBlocks(first: Partial<Block>): XrpFile {
  return open(writeBlocks(path('two'), 2, [[0, { next: 4096n, value: 1n, ...first }], [4096, { next: END, value: 2n }]]));
}

describe('XrpProgram', () => {
  it('loads the chain program by name or alone', () => {
    expect(program.name).toBe('xrp_chain');
    expect(program.length).toBeGreaterThan(10);
    expect(XrpProgram.fromFile(objectPath, 'xrp_chain').name).toBe('xrp_chain');
    expect(XrpProgram.fromFile(objectPath, 'xrp/chain').name).toBe('xrp_chain');
    expect(XrpProgram.fromElf(readFileSync(objectPath)).length).toBe(program.length);
  });

  it('refuses a truncated object, an unknown section and a missing file with XrpErrors', () => {
    const object = readFileSync(objectPath);
    for (const cut of [object.subarray(0, 10), object.subarray(0, object.length >> 1)]) {
      const e = thrown(() => XrpProgram.fromElf(cut));
      expect(e).toBeInstanceOf(XrpError);
      expect(e).toMatchObject({ name: 'XrpError', code: 'ELF' });
    }
    expect(thrown(() => XrpProgram.fromFile(objectPath, 'nope'))).toMatchObject({ code: 'NO_SUCH_PROGRAM' });
    const missing = thrown(() => XrpProgram.fromFile(join(tmp.dir, 'missing.o')));
    expect(missing).toBeInstanceOf(XrpError);
    expect(missing).toMatchObject({ code: 'ENOENT', path: join(tmp.dir, 'missing.o') });
  });
});

describe('chains', () => {
  for (const mode of ['extended', 'kernel'] as const) {
    it(`of 1, 10 and 1000 hops run to the end in ${mode} mode, sync and async alike`, async () => {
      for (const n of [1, 10, 1000]) {
        const { path: p, first } = shuffledChain(path('chain'), n, n, mode === 'kernel' ? 0n : 4096n);
        const file = open(p);
        const sync = program.runSync(file, { offset: first, mode });
        const big = BigInt(n);
        expect(sync).toMatchObject({ code: 'DONE', ok: true, message: 'done', hops: n, log: '' });
        expect(sync.error).toBeUndefined();
        expect(sync.scratch.length).toBe(4096);
        expect(tally(sync.scratch)).toEqual([(big * (big + 1n)) / 2n, big, big]);
        expect(await program.run(file, { offset: BigInt(first), mode })).toEqual(sync);
      }
    });
  }

  it('start from the scratch they are given and return the page', async () => {
    const { path: p, first } = shuffledChain(path('chain'), 4, 1);
    const scratch = Buffer.alloc(24);
    scratch.writeBigUInt64LE(100n, 0);
    scratch.writeBigUInt64LE(1000n, 8);
    const file = open(p);
    const r = await program.run(file, { offset: first, scratch });
    expect(tally(r.scratch)).toEqual([110n, 1004n, 4n]);
    expect(scratch.readBigUInt64LE(0)).toBe(100n); // the caller's bytes are copied, not written
    const full = Buffer.alloc(4096, 0xab);
    expect(program.runSync(file, { offset: first, scratch: full }).scratch[4095]).toBe(0xab);
  });

  it('can leave their scratch in a buffer the caller gives (runSync into), even their own input', () => {
    const { path: p, first } = shuffledChain(path('chain'), 4, 1);
    const file = open(p);
    const plain = program.runSync(file, { offset: first });
    const into = Buffer.alloc(4100, 0xcd);
    const r = program.runSync(file, { offset: first, into });
    expect(r).toEqual({ ...plain, scratch: plain.scratch });
    expect(r.scratch.buffer).toBe(into.buffer);
    expect(into.subarray(0, 4096)).toEqual(plain.scratch);
    expect(into[4099]).toBe(0xcd); // nothing past the page
    // Resuming in place: the output of one run is the input of the next.
    const again = program.runSync(file, { offset: first, scratch: into.subarray(0, 4096), into });
    expect(tally(again.scratch)).toEqual([2n * tally(plain.scratch)[0], 8n, 4n]); // sums carried over, hops of this run
    expect(() => program.runSync(file, { offset: first, into: Buffer.alloc(4095) })).toThrow(TypeError);
    expect(() => program.runSync(file, { offset: first, into: 'x' as never })).toThrow(TypeError);
  });

  it('run raw (runSyncRaw): the last offset and a shared scratch page when DONE, the full result otherwise', () => {
    const { path: p, first } = shuffledChain(path('chain'), 6, 1);
    const file = open(p);
    const plain = program.runSync(file, { offset: first });
    const scratch = Buffer.alloc(24);
    const r = program.runSyncRaw(file, Number(first), 4096, scratch, 'extended');
    expect(r).toBe(plain.lastOffset);
    expect(XrpProgram.syncScratch).toEqual(plain.scratch);
    // Its scratch input is copied, as runSync's is: a run from a carried-over sum starts there.
    scratch.writeBigUInt64LE(100n, 0);
    expect(program.runSyncRaw(file, Number(first), 4096, scratch, 'extended')).toBe(plain.lastOffset);
    expect(tally(XrpProgram.syncScratch)[0]).toBe(100n + tally(plain.scratch)[0]);
    // A chain that does not end DONE: the same XrpResult runSync gives.
    const outside = program.runSyncRaw(file, 1 << 30, 4096, scratch, 'extended');
    expect(outside).toEqual(program.runSync(file, { offset: 1 << 30, scratch }));
    expect(outside).toMatchObject({ ok: false, code: 'OUT_OF_FILE' });
    expect(() => program.runSyncRaw({} as never, 0, 4096, scratch, 'extended')).toThrow(TypeError);
  });

  it('run with its own io (runSyncIo): the scratch written in place, the page past it zeroed, the result kept until its next run', () => {
    const { path: p, first } = shuffledChain(path('chain'), 6, 1);
    const file = open(p);
    const plain = program.runSync(file, { offset: first });
    const io = new XrpSyncIo();
    io.request(4096, 'extended', 8);
    // Left over from an earlier run: only the first 8 bytes are the caller's, the rest is zeroed.
    io.scratch.fill(0xee);
    io.scratch.writeBigUInt64LE(100n, 0);
    expect(program.runSyncIo(file, io, Number(first))).toBe(plain.lastOffset);
    expect(tally(io.scratch)[0]).toBe(100n + tally(plain.scratch)[0]);
    expect(io.scratch.subarray(24).every((b) => b === 0)).toBe(true);
    // Another caller's run leaves this io's page as it was.
    const kept = Buffer.from(io.scratch);
    program.runSyncRaw(file, Number(first), 4096, Buffer.alloc(24), 'extended');
    expect(io.scratch).toEqual(kept);
    // A chain that does not end DONE: the full result.
    expect(program.runSyncIo(file, io, 1 << 30)).toMatchObject({ ok: false, code: 'OUT_OF_FILE' });
    expect(() => io.request(4096, 'sideways' as never, 8)).toThrow(RangeError);
    expect(() => io.request(4096, 'extended', 4097)).toThrow(RangeError);
    expect(() => program.runSyncIo({} as never, io, 0)).toThrow(TypeError);
  });

  it('end at the hop limit', async () => {
    const { path: p, first } = shuffledChain(path('chain'), 20, 3);
    const r = await program.run(open(p), { offset: first, hopLimit: 10 });
    expect(r).toMatchObject({ code: 'HOP_LIMIT', ok: false, hops: 10, message: 'hop limit of 10 reads reached' });
    expect(r.error).toBeInstanceOf(XrpError);
    expect(r.error).toMatchObject({ code: 'HOP_LIMIT', message: r.message });
    expect(tally(r.scratch)[1]).toBe(10n);
  });

  it('report program faults, returns and budgets', () => {
    const fault = program.runSync(twoBlocks({ action: 1n }), { offset: 0 });
    expect(fault).toMatchObject({ code: 'PROGRAM_ERROR', ok: false, hops: 1, lastOffset: 0 });
    expect(fault.error).toBeInstanceOf(XrpError);
    expect(fault.error).toMatchObject({ code: 'PROGRAM_ERROR', fault: 'MEMORY_ACCESS' });
    expect(fault.error!.pc).toBeGreaterThan(0);
    expect(fault.message).toMatch(/^program error: /);

    const returned = program.runSync(twoBlocks({ action: 2n }), { offset: 0 });
    expect(returned).toMatchObject({ code: 'RETURNED', ok: false, returned: 7n, message: 'the program returned 0x7' });
    expect(returned.error).toBeUndefined();

    const endless = program.runSync(twoBlocks({ action: 4n }), { offset: 0, budget: 10_000 });
    expect(endless.error).toMatchObject({ code: 'PROGRAM_ERROR', fault: 'BUDGET_EXHAUSTED' });

    // Two next addresses: the prototype kernel aborts, extended mode follows next_addr[0].
    const two = twoBlocks({ action: 3n });
    expect(program.runSync(two, { offset: 0, mode: 'kernel' })).toMatchObject({ code: 'BAD_ADDRESS', hops: 1 });
    expect(program.runSync(two, { offset: 0 })).toMatchObject({ code: 'DONE', hops: 2 });
  });

  it('refuse bad addresses from the program: misaligned, out of file, bad size', async () => {
    const misaligned = await program.run(twoBlocks({ next: 100n }), { offset: 0 });
    expect(misaligned).toMatchObject({ code: 'BAD_ADDRESS', hops: 1, lastOffset: 0 });
    expect(misaligned.message).toContain('offset 100 is not a multiple of 512');
    expect(misaligned.error).toMatchObject({ code: 'BAD_ADDRESS' });
    const outside = await program.run(twoBlocks({ next: 8192n }), { offset: 0 });
    expect(outside).toMatchObject({ code: 'OUT_OF_FILE', hops: 1 });
    expect(outside.message).toContain('(8192 bytes)');
    expect((await program.run(twoBlocks({ size: 1000n }), { offset: 0 })).code).toBe('BAD_ADDRESS');
    // A first read past the end is an outcome too: the file may have changed.
    expect(program.runSync(twoBlocks({}), { offset: 8192 })).toMatchObject({ code: 'OUT_OF_FILE', hops: 0 });
  });

  it('end OUT_OF_FILE in a file shorter than the chain', () => {
    const { path: p, first } = shuffledChain(path('chain'), 50, 11);
    truncateSync(p, 25 * 4096);
    const r = program.runSync(open(p), { offset: first });
    expect(r.code).toBe('OUT_OF_FILE');
    expect(r.hops).toBeLessThan(50);
    expect(tally(r.scratch)[1]).toBe(BigInt(r.hops));
  });

  it('use direct I/O where the file system allows it', () => {
    const { path: p, first } = shuffledChain(path('chain'), 8, 5);
    const file = XrpFile.open(p);
    files.push(file);
    expect(file.size).toBe(8 * 4096);
    if (file.direct) {
      expect(file.access).toContain('O_DIRECT');
      expect(file.blockSize % 512).toBe(0);
    } else {
      expect(file.access).toMatch(/^buffered/);
    }
    expect(program.runSync(file, { offset: first })).toMatchObject({ code: 'DONE', hops: 8 });
    const buffered = open(p);
    expect(buffered).toMatchObject({ direct: false, blockSize: 512, access: 'buffered (direct I/O was not asked for)' });
  });
});

describe('batches', () => {
  // 1,000 chains from random blocks of one chain of 120, hop limit 60; every
  // 97th starts past the end of the file.
  function thousand(): { file: XrpFile; chains: { offset: number; scratch: Buffer }[] } {
    const { path: p, order } = shuffledChain(path('long'), 120, 5);
    const below = rng(77);
    const chains = Array.from({ length: 1000 }, (_, i) => {
      const scratch = Buffer.alloc(8);
      scratch.writeBigUInt64LE(BigInt(i), 0);
      return { offset: i % 97 === 13 ? 4096 * 5000 : order[below(order.length)]!, scratch };
    });
    return { file: open(p), chains };
  }

  for (const io of ['auto', 'threads'] as const) {
    it(`of 1,000 chains (io: ${io}) equal 1,000 sync runs`, async () => {
      const { file, chains } = thousand();
      const batch = await program.runBatch(file, chains, { hopLimit: 60, io });
      // auto: the file's device was measured, and the io says what was seen.
      expect(batch.io).toMatch(io === 'threads' ? /threads doing pread \(asked for\)/ : /^(io_uring|\d+ io_urings|\d+ threads?).*\(.*probe reads/);
      expect(batch.elapsedNs).toBeGreaterThan(0);
      expect(batch.results).toHaveLength(1000);
      const seen = new Map<string, number>();
      batch.results.forEach((got, i) => {
        const { startedNs, finishedNs, scratch, ...result } = got;
        const { scratch: wanted, ...want } = program.runSync(file, { ...chains[i]!, hopLimit: 60 });
        expect(result, `chain ${i}`).toEqual(want);
        // Buffer.equals: deep equality of 4 KiB buffers is slow.
        expect(scratch.equals(wanted), `scratch of chain ${i}`).toBe(true);
        expect(startedNs).toBeGreaterThanOrEqual(0);
        expect(finishedNs).toBeGreaterThanOrEqual(startedNs);
        seen.set(got.code, (seen.get(got.code) ?? 0) + 1);
      });
      expect([...seen.keys()].sort()).toEqual(['DONE', 'HOP_LIMIT', 'OUT_OF_FILE']);
    });
  }

  it('return only the start of each final scratch page when asked (keepScratch)', async () => {
    const { file, chains } = thousand();
    const some = chains.slice(0, 40);
    const full = await program.runBatch(file, some, { hopLimit: 60 });
    const kept = await program.runBatch(file, some, { hopLimit: 60, keepScratch: 24 });
    kept.results.forEach((r, i) => {
      const { scratch, ...rest } = r;
      expect(scratch, `chain ${i}`).toEqual(full.results[i]!.scratch.subarray(0, 24));
      expect({ ...rest, startedNs: 0, finishedNs: 0 }).toEqual({ ...full.results[i]!, scratch: undefined, startedNs: 0, finishedNs: 0 });
    });
    expect((await program.runBatch(file, some, { keepScratch: 0 })).results.map((r) => r.scratch.length)).toEqual(some.map(() => 0));
    for (const keepScratch of [-1, 4097, 1.5]) {
      expect(await rejection(program.runBatch(file, some, { keepScratch }))).toBeInstanceOf(RangeError);
    }
  });

  it('packed in place (runBatchPacked) answer as runBatch does, read in place', async () => {
    const { file, chains } = thousand();
    const some = chains.slice(0, 100);
    const packed = new XrpBatchChains(some.length, 8);
    some.forEach((c, i) => {
      packed.set(i, c.offset, 0);
      c.scratch.copy(packed.scratch, i * 8);
    });
    const [out, batch] = await Promise.all([program.runBatchPacked(file, packed, { hopLimit: 60, keepScratch: 64 }), program.runBatch(file, some, { hopLimit: 60, keepScratch: 64 })]);
    expect(out.count).toBe(some.length);
    expect(out.io).toBe(batch.io);
    batch.results.forEach((want, i) => {
      expect(out.ok(i), `chain ${i}`).toBe(want.ok);
      expect(out.lastOffset(i)).toBe(want.lastOffset);
      expect(out.bytes.subarray(out.scratchAt(i), out.scratchAt(i) + 64).equals(want.scratch)).toBe(true);
      expect({ ...out.result(i), startedNs: 0, finishedNs: 0 }).toEqual({ ...want, startedNs: 0, finishedNs: 0 });
    });
    expect(new Set(batch.results.map((r) => r.code))).toEqual(new Set(['DONE', 'HOP_LIMIT', 'OUT_OF_FILE']));
    expect(await rejection(program.runBatchPacked(file, { records: packed.records } as never))).toBeInstanceOf(TypeError);
    for (const [count, stride] of [[0, 8], [1.5, 8], [2, 6], [2, 4100]]) expect(() => new XrpBatchChains(count!, stride!)).toThrow(RangeError);
  });

  it('take offsets alone, a default length, and report faults per chain', async () => {
    const { path: p, first } = shuffledChain(path('chain'), 3, 2, 0n);
    const file = open(p);
    const batch = await program.runBatch(file, [first, BigInt(first), { offset: 8192 * 4 }], { mode: 'kernel', length: 1024, depth: 2 });
    expect(batch.results.map((r) => [r.code, r.hops])).toEqual([['DONE', 3], ['DONE', 3], ['OUT_OF_FILE', 0]]);
    expect(batch.results[2]!.error).toMatchObject({ code: 'OUT_OF_FILE' });
    expect((await program.runBatch(file, [])).results).toEqual([]);
  });
});

describe('backend', () => {
  it('is probed once and says why', () => {
    const auto = xrpBackend();
    expect(auto.backend).toBe('emulator');
    expect(auto.requested).toBe('auto');
    expect(auto.reason.length).toBeGreaterThan(10);
    expect(auto.probe).toEqual(xrpProbe());
    expect(native.xrpProbe()).toEqual([auto.probe.backend, auto.probe.reason]);
    if (auto.probe.backend === 'emulator') expect(auto.reason).toBe(auto.probe.reason);
  });

  it('can be forced: the emulator always, the kernel only with XRP', () => {
    expect(xrpBackend('emulator')).toMatchObject({ backend: 'emulator', requested: 'emulator', reason: 'the emulator was asked for' });
    const e = thrown(() => xrpBackend('kernel'));
    expect(e).toBeInstanceOf(XrpError);
    if (xrpProbe().backend === 'emulator') {
      expect(e).toMatchObject({ code: 'NO_KERNEL_XRP' });
      expect((e as Error).message).toContain(xrpProbe().reason);
    } else {
      expect(e).toMatchObject({ code: 'NO_KERNEL_PATH' });
    }
    const p = writeBlocks(path('one'), 1, [[0, { next: END }]]);
    expect(thrown(() => XrpFile.open(p, { backend: 'kernel' }))).toBeInstanceOf(XrpError);
    const file = XrpFile.open(p, { backend: 'emulator', direct: 'off' });
    files.push(file);
    expect(file.backend.requested).toBe('emulator');
  });

  it('on a kernel with XRP runs in the emulator and says so', () => {
    const kernel = { backend: 'kernel' as const, reason: 'read_xrp is system call 450 and programs load as type 32' };
    const auto = resolveBackend(kernel, 'auto');
    expect(auto).toMatchObject({ backend: 'emulator', probe: kernel });
    expect(auto.note).toContain('cannot run chains in the kernel yet');
    expect(auto.reason).toContain(kernel.reason);
    expect(thrown(() => resolveBackend(kernel, 'kernel'))).toMatchObject({ code: 'NO_KERNEL_PATH' });
    expect(resolveBackend(kernel, 'emulator').note).toBeUndefined();
    const none = { backend: 'emulator' as const, reason: 'no read_xrp' };
    expect(resolveBackend(none)).toEqual({ backend: 'emulator', requested: 'auto', probe: none, reason: 'no read_xrp' });
    expect(thrown(() => resolveBackend(none, 'kernel'))).toMatchObject({ code: 'NO_KERNEL_XRP', message: expect.stringContaining('no read_xrp') });
  });
});

describe('arguments', () => {
  const any = <T>(v: unknown) => v as T;
  let file: XrpFile;
  beforeAll(() => {
    file = open(writeBlocks(path('one'), 1, [[0, { next: END }]]));
  });

  it('of the wrong type are TypeErrors', async () => {
    const bad: unknown[] = [
      () => XrpProgram.fromFile(any(5)),
      () => XrpProgram.fromFile(objectPath, any(5)),
      () => XrpProgram.fromElf(any('elf')),
      () => XrpProgram.fromElf(any(new Uint16Array(4))),
      () => XrpFile.open(any(undefined)),
      () => XrpFile.open('a\0b'),
      () => XrpFile.open(objectPath, any('off')),
      () => XrpFile.open(objectPath, { direct: any(true) }),
      () => xrpBackend(any(1)),
      () => program.runSync(any({}), { offset: 0 }),
      () => program.runSync(file, any(undefined)),
      () => program.runSync(file, { offset: any('0') }),
      () => program.runSync(file, { offset: 0, scratch: any([1, 2]) }),
      () => program.runSync(file, { offset: 0, length: any('512') }),
      () => program.runSync(file, { offset: 0, mode: any(1) }),
      () => program.runSync(file, { offset: 0, hopLimit: any(5n) }),
      () => program.runSync(file, { offset: 0, budget: any('9') }),
    ];
    for (const f of bad) expect(f).toThrow(TypeError);
    expect(await rejection(program.run(file, { offset: any(null) }))).toBeInstanceOf(TypeError);
    expect(await rejection(program.runBatch(file, any('0')))).toBeInstanceOf(TypeError);
    expect(await rejection(program.runBatch(file, [any('x')]))).toBeInstanceOf(TypeError);
    expect(await rejection(program.runBatch(file, [0], { depth: any('1') }))).toBeInstanceOf(TypeError);
  });

  it('out of range, misaligned or too big are RangeErrors', async () => {
    const bad: XrpRunOptionsLike[] = [
      { offset: -512 },
      { offset: 100 },
      { offset: 1.5 },
      { offset: NaN },
      { offset: -1n },
      { offset: 1n << 64n },
      { offset: 0, length: 1000 },
      { offset: 0, length: 0 },
      { offset: 0, length: 8192 },
      { offset: 0, scratch: new Uint8Array(4097) },
      { offset: 0, mode: any('fast') },
      { offset: 0, hopLimit: 0 },
      { offset: 0, hopLimit: 2 ** 32 },
      { offset: 0, budget: 0 },
      { offset: 0, budget: 2 ** 53 },
    ];
    for (const options of bad) {
      expect(() => program.runSync(file, options), JSON.stringify(options, (_, v) => String(v))).toThrow(RangeError);
      expect(await rejection(program.run(file, options))).toBeInstanceOf(RangeError);
    }
    expect(() => XrpFile.open(objectPath, { direct: any('maybe') })).toThrow(RangeError);
    expect(() => xrpBackend(any('gpu'))).toThrow(RangeError);
    for (const options of [{ depth: 0 }, { depth: 4097 }, { io: any<'auto'>('uring') }, { length: 100 }]) {
      expect(await rejection(program.runBatch(file, [0], options))).toBeInstanceOf(RangeError);
    }
    expect(await rejection(program.runBatch(file, [0, 0, { offset: 512 + 1 }]))).toMatchObject({
      name: 'RangeError',
      message: expect.stringContaining('chains[2].offset'),
    });
  });

  it('are checked by the addon too', async () => {
    const pf = file as unknown as { path: string };
    const fh = native.xrpOpen(pf.path, 'off');
    const ph = native.xrpLoadElf(readFileSync(objectPath));
    const one = Buffer.alloc(16);
    // The chain records and scratch of xrpRun and xrpRunBatch, checked before any promise.
    expect(() => native.xrpRun(any({}), fh, one)).toThrow(TypeError);
    expect(() => native.xrpRun(ph, any(ph), one)).toThrow(TypeError);
    expect(() => native.xrpRun(ph, fh, any([0]))).toThrow(TypeError);
    expect(() => native.xrpRun(ph, fh, Buffer.alloc(15))).toThrow(RangeError);
    expect(() => native.xrpRun(ph, fh, Buffer.from([100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(RangeError);
    expect(() => native.xrpRun(ph, fh, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0xe8, 3, 0, 0, 0, 0, 0, 0]))).toThrow(RangeError);
    expect(() => native.xrpRun(ph, fh, one, Buffer.alloc(4097))).toThrow(RangeError);
    expect(() => native.xrpRun(ph, fh, Buffer.alloc(32), Buffer.alloc(3))).toThrow(/same number of bytes for each of the 2 chains/);
    expect(() => native.xrpRun(ph, fh, Buffer.alloc(32), Buffer.alloc(2 * 4097))).toThrow(RangeError);
    expect(() => native.xrpRun(ph, fh, one, null, any(1))).toThrow(TypeError);
    expect(() => native.xrpRun(ph, fh, one, null, any('kernel-compatible'))).toThrow(/mode must be one of 'extended', 'kernel', got 'kernel-compatible'/);
    expect(() => native.xrpRun(ph, fh, one, null, any('x'.repeat(100)))).toThrow(/got 'x{31}\.\.\.'/);
    expect(() => native.xrpRun(ph, fh, one, null, 'extended', 0)).toThrow(RangeError);
    expect(() => native.xrpRun(ph, fh, one, null, 'extended', 10, 0.5)).toThrow(RangeError);
    // The lean synchronous path: a sync record of numbers, then the scratch page.
    const F = native.xrp.syncFields;
    const io = (set: Partial<Record<NativeSyncField, number>> = {}) => {
      const b = Buffer.alloc(native.xrp.syncRecord + 4096);
      for (const [name, v] of Object.entries(set) as [NativeSyncField, number][]) {
        if (name === 'budget') b.writeDoubleLE(v, F.budget);
        else if (name === 'offset') b.writeBigUInt64LE(BigInt(v), F.offset);
        else b.writeUInt32LE(v, F[name]);
      }
      return b;
    };
    expect(() => native.xrpRunSyncLean(any({}), fh, io())).toThrow(TypeError);
    expect(() => native.xrpRunSyncLean(ph, any(ph), io())).toThrow(TypeError);
    expect(() => native.xrpRunSyncLean(ph, fh, any([0]))).toThrow(TypeError);
    expect(() => native.xrpRunSyncLean(ph, fh, Buffer.alloc(4096 + 63))).toThrow(/io must be at least 4160 bytes/);
    for (const bad of [{ offset: 100 }, { length: 1000 }, { mode: 2 }, { budget: 0.5 }, { budget: -1 }, { scratchLength: 4097 }]) {
      expect(() => native.xrpRunSyncLean(ph, fh, io(bad)), JSON.stringify(bad)).toThrow(RangeError);
    }
    // The program runs on io's page in place: the blocks-seen count (scratch
    // u64 1) goes on from what the caller left there, and the page past
    // scratchLength is zeroed first.
    const S = native.xrp.syncRecord;
    const lean = io({ offset: 0, scratchLength: 4096 });
    lean.fill(0xee, S);
    const seen = 0xeeee_eeee_eeee_eeeen;
    expect(native.xrp.outcomeCodes[native.xrpRunSyncLean(ph, fh, lean)]).toBe('DONE');
    expect([lean.readUInt32LE(F.code), lean.readUInt32LE(F.hops), lean.readBigUInt64LE(S + 8)]).toEqual([native.xrp.outcomeCodes.indexOf('DONE'), 1, seen + 1n]);
    lean.writeUInt32LE(8, F.scratchLength); // the sum is kept, the count and the rest zeroed
    native.xrpRunSyncLean(ph, fh, lean);
    expect([lean.readBigUInt64LE(S), lean.readBigUInt64LE(S + 8), lean[S + 4095]]).toEqual([seen, 1n, 0]);
    expect(native.xrpSyncDetails()).toEqual(['done', '', null]);
    expect(() => native.xrpRunBatch(ph, fh, one, null, 'extended', 10, 10, 0)).toThrow(RangeError);
    expect(() => native.xrpRunBatch(ph, fh, one, null, 'extended', 10, 10, 1, any('uring'))).toThrow(/io must be one of 'auto', 'threads'/);
    expect(() => native.xrpOpen(any(1))).toThrow(TypeError);
    expect(() => native.xrpOpen(pf.path, any(2))).toThrow(TypeError);
    expect(() => native.xrpOpen(pf.path, any('sometimes'))).toThrow(/direct must be one of 'auto', 'require', 'off'/);
    expect(() => native.xrpClose(any(ph))).toThrow(TypeError);
    expect(() => native.xrpProgramInfo(any(fh))).toThrow(TypeError);
    const [records] = await native.xrpRun(ph, fh, one);
    expect(native.xrp.outcomeCodes[records.readUInt32LE(native.xrp.resultFields.code)]).toBe('DONE');
    expect(await native.xrpRun(ph, fh, Buffer.alloc(0))).toHaveLength(6);
    expect(native.xrpClose(fh)).toBe(true);
    expect(native.xrpClose(fh)).toBe(false);
    expect(() => native.xrpRunSyncLean(ph, fh, io())).toThrow(expect.objectContaining({ code: 'FILE_CLOSED' }));
    expect(() => native.xrpRun(ph, fh, one)).toThrow(expect.objectContaining({ code: 'FILE_CLOSED' }));
  });
});

type XrpRunOptionsLike = Parameters<XrpProgram['runSync']>[1];

describe('closing', () => {
  it('is idempotent, and a closed file is FILE_CLOSED', async () => {
    const file = XrpFile.open(writeBlocks(path('one'), 1, [[0, { next: END }]]), { direct: 'off' });
    expect(file.closed).toBe(false);
    file.close();
    file.close();
    expect(file.closed).toBe(true);
    expect(file.size).toBe(4096); // what was learnt at opening stays
    const e = thrown(() => program.runSync(file, { offset: 0 }));
    expect(e).toBeInstanceOf(XrpError);
    expect(e).toMatchObject({ code: 'FILE_CLOSED' });
    expect(await rejection(program.run(file, { offset: 0 }))).toMatchObject({ name: 'XrpError', code: 'FILE_CLOSED' });
    expect(await rejection(program.runBatch(file, [0]))).toMatchObject({ name: 'XrpError', code: 'FILE_CLOSED' });
  });

  it('with runs in flight lets them finish', async () => {
    const { path: p, first } = shuffledChain(path('chain'), 1000, 8);
    for (let round = 0; round < 20; round++) {
      const file = XrpFile.open(p, { direct: 'off' });
      const single = program.run(file, { offset: first });
      const batch = program.runBatch(file, Array.from({ length: 20 }, () => first), { io: round % 2 ? 'threads' : 'auto' });
      file.close();
      const [r, b] = await Promise.all([single, batch]);
      expect(r).toMatchObject({ code: 'DONE', hops: 1000 });
      expect(b.results.every((x) => x.code === 'DONE' && x.hops === 1000)).toBe(true);
    }
  });
});

describe('the event loop', () => {
  it('keeps ticking while a long batch runs', async () => {
    const { path: p, first } = shuffledChain(path('chain'), 1000, 9);
    const file = open(p);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    let settled = false;
    const pending = program.runBatch(file, Array.from({ length: 300 }, () => first)).then((b) => {
      settled = true;
      return b;
    });
    // The batch is still running when the loop has turned a few times.
    while (ticks < 5) await new Promise((resolve) => setTimeout(resolve, 1));
    const ticksWhilePending = settled ? -1 : ticks;
    const batch = await pending;
    clearInterval(timer);
    const ms = performance.now() - started;
    expect(batch.results.every((r: XrpResult) => r.code === 'DONE' && r.hops === 1000)).toBe(true);
    expect(ticksWhilePending, `batch took ${ms.toFixed(0)} ms`).toBeGreaterThanOrEqual(5);
  });
});
