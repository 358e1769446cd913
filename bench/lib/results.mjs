// Where benchmark results go (bench/results/, git-ignored) and the machine
// facts every results file records.
import { mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

/** `bench/results/<prefix>-<timestamp>` (no extension); creates the folder. */
export function resultsBase(prefix, date = new Date()) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return join(RESULTS_DIR, `${prefix}-${date.toISOString().replace(/[:.]/g, '-')}`);
}

export function machine() {
  const cpu = cpus();
  return {
    cores: cpu.length,
    model: cpu[0]?.model?.trim() ?? '?',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    note: 'shared, noisy host',
  };
}

/** One line describing `machine()`. */
export const machineLine = (m) => `machine: ${m.cores} cores (${m.model}), ${m.memoryGiB} GiB, node ${m.node}`;
