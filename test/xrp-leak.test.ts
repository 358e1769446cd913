// Files and programs of the XRP binding must be freed: closing releases the
// descriptor (once no run uses it), garbage collection releases what was
// never closed, and memory stays flat over many cycles.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { XrpFile, XrpProgram } from '../src/index.js';
import { compileChainProgram, shuffledChain, tempDir } from './xrp-fixtures.js';

const gc = (globalThis as { gc?: () => void }).gc;
const tmp = tempDir();
afterAll(() => tmp.remove());

// Finalizers run after a collection, from the event loop: collect, then yield.
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

// io_uring descriptors are the batch engine's rings, which it keeps between
// batches (crates/xrp/src/batch/idle_rings.rs, at most 8 idle): counted
// apart from the others, which are the files'.
const fdTargets = () => readdirSync('/proc/self/fd').map((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return ''; // the directory's own descriptor, closed by now
  }
});
const isRing = (target: string) => target === 'anon_inode:[io_uring]';
const openFds = () => fdTargets().filter((t) => !isRing(t)).length;
const ringFds = () => fdTargets().filter(isRing).length;
const IDLE_RINGS_KEPT = 8;
const MiB = 2 ** 20;

it('opens and closes 10,000 times with descriptors and memory flat', async () => {
  const object = compileChainProgram(tmp.dir);
  const program = XrpProgram.fromFile(object);
  const { path, first } = shuffledChain(join(tmp.dir, 'chain'), 64, 1);

  const cycles = async (n: number) => {
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const file = XrpFile.open(path, { direct: i % 2 ? 'off' : 'auto' });
      if (i % 100 === 0) expect(program.runSync(file, { offset: first }).hops).toBe(64);
      // Close with chains in flight: they keep the descriptor until they end.
      if (i % 250 === 0) inFlight.push(program.run(file, { offset: first }), program.runBatch(file, [first, first]));
      file.close();
    }
    const done = await Promise.all(inFlight);
    expect(done).toHaveLength(inFlight.length);
  };

  await cycles(1000);
  await settle();
  const fds = openFds();
  const rss = process.memoryUsage.rss();
  for (let round = 0; round < 10; round++) {
    await cycles(1000);
    // close() released every descriptor, without waiting for a collection;
    // the engine keeps no more rings than its pool holds.
    expect(openFds(), `round ${round}`).toBe(fds);
    expect(ringFds(), `round ${round}`).toBeLessThanOrEqual(IDLE_RINGS_KEPT);
    await settle();
  }
  const grown = process.memoryUsage.rss() - rss;
  expect(grown, `RSS grew by ${(grown / MiB).toFixed(1)} MiB`).toBeLessThan(32 * MiB);
});

it('closes files that are dropped without close() once they are collected', async () => {
  const { path } = shuffledChain(join(tmp.dir, 'dropped'), 4, 2);
  await settle();
  const fds = openFds();
  for (let i = 0; i < 1000; i++) XrpFile.open(path, { direct: 'off' });
  expect(openFds()).toBeGreaterThan(fds);
  await settle();
  expect(openFds()).toBe(fds);
});

it('frees programs that are no longer referenced', async () => {
  const object = readFileSync(compileChainProgram(tmp.dir));
  const round = () => {
    for (let i = 0; i < 2000; i++) XrpProgram.fromElf(object);
  };
  round();
  await settle();
  const rss = process.memoryUsage.rss();
  for (let r = 0; r < 5; r++) {
    round();
    await settle();
  }
  const grown = process.memoryUsage.rss() - rss;
  expect(grown, `RSS grew by ${(grown / MiB).toFixed(1)} MiB`).toBeLessThan(32 * MiB);
});
