// The VM on the lookup program: bpf/lookup.c (dist/bpf/lookup.o, section
// xrp/lookup) run directly by the eBPF VM (BpfProgram, dist/vm.js) on one
// page, so the figure is the program's search of that page plus the cost of
// one VM call; the same pages as the node-search suite. One more case runs
// the program through the XRP runtime (XrpProgram.runSync, dist/xrp.js) on a
// one-page file, buffered (direct: 'off': no device time), for the runtime's
// own cost per chain.
//
// The VM's memory is one region at MEMORY_ADDRESS (r1 points at its start):
//   0     struct bpf_xrp (bpf/include/xrp.h): data 0, done 8, next_addr 16, size 144, scratch 272
//   512   the lookup scratch page (bpf/include/xrpkv_format.h, struct xrpkv_lookup)
//   4608  the page being searched (data)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import b from 'benny';
import { dist, distPath, expect, handlers, sink } from './common.mjs';
import { fullBranch, fullLeaf } from './pages.mjs';

const { BpfProgram, MEMORY_ADDRESS } = await dist('vm.js');
const { XrpFile, XrpProgram } = await dist('xrp.js');

const LOOKUP = distPath('bpf/lookup.o');
const SECTION = 'xrp/lookup';
// struct bpf_xrp
const CTX_DATA = 0;
const CTX_DONE = 8;
const CTX_NEXT_ADDR = 16;
const CTX_SIZE = 144;
const CTX_SCRATCH = 272;
// struct xrpkv_lookup (test/format-layout.test.ts ties these to the header)
const { LOOKUP_SCRATCH, LOOKUP_STATES } = await dist('format/scratch.js');
const { state: S_STATE, keyLen: S_KEY_LEN, pageSize: S_PAGE_SIZE, valueLen: S_VALUE_LEN, levels: S_LEVELS, key: S_KEY, value: S_VALUE } = LOOKUP_SCRATCH;
const STATE_INLINE = LOOKUP_STATES.inline;

const SCRATCH_AT = 512;
const DATA_AT = SCRATCH_AT + 4096;

/** VM memory holding the context, a scratch page and `page`; `search(key)` runs the program on it. */
function vmLookup(program, page) {
  const memory = Buffer.alloc(DATA_AT + 4096);
  memory.writeBigUInt64LE(MEMORY_ADDRESS + BigInt(DATA_AT), CTX_DATA);
  memory.writeBigUInt64LE(MEMORY_ADDRESS + BigInt(SCRATCH_AT), CTX_SCRATCH);
  memory.writeUInt32LE(page.length, SCRATCH_AT + S_PAGE_SIZE);
  page.copy(memory, DATA_AT);
  return {
    memory,
    /** Resets what the program writes (the kernel zeroes the context per read), sets the key, runs. */
    search(key) {
      memory.writeUInt32LE(0, CTX_DONE);
      memory.writeBigUInt64LE(0n, CTX_NEXT_ADDR);
      memory.writeBigUInt64LE(0n, CTX_SIZE);
      memory.writeUInt32LE(0, SCRATCH_AT + S_STATE);
      memory.writeBigUInt64LE(0n, SCRATCH_AT + S_LEVELS);
      memory.writeUInt16LE(key.length, SCRATCH_AT + S_KEY_LEN);
      key.copy(memory, SCRATCH_AT + S_KEY);
      return program.run(memory);
    },
    state: () => memory.readUInt32LE(SCRATCH_AT + S_STATE),
    value: () => memory.subarray(SCRATCH_AT + S_VALUE, SCRATCH_AT + S_VALUE + memory.readUInt32LE(SCRATCH_AT + S_VALUE_LEN)),
    nextAddr: () => memory.readBigUInt64LE(CTX_NEXT_ADDR),
  };
}

function leafCase(program, p) {
  const leaf = fullLeaf(p);
  const vm = vmLookup(program, leaf.bytes);
  let insns = 0;
  leaf.hits.forEach((k, i) => {
    const r = vm.search(k);
    insns += r.executed;
    expect(r.r0 === 0n && vm.state() === STATE_INLINE && vm.value().equals(leaf.value(i)), `vm leaf ${p}: key ${i} found with its value`);
  });
  let j = 0;
  return b.add(`vm: leaf ${p} B (${leaf.count} entries), key present, ~${Math.round(insns / leaf.count)} insns`, () => {
    sink.add(vm.search(leaf.hits[j]).executed);
    j = j + 1 === leaf.count ? 0 : j + 1;
  });
}

function branchCase(program, p) {
  const branch = fullBranch(p);
  const vm = vmLookup(program, branch.bytes);
  let insns = 0;
  branch.probes.forEach((k, i) => {
    const child = branch.children[Math.max(0, i - 1)];
    const r = vm.search(k);
    insns += r.executed;
    expect(r.r0 === 0n && vm.nextAddr() === BigInt(child * p), `vm branch ${p}: probe ${i} goes to child ${child}`);
  });
  let j = 0;
  return b.add(`vm: branch ${p} B (${branch.count} entries), key between separators, ~${Math.round(insns / branch.count)} insns`, () => {
    sink.add(vm.search(branch.probes[j]).executed);
    j = j + 1 === branch.count ? 0 : j + 1;
  });
}

/** XrpProgram.runSync on a file whose only page (offset 0) is a full 4 KiB leaf. */
function runtimeCase(dir) {
  const leaf = fullLeaf(4096);
  const path = join(dir, 'one-leaf.xrpkv');
  writeFileSync(path, leaf.bytes);
  const program = XrpProgram.fromFile(LOOKUP, SECTION);
  const file = XrpFile.open(path, { direct: 'off' });
  const scratches = leaf.hits.map((k) => {
    const s = Buffer.alloc(S_KEY + k.length);
    s.writeUInt16LE(k.length, S_KEY_LEN);
    s.writeUInt32LE(4096, S_PAGE_SIZE);
    k.copy(s, S_KEY);
    return s;
  });
  scratches.forEach((scratch, i) => {
    const r = program.runSync(file, { offset: 0, length: 4096, scratch });
    const s = r.scratch;
    const value = s.subarray(S_VALUE, S_VALUE + s.readUInt32LE(S_VALUE_LEN));
    expect(r.ok && s.readUInt32LE(S_STATE) === STATE_INLINE && value.equals(leaf.value(i)), `runtime: key ${i} found with its value`);
  });
  let j = 0;
  const c = b.add(`xrp runtime: runSync, one-page file (4 KiB leaf, buffered reads)`, () => {
    sink.add(program.runSync(file, { offset: 0, length: 4096, scratch: scratches[j] }).hops);
    j = j + 1 === scratches.length ? 0 : j + 1;
  });
  return { c, close: () => file.close() };
}

export default async function vmLookupSuite(stamp) {
  const program = BpfProgram.fromFile(LOOKUP, SECTION);
  const dir = mkdtempSync(join(tmpdir(), 'xrpkv-micro-'));
  const runtime = runtimeCase(dir);
  try {
    return await b.suite(
      `the VM on the lookup program (dist/bpf/lookup.o '${SECTION}', ${program.length} insns; BpfProgram.run on one page)`,
      leafCase(program, 4096),
      branchCase(program, 4096),
      leafCase(program, 512),
      branchCase(program, 512),
      runtime.c,
      ...handlers('vm-lookup', stamp),
    );
  } finally {
    runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
