// `xrpkv check FILE`: verify every page of a database file, also one a
// running `xrpkv serve` is writing (check.ts says how a pass stays consistent).
import type { Command } from 'commander';
import { checkFile } from '../store/check.js';

/** Exit codes beyond 0 (no problem) and 1 (an error: a missing file...). */
const DAMAGE = 2;
const INCONCLUSIVE = 3;

export function addCheckCommand(cli: Command): void {
  cli
    .command('check')
    .description(
      'verify every page of a database file and report every problem; exits 2 when there are any, ' +
        '3 when a writer changed the file during every pass (and no damage was confirmed)',
    )
    .argument('<file>', 'an xrpkv database file')
    .option('--json', 'print one JSON object')
    .action((path: string, opts: { json?: boolean }) => {
      const report = checkFile(path);
      if (opts.json) {
        console.log(JSON.stringify({ path, ...report }));
      } else {
        const txid = report.txid === undefined ? 'no valid meta' : `txid ${report.txid}`;
        console.log(`${path}: ${txid}, ${report.pages} pages, ${report.entries} entries`);
        for (const p of report.problems) console.log(`page ${p.page}: ${p.message}`);
        if (report.inconclusive !== undefined) console.log(`inconclusive: ${report.inconclusive}`);
        const n = report.problems.length;
        if (n > 0) console.log(`${n} problem${n === 1 ? '' : 's'}`);
        else if (report.ok) console.log('ok: no problems');
      }
      if (report.problems.length > 0) process.exitCode = DAMAGE;
      else if (!report.ok) process.exitCode = INCONCLUSIVE;
    });
}
