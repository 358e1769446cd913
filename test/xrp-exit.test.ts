// Chains in flight when the process exits or a worker thread is terminated:
// they finish or are dropped cleanly, with no crash. Run in child processes
// over the compiled dist/, so a crash cannot take the test runner down.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileChainProgram, node, requireFreshDist, shuffledChain, tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
let setup: string;

beforeAll(() => {
  requireFreshDist();
  const object = compileChainProgram(tmp.dir);
  const { path, first } = shuffledChain(join(tmp.dir, 'chain'), 1000, 4);
  // 400 chains of 1,000 hops: several times longer than the 20 ms the scripts wait.
  // (Exiting waits for chains already running: libuv joins its pool threads.)
  setup = `
    import { XrpFile, XrpProgram } from './dist/index.js';
    const program = XrpProgram.fromFile(${JSON.stringify(object)});
    const file = XrpFile.open(${JSON.stringify(path)}, { direct: 'off' });
    const chains = Array.from({ length: 400 }, () => ${first});
    const started = [program.runBatch(file, chains), program.runBatch(file, chains, { io: 'threads' }), program.run(file, { offset: ${first} })];
  `;
});
afterAll(() => tmp.remove());

const run = (script: string) => node(['--input-type=module', '-e', setup + script]);

it('exits cleanly with chains in flight', () => {
  const r = run(`setTimeout(() => { console.log('exiting'); process.exit(0); }, 20);`);
  expect(r).toEqual({ status: 0, signal: null, stdout: 'exiting\n', stderr: '' });
});

it('exits cleanly after closing the file with chains in flight', () => {
  const r = run(`file.close(); setTimeout(() => process.exit(3), 20);`);
  expect(r).toMatchObject({ status: 3, signal: null, stderr: '' });
});

it('waits for chains in flight before exiting on its own, and they finish', () => {
  const r = run(`file.close(); Promise.all(started).then(([a, b, c]) => console.log(a.results.length, b.results.length, c.code));`);
  expect(r).toEqual({ status: 0, signal: null, stdout: '400 400 DONE\n', stderr: '' });
});

it('terminates a worker thread with chains in flight', () => {
  const r = node([
    '--input-type=module',
    '-e',
    `
    import { Worker } from 'node:worker_threads';
    const source = "import { parentPort } from 'node:worker_threads';" + ${JSON.stringify(setup)} + "parentPort.postMessage('running');";
    for (let i = 0; i < 3; i++) {
      const worker = new Worker(source, { eval: true, type: 'module' });
      await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
      await new Promise((resolve) => setTimeout(resolve, 20));
      console.log('terminated', await worker.terminate());
    }
    `,
  ]);
  expect(r).toEqual({ status: 0, signal: null, stdout: 'terminated 1\n'.repeat(3), stderr: '' });
});
