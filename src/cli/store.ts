// The store commands on a database file (`load` is in load.ts):
//   xrpkv get --db PATH KEY... [--json]
//   xrpkv put --db PATH KEY VALUE [--json-value]
//   xrpkv del --db PATH KEY...
//   xrpkv scan --db PATH [--start K] [--end K] [--prefix P] [--reverse] [--limit N] [--json]
//   xrpkv stats --db PATH [--json]
// Each takes the options of db.ts (encodings, --redis, --hex, --json-key).
// Read commands (get, scan, stats) and del never create the file.
import { Command, Option } from 'commander';
import { nonNegativeInt } from './args.js';
import { decoding, encodingsOf, storeOptions, textInput, withStore, type StoreCliOptions } from './db.js';
import { entryJson, jsonEntry, Output, printable, toJson } from './output.js';
import { scanEntries } from './scan.js';
import type { Database, Stats } from '../store/db.js';
import { servedString } from '../server/layout.js';

interface GetOptions extends StoreCliOptions {
  json?: boolean;
}

interface ScanOptions extends StoreCliOptions {
  start?: string;
  end?: string;
  prefix?: string;
  reverse?: boolean;
  limit?: number;
  keysOnly?: boolean;
  json?: boolean;
}

const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

function addGet(cli: Command): void {
  const get = cli
    .command('get')
    .description('print the values of keys, one line each; exits 2 when a key is missing')
    .argument('<key...>', 'the keys')
    .option('--json', 'print JSON Lines: {"key":...,"found":true,"value":...} per key');
  storeOptions(get)
    .addHelpText('after', examples('xrpkv get --db data.xrpkv greeting', 'xrpkv get --db served.xrpkv --redis user:1 user:2 --json', 'xrpkv get --db data.xrpkv --json-key 42'))
    .action(async (keys: string[], o: GetOptions) => {
      const e = encodingsOf(o);
      const wanted = keys.map((k) => textInput(o, e).key(k)); // bad input fails before the file is opened
      await withStore(o, 'read', async (db) => {
        // A database `xrpkv serve` wrote keeps strings with a deadline, and keys starting with 0xff, in records of their own.
        const values = await decoding(o, e, async () => (o.redis ? wanted.map((k) => servedString(db as Database<Buffer, Buffer>, k as Buffer)) : db.getMany(wanted)));
        const out = new Output();
        for (const [i, v] of values.entries()) {
          const key = keys[i]!;
          if (o.json) {
            const fields: [string, unknown][] = [['key', key], ['found', v !== undefined]];
            await out.line(entryJson(v === undefined ? fields : [...fields, jsonEntry('value', v, o.hex === true)]));
          } else if (v === undefined) {
            console.error(`xrpkv: ${key}: not found`);
          } else {
            await out.line(printable(v, o.hex === true));
          }
          if (v === undefined) process.exitCode = 2;
        }
        await out.flush();
      });
    });
}

function addPut(cli: Command): void {
  const put = cli.command('put').description('store a value under a key (creates the file if needed)').argument('<key>').argument('<value>');
  storeOptions(put, { values: true, creates: true })
    .addHelpText('after', examples('xrpkv put --db data.xrpkv greeting hello', 'xrpkv put --db data.xrpkv --json-value user:1 \'{"name":"ann","age":7}\'', 'xrpkv put --db served.xrpkv --redis --hex 00ff 68656c6c6f'))
    .action(async (key: string, value: string, o: StoreCliOptions) => {
      const e = encodingsOf(o);
      const input = textInput(o, e);
      const [k, v] = [input.key(key), input.value(value)];
      await withStore(o, 'create', (db) => db.put(k, v));
    });
}

function addDel(cli: Command): void {
  const del = cli
    .command('del')
    .description('delete keys in one commit and say how many existed')
    .argument('<key...>', 'the keys')
    .option('--json', 'print {"deleted":N,"missing":[...]}');
  storeOptions(del)
    .addHelpText('after', examples('xrpkv del --db data.xrpkv greeting old-key'))
    .action(async (keys: string[], o: GetOptions) => {
      const e = encodingsOf(o);
      const wanted = keys.map((k) => textInput(o, e).key(k));
      await withStore(o, 'existing', async (db) => {
        // One transaction: they commit together, or (a key the store refuses) none does.
        const existed = await db.transaction((tx) => wanted.map((k) => tx.remove(k)));
        const deleted = existed.filter(Boolean).length;
        if (o.json) console.log(toJson({ deleted, missing: keys.filter((_, i) => !existed[i]) }));
        else console.log(`deleted ${deleted} of ${keys.length} key${keys.length === 1 ? '' : 's'}`);
      });
    });
}

