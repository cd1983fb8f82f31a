import pLimit from 'p-limit';
import { appendHistory } from '../adapters/state/history.js';
import { acquireLock } from '../adapters/state/locks.js';
import { readSchemaVersion } from '../adapters/state/schema-version.js';
import type { Colour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { messageOf, UserError } from '../core/errors.js';
import { isReleaseId } from '../core/release-id.js';
import { forcePastGuard, refuseServing } from '../core/schema-guard.js';
import { createTargets } from './create-targets.js';
import { hostsFailed, onEvery } from './on-every-host.js';
import { revisionRelease } from './schema-facts.js';
import type { DeployTarget, RestartContext, TargetState } from './targets/target.js';

export interface HostReleases {
  host: string;
  current: string | null;
  /** Newest first. */
  releases: string[];
}

async function readAll(targets: readonly DeployTarget[], parallel: number): Promise<TargetState[]> {
  const limit = pLimit(Math.max(1, parallel));
  return Promise.all(targets.map((target) => limit(() => target.inspect())));
}

async function closing<T>(targets: readonly DeployTarget[], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    await Promise.all(targets.map((t) => t.close().catch(() => undefined)));
  }
}

/** Every host's releases of a colour. */
export async function listReleases(config: Config, colour: Colour): Promise<HostReleases[]> {
  const targets = await createTargets(config, colour);
  return closing(targets, async () => {
    const states = await readAll(targets, config.parallel);
    return targets.map((target, i) => ({ host: target.label, current: states[i]?.current ?? null, releases: [...(states[i]?.releases ?? [])].reverse() }));
  });
}

export interface ActivateOptions {
  say?: (line: string) => void;
  /** The colour taking production traffic, as the provider reports it (undefined: none); throws when it cannot tell. */
  liveColour?: () => Promise<Colour | undefined>;
  /** Activate the live colour's release even when the schema guard refuses (recorded in history). */
  force?: boolean;
}

/**
 * Points every host of the colour at `release`, under the colour's lock; refused, naming the hosts, when some
 * host lacks it, and by the schema guard when the colour is live and the release does not work with the
 * database's version. Records the activation. Returns the revision it serves.
 */
export async function activateRelease(config: Config, colour: Colour, release: string, by: string, options: ActivateOptions = {}): Promise<string | undefined> {
  if (!isReleaseId(release)) {
    throw new UserError(`${JSON.stringify(release)} is not a release id (yyyymmddHHMMSS-sha12)`, { exitCode: 2, hint: `list them with \`bluegreen releases ${colour}\`` });
  }
  const targets = await createTargets(config, colour);
  const lock = await acquireLock(config.dataDir, colour, { holder: by, purpose: 'activate' }, { waitMs: config.lockWaitMs });
  try {
    return await closing(targets, async () => {
      const states = await readAll(targets, config.parallel);
      const lacking = targets.filter((_t, i) => !states[i]?.releases.includes(release)).map((t) => t.label);
      if (lacking.length === targets.length) {
        throw new UserError(`${colour} has no release ${release}`, { hint: `list them with \`bluegreen releases ${colour}\`` });
      }
      if (lacking.length > 0) {
        throw new UserError(`refused: release ${release} is missing on ${lacking.length} of ${targets.length} hosts of ${colour} (${lacking.join(', ')}); nothing was changed`, {
          hint: `every host of a colour serves the same release: pick one all hosts have (\`bluegreen releases ${colour}\`), or deploy with \`bluegreen deploy ${colour}\``,
        });
      }
      const say = options.say ?? (() => undefined);
      const live = await isLive(config, colour, release, options, say);
      const note = live ? await guardActivation(config, colour, release, options.force, say) : undefined;
      const restart: RestartContext = { colour, pusher: by, live, timeoutSeconds: config.hookTimeoutSeconds, say };
      const { failed } = await onEvery(targets, config.parallel, (target) => target.activate(release, restart));
      if (failed.length > 0) {
        // Every host back where it was, restarted there.
        await onEvery(targets, config.parallel, async (target, i) => {
          const previous = states[i]?.current;
          if (previous && previous !== release) await target.activate(previous, restart);
        });
        throw hostsFailed(`activating ${release}`, colour, failed, targets.length, 'every host is back on the release it served before');
      }
      const after = await readAll(targets, config.parallel);
      const revision = after[0]?.currentRevision;
      await appendHistory(config.dataDir, { type: 'activate', at: new Date().toISOString(), colour, release, revision, by, ...(note ? { note } : {}) });
      return revision;
    });
  } finally {
    await lock.release();
  }
}

/**
 * Whether `colour` is live, as the provider says. When it cannot tell, the colour is taken as idle — unless the
 * database records a schema version, which the guard could then not protect: refused, unless forced.
 */
async function isLive(config: Config, colour: Colour, release: string, options: ActivateOptions, say: (line: string) => void): Promise<boolean> {
  try {
    return (await options.liveColour?.()) === colour;
  } catch (error) {
    if (readSchemaVersion(config.dataDir) !== undefined && !options.force) {
      throw new UserError(`refused: cannot tell whether ${colour} is live (${messageOf(error)}), so the schema guard cannot check release ${release}; nothing was changed`, {
        hint: `try again once the provider answers, or activate anyway: \`bluegreen activate ${colour} ${release} --force\``,
      });
    }
    say(`could not tell which colour is live (${messageOf(error)}): ${colour} is taken as idle`);
    return false;
  }
}

/** The schema guard for a release that would serve production at once (the live colour's). */
async function guardActivation(config: Config, colour: Colour, release: string, force: boolean | undefined, say: (line: string) => void): Promise<string | undefined> {
  const database = readSchemaVersion(config.dataDir)?.version;
  if (database === undefined) return undefined;
  const guarded = await revisionRelease(config.dataDir, colour, release.slice(-12));
  const override = `bluegreen activate ${colour} ${release} --force`;
  return forcePastGuard(guarded && refuseServing({ database, release: guarded, action: `activating ${release} on the live colour ${colour}`, override }), force, say);
}
