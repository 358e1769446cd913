// Handles on one database in other threads and processes, for the tests of
// readers and writers beside each other (store-readers, store-writers): a
// script run as a worker thread or as a child process, which talks back
// by messages either way.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import { native } from '../src/native.js';
import { DIST_INDEX } from './store-fixtures.js';

/** A worker thread or child process running a script; `messages` are what it posted, in order. */
export interface Peer {
  messages: unknown[];
  /** Resolves with the first message `match` accepts (rejects if the peer ends first). */
  next(match: (m: any) => boolean): Promise<any>;
  /** Resolves once the peer has ended, with its exit code. */
  exited: Promise<number>;
  /** Ends the peer at once: SIGKILL for a process, terminate() for a thread. */
  kill(): Promise<number>;
  pid: number | undefined;
}

/**
 * Writes `body` as a module in `dir` that imports the compiled store as
 * `store` and gets `post(message)` and `args` (the JSON-able value given to
 * `start`), whichever way it runs.
 */
export function peerScript(dir: string, name: string, body: string): string {
  const path = join(dir, `${name}.mjs`);
  const head = [
    `import * as store from ${JSON.stringify(DIST_INDEX)};`,
    `import { parentPort, workerData } from 'node:worker_threads';`,
    `const args = parentPort ? workerData : JSON.parse(process.argv[2]);`,
    `const post = (m) => (parentPort ? parentPort.postMessage(m) : process.send(m));`,
    // A child process whose test run has ended (a failed test that never stopped it) goes too. Polled:
    // a 'disconnect' listener would hold the channel open, and the child would never end by itself.
    `if (!parentPort) setInterval(() => process.connected || process.exit(1), 500).unref();`,
  ];
  writeFileSync(path, `${head.join('\n')}\n${body}\n`);
  return path;
}

/** Runs `script` (peerScript's) as a worker thread (`thread`) or a child process (`process`). */
export function start(script: string, how: 'thread' | 'process', args: unknown): Peer {
  const messages: unknown[] = [];
  const waiters: { match: (m: any) => boolean; resolve: (m: any) => void; reject: (e: Error) => void }[] = [];
  let ended: Error | undefined;
  const hear = (m: unknown) => {
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.match(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  let exited: Promise<number>;
  let kill: () => Promise<number>;
  let pid: number | undefined;
  let stderr = '';
  if (how === 'thread') {
    const worker = new Worker(script, { workerData: args });
    worker.on('message', hear);
    worker.on('error', (e) => hear({ error: String(e.stack ?? e) }));
    exited = new Promise((resolve) => worker.on('exit', resolve));
    kill = () => worker.terminate();
  } else {
    const child: ChildProcess = fork(script, [JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('message', hear);
    pid = child.pid;
    exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : 0))));
    kill = () => (child.kill('SIGKILL'), exited);
  }
  void exited.then((code) => {
    ended = new Error(`the peer exited (${code}) first; it said ${JSON.stringify(messages.slice(-3))} ${stderr}`);
    for (const w of waiters.splice(0)) w.reject(ended);
  });
  return {
    messages,
    next: (match) => {
      const found = messages.find(match);
      if (found !== undefined) return Promise.resolve(found);
      if (ended) return Promise.reject(ended);
      return new Promise((resolve, reject) => waiters.push({ match, resolve, reject }));
    },
    exited,
    kill,
    pid,
  };
}

/** The live slots of `path`'s lock file, decoded with the addon's layout (native.lockFile). */
export function slotsOf(path: string): { pid: number; txid: bigint }[] {
  const file = readFileSync(`${path}-lock`);
  const L = native.lockFile;
  expect(file.length).toBe(L.fileBytes);
  expect(file.readBigUInt64LE(L.header.magic)).toBe(L.magic);
  expect(file.readUInt32LE(L.header.version)).toBe(L.version);
  expect(file.readUInt32LE(L.header.slots)).toBe(L.slots);
  const out: { pid: number; txid: bigint }[] = [];
  for (let s = 0; s < L.slots; s++) {
    const at = L.headerBytes + s * L.slotBytes;
    const pid = file.readUInt32LE(at + L.slot.pid);
    if (pid !== 0) out.push({ pid, txid: file.readBigUInt64LE(at + L.slot.txid) });
  }
  return out;
}
/** A slot's txid when its handle reads nothing. */
export const NONE = 2n ** 64n - 1n;
