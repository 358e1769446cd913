// How `auto` runs a range scan that leaves the cache (lookup-choice.ts
// ScanChoice): both paths, alternating, until each is measured; then the
// one cheaper per row, with the other probed now and then and only some
// of the favoured path's scans timed.
import { describe, expect, it } from 'vitest';
import { FIRST_SCANS, MEASURE_EVERY, SCAN_PROBE_EVERY, SCAN_PROBE_RUN, ScanChoice } from '../src/store/lookup-choice.js';

/** Runs `n` scans on `choice`, each path costing what `perRow` says per row (ms) over `rows` rows; the paths taken, and which were timed. */
function scans(choice: ScanChoice, n: number, perRow: { walk: number; chain: number }, rows = 100) {
  const taken: string[] = [];
  for (let i = 0; i < n; i++) {
    const turn = choice.next();
    taken.push(turn.measure ? turn.path.toUpperCase() : turn.path);
    if (turn.measure) choice.record(turn, perRow[turn.path] * rows, rows);
  }
  return taken;
}

describe('the path of a range scan that leaves the cache', () => {
  it('alternates, chain first, until each path has its samples, all timed', () => {
    const choice = new ScanChoice();
    expect(choice.choice.path).toBe('measuring');
    expect(scans(choice, 2 * FIRST_SCANS, { walk: 0.001, chain: 0.002 })).toEqual(Array.from({ length: 2 * FIRST_SCANS }, (_, i) => (i % 2 === 0 ? 'CHAIN' : 'WALK')));
    expect(choice.choice).toEqual({ path: 'walk', walkMicros: 1, chainMicros: 2 });
  });

  it('then takes the cheaper, times one scan in MEASURE_EVERY, and probes the other SCAN_PROBE_RUN scans in every SCAN_PROBE_EVERY', () => {
    const choice = new ScanChoice();
    scans(choice, 2 * FIRST_SCANS, { walk: 0.001, chain: 0.002 });
    const taken = scans(choice, SCAN_PROBE_EVERY + SCAN_PROBE_RUN, { walk: 0.001, chain: 0.002 });
    expect(taken.filter((p) => p === 'CHAIN')).toHaveLength(SCAN_PROBE_RUN);
    expect(taken.slice(SCAN_PROBE_EVERY - 1, SCAN_PROBE_EVERY - 1 + SCAN_PROBE_RUN)).toEqual(Array(SCAN_PROBE_RUN).fill('CHAIN'));
    const favoured = taken.filter((p) => p.toLowerCase() === 'walk');
    expect(favoured.filter((p) => p === 'WALK')).toHaveLength(Math.floor(favoured.length / MEASURE_EVERY));
  });

  it('follows the costs when they change, through its probes', () => {
    const choice = new ScanChoice();
    scans(choice, 2 * FIRST_SCANS, { walk: 0.001, chain: 0.002 });
    expect(choice.choice.path).toBe('walk');
    // Walks become ten times dearer (the file left the page cache): the timed walks and the probed chains say so.
    scans(choice, 4 * SCAN_PROBE_EVERY, { walk: 0.01, chain: 0.002 });
    expect(choice.choice.path).toBe('chain');
    expect(choice.next().path).toBe('chain');
  });

  it('keeps its choice through one slow scan of the favoured path (a GC pause in it)', () => {
    const choice = new ScanChoice();
    scans(choice, 2 * FIRST_SCANS, { walk: 0.00096, chain: 0.00144 });
    let turn = choice.next();
    while (!(turn.path === 'walk' && turn.measure)) turn = choice.next();
    choice.record(turn, 100 * 0.00096 * 100, 100);
    expect(choice.choice.path).toBe('walk');
  });

  it('learns nothing from a scan that produced no row', () => {
    const choice = new ScanChoice();
    choice.record(choice.next(), 5, 0);
    expect(choice.choice.chainMicros).toBeUndefined();
    expect(choice.next()).toMatchObject({ path: 'chain', measure: true });
  });
});
