import type { Command } from 'commander';
import { type HistoryRecord, readHistory } from '../../adapters/state/history.js';
import { UserError } from '../../core/errors.js';
import { formatSeconds, shortSha } from '../../core/format.js';
import { loadConfig } from '../load-config.js';
import { type Output, printJson } from '../output.js';

export function registerHistory(program: Command, output: Output): void {
  program
    .command('history')
    .description('deploys, activations, flips and undelivered notices, newest first')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'show at most N entries', '20')
    .action(async (options: { json?: boolean; limit: string }) => {
      if (!/^\d+$/.test(options.limit) || Number(options.limit) < 1) {
        throw new UserError(`--limit ${JSON.stringify(options.limit)}: expected a positive whole number`, { exitCode: 2 });
      }
      const records = (await readHistory(loadConfig().dataDir)).slice(0, Number(options.limit));
      if (options.json) return printJson(output, records);
      if (records.length === 0) return output.out('no deploys or flips yet');
      for (const record of records) output.out(describe(record));
    });
}

export function describe(record: HistoryRecord): string {
  const sha = (revision: string | undefined) => (revision === undefined ? '?' : shortSha(revision));
  // How it came about, when not the plain way: `sync`, a schema guard forced past.
  const note = 'note' in record && record.note ? ` (${record.note})` : '';
  switch (record.type) {
    case 'deploy':
      return record.outcome === 'deployed'
        ? `${record.at}  deploy    ${record.colour.padEnd(5)}  ${sha(record.revision)}  by ${record.by}, ${formatSeconds(record.durationMs)}${note}`
        : `${record.at}  deploy    ${record.colour.padEnd(5)}  ${sha(record.revision)}  by ${record.by}, FAILED: ${record.error ?? ''}`;
    case 'activate':
      return `${record.at}  activate  ${record.colour.padEnd(5)}  ${sha(record.revision)}  by ${record.by} (release ${record.release})${note}`;
    case 'flip':
      return `${record.at}  flip      ${record.from ?? 'none'} -> ${record.to}  by ${record.by}, ${record.outcome}${record.error ? `: ${record.error}` : ''}${note}`;
    case 'notify':
      return `${record.at}  notify    ${record.endpoint}  ${record.event} ${record.colour} ${record.ok ? 'ok' : 'failed'}: undelivered after ${record.attempts} attempt${record.attempts === 1 ? '' : 's'} (${record.error})`;
  }
}
