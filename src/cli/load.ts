// `xrpkv load --db PATH FILE [--format jsonl|csv] [--batch N] [--strict]`:
// puts every row of a JSON Lines or CSV file (or stdin, `-`) in batches, one
// commit each, awaiting each commit's durability before the next.
//
// A bad row (not JSON, no key, a key too long, a value the encoding refuses)
// is counted, reported in the summary with its line, and skipped; the other
// rows of its batch are written. With --strict the first bad row stops the
// load with exit code 1: the batches before it are committed (each is one
// durable commit), nothing of the batch holding it is written.
// While one batch commits, the next is read and parsed.
import { createReadStream, fstatSync, statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { CliError, positiveInt } from './args.js';
import { encodingsOf, storeOptions, textInput, withStore, type Encodings, type StoreCliOptions } from './db.js';
import { toJson } from './output.js';
import { loadProgress } from './progress.js';
import { FORMATS, formatOfName, isBad, readRows, type BadRow, type Format, type Row } from './rows.js';
import type { Database } from '../store/db.js';
import { keyCodec, valueCodec } from '../store/encoding.js';
import { KeyTooLargeError, ValueTooLargeError } from '../errors.js';
import { maxKeyLen } from '../format/page.js';

interface LoadOptions extends StoreCliOptions {
  format?: Format;
  batch: number;
  strict?: boolean;
  progress: boolean;
  json?: boolean;
}

/** Problems the summary lists one by one; the rest are counted. */
const LISTED = 20;

interface Summary {
  file: string;
  format: Format;
  loaded: number;
  skipped: number;
  problems: BadRow[];
  batches: number;
  elapsedMs: number;
  rowsPerSecond: number;
}

/** Errors the store throws for a key or value it will not take, before anything is queued. */
const refused = (e: unknown) => e instanceof TypeError || e instanceof RangeError || e instanceof KeyTooLargeError || e instanceof ValueTooLargeError;

/**
 * Commits `rows` as one batch. When the store refuses the batch for a bad
 * key or value, each row is checked with the store's own codecs to find the
 * bad ones, and the others are committed (with `strict`, nothing is).
 * Returns the bad rows.
 */
async function commit(db: Database, e: Encodings, rows: Row[], strict: boolean): Promise<BadRow[]> {
  const ops = (rs: Row[]) => rs.map((r) => ({ type: 'put' as const, key: r.key, value: r.value }));
  let written: Promise<void>;
  const bad: BadRow[] = [];
  try {
    written = db.batch(ops(rows));
  } catch (err) {
    if (!refused(err)) throw err;
    const keys = keyCodec(e.keyEncoding, maxKeyLen(db.pageSize));
    const values = valueCodec(e.valueEncoding);
    const good = rows.filter((r) => {
      try {
        keys.encode(r.key);
        values.encode(r.value);
        return true;
      } catch (why) {
        if (!refused(why)) throw why;
        bad.push({ line: r.line, reason: (why as Error).message });
        return false;
      }
    });
    if (bad.length === 0) throw err; // not a row's fault after all
    if (strict) return bad;
    written = db.batch(ops(good));
  }
  await written;
  return bad;
}

function strictError(b: BadRow, committed: number): CliError {
  return new CliError(`line ${b.line}: ${b.reason}; stopped (--strict): ${committed} rows were committed before it, none of its batch was written`);
}

function summaryText(s: Summary): string {
  const seconds = (s.elapsedMs / 1000).toFixed(2);
  const from = s.file === '-' ? 'standard input' : s.file;
  const lines = [`loaded ${s.loaded} rows from ${from} in ${s.batches} batch${s.batches === 1 ? '' : 'es'}, ${seconds} s (${Math.round(s.rowsPerSecond)} rows/s); skipped ${s.skipped}`];
  for (const p of s.problems.slice(0, LISTED)) lines.push(`  line ${p.line}: ${p.reason}`);
  if (s.skipped > LISTED) lines.push(`  ... and ${s.skipped - LISTED} more`);
  return lines.join('\n');
}

async function load(file: string, o: LoadOptions): Promise<Summary> {
  const format = o.format ?? formatOfName(file);
  if (!format) throw new CliError(`cannot tell the format of ${file === '-' ? 'standard input' : file}: give --format jsonl or --format csv`);
  const size = file === '-' ? fstatSync(0) : statSync(file);
  if (size.isDirectory()) throw new CliError(`${file}: a directory, not a file to load`);
  const started = performance.now();
  const e = encodingsOf(o);
  const s: Summary = { file, format, loaded: 0, skipped: 0, problems: [], batches: 0, elapsedMs: 0, rowsPerSecond: 0 };
  const input = file === '-' ? process.stdin : createReadStream(file);
  const progress = loadProgress(o.progress, { total: size.isFile() ? size.size : undefined });
  let bytes = 0;
  const read = (n: number) => {
    bytes += n;
    progress.update(bytes, s.loaded);
  };
  const skip = (b: BadRow) => {
    if (o.strict) throw strictError(b, s.loaded);
    s.skipped++;
    if (s.problems.length < 100) s.problems.push(b);
  };
  try {
    const rows = readRows(input, format, e, textInput(o, e), read);
    // The first row read, before the database file is opened (or created):
    // an unreadable input or a bad CSV header leaves no file behind.
    const first = await rows.next();
    await withStore(o, 'create', async (db) => {
      // One batch commits while the next is read: its I/O overlaps the parsing.
      let inFlight: Promise<void> = Promise.resolve();
      const flush = async (batch: Row[]) => {
        await inFlight; // the batch before is durable (or its failure throws here)
        if (batch.length === 0) return;
        inFlight = commit(db, e, batch, o.strict === true).then((bad) => {
          bad.forEach(skip); // with --strict, throws at the first
          s.loaded += batch.length - bad.length;
          s.batches++;
        });
        inFlight.catch(() => {}); // seen at the next await, not as an unhandled rejection
      };
      let batch: Row[] = [];
      for (let r = first; !r.done; r = await rows.next()) {
        if (isBad(r.value)) {
          if (o.strict) await inFlight; // so the error counts the rows committed before it
          skip(r.value);
        } else {
          batch.push(r.value);
        }
        if (batch.length >= o.batch) {
          await flush(batch);
          batch = [];
        }
      }
      await flush(batch);
      await flush([]);
    });
  } finally {
    progress.stop();
    input.destroy(); // stdin too: a producer still writing must not keep a failed load running
  }
  s.problems.sort((a, b) => a.line - b.line); // rows refused at commit are found after later bad lines
  s.elapsedMs = performance.now() - started;
  s.rowsPerSecond = s.elapsedMs > 0 ? (s.loaded * 1000) / s.elapsedMs : 0;
  return s;
}

export function addLoadCommand(cli: Command): void {
  const command = cli
    .command('load')
    .description('put every row of a JSON Lines or CSV file, in batches of one durable commit each (creates the database if needed)')
    .argument('<file>', "the input; '-' reads standard input")
    .addOption(new Option('--format <format>', 'the input format (default: from the extension: .jsonl, .ndjson, .json or .csv)').choices(FORMATS))
    .option('--batch <rows>', 'rows per commit', positiveInt, 10_000)
    .option('--strict', 'stop at the first bad row with exit code 1 (its batch is not written)')
    .option('--no-progress', 'no progress on stderr')
    .option('--json', 'print the summary as one JSON object');
  storeOptions(command, { values: true, creates: true })
    .addHelpText(
      'after',
      `
Input:
  JSON Lines: one object a line, {"key": K, "value": V}; bytes may be given as
  "keyHex"/"valueHex" (what \`scan --json\` prints). CSV: a header line key,value,
  then one record a line; quoted fields may hold commas, "" and line breaks.
  CSV fields are text, as on the command line (--hex, --json-key, --json-value).

Examples:
  $ xrpkv load --db data.xrpkv users.jsonl
  $ xrpkv load --db data.xrpkv --json-value prices.csv --batch 50000
  $ xrpkv scan --db a.xrpkv --json | xrpkv load --db b.xrpkv --format jsonl -
`,
    )
    .action(async (file: string, o: LoadOptions) => {
      const s = await load(file, o);
      console.log(o.json ? toJson(s) : summaryText(s));
    });
}
