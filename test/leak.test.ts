// Dropped programs must be freed: the addon's externals have finalizers that
// drop the Rust Program. 10,000 programs of 2,000 instructions would keep
// well over 100 MB alive if they leaked.
import { expect, it } from 'vitest';
import { BpfProgram } from '../src/index.js';
import { asm, program } from './asm.js';

const gc = (globalThis as { gc?: () => void }).gc;

// Finalizers run after a collection, from the event loop: collect, then yield.
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

it('frees programs that are no longer referenced', async () => {
  const body = Array.from({ length: 1999 }, (_, i) => asm.movImm(0, i));
  const code = program(...body, asm.exit());
  const round = () => {
    for (let i = 0; i < 1000; i++) {
      const p = BpfProgram.fromBytecode(code);
      if (i % 100 === 0) expect(p.run().r0).toBe(1998n);
    }
  };

  round();
  await settle();
  const before = process.memoryUsage.rss();
  for (let r = 0; r < 10; r++) {
    round();
    await settle();
  }
  const grown = process.memoryUsage.rss() - before;
  expect(grown, `RSS grew by ${(grown / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(64 * 2 ** 20);
});
