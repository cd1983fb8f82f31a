import type { Command } from 'commander';
import { createProvider } from '../../adapters/providers/index.js';
import { syncIdle } from '../../deploy/sync-idle.js';
import { withNotices } from '../cli-notices.js';
import { loadConfig } from '../load-config.js';
import type { Output } from '../output.js';
import { confirmOnTerminal, operatorName } from './flip.js';

export function registerSync(program: Command, output: Output): void {
  program
    .command('sync')
    .description("deploy the live colour's revision to the idle colour, so both serve the same (a warm standby)")
    .option('--yes', 'do not ask for confirmation')
    .action(async (options: { yes?: boolean }) => {
      const config = loadConfig(['deploy-ssh']);
      const provider = createProvider(config);
      try {
        const summary = await withNotices(config, output, (notify) =>
          syncIdle({
            config,
            by: operatorName(),
            liveColour: () => provider.liveColour(),
            say: (line) => output.err(line),
            confirm: confirmOnTerminal(options, output),
            notify,
          }),
        );
        output.out(summary);
      } finally {
        await provider.close();
      }
    });
}
