// `xrpkv check FILE`: verify every page of a database file.
import type { Command } from 'commander';
import { checkFile } from '../store/check.js';

export function addCheckCommand(cli: Command): void {
  cli
    .command('check')
    .description('verify every page of a database file and report every problem; exits 2 when there are any')
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
        console.log(report.ok ? 'ok: no problems' : `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}`);
      }
      if (!report.ok) process.exitCode = 2;
    });
}
