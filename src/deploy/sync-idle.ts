import { copyRevision } from '../adapters/git/copy-revision.js';
import { repoPath } from '../adapters/git/repos.js';
import { RevisionReader } from '../adapters/git/revisions.js';
import { deployedRevision, readHistory } from '../adapters/state/history.js';
import { type Colour, otherColour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { UserError } from '../core/errors.js';
import type { Notice } from '../core/notification.js';
import { DEPLOY_REF } from '../core/ref-policy.js';
import { deployRevision } from './deploy-revision.js';
import { shortSha } from '../core/format.js';

export interface SyncOptions {
  config: Config;
  /** The login name. */
  by: string;
  /** The colour production traffic goes to (the provider's answer). */
  liveColour: () => Promise<Colour | undefined>;
  say: (line: string) => void;
  /** Asked with what would change before anything does (a person at a terminal); false cancels. */
  confirm?: (lines: string[]) => Promise<boolean>;
  notify?: (notice: Notice) => void;
}


/**
 * `bluegreen sync`: deploys the revision the live colour serves to the idle colour (a warm standby), through the
 * same engine as a push; the idle colour's main moves to it and history notes `sync`. Resolves to the closing line.
 */
export async function syncIdle(options: SyncOptions): Promise<string> {
  const { config, say } = options;
  const live = await options.liveColour();
  if (!live) {
    throw new UserError('refused: no colour is live yet, so there is no live revision to sync', { hint: 'make a colour live first: `bluegreen flip blue`' });
  }
  const idle = otherColour(live);
  const history = await readHistory(config.dataDir);
  const serving = deployedRevision(history, live);
  if (!serving) {
    throw new UserError(`refused: bluegreen has no deploy of ${live} (the live colour) on record, so it cannot tell which revision to sync`, {
      hint: `deploy the live colour through bluegreen once: \`git push -o force-live ${live} main\``,
    });
  }
  const idleServes = deployedRevision(history, idle)?.revision;
  const idleMain = await new RevisionReader(repoPath(config.dataDir, idle)).resolve(DEPLOY_REF);
  if (idleServes === serving.revision && idleMain === serving.revision) {
    const line = `${idle} already serves ${shortSha(serving.revision)}, ${live}'s revision: nothing to sync`;
    say(line);
    return line;
  }
  const plan = [`sync: deploy ${live}'s revision ${shortSha(serving.revision)} to ${idle} (which serves ${idleServes ? shortSha(idleServes) : 'nothing yet'}); ${idle}'s main moves to it`];
  if (options.confirm && !(await options.confirm(plan))) throw new UserError(`sync cancelled; ${idle} unchanged`);
  say(plan[0] as string);
  await copyRevision(repoPath(config.dataDir, live), repoPath(config.dataDir, idle), serving.revision);
  return deployRevision({
    config,
    colour: idle,
    revision: serving.revision,
    forceLive: false,
    by: options.by,
    liveColour: options.liveColour,
    say,
    notify: options.notify,
    note: 'sync',
  });
}
