// `npm run demo`: loads the node search program (bpf/node_search.c, compiled to
// dist/bpf/node_search.o) through the Node binding, runs it over one generated
// B+tree node and checks every answer against the TypeScript reference.
import { fileURLToPath } from 'node:url';
import { BpfProgram } from './vm.js';
import { encodeSearchNode, searchReference, NOT_FOUND, type SearchNode } from './layout.js';

const OBJECT = fileURLToPath(new URL('../dist/bpf/node_search.o', import.meta.url));

const infos = BpfProgram.list(OBJECT);
const info = infos.find((p) => p.name === 'node_search') ?? infos[0];
if (!info) throw new Error(`${OBJECT} holds no program`);
const program = BpfProgram.fromFile(OBJECT, info.name);
console.log(`Loaded '${program.name}' (section ${info.section}, ${program.length} instructions) from ${OBJECT}`);

// 200 keys 1000 apart, each mapped to key * 3: easy to check by eye.
const keys = Array.from({ length: 200 }, (_, i) => BigInt((i + 1) * 1000));
const values = keys.map((k) => k * 3n);
const searches = [0n, 1000n, 1001n, 123_456n, 200_000n, 200_001n, NOT_FOUND];

console.log(`\nNode of ${keys.length} keys (1000, 2000, ..., 200000), value = key * 3:`);
console.log('search key            result                expected              instructions');
let mismatches = 0;
for (const searchKey of searches) {
  const node: SearchNode = { searchKey, keys, values };
  const { r0, executed } = program.run(encodeSearchNode(node));
  const expected = searchReference(node);
  if (r0 !== expected) mismatches++;
  const show = (v: bigint) => (v === NOT_FOUND ? 'NOT_FOUND (~0)' : String(v)).padEnd(22);
  console.log(`${show(searchKey)}${show(r0)}${show(expected)}${executed}${r0 === expected ? '' : '  MISMATCH'}`);
}

// One lookup repeated, timed from JS: includes the call into the addon.
const node = encodeSearchNode({ searchKey: 123_456n, keys, values });
const runs = 100_000;
const start = process.hrtime.bigint();
for (let i = 0; i < runs; i++) program.run(node);
const ns = Number(process.hrtime.bigint() - start) / runs;
console.log(`\n${runs} runs of one lookup from JS: ${ns.toFixed(0)} ns per run on this machine (call overhead included).`);

if (mismatches > 0) {
  console.error(`${mismatches} result(s) differ from the reference`);
  process.exitCode = 1;
}
