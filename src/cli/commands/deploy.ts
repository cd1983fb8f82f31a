import type { Command } from 'commander';
import { createProvider } from '../../adapters/providers/index.js';
import { deployRevision } from '../../deploy/deploy-revision.js';
import { parseColour } from '../arguments.js';
import { withNotices } from '../cli-notices.js';
import { loadConfig } from '../load-config.js';
import type { Output } from '../output.js';
import { operatorName } from './flip.js';

export function registerDeploy(program: Command, output: Output): void {
  program
    .command('deploy')
    .description("deploy without a push (default: the colour's main), e.g. to a host just added to the colour; main then names the revision")
    .argument('<colour>', 'blue or green')
    .argument('[revision]', "a branch, tag or commit of the colour's repository (default: main)")
    .option('--force-live', 'deploy to the colour even if it is live (serves production traffic)')
    .option('--force', 'run the migration even when the schema guard refuses it (recorded in history)')
    .action(async (colourArg: string, revision: string | undefined, options: { forceLive?: boolean; force?: boolean }) => {
      const colour = parseColour(colourArg);
      const config = loadConfig(['deploy-ssh']);
      const provider = createProvider(config);
      try {
        const summary = await withNotices(config, output, (notify) =>
          deployRevision({
            config,
            colour,
            revision,
            forceLive: options.forceLive === true,
            forceSchema: options.force === true,
            by: operatorName(),
            liveColour: () => provider.liveColour(),
            say: (line) => output.err(line),
            notify,
          }),
        );
        output.out(summary);
      } finally {
        await provider.close();
      }
    });
}
