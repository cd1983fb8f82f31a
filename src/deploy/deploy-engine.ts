import pLimit from 'p-limit';
import type { RevisionReader } from '../adapters/git/revisions.js';
import { appendHistory } from '../adapters/state/history.js';
import { type Lock, acquireLock } from '../adapters/state/locks.js';
import { type Colour, otherColour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { freshReleaseId } from '../core/deploy-plan.js';
import { UserError } from '../core/errors.js';
import { formatSeconds } from '../core/format.js';
import { DEPLOY_REF, ZERO_SHA } from '../core/ref-policy.js';
import { reconcileHosts } from './reconcile.js';
import { refuseEscapingSymlinks } from './refuse-escaping-symlinks.js';
import type { DeployTarget, PreparedRelease, TargetState } from './targets/target.js';

export interface DeployEngineDeps {
  /** The configuration in force now (it can change while the server runs). */
  config: () => Config;
  /** The colour's deploy targets, with warm connections (looked up again at every deploy: hosts may come and go). */
  targets: (colour: Colour) => DeployTarget[] | Promise<DeployTarget[]>;
  /** The colour production traffic goes to, or undefined when none is live yet. */
  liveColour: () => Promise<Colour | undefined>;
  /** Where failures of work done after a deploy is answered are reported. */
  log: (line: string) => void;
  /** The clock release ids are stamped with. */
  now?: () => Date;
}

export interface DeployRequest {
  colour: Colour;
  revision: string;
  /** Who deploys: the pusher, or the login name for a CLI command. */
  by: string;
  /** Reads the revision (from a push's quarantine, for a push). */
  reader: RevisionReader;
  say: (line: string) => void;
  /** The deploy to the live colour was asked for (`git push -o force-live`). */
  forceLive: boolean;
  /** `main` must still be this when the lock is taken (what the pusher saw), or nothing is deployed. */
  expectedMain?: string;
  /** Aborted when the deploy can no longer stand (the pusher hung up): nothing is then switched. */
  signal?: AbortSignal;
}

/** A release ready on every target of the colour, under the colour's lock, not yet switched to. */
export interface PreparedDeploy {
  readonly colour: Colour;
  readonly revision: string;
  readonly release: string;
  /** Switches every target; if one fails, those that switched go back, and it throws naming the failures. */
  commit(say: (line: string) => void): Promise<void>;
  /**
   * Ends the deploy, once: when it stood, records it and starts the tidying; otherwise every target goes back
   * (or drops what was prepared) and the failure is recorded. Releases the lock.
   */
  settle(outcome: { stood: true } | { stood: false; reason: string }): Promise<void>;
  /** Whether `commit` succeeded. */
  readonly committed: boolean;
  /** What each host was given, in the colour's host order. */
  readonly hosts: readonly { host: string; base: string | undefined; counts: PreparedRelease['counts']; bytesSent: number; phases: Record<string, number> }[];
  /** The closing line: `deployed abc123def456 to blue (2 hosts) in 1.3 s`. */
  summary(): string;
}

export interface DeployEngine {
  /** Takes the colour's lock and prepares the release on every target. */
  prepare(request: DeployRequest): Promise<PreparedDeploy>;
  /** Resolves once the work that runs after deploys (preparing copies, pruning) is done. */
  idle(): Promise<void>;
}

interface HostFailure {
  target: DeployTarget;
  error: unknown;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** One error naming every host that failed and why. */
function hostsFailed(action: string, colour: Colour, failures: readonly HostFailure[], total: number, then: string): UserError {
  if (total === 1 && failures[0]) {
    const only = failures[0].error;
    if (only instanceof UserError) return new UserError(`${only.message}; ${then}`, { hint: only.hint, cause: only });
    return new UserError(`${action} failed on ${colour} (${failures[0].target.label}): ${messageOf(only)}; ${then}`, { cause: only });
  }
  const lines = failures.map((f) => `  ${f.target.label}: ${messageOf(f.error)}`);
  const hints = [...new Set(failures.flatMap((f) => (f.error instanceof UserError && f.error.hint ? [f.error.hint] : [])))];
  return new UserError(`${action} failed on ${failures.length} of ${total} hosts of ${colour}; ${then}:\n${lines.join('\n')}`, {
    hint: hints.join('; ') || undefined,
  });
}

/** Runs `work` on every target, at most `parallel` at once, and sorts the outcomes. */
async function onEvery<T>(targets: readonly DeployTarget[], parallel: number, work: (target: DeployTarget, index: number) => Promise<T>) {
  const limit = pLimit(Math.max(1, parallel));
  const outcomes = await Promise.allSettled(targets.map((target, index) => limit(() => work(target, index))));
  const done: { target: DeployTarget; value: T }[] = [];
  const failed: HostFailure[] = [];
  outcomes.forEach((outcome, index) => {
    const target = targets[index] as DeployTarget;
    if (outcome.status === 'fulfilled') done.push({ target, value: outcome.value });
    else failed.push({ target, error: outcome.reason });
  });
  return { done, failed };
}

/** Deploys a revision to every target of a colour: lock, prepare everywhere, barrier, switch everywhere. */
export function createDeployEngine(deps: DeployEngineDeps): DeployEngine {
  const usedTargets = new Set<DeployTarget>();

  async function prepare(request: DeployRequest): Promise<PreparedDeploy> {
    const { colour } = request;
    const config = deps.config();
    const lock = await acquireLock(
      config.dataDir,
      colour,
      { holder: request.by, purpose: 'deploy' },
      {
        waitMs: config.lockWaitMs,
        onWait: (holder) => request.say(`waiting: ${colour} is busy with a ${holder.purpose} by ${holder.holder} since ${holder.since}`),
      },
    );
    const started = Date.now();
    try {
      return await prepareLocked(request, config, lock, started);
    } catch (caught) {
      const error: unknown = request.signal?.aborted ? request.signal.reason : caught;
      await recordFailure(config, request, started, error);
      await lock.release();
      throw error;
    }
  }

  async function prepareLocked(request: DeployRequest, config: Config, lock: Lock, started: number): Promise<PreparedDeploy> {
    const { colour, revision, reader } = request;
    // Both checks under the lock: a flip or another deploy may have run while this one waited.
    const [live, mainNow] = await Promise.all([deps.liveColour(), reader.resolve(DEPLOY_REF).then((sha) => sha ?? ZERO_SHA)]);
    if (live === colour && !request.forceLive) {
      throw new UserError(`refused: ${colour} is live, it serves production traffic`, {
        hint: `deploy to ${otherColour(colour)} and flip, or deploy to the live colour anyway: \`git push -o force-live\` (\`bluegreen deploy ${colour} --force-live\`)`,
      });
    }
    if (live === colour) request.say(`force-live: deploying to ${colour}, which serves production traffic`);
    // git updates the ref only if it still holds what the pusher saw; a push that waited for another
    // deploy would otherwise deploy and then fail to move main.
    if (request.expectedMain !== undefined && mainNow !== request.expectedMain) {
      throw new UserError(`refused: main on ${colour} moved to ${mainNow.slice(0, 12)} while this push waited; nothing was deployed`, {
        hint: `fetch ${colour} and push again (or push -f to replace it)`,
      });
    }
    await refuseEscapingSymlinks(reader, revision);

    const targets = await deps.targets(colour);
    for (const target of targets) usedTargets.add(target);
    const several = targets.length > 1;
    // Lines said after the push's first answer go to whoever asks for them next (see commit).
    let sayNow = request.say;
    const sayFor = (target: DeployTarget) => (line: string) => sayNow(several ? `[${target.label}] ${line}` : line);
    request.say(`deploying ${revision.slice(0, 12)} to ${colour} on ${several ? `${targets.length} hosts` : `${targets[0]?.label}, ${targets[0]?.appRoot}`}`);

    const inspected = await onEvery(targets, config.parallel, (target) => target.inspect());
    if (inspected.failed.length > 0) throw hostsFailed('reading the host', colour, inspected.failed, targets.length, 'nothing was deployed');
    const { states } = await reconcileHosts({
      colour,
      dataDir: config.dataDir,
      main: mainNow === ZERO_SHA ? undefined : mainNow,
      targets,
      states: inspected.done.map((d) => d.value as TargetState),
      say: request.say,
      deploying: true,
    });
    const release = freshReleaseId(deps.now?.() ?? new Date(), revision, states.flatMap((s) => s.releases));

    const prepared = await onEvery(targets, config.parallel, (target, index) =>
      target.prepare({ colour, revision, release, state: states[index] as TargetState, reader, keepReleases: config.keepReleases, say: sayFor(target) }),
    );
    const releases = prepared.done.map((d) => d.value);
    const discardAll = () => Promise.all(releases.map((r) => r.discard()));
    if (prepared.failed.length > 0) {
      await discardAll();
      throw hostsFailed('preparing the release', colour, prepared.failed, targets.length, 'no host was switched');
    }
    // The last moment to back out: after the switch the hosts serve the new release.
    if (request.signal?.aborted) {
      await discardAll();
      throw request.signal.reason;
    }

    let committed = false;
    let settled: Promise<void> | undefined;
    let finishedAt = 0;
    const record = (outcome: 'deployed' | 'failed', error?: string) =>
      appendHistory(config.dataDir, {
        type: 'deploy',
        at: new Date().toISOString(),
        colour,
        revision,
        release: outcome === 'deployed' ? release : '',
        by: request.by,
        outcome,
        ...(error === undefined ? {} : { error }),
        durationMs: (finishedAt || Date.now()) - started,
        hosts: targets.map((t) => t.label),
        files: releases[0]?.counts ?? { added: 0, changed: 0, removed: 0 },
        bytesSent: releases.reduce((sum, r) => sum + r.bytesSent, 0),
      });
    const pairs = prepared.done.map((d) => ({ target: d.target, release: d.value as PreparedRelease }));

    return {
      colour,
      revision,
      release,
      hosts: pairs.map(({ target, release: r }) => ({ host: target.label, base: r.base, counts: r.counts, bytesSent: r.bytesSent, phases: r.phases })),
      get committed() {
        return committed;
      },
      async commit(say) {
        sayNow = say;
        const switched = await onEvery(
          pairs.map((p) => p.target),
          config.parallel,
          (_target, index) => (pairs[index] as (typeof pairs)[number]).release.commit(),
        );
        if (switched.failed.length > 0) {
          const back = await onEvery(
            switched.done.map((d) => d.target),
            config.parallel,
            (target) => (pairs.find((p) => p.target === target) as (typeof pairs)[number]).release.revert(),
          );
          for (const f of back.failed) deps.log(`deploy to ${colour}: could not switch ${f.target.label} back: ${messageOf(f.error)}`);
          await Promise.all(pairs.filter((p) => switched.failed.some((f) => f.target === p.target)).map((p) => p.release.discard()));
          throw hostsFailed('switching current', colour, switched.failed, targets.length, `${several ? 'the hosts that switched went back; ' : ''}nothing was deployed`);
        }
        committed = true;
        finishedAt = Date.now();
      },
      settle(outcome) {
        settled ??= (async () => {
          try {
            if (outcome.stood) {
              await record('deployed');
              for (const p of pairs) p.release.finish(deps.log);
              return;
            }
            if (committed) {
              const back = await onEvery(pairs.map((p) => p.target), config.parallel, (_t, index) => (pairs[index] as (typeof pairs)[number]).release.revert());
              for (const f of back.failed) deps.log(`deploy to ${colour}: could not switch ${f.target.label} back: ${messageOf(f.error)}`);
            } else await discardAll();
            await record('failed', outcome.reason);
          } finally {
            await lock.release();
          }
        })();
        return settled;
      },
      summary: () => `deployed ${revision.slice(0, 12)} to ${colour}${several ? ` (${targets.length} hosts)` : ''} in ${formatSeconds((finishedAt || Date.now()) - started)}`,
    };
  }

  async function recordFailure(config: Config, request: DeployRequest, started: number, error: unknown): Promise<void> {
    await appendHistory(config.dataDir, {
      type: 'deploy',
      at: new Date().toISOString(),
      colour: request.colour,
      revision: request.revision,
      release: '',
      by: request.by,
      outcome: 'failed',
      error: messageOf(error),
      durationMs: Date.now() - started,
    });
  }

  return {
    prepare,
    idle: async () => void (await Promise.all([...usedTargets].map((t) => t.idle()))),
  };
}
