import type { Transport } from '../../adapters/transport/transport.js';
import { planDeploy } from '../../core/deploy-plan.js';
import { diskFullError, parseDiskUsage } from '../../core/disk-full.js';
import { messageOf, UserError } from '../../core/errors.js';
import { formatBytes, formatSeconds } from '../../core/format.js';
import {
  type Argv,
  type HostState,
  SESSION,
  SESSION_HOST_CHANGED,
  SESSION_SHARED_MISSING,
  activateCommand,
  diskUsageCommand,
  inspectCommand,
  parseInspect,
} from '../../core/remote-commands.js';
import { isDiskFull, remoteFailure } from '../../core/remote-failure.js';
import { DEFAULT_HOOK_TIMEOUT_SECONDS, type HookContext, type HookName } from '../../core/app-hooks.js';
import { DeploySession } from './deploy-session.js';
import { runHook } from './run-hook.js';
import { type DeployTarget, type PrepareInput, type PreparedRelease, type RestartContext, type TargetState, TargetChangedError } from './target.js';

/** Reads what a host has now. */
export async function inspectHost(transport: Transport, appRoot: string): Promise<HostState> {
  const result = await transport.exec(inspectCommand(appRoot));
  if (result.code !== 0) throw remoteFailure('reading the host', transport.label, appRoot, result);
  return parseInspect(result.stdout);
}

const stateOf = (host: HostState): TargetState => ({ releases: host.releases, current: host.current, currentRevision: host.currentRevision });

/**
 * A host with the releases layout (`releases/<id>`, `current` switched by rename), reached over a transport
 * (SSH, or this machine). Only what changed is sent; everything else is hard-linked or recycled (see
 * deploySessionCommand). A deploy is one session on the host; the host's state is read only when this
 * target does not know it (first deploy, or after something else changed the host, which the session detects).
 */
export class PosixReleasesTarget implements DeployTarget {
  readonly label: string;
  /** The last deploy's session, until it has tidied up; the next one waits for it. */
  private previous: Promise<void> = Promise.resolve();
  /** What the host holds, as read or as the last session left it; undefined when not known. */
  private known: HostState | undefined;
  /** The last deploy's session (it may still wait for its next control line). */
  private session: DeploySession | undefined;

  constructor(
    readonly transport: Transport,
    readonly appRoot: string,
    readonly colourName: string,
  ) {
    this.label = transport.label;
  }

  async inspect(): Promise<TargetState> {
    await this.previous;
    this.known ??= await inspectHost(this.transport, this.appRoot);
    return stateOf(this.known);
  }

  private where(): string {
    return `${this.colourName} (${this.label})`;
  }

  private async run(step: string, argv: Argv): Promise<void> {
    const result = await this.transport.exec(argv);
    if (result.code !== 0) throw remoteFailure(step, this.where(), this.appRoot, result);
  }

