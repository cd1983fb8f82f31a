import { UserError } from './errors.js';
import { isFullSha } from './release-id.js';
import { shortSha } from './format.js';

export const DEPLOY_REF = 'refs/heads/main';
export const ZERO_SHA = '0'.repeat(40);

/** `git push -o VALUE` values bluegreen understands. */
export const PUSH_OPTIONS = ['force-live', 'flip', 'no-flip', 'force-schema'] as const;
export type PushOption = (typeof PUSH_OPTIONS)[number];

export interface RefUpdateLike {
  oldrev: string;
  newrev: string;
  ref: string;
}

export interface RefDecision {
  /** The update of main to deploy, if the push moves main. */
  deploy: RefUpdateLike | undefined;
  /** Other refs, kept in the repository without deploying. */
  stored: string[];
  /** The push options given (each one known). */
  options: PushOption[];
}

const isPushOption = (value: string): value is PushOption => (PUSH_OPTIONS as readonly string[]).includes(value);

/**
 * Which updates of a push deploy: only main does; other branches and tags are stored. Refused, for the whole
 * push (before anything is deployed, so that git cannot refuse part of it afterwards): deleting main (main
 * names what the host serves), refs other than branches and tags, a tag named main (it makes `main` ambiguous in
 * every clone), a branch that would point at something other than a commit (git refuses that only after the
 * deploy hook), and unknown push options. A force-push of an older commit is a legitimate redeploy.
 *
 * `objectTypes` gives the type (`commit`, `tag`, `tree`, `blob`) of each pushed branch's new object.
 */
export function decideRefUpdates(
  updates: readonly RefUpdateLike[],
  pushOptions: readonly string[] = [],
  objectTypes: ReadonlyMap<string, string> = new Map(),
): RefDecision {
  const unknown = pushOptions.filter((o) => !isPushOption(o));
  if (unknown.length > 0) {
    throw new UserError(`refused: unknown push option ${unknown.map((o) => JSON.stringify(o)).join(', ')}; nothing was deployed`, {
      hint: `bluegreen understands ${PUSH_OPTIONS.map((o) => `-o ${o}`).join(', ')}`,
    });
  }
  if (pushOptions.includes('flip') && pushOptions.includes('no-flip')) {
    throw new UserError('refused: -o flip and -o no-flip contradict each other; nothing was deployed', {
      hint: 'give one of them: -o flip flips to the colour once its deploy succeeded, -o no-flip deploys without flipping',
    });
  }
  let deploy: RefUpdateLike | undefined;
  const stored: string[] = [];
  for (const update of updates) {
    if (!isFullSha(update.newrev) || !isFullSha(update.oldrev)) throw new UserError(`refused: malformed update of ${update.ref}`);
    if (!update.ref.startsWith('refs/heads/') && !update.ref.startsWith('refs/tags/')) {
      throw new UserError(`refused: ${update.ref} is not a branch or a tag; bluegreen keeps only refs/heads/* and refs/tags/*, and nothing of this push was taken`, {
        hint: 'push branches and tags only (e.g. `git push blue main`)',
      });
    }
    if (update.ref === 'refs/tags/main') {
      throw new UserError('refused: a tag named main would make `main` ambiguous in every clone (git push blue main would stop working); nothing of this push was taken', {
        hint: 'give the tag another name (git tag -d main; git tag NAME), and push again',
      });
    }
    const type = objectTypes.get(update.newrev);
    if (update.ref.startsWith('refs/heads/') && update.newrev !== ZERO_SHA && type !== undefined && type !== 'commit') {
      const branch = update.ref.slice('refs/heads/'.length);
      throw new UserError(`refused: ${update.ref} would point at a ${type} object (${shortSha(update.newrev)}), and a branch must point at a commit; nothing of this push was taken`, {
        hint: `push the commit itself: \`git push REMOTE ${branch}^{commit}:${branch}\``,
      });
    }
    if (update.ref !== DEPLOY_REF) {
      stored.push(update.ref);
      continue;
    }
    if (update.newrev === ZERO_SHA) {
      throw new UserError('refused: deleting main is not allowed, it names what the host serves', {
        hint: 'to take a colour out of service, flip traffic away from it: `bluegreen flip`',
      });
    }
    deploy = update;
  }
  return { deploy, stored, options: pushOptions.filter(isPushOption) };
}

/**
 * Whether a push flips to its colour once its deploy stood: `flip` when asked for (`-o flip`); `auto` when the
 * lifecycle makes it the default (`BLUEGREEN_AUTO_FLIP=true`) and `-o no-flip` does not opt out, which flips only
 * a colour that was idle (a force-live deploy to the live colour has nothing to flip).
 */
export function decidePushFlip(options: readonly PushOption[], autoFlip: boolean): 'flip' | 'auto' | undefined {
  if (options.includes('flip')) return 'flip';
  if (autoFlip && !options.includes('no-flip')) return 'auto';
  return undefined;
}
