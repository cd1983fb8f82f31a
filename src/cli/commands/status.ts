import type { Command } from 'commander';
import { checkHealth, readRevision } from '../../adapters/http/checks.js';
import { createProvider } from '../../adapters/providers/index.js';
import { deployedRevision, readHistory } from '../../adapters/state/history.js';
import { readLock } from '../../adapters/state/locks.js';
import { COLOURS } from '../../core/colour.js';
import { loadConfig } from '../load-config.js';
import { type Output, printJson } from '../output.js';

export function registerStatus(program: Command, output: Output): void {
  program
    .command('status')
    .description('the live colour as the provider reports it; revision, health and locks of each colour')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      const provider = createProvider(config);
      try {
        const history = await readHistory(config.dataDir);
        const [live, ...colours] = await Promise.all([
          provider.liveColour().then(
            (colour) => ({ colour: colour ?? null, error: null }),
            (error: Error) => ({ colour: null, error: error.message }),
          ),
          ...COLOURS.map(async (colour) => {
            const url = config.hosts[colour].url;
            const [health, serving, lock] = await Promise.all([
              checkHealth(url, config.healthPath, { consecutive: 1, deadlineMs: 0, requestTimeoutMs: 3000 }),
              readRevision(url, { timeoutMs: 3000 }).catch(() => null),
              readLock(config.dataDir, colour),
            ]);
            const deployed = deployedRevision(history, colour);
            return {
              colour,
              url,
              deployed: deployed ? { revision: deployed.revision, at: deployed.at } : null,
              serving,
              healthy: health.ok,
              health: health.summary,
              lock: lock ?? null,
            };
          }),
        ]);
        const status = { provider: provider.description, live: live.colour, liveError: live.error, colours };
        if (options.json) return printJson(output, status);
        output.out(`live: ${live.colour ?? (live.error ? `unknown (${live.error})` : 'none yet')}  (${provider.description})`);
        for (const c of colours) {
          const deployed = c.deployed ? `${c.deployed.revision.slice(0, 12)} deployed ${c.deployed.at}` : 'never deployed';
          const mismatch = c.deployed && c.serving && c.serving !== c.deployed.revision ? ` (serving ${c.serving.slice(0, 12)}!)` : '';
          output.out(`${c.colour === live.colour ? '*' : ' '} ${c.colour.padEnd(5)}  ${deployed}${mismatch}`);
          output.out(`         ${c.healthy ? 'healthy' : 'UNHEALTHY'}: ${c.health}`);
          if (c.lock) output.out(`         locked: ${c.lock.purpose} by ${c.lock.holder} since ${c.lock.since}`);
        }
      } finally {
        await provider.close();
      }
    });
}
