// Node search in TypeScript: `searchPage` (src/format/page.ts), the binary
// search every `walk` lookup runs once per level, on full 4096- and 512-byte
// leaves and branches. Search keys cycle through the page's keys (leaf hits)
// or the gaps between them (branch probes).
import b from 'benny';
import { dist, expect, handlers, sink } from './common.mjs';
import { fullBranch, fullLeaf } from './pages.mjs';

const { searchPage } = await dist('format/page.js');

function leafCase(p) {
  const leaf = fullLeaf(p);
  leaf.hits.forEach((k, i) => {
    const r = searchPage(leaf.bytes, k, true, 7);
    expect(r.exact && r.index === i, `leaf ${p}: key ${i} found at its index`);
  });
  let j = 0;
  return b.add(`leaf ${p} B (${leaf.count} entries), key present`, () => {
    sink.add(searchPage(leaf.bytes, leaf.hits[j], true, 7).index);
    j = j + 1 === leaf.count ? 0 : j + 1;
  });
}

function branchCase(p) {
  const branch = fullBranch(p);
  branch.probes.forEach((k, i) => {
    // probe i sorts just before separator i: the search lands on entry i - 1 (entry 0's key is empty).
    const r = searchPage(branch.bytes, k, false, 3);
    expect(r.index === Math.max(0, i - 1) && !r.exact, `branch ${p}: probe ${i} lands on entry ${Math.max(0, i - 1)}`);
  });
  let j = 0;
  return b.add(`branch ${p} B (${branch.count} entries), key between separators`, () => {
    sink.add(searchPage(branch.bytes, branch.probes[j], false, 3).index);
    j = j + 1 === branch.count ? 0 : j + 1;
  });
}

export default function nodeSearch(stamp) {
  return b.suite(
    'node search in TypeScript (searchPage, dist/format/page.js; 16-byte keys, 100-byte values)',
    leafCase(4096),
    branchCase(4096),
    leafCase(512),
    branchCase(512),
    ...handlers('node-search', stamp),
  );
}
