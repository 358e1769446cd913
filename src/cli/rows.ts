// `load`'s input as rows: JSON Lines (one {"key":...,"value":...} object a
// line) or CSV (a header line `key,value`, then one record each). A line that
// cannot be a row comes out as a bad row with its line number and why, and
// reading goes on. Bytes are counted as they are read, for the progress bar.
import { StringDecoder } from 'node:string_decoder';
import { CliError } from './args.js';
import { jsonField, type Encodings, type TextInput } from './db.js';
import { CsvReader, type CsvRecord } from './csv.js';

export type Format = 'jsonl' | 'csv';
export const FORMATS: readonly Format[] = ['jsonl', 'csv'];

export interface Row {
  line: number;
  key: unknown;
  value: unknown;
}

export interface BadRow {
  line: number;
  reason: string;
}

export const isBad = (r: Row | BadRow): r is BadRow => 'reason' in r;

/** The format a file name implies, or undefined. */
export function formatOfName(path: string): Format | undefined {
  if (/\.(jsonl|ndjson|json)$/i.test(path)) return 'jsonl';
  if (/\.csv$/i.test(path)) return 'csv';
  return undefined;
}

/** A row from `make`, or the reason it is bad (a CliError's message). */
function attempt(line: number, make: () => { key: unknown; value: unknown }): Row | BadRow {
  try {
    return { line, ...make() };
  } catch (e) {
    if (e instanceof CliError) return { line, reason: e.message };
    throw e;
  }
}

/** Text chunks of `input`, the UTF-8 byte order mark dropped, calling `read(bytes)` per chunk. */
async function* texts(input: AsyncIterable<Buffer | string>, read: (bytes: number) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let text = decoder.write(bytes);
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    yield text;
    read(bytes.length);
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

function jsonRow(text: string, line: number, e: Encodings): Row | BadRow {
  return attempt(line, () => {
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (err) {
      throw new CliError(`not JSON: ${(err as Error).message}`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new CliError('not a JSON object {"key":...,"value":...}');
    const r = row as Record<string, unknown>;
    return { key: jsonField(r, 'key', e.keyEncoding), value: jsonField(r, 'value', e.valueEncoding) };
  });
}

async function* jsonLines(input: AsyncIterable<string>, e: Encodings): AsyncGenerator<Row | BadRow> {
  let rest = '';
  let line = 0;
  for await (const text of input) {
    const lines = (rest + text).split('\n');
    rest = lines.pop()!;
    const out: (Row | BadRow)[] = [];
    for (const l of lines) {
      line++;
      if (l.trim() !== '') out.push(jsonRow(l, line, e));
    }
    yield* out;
  }
  if (rest.trim() !== '') yield jsonRow(rest, line + 1, e);
}

/** The header's column of key and of value. */
function header(record: CsvRecord | undefined): { key: number; value: number } {
  if (record === undefined) throw new CliError('the CSV input is empty: it needs a header line key,value');
  if ('error' in record) throw new CliError(`line ${record.line}: ${record.error}`);
  const f = record.fields;
  if (f.length === 2 && f.includes('key') && f.includes('value')) return { key: f.indexOf('key'), value: f.indexOf('value') };
  throw new CliError(`line ${record.line}: the CSV header must be key,value, got ${f.join(',')}`);
}

async function* csvRows(input: AsyncIterable<string>, t: TextInput): AsyncGenerator<Row | BadRow> {
  const reader = new CsvReader();
  let columns: { key: number; value: number } | undefined;
  const rows = function* (records: CsvRecord[]): Generator<Row | BadRow> {
    for (const r of records) {
      if (!columns) {
        columns = header(r);
        continue;
      }
      if ('error' in r) {
        yield { line: r.line, reason: r.error };
        continue;
      }
      const { key, value } = columns;
      if (r.fields.length !== 2) {
        yield { line: r.line, reason: `expected 2 fields (key,value), got ${r.fields.length}` };
        continue;
      }
      yield attempt(r.line, () => ({ key: t.key(r.fields[key]!), value: t.value(r.fields[value]!) }));
    }
  };
  for await (const text of input) yield* rows(reader.push(text));
  const last = reader.end();
  if (!columns && last.length === 0) header(undefined);
  yield* rows(last);
}

/**
 * Rows of `input` in `format`. JSON Lines take the key and value as JSON
 * (jsonField); CSV fields are text, as on the command line (TextInput).
 */
export function readRows(input: AsyncIterable<Buffer | string>, format: Format, e: Encodings, t: TextInput, read: (bytes: number) => void): AsyncGenerator<Row | BadRow> {
  const text = texts(input, read);
  return format === 'csv' ? csvRows(text, t) : jsonLines(text, e);
}