function addScan(cli: Command): void {
  const scan = cli
    .command('scan')
    .description('print entries in key order, tab-separated (key, value) or as JSON Lines')
    .option('--start <key>', 'where the scan starts, inclusive (with --reverse, the upper end)')
    .option('--end <key>', 'where it stops, exclusive (with --reverse, the lower end)')
    .addOption(new Option('--prefix <text>', 'only keys starting with this (string keys, or bytes with a binary key encoding)').conflicts(['start', 'end']))
    .option('--reverse', 'in descending key order')
    .option('--limit <n>', 'at most this many entries', nonNegativeInt)
    .option('--keys-only', 'print keys only')
    .option('--json', 'print JSON Lines: {"key":...,"value":...} per entry');
  storeOptions(scan)
    .addHelpText(
      'after',
      examples('xrpkv scan --db data.xrpkv --prefix user: --limit 10', 'xrpkv scan --db data.xrpkv --start a --end m --json', 'xrpkv scan --db data.xrpkv --reverse --start m --end a', 'xrpkv scan --db served.xrpkv --redis --keys-only'),
    )
    .action(async (o: ScanOptions) => {
      const e = encodingsOf(o);
      const input = textInput(o, e);
      const hex = o.hex === true;
      const request = {
        start: o.start === undefined ? undefined : input.key(o.start),
        end: o.end === undefined ? undefined : input.key(o.end),
        prefix: o.prefix === undefined ? undefined : e.keyEncoding === 'binary' ? (input.key(o.prefix) as Buffer) : o.prefix,
        reverse: o.reverse === true,
        limit: o.limit,
      };
      await withStore(o, 'read', async (db) => {
        const out = new Output();
        await decoding(o, e, async () => {
          for (const { key, value } of scanEntries(db, e, request)) {
            if (o.json) await out.line(entryJson(o.keysOnly ? [jsonEntry('key', key, hex)] : [jsonEntry('key', key, hex), jsonEntry('value', value, hex)]));
            else await out.line(o.keysOnly ? printable(key, hex) : `${printable(key, hex)}\t${printable(value, hex)}`);
          }
        });
        await out.flush();
      });
    });
}

function statsText(path: string, s: Stats, reason: string): string {
  return [
    `file: ${path}`,
    `entries: ${s.entries}`,
    `height: ${s.height}`,
    `pages: ${s.pages} of ${s.pageSize} bytes: ${s.branchPages} branch, ${s.leafPages} leaf, ${s.overflowPages} overflow, ${s.freelistPages} freelist, ${s.logPages} log`,
    `log: ${s.logKeys} keys on ${s.logPages} pages, not yet in the tree`,
    `free pages: ${s.freePages} (${s.pendingPages} waiting for readers)`,
    `bytes: ${s.fileBytes}: ${s.liveBytes} live, ${s.freeBytes} free, ${s.logBytes} log`,
    `fill: ${s.fill === undefined ? 'not measured' : `${(s.fill * 100).toFixed(1)}%`} of branch and leaf page bytes`,
    `txid: ${s.txid}`,
    `backend: ${s.backend} (${reason})`,
    `cached: ${s.cachedPages} pages of the top ${s.cacheLevels} levels`,
    ...(s.databases?.length ? [`databases: ${s.databases.map((d) => `${d.name} (${d.entries} entries, ${d.keyEncoding}/${d.valueEncoding})`).join(', ')}`] : []),
  ].join('\n');
}

function addStats(cli: Command): void {
  const stats = cli
    .command('stats')
    .description('print the shape of the tree: entries, height, pages, fill, free pages, lookup backend')
    .option('--json', 'print one JSON object');
  storeOptions(stats)
    .addHelpText('after', examples('xrpkv stats --db data.xrpkv', 'xrpkv stats --db data.xrpkv --lookup xrp --json'))
    .action(async (o: GetOptions) => {
      await withStore(o, 'read', async (db) => {
        const s = db.stats({ fill: true });
        if (o.json) console.log(toJson({ path: o.db, ...s, backendReason: db.lookupReason }));
        else console.log(statsText(o.db, s, db.lookupReason));
      });
    });
}

export function addStoreCommands(cli: Command): void {
  addGet(cli);
  addPut(cli);
  addDel(cli);
  addScan(cli);
  addStats(cli);
}
