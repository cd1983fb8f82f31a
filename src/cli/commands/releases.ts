import type { Command } from 'commander';
import { appendHistory } from '../../adapters/state/history.js';
import { acquireLock } from '../../adapters/state/locks.js';
import { createTransport } from '../../adapters/transport/create-transport.js';
import { isReleaseId } from '../../core/release-id.js';
import { activateCommand } from '../../core/remote-commands.js';
import { remoteFailure } from '../../core/remote-failure.js';
import { UserError } from '../../core/errors.js';
import { inspectHost } from '../../deploy/targets/posix-releases.js';
import { parseColour } from '../arguments.js';
import { loadConfig } from '../load-config.js';
import { type Output, printJson } from '../output.js';
import os from 'node:os';

export function registerReleases(program: Command, output: Output): void {
  program
    .command('releases')
    .description("list a host's releases, newest first; * marks current")
    .argument('<colour>', 'blue or green')
    .option('--json', 'print JSON')
    .action(async (colourArg: string, options: { json?: boolean }) => {
      const colour = parseColour(colourArg);
      const config = loadConfig(['deploy-ssh']);
      const transport = createTransport(config.hosts[colour], config);
      try {
        const host = await inspectHost(transport, config.hosts[colour].appRoot);
        const releases = [...host.releases].reverse().map((id) => ({ id, current: id === host.current }));
        if (options.json) return printJson(output, { colour, current: host.current ?? null, releases });
        if (releases.length === 0) return output.out(`no releases on ${colour} yet: git push ${colour} main`);
        for (const release of releases) output.out(`${release.current ? '*' : ' '} ${release.id}`);
      } finally {
        await transport.close();
      }
    });

  program
    .command('activate')
    .description("point a host's current at one of its releases (atomically)")
    .argument('<colour>', 'blue or green')
    .argument('<release>', 'a release id from `bluegreen releases`')
    .action(async (colourArg: string, release: string) => {
      const colour = parseColour(colourArg);
      if (!isReleaseId(release)) {
        throw new UserError(`${JSON.stringify(release)} is not a release id (yyyymmddHHMMSS-sha12)`, {
          exitCode: 2,
          hint: `list them with \`bluegreen releases ${colour}\``,
        });
      }
      const config = loadConfig(['deploy-ssh']);
      const host = config.hosts[colour];
      const transport = createTransport(host, config);
      const lock = await acquireLock(config.dataDir, colour, { holder: os.userInfo().username, purpose: 'activate' }, { waitMs: config.lockWaitMs });
      try {
        const result = await transport.exec(activateCommand(host.appRoot, release));
        if (result.code === 3) {
          throw new UserError(`${colour} has no release ${release}`, { hint: `list them with \`bluegreen releases ${colour}\`` });
        }
        if (result.code !== 0) throw remoteFailure('activating the release', `${colour} (${transport.label})`, host.appRoot, result);
        const state = await inspectHost(transport, host.appRoot);
        await appendHistory(config.dataDir, {
          type: 'activate',
          at: new Date().toISOString(),
          colour,
          release,
          revision: state.currentRevision,
          by: os.userInfo().username,
        });
        output.out(`${colour}: current -> releases/${release}${state.currentRevision ? ` (${state.currentRevision.slice(0, 12)})` : ''}`);
      } finally {
        await lock.release();
        await transport.close();
      }
    });
}
