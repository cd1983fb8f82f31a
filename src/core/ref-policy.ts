import { UserError } from './errors.js';
import { isFullSha } from './release-id.js';

export const DEPLOY_REF = 'refs/heads/main';
export const ZERO_SHA = '0'.repeat(40);

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
}

/**
 * Which updates of a push deploy: only main does; other branches and tags are stored. Deleting main is
 * refused (main names what the host serves). A force-push of an older commit is a legitimate redeploy.
 */
export function decideRefUpdates(updates: readonly RefUpdateLike[]): RefDecision {
  let deploy: RefUpdateLike | undefined;
  const stored: string[] = [];
  for (const update of updates) {
    if (!isFullSha(update.newrev) || !isFullSha(update.oldrev)) throw new UserError(`refused: malformed update of ${update.ref}`);
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
  return { deploy, stored };
}
