// The file commands over `Database.backup` (src/store/backup.ts):
//   xrpkv backup --db PATH DEST   a compacted copy of the last commit at DEST
//   xrpkv compact --db PATH       PATH replaced by its compacted copy
// Both take the file's writer lock (one process at a time), and use the
// encodings the file records.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { withStore, type StoreCliOptions } from './db.js';
import { toJson } from './output.js';

interface FileCommandOptions extends Pick<StoreCliOptions, 'db' | 'lookup'> {
  json?: boolean;
}

const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

const asStoreOptions = (o: FileCommandOptions): StoreCliOptions => ({ db: o.db, lookup: o.lookup ?? 'walk' });

function report(o: FileCommandOptions, fields: Record<string, unknown>, text: string): void {
  console.log(o.json ? toJson(fields) : text);
}

export function addBackupCommands(cli: Command): void {
  cli
    .command('backup')
    .description('write a compacted copy of the database to a new file (writers elsewhere must wait for the lock)')
    .argument('<dest>', 'the new file (never replaced)')
    .requiredOption('--db <path>', 'the database file')
    .option('--json', 'print {"path":..., "entries":N, "bytes":N, "sourceBytes":N}')
    .addHelpText('after', examples('xrpkv backup --db data.xrpkv data-copy.xrpkv', 'xrpkv backup --db data.xrpkv /backups/data.xrpkv --json'))
    .action(async (dest: string, o: FileCommandOptions) => {
      await withStore(asStoreOptions(o), 'existing', async (db) => {
        const { entries } = await db.backup(dest);
        const [bytes, sourceBytes] = [statSync(dest).size, db.stats().fileBytes];
        report(o, { path: dest, entries, bytes, sourceBytes }, `copied ${entries} entries of ${o.db} to ${dest}: ${bytes} bytes (the source uses ${sourceBytes})`);
      });
    });

  cli
    .command('compact')
    .description('replace the database file by a compacted copy of it (no free pages, no log, full leaves)')
    .requiredOption('--db <path>', 'the database file')
    .option('--json', 'print {"path":..., "entries":N, "bytes":N, "bytesBefore":N}')
    .addHelpText('after', examples('xrpkv compact --db data.xrpkv'))
    .action(async (o: FileCommandOptions) => {
      const temporary = join(dirname(o.db), `.${basename(o.db)}.${process.pid}.compact`);
      rmSync(temporary, { force: true });
      await withStore(asStoreOptions(o), 'existing', async (db) => {
        const before = db.stats().fileBytes;
        const { entries } = await db.backup(temporary);
        // Renamed while this handle still holds the old file's lock: no
        // writer can have committed to it since the copy's snapshot.
        try {
          renameSync(temporary, o.db);
        } catch (e) {
          rmSync(temporary, { force: true });
          throw e;
        }
        const dir = openSync(dirname(o.db), 'r');
        try {
          fsyncSync(dir);
        } finally {
          closeSync(dir);
        }
        const bytes = statSync(o.db).size;
        report(o, { path: o.db, entries, bytes, bytesBefore: before }, `compacted ${o.db}: ${entries} entries, ${bytes} bytes (it used ${before})`);
      });
    });
}
