import type { RevisionReader } from '../adapters/git/revisions.js';
import { appendHistory } from '../adapters/state/history.js';
import { type Lock, acquireLock } from '../adapters/state/locks.js';
import { type Colour, otherColour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { freshReleaseId } from '../core/deploy-plan.js';
import { messageOf, UserError } from '../core/errors.js';
import { DEPLOY_REF, ZERO_SHA } from '../core/ref-policy.js';
import { reconcileHosts } from './reconcile.js';
import { hostsFailed, onEvery } from './on-every-host.js';
import { type PreparedDeploy, createPreparedDeploy } from './prepared-deploy.js';
import { refuseEscapingSymlinks } from './refuse-escaping-symlinks.js';
import { readSchemaVersion, writeSchemaVersion } from '../adapters/state/schema-version.js';
import { forcePastGuard, refuseMigration } from '../core/schema-guard.js';
import { type AppSpec, readAppSpec } from './app-spec.js';
import { servedRelease } from './schema-facts.js';
import { type AppRun, type DeployTarget, type PreparedRelease, type TargetState, TargetChangedError } from './targets/target.js';
import { shortSha } from '../core/format.js';

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
  /** How the deploy came about, in history, when not by a push or `bluegreen deploy`: `sync`. */
  note?: string;
  /** Deploy even when the schema guard refuses the migration (`git push -o force-schema`, `bluegreen deploy --force`). */
  forceSchema?: boolean;
}

export interface DeployEngine {
  /** Takes the colour's lock and prepares the release on every target. */
  prepare(request: DeployRequest): Promise<PreparedDeploy>;
  /** Resolves once the work that runs after deploys (preparing copies, pruning) is done. */
  idle(): Promise<void>;
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
      throw new UserError(`refused: main on ${colour} moved to ${shortSha(mainNow)} while this push waited; nothing was deployed`, {
        hint: `fetch ${colour} and push again (or push -f to replace it)`,
      });
    }
    await refuseEscapingSymlinks(reader, revision, mainNow === ZERO_SHA ? undefined : mainNow);
    const spec = await readAppSpec(reader, revision);
    const schemaNote = await guardSchema(request, config, spec, live);

    const targets = await deps.targets(colour);
    for (const target of targets) usedTargets.add(target);
    const several = targets.length > 1;
    // Lines said after the push's first answer go to whoever asks for them next (see commit).
    let sayNow = request.say;
    const sayFor = (target: DeployTarget) => (line: string) => sayNow(several ? `[${target.label}] ${line}` : line);
    const sayHost = (target: DeployTarget) => (line: string) => sayNow(`[${target.label}] ${line}`);
    request.say(`deploying ${shortSha(revision)} to ${colour} on ${several ? `${targets.length} hosts` : `${targets[0]?.label}, ${targets[0]?.appRoot}`}`);
    for (const line of spec.hooks.skipped) request.say(line);
    const app: AppRun | undefined =
      spec.hooks.run.size > 0 || config.sharedPaths.length > 0
        ? { hooks: spec.hooks.run, shared: config.sharedPaths, timeoutSeconds: config.hookTimeoutSeconds, pusher: request.by, live: live === colour }
        : undefined;

    const { release, pairs } = await prepareEverywhere(request, config, targets, mainNow, sayFor, app, sayHost);
    const first = pairs[0];
    if (spec.hooks.run.has('migrate') && first?.release.migrate) {
      try {
        await first.release.migrate();
      } catch (error) {
        await Promise.all(pairs.map((p) => p.release.discard()));
        throw new UserError(`${messageOf(error)}; no host was switched`, { hint: error instanceof UserError ? error.hint : undefined, cause: error });
      }
      if (spec.schema.migratesTo !== undefined) {
        writeSchemaVersion(config.dataDir, { version: spec.schema.migratesTo, colour, revision, at: new Date().toISOString() });
        request.say(`the database is at schema version ${spec.schema.migratesTo} now`);
      }
    }
    // The last moment to back out: after the switch the hosts serve the new release.
    if (request.signal?.aborted) {
      await Promise.all(pairs.map((p) => p.release.discard()));
      throw request.signal.reason;
    }

    return createPreparedDeploy({
      colour,
      revision,
      release,
      by: request.by,
      // Both say how the deploy came about: `sync`, and a schema guard it was forced past.
      note: [request.note, schemaNote].filter((n) => n !== undefined).join('; ') || undefined,
      dataDir: config.dataDir,
      parallel: config.parallel,
      pairs,
      lock,
      started,
      log: deps.log,
      sayTo: (say) => {
        sayNow = say;
      },
    });
  }

  /** Refuses a migration the live colour's release cannot work with (or notes that it was forced). */
  async function guardSchema(request: DeployRequest, config: Config, spec: AppSpec, live: Colour | undefined): Promise<string | undefined> {
    if (!spec.hooks.run.has('migrate') || spec.schema.migratesTo === undefined || !live) return undefined;
    const refusal = refuseMigration({
      database: readSchemaVersion(config.dataDir)?.version,
      incoming: { colour: request.colour, revision: request.revision, schema: spec.schema },
      live: await servedRelease(config.dataDir, live),
    });
    return forcePastGuard(refusal, request.forceSchema, request.say);
  }

  /**
   * Reads every target (a target that knows its state from its last deploy does not ask), reconciles, and
   * prepares the release everywhere; if a target turns out to have changed behind the server's back, all
   * over once more, reading it afresh.
   */
  async function prepareEverywhere(
    request: DeployRequest,
    config: Config,
    targets: DeployTarget[],
    mainNow: string,
    sayFor: (target: DeployTarget) => (line: string) => void,
    app: AppRun | undefined,
    sayHost: (target: DeployTarget) => (line: string) => void,
  ): Promise<{ release: string; pairs: { target: DeployTarget; release: PreparedRelease }[] }> {
    const { colour, revision, reader } = request;
    for (let attempt = 1; ; attempt++) {
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
        target.prepare({
          colour,
          revision,
          release,
          state: states[index] as TargetState,
          reader,
          keepReleases: config.keepReleases,
          say: sayFor(target),
          ...(app ? { app, sayHost: sayHost(target) } : {}),
        }),
      );
      const done = prepared.done.map((d) => ({ target: d.target, release: d.value }));
      if (prepared.failed.length === 0) return { release, pairs: done };
      await Promise.all(done.map((d) => d.release.discard()));
      const changed = prepared.failed.every((f) => f.error instanceof TargetChangedError);
      if (!(changed && attempt === 1)) throw hostsFailed('preparing the release', colour, prepared.failed, targets.length, 'no host was switched');
    }
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
      ...(request.note === undefined ? {} : { note: request.note }),
    });
  }

  return {
    prepare,
    idle: async () => void (await Promise.all([...usedTargets].map((t) => t.idle()))),
  };
}
