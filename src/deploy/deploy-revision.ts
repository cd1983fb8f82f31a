import { repoPath } from '../adapters/git/repos.js';
import { RevisionReader } from '../adapters/git/revisions.js';
import { updateMain } from '../adapters/git/update-main.js';
import { type Colour, otherColour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { messageOf, UserError } from '../core/errors.js';
import type { Notice } from '../core/notification.js';
import { DEPLOY_REF, ZERO_SHA } from '../core/ref-policy.js';
import { createTargets } from './create-targets.js';
import { createDeployEngine } from './deploy-engine.js';
import { shortSha } from '../core/format.js';

export interface DeployRevisionOptions {
  config: Config;
  colour: Colour;
  /** A branch, tag or commit of the colour's repository; main when not given. */
  revision?: string;
  /** Deploy even when the colour is live (`--force-live`). */
  forceLive: boolean;
  /** Run the migration even when the schema guard refuses it (`--force`). */
  forceSchema?: boolean;
  /** Who deploys: the login name. */
  by: string;
  /** The colour production traffic goes to, or undefined when none is live yet (the provider's answer). */
  liveColour: () => Promise<Colour | undefined>;
  /** Progress, line by line as it happens. */
  say: (line: string) => void;
  /** Told the outcome (a `deploy` notice, or `sync` when `note` is sync). */
  notify?: (notice: Notice) => void;
  /** Why, in history: `sync` for `bluegreen sync`. */
  note?: 'sync';
}


function unknownRevision(colour: Colour, name: string): UserError {
  return new UserError(`unknown revision ${JSON.stringify(name)}: ${colour}'s repository has no such branch, tag or commit`, {
    hint:
      name === 'main'
        ? `nothing was pushed to ${colour} yet: \`git push ${colour} main\` deploys it`
        : `push it to ${colour} first: \`git push ${colour} ${name}\` stores a branch or tag there without deploying it (for a commit, push a branch that holds it)`,
  });
}

/**
 * `bluegreen deploy COLOUR [REVISION]`: deploys a revision of the colour's repository to every host of the colour
 * without a push (a host just added gets a full deploy, the others an incremental one), through the deploy
 * engine — same lock, progress and history as a push. When the revision is not main, main is moved to it under
 * the colour's lock once the hosts switched, so main keeps naming what the hosts serve. Resolves to the closing
 * line: `deployed abc123def456 to blue (2 hosts) in 1.3 s`.
 */
export async function deployRevision(options: DeployRevisionOptions): Promise<string> {
  const event = options.note ?? 'deploy';
  const tell = (ok: boolean, revision: string | null, message: string) =>
    options.notify?.({ event, ok, colour: options.colour, revision, by: options.by, message });
  let revision: string | undefined;
  try {
    const summary = await deployNamed(options, (resolved) => (revision = resolved));
    tell(true, revision ?? null, summary);
    return summary;
  } catch (error) {
    tell(false, revision ?? null, messageOf(error));
    throw error;
  }
}

async function deployNamed(options: DeployRevisionOptions, resolved: (revision: string) => void): Promise<string> {
  const { config, colour, say } = options;
  const repoDir = repoPath(config.dataDir, colour);
  const reader = new RevisionReader(repoDir);
  const name = options.revision ?? 'main';
  // A name starting with `-` would reach git as an option.
  const revision = name.startsWith('-') ? undefined : await reader.resolve(name);
  if (!revision) throw unknownRevision(colour, name);
  resolved(revision);
  const mainBefore = (await reader.resolve(DEPLOY_REF)) ?? ZERO_SHA;

  // Asked before waiting for the lock (the engine asks again under it, should a flip come in between).
  if ((await options.liveColour()) === colour && !options.forceLive) {
    throw new UserError(`refused: ${colour} is live, it serves production traffic`, {
      hint: `deploy to ${otherColour(colour)} and flip, or deploy to the live colour anyway with \`bluegreen deploy ${colour} --force-live\``,
    });
  }

  const targets = await createTargets(config, colour);
  const engine = createDeployEngine({ config: () => config, targets: () => targets, liveColour: options.liveColour, log: say });
  try {
    const deploy = await engine.prepare({ colour, revision, by: options.by, reader, say, forceLive: options.forceLive, note: options.note, forceSchema: options.forceSchema });
    try {
      // Under the colour's lock now: main moves only through a deploy, and none other runs.
      const main = (await reader.resolve(DEPLOY_REF)) ?? ZERO_SHA;
      if (main !== mainBefore) {
        throw new UserError(`refused: main on ${colour} moved to ${shortSha(main)} while this deploy waited; nothing was deployed`, {
          hint: `see \`bluegreen history\`, then run \`bluegreen deploy ${colour}${options.revision === undefined ? '' : ` ${options.revision}`}\` again if it is still wanted`,
        });
      }
      await deploy.commit(say);
      if (revision !== main) {
        try {
          await updateMain(repoDir, revision, main);
        } catch (error) {
          throw new UserError(`could not move main on ${colour} to ${shortSha(revision)} (${messageOf(error)}); the hosts were switched back`, { cause: error });
        }
        say(`main on ${colour}: ${main === ZERO_SHA ? 'none' : shortSha(main)} -> ${shortSha(revision)}`);
      }
    } catch (error) {
      await deploy.settle({ stood: false, reason: messageOf(error) });
      throw error;
    }
    await deploy.settle({ stood: true });
    return deploy.summary();
  } finally {
    // The work after a deploy (preparing the next release's copy, pruning) ends before the connections do.
    await engine.idle();
    await Promise.all(targets.map((target) => target.close().catch(() => undefined)));
  }
}
