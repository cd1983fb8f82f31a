import { appendHistory } from '../adapters/state/history.js';
import type { Lock } from '../adapters/state/locks.js';
import type { Colour } from '../core/colour.js';
import { formatSeconds, shortSha } from '../core/format.js';
import { hostsFailed, onEvery } from './on-every-host.js';
import type { DeployTarget, PreparedRelease } from './targets/target.js';
import { messageOf } from '../core/errors.js';

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

/**
 * The colour's prepared releases as one deploy: switched together (the switched go back if one fails), then
 * settled once — recorded and tidied when it stood, put back when it did not — and the lock released.
 */
export function createPreparedDeploy(options: {
  colour: Colour;
  revision: string;
  release: string;
  by: string;
  /** How the deploy came about, in history (`sync`; a schema guard it was forced past). */
  note?: string;
  dataDir: string;
  parallel: number;
  /** Each target with what was prepared on it, in the colour's host order. */
  pairs: readonly { target: DeployTarget; release: PreparedRelease }[];
  /** The colour's lock, held until the deploy is settled. */
  lock: Lock;
  /** When the deploy started (for durations). */
  started: number;
  log: (line: string) => void;
  /** Where the targets' progress lines go from `commit` on. */
  sayTo: (say: (line: string) => void) => void;
}): PreparedDeploy {
  const { colour, revision, release, pairs, lock, started, log } = options;
  const targets = pairs.map((p) => p.target);
  const releases = pairs.map((p) => p.release);
  const several = targets.length > 1;
  let committed = false;
  let settled: Promise<void> | undefined;
  let finishedAt = 0;
  const record = (outcome: 'deployed' | 'failed', error?: string) =>
    appendHistory(options.dataDir, {
      type: 'deploy',
      at: new Date().toISOString(),
      colour,
      revision,
      release: outcome === 'deployed' ? release : '',
      by: options.by,
      outcome,
      ...(error === undefined ? {} : { error }),
      ...(options.note === undefined ? {} : { note: options.note }),
      durationMs: (finishedAt || Date.now()) - started,
      hosts: targets.map((t) => t.label),
      files: releases[0]?.counts ?? { added: 0, changed: 0, removed: 0 },
      bytesSent: releases.reduce((sum, r) => sum + r.bytesSent, 0),
    });
  const releaseOf = (target: DeployTarget) => (pairs.find((p) => p.target === target) as (typeof pairs)[number]).release;
  const switchBack = async (switchedTargets: readonly DeployTarget[]) => {
    const back = await onEvery(switchedTargets, options.parallel, (target) => releaseOf(target).revert());
    for (const f of back.failed) log(`deploy to ${colour}: could not switch ${f.target.label} back: ${messageOf(f.error)}`);
  };

  return {
    colour,
    revision,
    release,
    hosts: pairs.map(({ target, release: r }) => ({ host: target.label, base: r.base, counts: r.counts, bytesSent: r.bytesSent, phases: r.phases })),
    get committed() {
      return committed;
    },
    async commit(say) {
      options.sayTo(say);
      const switched = await onEvery(targets, options.parallel, (target) => releaseOf(target).commit());
      if (switched.failed.length > 0) {
        await switchBack(switched.done.map((d) => d.target));
        await Promise.all(switched.failed.map((f) => releaseOf(f.target).discard()));
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
            for (const r of releases) r.finish(log);
            return;
          }
          if (committed) await switchBack(targets);
          else await Promise.all(releases.map((r) => r.discard()));
          await record('failed', outcome.reason);
        } finally {
          await lock.release();
        }
      })();
      return settled;
    },
    summary: () => `deployed ${shortSha(revision)} to ${colour}${several ? ` (${targets.length} hosts)` : ''} in ${formatSeconds((finishedAt || Date.now()) - started)}`,
  };
}
