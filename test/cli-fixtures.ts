// The store commands' tests run `node dist/cli/main.js` many times; each start
// costs a few hundred milliseconds, so independent runs go in parallel. Each
// open takes a database file's writer lock, even to read, so parallel runs
// read copies of a file (copyOf).
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { ROOT } from './xrp-fixtures.js';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `xrpkv ...args` with `input` on stdin; resolves when it exits. */
export function xrpkv(args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['dist/cli/main.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number' && child.exitCode === null) reject(err);
      else resolve({ status: child.exitCode, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

/** Every run of `argsList`, at most `parallel` at once, in order. */
export async function xrpkvAll(argsList: string[][], parallel = 4): Promise<Run[]> {
  const results: Run[] = new Array(argsList.length);
  let next = 0;
  const worker = async () => {
    while (next < argsList.length) {
      const i = next++;
      results[i] = await xrpkv(argsList[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, argsList.length) }, worker));
  return results;
}

/** Parses JSON Lines output. */
export const jsonLines = (out: string): any[] =>
  out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

let copies = 0;
/** A fresh copy of the database file at `path`, beside it. */
export function copyOf(path: string): string {
  const copy = `${path}.copy${++copies}`;
  copyFileSync(path, copy);
  return copy;
}
