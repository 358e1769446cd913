// The writer's slices (pace.ts): a loop that begins after its slice's time
// is up yields before its first step, so the work before it (a sort, an
// encoder's finish: no units counted) and its first CLOCK_EVERY steps do not
// run on past the slice (bench:store's turn budget for 10,000-key commits).
import { describe, expect, it } from 'vitest';
import { Pace, eachPaced, finish } from '../src/store/pace.js';

/** Spins until `ms` have passed (the slice's time runs out by the clock). */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('eachPaced', () => {
  it('yields before its first step when the slice it begins in is already over', () => {
    const pace = new Pace(Infinity, 1);
    pace.due(1); // work of an earlier loop in this slice
    spin(2);
    const ran: number[] = [];
    const steps = eachPaced(3, pace, (i) => ran.push(i));
    expect(steps.next().done).toBe(false);
    expect(ran).toEqual([]);
    pace.restart();
    expect(steps.next().done).toBe(true);
    expect(ran).toEqual([0, 1, 2]);
  });

  it('begins at once in a fresh slice, or one with time left, and runs every step once', () => {
    for (const before of [0, 1]) {
      const pace = new Pace(Infinity, 60_000);
      if (before) pace.due(before);
      const ran: number[] = [];
      const steps = eachPaced(5, pace, (i) => ran.push(i));
      expect(steps.next().done).toBe(true);
      expect(ran).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('a slice with no units counted is not late however long it began ago (nothing ran in it)', () => {
    const pace = new Pace(Infinity, 1);
    spin(2);
    expect(pace.late()).toBe(false);
    const ran: number[] = [];
    finish(eachPaced(2, pace, (i) => ran.push(i)));
    expect(ran).toEqual([0, 1]);
  });
});
