// The targets of the larger-than-memory benchmark (issue 16), checked
// against one run's rows. Each target says what it compares, the figures,
// and met / not met / not measured (with why).

/** A result's "64 in flight" rate: the faster of its many64 and conc64 rows (and which). */
export function best64(rows, store, mode) {
  const candidates = rows.filter((r) => r.store === store && r.mode === mode && r.pattern !== 'sync' && typeof r.rate === 'number');
  if (candidates.length === 0) return undefined;
  return candidates.reduce((a, b) => (b.rate > a.rate ? b : a));
}

/** A store/mode's best rate of any pattern: lmdb-js's best mode may be its sync get. */
function bestAny(rows, store, mode) {
  const candidates = rows.filter((r) => r.store === store && r.mode === mode && typeof r.rate === 'number');
  if (candidates.length === 0) return undefined;
  return candidates.reduce((a, b) => (b.rate > a.rate ? b : a));
}

const n = (x) => Math.round(x).toLocaleString('en-US');
const what = (r) => `${r.store} ${r.mode} ${r.pattern}`;

function ratioTarget(name, goal, num, den, explain) {
  if (!num || !den) return { name, goal, met: undefined, detail: `not measured (${explain})` };
  const ratio = num.rate / den.rate;
  return { name, goal, ratio, met: ratio >= goal, detail: `${what(num)} ${n(num.rate)}/s vs ${what(den)} ${n(den.rate)}/s = ${ratio.toFixed(2)}x` };
}

/**
 * The targets for `rows` (reader results) and `device` ({ depth64: { iops } },
 * or undefined when fio did not run).
 */
export function checkTargets(rows, device) {
  const out = [];
  for (const tree of ['xrpkv-4k', 'xrpkv-512']) {
    const auto = best64(rows, tree, 'auto');
    out.push(
      ratioTarget(
        `${tree} auto, 64 in flight >= 5x lmdb-js noReadAhead (its best pattern)`,
        5,
        auto,
        bestAny(rows, 'lmdb', 'noReadAhead'),
        'a reader is missing',
      ),
    );
    const name = `${tree} auto, 64 in flight >= 0.8x device rate at depth 64 / reads per lookup`;
    if (!auto || !device?.depth64) {
      out.push({ name, goal: 0.8, met: undefined, detail: `not measured (${!auto ? 'no auto reader' : 'no fio run'})` });
    } else if (!(auto.readsPerLookup > 0)) {
      out.push({ name, goal: 0.8, met: undefined, detail: `not measured (${what(auto)} read nothing from storage: its data fit in memory)` });
    } else {
      const bound = device.depth64.iops / auto.readsPerLookup;
      const ratio = auto.rate / bound;
      out.push({
        name,
        goal: 0.8,
        ratio,
        met: ratio >= 0.8,
        detail: `${what(auto)} ${n(auto.rate)}/s vs ${n(device.depth64.iops)} IOPS / ${auto.readsPerLookup.toFixed(2)} reads = ${n(bound)}/s: ${ratio.toFixed(2)}x`,
      });
    }
  }
  out.push(ratioTarget('xrpkv-512 (the deep tree) xrp >= 1.5x walk, 64 in flight', 1.5, best64(rows, 'xrpkv-512', 'xrp'), best64(rows, 'xrpkv-512', 'walk'), 'a reader is missing'));
  return out;
}

/** One line per target. */
export function printTargets(targets) {
  console.log('targets:');
  for (const t of targets) {
    const verdict = t.met === undefined ? 'NOT MEASURED' : t.met ? 'MET' : 'NOT MET';
    console.log(`  [${verdict}] ${t.name}: ${t.detail}`);
  }
}
