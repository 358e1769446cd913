// abstract-level's compliance suite (tape) against xrpkv/level, the compiled
// dist/level.js: `node test/level-suite.mjs` (npm test runs it after vitest).
// Every database is a fresh file in one temporary directory, removed at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'tape';
import suite from 'abstract-level/test/index.js';
import { XrpkvLevel } from 'xrpkv/level';

const dir = mkdtempSync(join(tmpdir(), 'xrpkv-level-'));
let seq = 0;
// tape's own summary is TAP; a plain closing line after it lets any reader
// count the run. Asking for a stream replaces tape's default output, so the
// TAP stream is piped on, and the line follows its end.
const tally = { passed: 0, failed: 0 };
test.createStream({ objectMode: true }).on('data', (row) => {
  if (row.type === 'assert') tally[row.ok ? 'passed' : 'failed'] += 1;
});
const tap = test.createStream();
tap.pipe(process.stdout, { end: false });
tap.on('end', () => console.log(`abstract-level: ${tally.passed} passed, ${tally.failed} failed`));
test.onFinish(() => rmSync(dir, { recursive: true, force: true }));

suite({
  test,
  factory: (options) => new XrpkvLevel(join(dir, `${seq++}.xrpkv`), options),
});