  async prepare(input: PrepareInput): Promise<PreparedRelease> {
    const { reader, revision, say } = input;
    const host = this.known ?? (await inspectHost(this.transport, this.appRoot));
    // From here until the session reports the host's state, the host is not what was read.
    this.known = undefined;
    const phases: Record<string, number> = {};
    const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        return await work();
      } finally {
        phases[phase] = Date.now() - t0;
      }
    };
    if (host.appRootExists && !host.writable) {
      throw new UserError(`cannot deploy to ${this.where()}: the app root ${this.appRoot} is not writable by the deploy user`, {
        hint: `give the deploy user the app root: \`bluegreen provision ${this.colourName}\``,
      });
    }
    const { changes, spareChanges, treeChanges, tree } = await timed('diff', async () => {
      const changes = host.currentRevision ? await reader.diff(host.currentRevision, revision) : undefined;
      const spareChanges = changes && host.spareRevision ? await reader.diff(host.spareRevision, revision) : undefined;
      const treeKnown = host.tree !== undefined && host.tree !== 'unknown';
      const treeChanges = treeKnown && host.tree ? await reader.diff(host.tree, revision) : undefined;
      const full = host.tree === undefined ? !changes : !treeChanges;
      return { changes, spareChanges, treeChanges, tree: full ? await reader.listTree(revision) : [] };
    });
    const app = input.app;
    const hooks = app?.hooks ?? new Set<HookName>();
    const owned = app && (hooks.size > 0 || app.shared.length > 0) ? { copy: hooks.size > 0 ? ('real' as const) : ('link' as const), shared: app.shared } : undefined;
    const plan = planDeploy({
      colour: input.colour,
      appRoot: this.appRoot,
      revision,
      release: input.release,
      keepReleases: input.keepReleases,
      host,
      changes,
      spareChanges,
      treeChanges,
      tree,
      owned,
    });
    const { added, changed, removed } = plan.counts;
    say(
      plan.base
        ? `files: ${added} added, ${changed} changed, ${removed} removed since ${plan.base}`
        : `files: ${added} (full deploy${host.current ? ': the current release is not from this repository' : ''})`,
    );

    const archive = plan.send.length > 0 ? reader.tar(revision, plan.send) : undefined;
    const session = new DeploySession(this.transport, plan.session, plan.removals, archive);
    this.session = session;
    this.previous = session.finished.then(
      () => undefined,
      () => undefined,
    );
    if (!(await timed('send', () => session.reached(SESSION.staged)))) {
      archive?.destroy();
      const result = await session.finished.catch(async (error: unknown) => {
        // The connection or the archive failed: whatever was staged goes.
        await this.runQuietly(plan.discard);
        throw error;
      });
      if (result.code === SESSION_HOST_CHANGED) throw new TargetChangedError(this.label);
      await this.runQuietly(plan.discard);
      if (result.code === SESSION_SHARED_MISSING) {
        const missing = (result.stdout.split('\n').find((l) => l.startsWith(SESSION.sharedMissing)) ?? '').slice(SESSION.sharedMissing.length + 1);
        throw new UserError(`cannot deploy to ${this.where()}: the shared file ${missing} (BLUEGREEN_SHARED_PATHS) is missing on the host`, {
          hint: `create ${this.appRoot}/shared/${missing} on the host (as the deploy user): a shared file is configuration or a secret, never made up`,
        });
      }
      throw await this.explainDiskFull(remoteFailure('sending files', this.where(), this.appRoot, result), input.keepReleases);
    }
    say(`sent ${formatBytes(session.bytesSent)} in ${formatSeconds(phases.send ?? 0)}`);
    for (const line of session.linesBefore(SESSION.staged)) if (line.startsWith('shared: ')) say(line);

    const sayHost = input.sayHost ?? say;
    const context = (release: string, previous: string | undefined, revisionOf: string): HookContext => ({
      colour: input.colour,
      revision: revisionOf,
      release,
      appRoot: this.appRoot,
      previous,
      host: this.label,
      pusher: app?.pusher ?? '',
      live: app?.live ?? false,
    });
    const hook = (name: HookName, dir: string, ctx: HookContext, quietIfAbsent = false) =>
      runHook({ transport: this.transport, where: this.where(), appRoot: this.appRoot, hook: name, dir, context: ctx, timeoutSeconds: app?.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS, say: sayHost, quietIfAbsent });
    const staged = `${this.appRoot}/${plan.staging}`;
    if (hooks.has('build')) {
      try {
        await timed('build', () => hook('build', staged, context(plan.release, host.current, revision)));
      } catch (error) {
        session.end();
        await session.finished.catch(() => undefined);
        await this.runQuietly(plan.discard);
        throw error;
      }
    }
    const restartPrevious = async () => {
      if (!host.current || !host.currentRevision) return;
      await hook('restart', `${this.appRoot}/releases/${host.current}`, context(host.current, undefined, host.currentRevision), true).catch((error: unknown) =>
        say(`after switching back: ${messageOf(error)}`),
      );
    };

    const target = this;
    const prepared: PreparedRelease = {
      release: plan.release,
      base: plan.base,
      counts: plan.counts,
      bytesSent: session.bytesSent,
      phases,
      async commit() {
        session.send('switch');
        if (!(await timed('switch', () => session.reached(SESSION.switched)))) {
          throw remoteFailure('switching current', target.where(), target.appRoot, await session.finished);
        }
        say(`current -> releases/${plan.release} (switched in ${formatSeconds(phases.switch ?? 0)})`);
        if (!hooks.has('restart')) return;
        try {
          await timed('restart', () => hook('restart', `${target.appRoot}/releases/${plan.release}`, context(plan.release, host.current, revision)));
        } catch (error) {
          await prepared.revert();
          throw error;
        }
      },
      async revert() {
        session.end();
        await session.finished.catch(() => undefined);
        await target.run('switching back', plan.revert);
        say(`current -> ${host.current ? `releases/${host.current}` : 'nothing'} again (switched back)`);
        await restartPrevious();
      },
      async migrate() {
        if (!hooks.has('migrate')) return;
        await timed('migrate', () => hook('migrate', staged, context(plan.release, host.current, revision)));
      },
      async discard() {
        session.end();
        const result = await session.finished.catch(() => undefined);
        if (result?.code !== 0) await target.runQuietly(plan.discard);
      },
      finish(log) {
        session.send('finish');
        session.end();
        target.previous = session.finished
          .then((result) => {
            const state = session.linesAfter(SESSION.state);
            if (result.code !== 0 || state.length === 0) throw remoteFailure('tidying up', target.where(), target.appRoot, result);
            target.known = parseInspect(state.join('\n'));
          })
          .catch((error: unknown) => log(`after the deploy to ${target.where()}: ${messageOf(error)}`));
      },
    };
    return prepared;
  }

  async activate(release: string, restart?: RestartContext): Promise<void> {
    const before = restart ? (this.known ?? (await inspectHost(this.transport, this.appRoot))).current : undefined;
    this.known = undefined;
    await this.run(`activating ${release}`, activateCommand(this.appRoot, release));
    if (!restart) return;
    const host = (this.known = await inspectHost(this.transport, this.appRoot));
    await runHook({
      transport: this.transport,
      where: this.where(),
      appRoot: this.appRoot,
      hook: 'restart',
      dir: `${this.appRoot}/releases/${release}`,
      context: {
        colour: restart.colour,
        revision: host.currentRevision ?? '',
        release,
        appRoot: this.appRoot,
        previous: before,
        host: this.label,
        pusher: restart.pusher,
        live: restart.live,
      },
      timeoutSeconds: restart.timeoutSeconds,
      say: (line) => restart.say(`[${this.label}] ${line}`),
      quietIfAbsent: true,
    });
  }

  /** Runs a clean-up command; its failure is not the deploy's (the next deploy's session clears leftovers). */
  private async runQuietly(argv: Argv): Promise<void> {
    await this.transport.exec(argv).catch(() => undefined);
  }

  /** A full disk is explained by what fills it; other errors pass through. */
  private async explainDiskFull(error: UserError, keepReleases: number): Promise<UserError> {
    if (!isDiskFull(error.message)) return error;
    const usage = await this.transport.exec(diskUsageCommand(this.appRoot)).catch(() => undefined);
    if (!usage || usage.code !== 0) return error;
    return diskFullError('sending files', this.where(), this.appRoot, parseDiskUsage(usage.stdout), keepReleases);
  }

  async idle(): Promise<void> {
    await this.previous;
  }

  /** Ends a session still waiting for its next step (one never switched is discarded, one never finished is not tidied). */
  async close(): Promise<void> {
    this.session?.end();
    await this.idle();
    await this.transport.close();
  }
}
