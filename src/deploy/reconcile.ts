import pLimit from 'p-limit';
import { RevisionReader } from '../adapters/git/revisions.js';
import { appendHistory, readHistory } from '../adapters/state/history.js';
import { acquireLock } from '../adapters/state/locks.js';
import type { Colour } from '../core/colour.js';
import { DEPLOY_REF } from '../core/ref-policy.js';
import { type ReconcileStep, planReconcile } from '../core/reconcile-plan.js';
import type { DeployTarget, TargetState } from './targets/target.js';
import { shortSha } from '../core/format.js';

const short = (revision: string | undefined) => (revision ? shortSha(revision) : 'nothing');

/** What history says a colour serves: its last deploy or activation, and whether that was an activation. */
async function recordedState(dataDir: string, colour: Colour): Promise<{ recorded: string | undefined; activated: string | undefined }> {
  for (const record of await readHistory(dataDir)) {
    if (record.type === 'deploy' && record.colour === colour && record.outcome === 'deployed') return { recorded: record.revision, activated: undefined };
    if (record.type === 'activate' && record.colour === colour && record.revision) return { recorded: record.revision, activated: record.revision };
  }
  return { recorded: undefined, activated: undefined };
}

/**
 * With the colour's lock held and its hosts read: puts back every host that serves what git never accepted,
 * records a deploy that stood but was not recorded, and says which way each went. Returns the hosts' states
 * after it.
 */
export async function reconcileHosts(options: {
  colour: Colour;
  dataDir: string;
  main: string | undefined;
  targets: readonly DeployTarget[];
  states: readonly TargetState[];
  say: (line: string) => void;
  /** A deploy follows at once: a host without main's release is what it brings, nothing to say. */
  deploying?: boolean;
}): Promise<{ steps: ReconcileStep[]; states: TargetState[] }> {
  const { colour, main, targets, say } = options;
  const states = [...options.states];
  if (!main) return { steps: [], states };
  const hosts = targets.map((target, i) => ({ label: target.label, ...(states[i] as TargetState) }));
  const steps = planReconcile({ colour, main, hosts, ...(await recordedState(options.dataDir, colour)) });
  for (const step of steps) {
    const index = step.kind === 'record' ? -1 : targets.findIndex((t) => t.label === step.host);
    const target = targets[index];
    if (step.kind === 'activate' && target) {
      await target.activate(step.release);
      states[index] = await target.inspect();
      say(`reconciled ${colour}: ${step.host} served ${short(step.serving)}, which git never accepted; back on releases/${step.release} (main, ${short(main)})`);
    } else if (step.kind === 'deploy-needed' && !options.deploying) {
      say(`reconcile ${colour}: ${step.host} serves ${short(step.serving)} but main is ${short(main)} and no release of it is there; run \`bluegreen deploy ${colour}\``);
    } else if (step.kind === 'record') {
      await appendHistory(options.dataDir, {
        type: 'deploy',
        at: new Date().toISOString(),
        colour,
        revision: step.revision,
        release: step.release,
        by: 'bluegreen',
        outcome: 'deployed',
        durationMs: 0,
        note: 'recorded later: the server had stopped before recording this deploy',
      });
      say(`reconciled ${colour}: recorded the deploy of ${short(step.revision)} (releases/${step.release}), which the server had stopped before recording`);
    }
  }
  return { steps, states };
}

/** Reconciles a colour under its lock (see reconcileHosts), when the server starts. */
export async function reconcileColour(options: {
  colour: Colour;
  dataDir: string;
  repoDir: string;
  targets: readonly DeployTarget[];
  parallel: number;
  lockWaitMs: number;
  log: (line: string) => void;
}): Promise<ReconcileStep[]> {
  const { colour, targets, log } = options;
  const lock = await acquireLock(options.dataDir, colour, { holder: 'bluegreen', purpose: 'reconcile' }, { waitMs: options.lockWaitMs });
  try {
    const main = await new RevisionReader(options.repoDir).resolve(DEPLOY_REF);
    if (!main) return [];
    const limit = pLimit(Math.max(1, options.parallel));
    const read = await Promise.allSettled(targets.map((target) => limit(() => target.inspect())));
    const unreadable = read.flatMap((s, i) => (s.status === 'rejected' ? [`${targets[i]?.label}: ${(s.reason as Error).message}`] : []));
    if (unreadable.length > 0) {
      log(`reconcile ${colour}: cannot read every host, left as it is (${unreadable.join('; ')})`);
      return [];
    }
    const states = read.map((s) => (s as PromiseFulfilledResult<TargetState>).value);
    return (await reconcileHosts({ colour, dataDir: options.dataDir, main, targets, states, say: log })).steps;
  } finally {
    await lock.release();
  }
}
