// `xrpkv load`: the CSV reader and the progress line in-process, the command
// spawned as `node dist/cli/main.js` on JSON Lines and CSV files with bad rows.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvReader, type CsvRecord } from '../src/cli/csv.js';
import { loadProgress, progressLine } from '../src/cli/progress.js';
import { jsonLines, xrpkv, xrpkvAll } from './cli-fixtures.js';
import { requireFreshStore } from './store-fixtures.js';
import { requireFreshDist, tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
beforeAll(() => {
  requireFreshDist();
  requireFreshStore();
});
afterAll(() => tmp.remove());

const file = (name: string, text: string) => {
  const path = join(tmp.dir, name);
  writeFileSync(path, text);
  return path;
};
const dbPath = (name: string) => join(tmp.dir, `${name}.xrpkv`);

/** All records of `text` fed in pieces of `size` characters. */
function csv(text: string, size = text.length): CsvRecord[] {
  const reader = new CsvReader();
  const out: CsvRecord[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...reader.push(text.slice(i, i + size)));
  return [...out, ...reader.end()];
}

describe('the CSV reader', () => {
  const text = 'key,value\r\na,"x,y"\nb,"two\r\nlines, ""quoted"""\n\nc,\n"",plain\nlast,"no newline"';
  const expected: CsvRecord[] = [
    { line: 1, fields: ['key', 'value'] },
    { line: 2, fields: ['a', 'x,y'] },
    { line: 3, fields: ['b', 'two\r\nlines, "quoted"'] },
    { line: 6, fields: ['c', ''] },
    { line: 7, fields: ['', 'plain'] },
    { line: 8, fields: ['last', 'no newline'] },
  ];

  it('reads quotes, commas, line breaks and CRLF the same in pieces of any size', () => {
    for (const size of [text.length, 1, 2, 3, 7]) expect(csv(text, size), `pieces of ${size}`).toEqual(expected);
  });

  it('reports a malformed record with its line and reads on', () => {
    const records = csv('k,v\na"b,1\nc,2\n"d"x,3\ne,"4\n');
    expect(records).toEqual([
      { line: 1, fields: ['k', 'v'] },
      { line: 2, error: expect.stringContaining('a quote inside an unquoted field') },
      { line: 3, fields: ['c', '2'] },
      { line: 4, error: expect.stringContaining('text after a closing quote') },
      { line: 5, error: 'a quoted field is still open at the end of the input' },
    ]);
    expect(csv('a,b\r')).toEqual([{ line: 1, fields: ['a', 'b'] }]);
    expect(csv('a\rb,c\n')).toEqual([{ line: 1, fields: ['a\rb', 'c'] }]);
  });
});

describe('the progress report', () => {
  it('prints a plain line at most once per interval when stderr is not a terminal', () => {
    const written: string[] = [];
    let now = 0;
    const stream = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const p = loadProgress(true, { total: 4 << 20, stream, intervalMs: 1000, now: () => now });
    p.update(1 << 20, 10);
    now = 1500;
    p.update(1 << 20, 20);
    now = 1600;
    p.update(2 << 20, 30);
    p.stop();
    expect(written).toEqual(['xrpkv load: 25% (1.0 MiB of 4.0 MiB), 20 rows\n']);
    expect(progressLine(2048, 5)).toBe('xrpkv load: 2.0 KiB read, 5 rows');
    loadProgress(false, { stream }).update(1, 1);
    expect(written).toHaveLength(1);
  });
});

describe('xrpkv load', () => {
  const rows = [
    '{"key":"a","value":1}',
    '{"key":"b","value":{"x":[1,2]}}',
    'not json',
    '{"value":3}',
    '{"key":"c","valueHex":"ff00"}',
    '',
    `{"key":"${'k'.repeat(600)}","value":1}`,
    '{"key":{"an":"object"},"value":2}',
    '{"key":["d",1],"value":"four"}',
  ].join('\n');

  it('loads JSON Lines in batches, skipping and reporting bad lines', async () => {
    const input = file('rows.jsonl', rows);
    const db = dbPath('jsonl');
    // Batches of 2: a b, then c and the long key (refused at commit), then the object key (refused at commit) and ["d", 1].
    const r = await xrpkv(['load', '--db', db, input, '--batch', '2']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^loaded 4 rows from ${input} in 3 batches, [\\d.]+ s \\(\\d+ rows/s\\); skipped 4\\n`));
    expect(r.stdout).toContain('  line 3: not JSON: ');
    expect(r.stdout).toContain('  line 4: no "key" (or "keyHex") field\n');
    expect(r.stdout).toContain('  line 7: the encoded key is 600 bytes; at most ');
    expect(r.stdout).toContain('  line 8: a key must be a string, number');
    const scan = await xrpkv(['scan', '--db', db, '--json']);
    expect(jsonLines(scan.stdout)).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: { x: [1, 2] } },
      { key: 'c', valueHex: 'ff00' },
      { key: ['d', 1], value: 'four' },
    ]);
    // What scan --json prints loads back the same.
    const copy = dbPath('copy');
    const summary = JSON.parse((await xrpkv(['load', '--db', copy, '-', '--format', 'jsonl', '--json'], scan.stdout)).stdout);
    expect(summary).toMatchObject({ file: '-', format: 'jsonl', loaded: 4, skipped: 0, problems: [], batches: 1 });
    expect((await xrpkv(['scan', '--db', copy, '--json'])).stdout).toBe(scan.stdout);
  });

  it('with --strict stops at the first bad row, keeping only the batches before it', async () => {
    const db = dbPath('strict');
    const r = await xrpkv(['load', '--db', db, file('strict.jsonl', rows), '--batch', '1', '--strict']);
    expect(r).toMatchObject({ status: 1, stdout: '' });
    expect(r.stderr).toMatch(/^xrpkv: line 3: not JSON: .*; stopped \(--strict\): 2 rows were committed before it, none of its batch was written\n$/);
    expect(await xrpkv(['scan', '--db', db, '--keys-only'])).toEqual({ status: 0, stdout: 'a\nb\n', stderr: '' });
    // A row the store refuses at commit: none of its batch is written.
    const refused = dbPath('strict-refused');
    const input = file('refused.jsonl', '{"key":"a","value":1}\n{"key":"b","value":1}\n{"key":{"o":1},"value":1}\n');
    const s = await xrpkv(['load', '--db', refused, input, '--batch', '2', '--strict']);
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/^xrpkv: line 3: a key must be .*; stopped \(--strict\): 2 rows were committed before it/);
    expect(await xrpkv(['scan', '--db', refused, '--keys-only'])).toEqual({ status: 0, stdout: 'a\nb\n', stderr: '' });
  });

  it('loads CSV with quoted commas, quotes and line breaks, text or JSON values', async () => {
    const input = file('rows.csv', 'value,key\n"x,y",a\n"two\nlines ""q""",b\n1,c,extra\n"{""n"":1}",d\nbad"q,e\n');
    const [text, json] = await Promise.all([
      xrpkv(['load', '--db', dbPath('csv'), input, '--json']),
      xrpkv(['load', '--db', dbPath('csv-json'), input, '--json-value', '--json']),
    ]);
    const summary = JSON.parse(text.stdout);
    expect(summary).toMatchObject({ file: input, format: 'csv', loaded: 3, skipped: 2, batches: 1 });
    expect(summary.problems).toEqual([
      { line: 5, reason: 'expected 2 fields (key,value), got 3' },
      { line: 7, reason: 'a quote inside an unquoted field (quote the whole field and double the quote)' },
    ]);
    expect(summary.elapsedMs).toBeGreaterThan(0);
    expect(summary.rowsPerSecond).toBeGreaterThan(0);
    // With --json-value, "x,y" and the two lines are not JSON: skipped.
    expect(JSON.parse(json.stdout)).toMatchObject({ loaded: 1, skipped: 4 });
    const [scanText, scanJson] = await xrpkvAll([
      ['scan', '--db', dbPath('csv'), '--json'],
      ['scan', '--db', dbPath('csv-json'), '--json'],
    ]);
    expect(jsonLines(scanText!.stdout)).toEqual([
      { key: 'a', value: 'x,y' },
      { key: 'b', value: 'two\nlines "q"' },
      { key: 'd', value: '{"n":1}' },
    ]);
    expect(jsonLines(scanJson!.stdout)).toEqual([{ key: 'd', value: { n: 1 } }]);
  });

  it('loads binary keys and values for a served database', async () => {
    const db = dbPath('redis');
    const input = file('redis.csv', 'key,value\n6869,776f726c64\n00ff,80\n');
    expect((await xrpkv(['load', '--db', db, input, '--redis', '--hex'])).status).toBe(0);
    expect((await xrpkv(['scan', '--db', db, '--redis'])).stdout).toBe('0x00ff\t0x80\nhi\tworld\n');
  });

  it('fails clearly, without creating the database, when it cannot start', async () => {
    const db = dbPath('never');
    const runs = await xrpkvAll([
      ['load', '--db', db, join(tmp.dir, 'missing.jsonl')],
      ['load', '--db', db, file('rows.txt', '{}')],
      ['load', '--db', db, '-'],
      ['load', '--db', db, file('x.csv', 'a,b\n1,2\n')],
      ['load', '--db', db, file('empty.csv', '')],
      ['load', '--db', db, file('y.jsonl', ''), '--format', 'xml'],
      ['load', '--db', db, file('z.jsonl', ''), '--batch', '0'],
    ]);
    const messages = [
      /^xrpkv: ENOENT: no such file or directory, stat '.*missing\.jsonl'$/,
      /^xrpkv: cannot tell the format of .*rows\.txt: give --format jsonl or --format csv$/,
      /^xrpkv: cannot tell the format of standard input: give --format jsonl or --format csv$/,
      /^xrpkv: line 1: the CSV header must be key,value, got a,b$/,
      /^xrpkv: the CSV input is empty: it needs a header line key,value$/,
      /^xrpkv: option '--format <format>' argument 'xml' is invalid/,
      /^xrpkv: option '--batch <rows>' argument '0' is invalid/,
    ];
    runs.forEach((r, i) => {
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toMatch(messages[i]!);
    });
    expect(existsSync(db)).toBe(false);
  });

  it('has help with examples', async () => {
    const r = await xrpkv(['load', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: xrpkv load [options] <file>');
    expect(r.stdout).toContain('--strict');
    expect(r.stdout).toContain('Examples:\n  $ xrpkv load ');
  });
});
