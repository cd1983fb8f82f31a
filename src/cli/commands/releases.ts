import os from 'node:os';
import type { Command } from 'commander';
import { createProvider } from '../../adapters/providers/index.js';
import { activateRelease, listReleases } from '../../deploy/releases.js';
import { parseColour } from '../arguments.js';
import { withNotices } from '../cli-notices.js';
import { loadConfig } from '../load-config.js';
import { type Output, printJson } from '../output.js';
import { shortSha } from '../../core/format.js';
import { messageOf } from '../../core/errors.js';

export function registerReleases(program: Command, output: Output): void {
  program
    .command('releases')
    .description("list each host's releases, newest first; * marks current")
    .argument('<colour>', 'blue or green')
    .option('--json', 'print JSON')
    .action(async (colourArg: string, options: { json?: boolean }) => {
      const colour = parseColour(colourArg);
      const config = loadConfig(['deploy-ssh']);
      const hosts = await listReleases(config, colour);
      const first = hosts[0];
      if (options.json) {
        // The colour-level fields are the first host's (every host of a colour holds the same releases after a deploy).
        return printJson(output, { colour, current: first?.current ?? null, releases: (first?.releases ?? []).map((id) => ({ id, current: id === first?.current })), hosts });
      }
      for (const host of hosts) {
        if (hosts.length > 1) output.out(`${host.host}:`);
        if (host.releases.length === 0) output.out(`${hosts.length > 1 ? '  ' : ''}no releases on ${colour} yet: git push ${colour} main`);
        for (const id of host.releases) output.out(`${hosts.length > 1 ? '  ' : ''}${id === host.current ? '*' : ' '} ${id}`);
      }
    });

  program
    .command('activate')
    .description("point every host's current at one of its releases (atomically)")
    .argument('<colour>', 'blue or green')
    .argument('<release>', 'a release id from `bluegreen releases`')
    .option('--force', "activate the live colour's release even when the schema guard refuses (recorded in history)")
    .action(async (colourArg: string, release: string, options: { force?: boolean }) => {
      const colour = parseColour(colourArg);
      const config = loadConfig(['deploy-ssh']);
      const by = os.userInfo().username;
      const provider = createProvider(config);
      const say = (line: string) => output.err(line);
      // Which colour is live decides the schema guard and the restart hooks' BLUEGREEN_LIVE.
      const liveColour = () =>
        provider.liveColour().catch((error: unknown) => {
          throw new Error(`${provider.description}: ${messageOf(error)}`, { cause: error });
        });
      const revision = await withNotices(config, output, async (notify) => {
        try {
          const activated = await activateRelease(config, colour, release, by, { say, liveColour, force: options.force });
          notify({ event: 'activate', ok: true, colour, revision: activated ?? null, by, message: `${colour}: current -> releases/${release}` });
          return activated;
        } catch (error) {
          notify({ event: 'activate', ok: false, colour, revision: null, by, message: `activating release ${release} on ${colour} failed: ${messageOf(error)}` });
          throw error;
        }
      }).finally(() => provider.close());
      output.out(`${colour}: current -> releases/${release}${revision ? ` (${shortSha(revision)})` : ''}`);
    });
}
