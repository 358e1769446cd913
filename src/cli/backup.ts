// The file commands over `Database.backup` (src/store/backup.ts):
//   xrpkv backup --db PATH DEST   a compacted copy of the last commit at DEST
//   xrpkv compact --db PATH       PATH replaced by its compacted copy
// Both use the encodings the file records. `compact` holds the write lock
// from the copy's snapshot to the rename, and refuses a file other
// processes have open (they would go on with the old one).
import { renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { CliError } from './args.js';
import { withStore, type StoreCliOptions } from './db.js';
import { ReaderTable } from '../store/reader-table.js';
import { syncDirectory } from '../store/file.js';
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
        // The write lock, held from before the copy's snapshot to the rename:
        // no writer can commit to the old file meanwhile.
        const lock = new ReaderTable(o.db);
        try {
          lock.lockWriteSync();
          const others = lock.info().readers.filter((r) => r.pid !== process.pid);
          if (others.length > 0) {
            const pids = [...new Set(others.map((r) => r.pid))].join(', ');
            throw new CliError(`${o.db} is open in other processes (pid ${pids}): they would go on with the old file after the rename; close them first`);
          }
          const before = db.stats().fileBytes;
          const { entries } = await db.backup(temporary);
          try {
            renameSync(temporary, o.db);
          } catch (e) {
            rmSync(temporary, { force: true });
            throw e;
          }
          // The new file's txids start over: so must the lock file's published txid.
          rmSync(`${o.db}-lock`, { force: true });
          syncDirectory(o.db);
          const bytes = statSync(o.db).size;
          report(o, { path: o.db, entries, bytes, bytesBefore: before }, `compacted ${o.db}: ${entries} entries, ${bytes} bytes (it used ${before})`);
        } finally {
          lock.close();
        }
      });
    });
}
