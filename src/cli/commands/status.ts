import type { Command } from 'commander';
import { createProvider } from '../../adapters/providers/index.js';
import { readStatus } from '../../status/read-status.js';
import { loadConfig } from '../load-config.js';
import { type Output, printJson } from '../output.js';
import { shortSha } from '../../core/format.js';

export function registerStatus(program: Command, output: Output): void {
  program
    .command('status')
    .description('the live colour as the provider reports it; revision, health and locks of each colour and each host')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      const provider = createProvider(config);
      try {
        const status = await readStatus(config, provider);
        if (options.json) return printJson(output, status);
        const { live } = status;
        output.out(`live: ${live ?? (status.liveError ? `unknown (${status.liveError})` : 'none yet')}  (${status.provider})`);
        for (const c of status.colours) {
          const deployed = c.deployed ? `${shortSha(c.deployed.revision)} deployed ${c.deployed.at}` : 'never deployed';
          const mismatch = c.deployed && c.hosts.some((h) => h.serving && h.serving !== c.deployed?.revision) ? ' (a host serves something else!)' : '';
          output.out(`${c.colour === live ? '*' : ' '} ${c.colour.padEnd(5)}  ${deployed}${c.hosts.length === 1 && c.serving && c.deployed && c.serving !== c.deployed.revision ? ` (serving ${shortSha(c.serving)}!)` : mismatch}`);
          if (c.hosts.length === 1) output.out(`         ${c.healthy ? 'healthy' : 'UNHEALTHY'}: ${c.health}`);
          else {
            for (const h of c.hosts) {
              output.out(`         ${h.host.padEnd(21)} ${h.serving ? shortSha(h.serving) : 'no REVISION '}  ${h.healthy ? 'healthy' : 'UNHEALTHY'}: ${h.health}`);
            }
          }
          if (c.lock) output.out(`         locked: ${c.lock.purpose} by ${c.lock.holder} since ${c.lock.since}`);
          if (c.behind) output.out(`         behind ${live}: \`bluegreen sync\` deploys ${live}'s revision to ${c.colour} (a warm standby)`);
        }
        if (status.schema.database !== null) {
          const ranges = Object.entries(status.schema.compatible).map(([colour, range]) => `${colour} works with ${range}`);
          output.out(`database schema version: ${status.schema.database}${ranges.length ? ` (${ranges.join(', ')})` : ''}`);
        }
        for (const slot of status.slots ?? []) output.out(`slot ${slot.slot}: ${slot.colour}, ${slot.host}, serving ${slot.revision ? shortSha(slot.revision) : 'no REVISION'}`);
        if (status.gitSsh) output.out(`git over SSH host key: ${status.gitSsh.hostKey ?? 'none yet (bluegreen serve makes it on first start)'}`);
      } finally {
        await provider.close();
      }
    });
}
