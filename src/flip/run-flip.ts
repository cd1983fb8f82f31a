import { checkHealth, readRevision, verifyTiming, waitUntilServing } from '../adapters/http/checks.js';
import type { Provider } from '../adapters/providers/provider.js';
import { type FlipRecord, appendHistory, deployedRevision, readHistory } from '../adapters/state/history.js';
import { type Lock, acquireLock, readLock } from '../adapters/state/locks.js';
import { COLOURS, type Colour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { messageOf, UserError } from '../core/errors.js';
import type { Notice } from '../core/notification.js';
import { type FlipPlan, type FlipStep, describeFlipPlan, describeStep, planFlip } from '../core/flip-plan.js';
import { formatSeconds, shortSha } from '../core/format.js';
import { resolveHosts } from '../deploy/resolve-hosts.js';
import { readSchemaVersion } from '../adapters/state/schema-version.js';
import { forcePastGuard, refuseServing } from '../core/schema-guard.js';
import { revisionRelease } from '../deploy/schema-facts.js';

export interface FlipOptions {
  config: Config;
  provider: Provider;
  target: Colour;
  by: string;
  say: (line: string) => void;
  dryRun?: boolean;
  /** Flip even when the schema guard refuses (recorded in history). */
  force?: boolean;
  /** Asked with the plan before anything moves (only on a TTY); false cancels. */
  confirm?: (planLines: string[]) => Promise<boolean>;
  /** How the flip is announced: a `rollback` is a flip back to the colour live before the last flip. Default `flip`. */
  event?: 'flip' | 'rollback';
  /** Told the outcome once the flip ended (not for a dry run, a cancelled one, or one to the colour already live). */
  notify?: (notice: Notice) => void;
}

export type FlipOutcome = 'flipped' | 'already-live' | 'dry-run';

/** Gathers the facts a flip is decided on: the provider's live colour, deployed revisions, locks. */
async function flipFacts(config: Config, provider: Provider, target: Colour) {
  const [live, history, blue, green, hosts] = await Promise.all([
    provider.liveColour(),
    readHistory(config.dataDir),
    readLock(config.dataDir, 'blue'),
    readLock(config.dataDir, 'green'),
    // The target's hosts as they are now (found again by tag or scale set): each one is verified.
    resolveHosts(config, target),
  ]);
  const deployed: Partial<Record<Colour, string>> = {};
  for (const colour of COLOURS) deployed[colour] = deployedRevision(history, colour)?.revision;
  return {
    target,
    live,
    deployed,
    busy: { blue, green },
    hostUrls: { [target]: hosts.map((h) => h.url) },
    publicUrl: config.publicUrl,
    healthPath: config.healthPath,
    provider: provider.description,
  };
}

/**
 * verify the target → move traffic → verify through the public address → record. If the public check
 * fails, traffic goes back where it was (verified too) and the flip fails saying so.
 */
export async function runFlip(given: FlipOptions): Promise<FlipOutcome> {
  // A provider that knows where production answers (App Service) stands in for an unset BLUEGREEN_PUBLIC_URL.
  const publicUrl = given.config.publicUrl ?? (await given.provider.productionUrl?.());
  const options = { ...given, config: { ...given.config, publicUrl } };
  const { config, target } = options;
  const event = options.event ?? 'flip';
  const notify = (notice: Omit<Notice, 'by'>) => options.notify?.({ ...notice, by: options.by });
  // Every flip that was meant to happen ends in a notice: a success, or a failure (unless a flip back said more).
  let told = false;
  let revision = null as string | null;
  const tell = (notice: Omit<Notice, 'by'>) => {
    told = true;
    notify(notice);
  };
  try {
    const outcome = await planAndFlip(options, tell, {
      planned: (planned) => (revision = planned),
      // A person said no: nobody's flip failed, nothing to tell.
      cancelled: () => (told = true),
    });
    if (outcome === 'flipped') tell({ event, ok: true, colour: target, revision, message: `${target} is live (${revision ? shortSha(revision) : '?'}), verified through ${config.publicUrl}` });
    return outcome;
  } catch (error) {
    if (!told) notify({ event, ok: false, colour: target, revision, message: messageOf(error) });
    throw error;
  }
}

async function planAndFlip(
  options: FlipOptions,
  tell: (notice: Omit<Notice, 'by'>) => void,
  on: { planned: (revision: string | null) => void; cancelled: () => void },
): Promise<FlipOutcome> {
  const { config, provider, target, say } = options;
  const facts = await flipFacts(config, provider, target);
  const plan = planFlip(facts);
  on.planned(plan.revision || null);
  const lines = describeFlipPlan(plan);
  if (options.dryRun) {
    for (const line of lines) say(line);
    say('dry run: nothing was changed');
    return 'dry-run';
  }
  if (options.confirm && !(await options.confirm(lines))) {
    on.cancelled();
    throw new UserError(`flip cancelled; production unchanged (${plan.from ?? 'no colour'} is live)`);
  }
  return flipLocked(options, plan, facts.deployed, tell);
}

/** Under both colours' locks: verify, move, verify, record; on a failed public check, the flip back. */
async function flipLocked(
  options: FlipOptions,
  plan: FlipPlan,
  deployed: Partial<Record<Colour, string>>,
  tell: (notice: Omit<Notice, 'by'>) => void,
): Promise<'flipped' | 'already-live'> {
  const { config, target, say } = options;
  const note = await guardSchema(options, plan);
  const locks = await lockBoth(config.dataDir, options.by);
  const started = Date.now();
  const phases: Record<string, number> = {};
  const record = (outcome: FlipRecord['outcome'], error?: string) =>
    appendHistory(config.dataDir, {
      type: 'flip',
      at: new Date().toISOString(),
      from: plan.from,
      to: target,
      revisions: deployed,
      by: options.by,
      outcome,
      ...(error ? { error } : {}),
      ...(note ? { note } : {}),
      durationMs: Date.now() - started,
      phases,
    });
  try {
    const [verifyHost, ...rest] = plan.steps;
    if (verifyHost) await runStep(verifyHost, options, phases, plan);
    if (plan.alreadyLive) {
      say(`${target} is live already (${shortSha(plan.revision)}), and healthy: nothing to move`);
      return 'already-live';
    }
    for (const step of rest) {
      try {
        await runStep(step, options, phases, plan);
      } catch (error) {
        if (step.step !== 'verify-public') {
          await record('failed', messageOf(error));
          throw error;
        }
        await flipBack(plan, options, phases, error as Error, record, tell);
      }
    }
    await record('flipped');
    say(`${target} is live (${shortSha(plan.revision)}), verified through ${config.publicUrl}, in ${formatSeconds(Date.now() - started)}`);
    return 'flipped';
  } finally {
    for (const lock of locks) await lock.release();
  }
}

/**
 * Refuses a flip to a colour whose release does not work with the database's recorded schema version, unless
 * forced (then says so, and returns the note history records).
 */
async function guardSchema(options: FlipOptions, plan: FlipPlan): Promise<string | undefined> {
  const database = readSchemaVersion(options.config.dataDir)?.version;
  if (database === undefined || plan.alreadyLive) return undefined;
  const release = await revisionRelease(options.config.dataDir, options.target, plan.revision);
  const override = options.event === 'rollback' ? 'bluegreen rollback --force' : `bluegreen flip ${options.target} --force`;
  return forcePastGuard(release && refuseServing({ database, release, action: `flipping to ${options.target}`, override }), options.force, options.say);
}

/** Both colours' locks, always in the same order; none held if either is taken. */
async function lockBoth(dataDir: string, by: string): Promise<Lock[]> {
  const locks: Lock[] = [];
  try {
    for (const colour of COLOURS) locks.push(await acquireLock(dataDir, colour, { holder: by, purpose: 'flip' }, { waitMs: 0 }));
  } catch (error) {
    for (const lock of locks) await lock.release();
    throw error;
  }
  return locks;
}

async function flipBack(
  plan: FlipPlan,
  options: FlipOptions,
  phases: Record<string, number>,
  cause: Error,
  record: (outcome: FlipRecord['outcome'], error?: string) => Promise<void>,
  tell: (notice: Omit<Notice, 'by'>) => void,
): Promise<never> {
  const { say, target } = options;
  if (!plan.from) {
    await record('failed', cause.message);
    throw new UserError(`${cause.message}. No colour was live before, so there is nothing to flip back to: production now points at ${target}`, {
      hint: `fix ${target} and check ${options.config.publicUrl}, or flip again once it serves the right revision`,
    });
  }
  say(`the check through the public address failed: ${cause.message}`);
  say(`flipping back to ${plan.from}`);
  // One notice for the flip that failed, one for the flip back.
  const from = plan.from;
  const backRevision = plan.flipBack.find((step) => step.step === 'verify-public')?.revision ?? null;
  const tellBoth = (back: { ok: boolean; message: string }) => {
    tell({ event: options.event ?? 'flip', ok: false, colour: target, revision: plan.revision, message: `the check through the public address failed: ${cause.message}` });
    tell({ event: 'flip-back', ok: back.ok, colour: from, revision: backRevision, message: back.message });
  };
  try {
    for (const step of plan.flipBack) await runStep(step, options, phases, plan);
  } catch (backError) {
    await record('failed', `${cause.message}; flipping back failed: ${(backError as Error).message}`);
    const live = await options.provider.liveColour().catch(() => undefined);
    tellBoth({ ok: false, message: `flipping back to ${from} failed: ${(backError as Error).message}; production now points at: ${live ?? 'unknown'}` });
    throw new UserError(
      `flip to ${target} failed (${cause.message}), and flipping back to ${plan.from} failed too (${(backError as Error).message}). ` +
        `Production now points at: ${live ?? 'unknown'}`,
      { hint: `check ${options.config.publicUrl} by hand, then \`bluegreen flip ${plan.from}\`` },
    );
  }
  await record('flipped-back', cause.message);
  // With no deploy of the old colour on record there is no revision to check the public address against.
  const verified = plan.flipBack.some((step) => step.step === 'verify-public')
    ? 'verified'
    : `not verified (bluegreen has no deploy of ${plan.from} on record to check ${options.config.publicUrl} against)`;
  tellBoth({ ok: true, message: `${from} is live again, ${verified}` });
  throw new UserError(`flip to ${target} failed the check through the public address (${cause.message}); flipped back: ${plan.from} is live again, ${verified}`, {
    hint: `see what ${target} serves at ${plan.steps.flatMap((step) => (step.step === 'verify-host' ? [step.url] : [])).join(', ')} and through ${options.config.publicUrl}`,
  });
}

async function runStep(step: FlipStep, options: FlipOptions, phases: Record<string, number>, plan: FlipPlan): Promise<void> {
  const { config, provider, say } = options;
  const t0 = Date.now();
  const timing = verifyTiming(config.verifyTimeoutMs);
  say(`${describeStep(step)} ...`);
  switch (step.step) {
    case 'verify-host': {
      const health = await checkHealth(step.url, step.healthPath, timing);
      if (!health.ok) {
        const which = step.hosts > 1 ? `${step.colour}'s host ${step.url}` : step.colour;
        throw new UserError(`refused: ${which} is not healthy: ${health.summary}. Production unchanged: ${plan.from ?? 'no colour'} is live`, {
          hint: `fix ${step.colour}, or push a working revision: git push ${step.colour} main`,
        });
      }
      const serving = await readRevision(step.url);
      if (serving !== step.revision) {
        throw new UserError(
          `refused: ${step.hosts > 1 ? `${step.colour}'s host ${step.url}` : step.colour} serves ${shortSha(serving)}, but its last deploy was ${shortSha(step.revision)}. Production unchanged: ${plan.from ?? 'no colour'} is live`,
          { hint: `redeploy it (git push ${step.colour} main), or check BLUE_URL/GREEN_URL point at the right hosts` },
        );
      }
      break;
    }
    case 'move':
      try {
        await provider.moveTraffic(step.to, say);
      } catch (error) {
        const live = await provider.liveColour().catch(() => undefined);
        const now = live ?? `unknown (it cannot be read now; before this flip it was ${plan.from ?? 'no colour'})`;
        throw new UserError(`moving traffic to ${step.to} failed: ${messageOf(error)}. Production now points at: ${now}`, {
          hint: error instanceof UserError ? error.hint : undefined,
        });
      }
      break;
    case 'verify-public':
      await waitUntilServing(step.url, step.healthPath, step.revision, `${step.colour}'s`, timing);
      break;
  }
  phases[step.step === 'move' ? `move-${step.to}` : `${step.step}-${step.colour}`] = Date.now() - t0;
}
