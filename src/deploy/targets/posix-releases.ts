import { Readable } from 'node:stream';
import type { Transport } from '../../adapters/transport/transport.js';
import { planDeploy } from '../../core/deploy-plan.js';
import { diskFullError, parseDiskUsage } from '../../core/disk-full.js';
import { UserError } from '../../core/errors.js';
import { formatBytes, formatSeconds } from '../../core/format.js';
import { type Argv, type HostState, activateCommand, diskUsageCommand, inspectCommand, parseInspect } from '../../core/remote-commands.js';
import { isDiskFull, remoteFailure } from '../../core/remote-failure.js';
import type { DeployTarget, PrepareInput, PreparedRelease, TargetState } from './target.js';

/** Reads what a host has now. */
export async function inspectHost(transport: Transport, appRoot: string): Promise<HostState> {
  const result = await transport.exec(inspectCommand(appRoot));
  if (result.code !== 0) throw remoteFailure('reading the host', transport.label, appRoot, result);
  return parseInspect(result.stdout);
}

/**
 * A host with the releases layout (`releases/<id>`, `current` switched by rename), reached over a transport
 * (SSH, or this machine). Only what changed since the host's current release is sent; everything else is
 * hard-linked from it.
 */
export class PosixReleasesTarget implements DeployTarget {
  readonly label: string;
  /** The next deploy's copy of the last release being made; the next prepare waits for it. */
  private nextReady: Promise<void> = Promise.resolve();
  /** Deleting old releases; nothing waits for it but `idle`. */
  private pruning: Promise<void> = Promise.resolve();
  private writable = true;

  constructor(
    readonly transport: Transport,
    readonly appRoot: string,
    readonly colourName: string,
  ) {
    this.label = transport.label;
  }

  async inspect(): Promise<TargetState> {
    await this.nextReady;
    const host = await inspectHost(this.transport, this.appRoot);
    this.writable = !host.appRootExists || host.writable;
    return { releases: host.releases, current: host.current, currentRevision: host.currentRevision };
  }

  private where(): string {
    return `${this.colourName} (${this.label})`;
  }

  private async run(step: string, argv: Argv, stdin?: Readable): Promise<{ bytesSent: number }> {
    const result = await this.transport.exec(argv, stdin ? { stdin } : {});
    if (result.code !== 0) throw remoteFailure(step, this.where(), this.appRoot, result);
    return result;
  }

  async prepare(input: PrepareInput): Promise<PreparedRelease> {
    const { reader, revision, say, state } = input;
    const phases: Record<string, number> = {};
    const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        return await work();
      } finally {
        phases[phase] = Date.now() - t0;
      }
    };
    if (!this.writable) {
      throw new UserError(`cannot deploy to ${this.where()}: the app root ${this.appRoot} is not writable by the deploy user`, {
        hint: `give the deploy user the app root: \`bluegreen provision ${this.colourName}\``,
      });
    }
    const { changes, tree } = await timed('diff', async () => {
      const diff = state.currentRevision ? await reader.diff(state.currentRevision, revision) : undefined;
      return diff ? { changes: diff, tree: [] } : { changes: undefined, tree: await reader.listTree(revision) };
    });
    const host: HostState = { appRootExists: true, writable: true, ...state };
    const plan = planDeploy({ colour: input.colour, appRoot: this.appRoot, revision, release: input.release, keepReleases: input.keepReleases, host, changes, tree });
    const { added, changed, removed } = plan.counts;
    say(
      plan.base
        ? `files: ${added} added, ${changed} changed, ${removed} removed since ${plan.base}`
        : `files: ${added} (full deploy${state.current ? ': the current release is not from this repository' : ''})`,
    );

    const archive = plan.send.length > 0 ? reader.tar(revision, plan.send) : undefined;
    let bytesSent = 0;
    try {
      bytesSent = (await timed('send', () => this.run('sending files', plan.stage, withPrefix(plan.removals, archive)))).bytesSent;
    } catch (error) {
      archive?.destroy();
      await this.runQuietly(plan.discard);
      throw await this.explainDiskFull(error, input.keepReleases);
    }
    say(`sent ${formatBytes(bytesSent)} in ${formatSeconds(phases.send ?? 0)}`);

    const target = this;
    return {
      release: plan.release,
      base: plan.base,
      counts: plan.counts,
      bytesSent,
      phases,
      async commit() {
        await timed('switch', () => target.run('switching current', plan.finalize));
        say(`current -> releases/${plan.release} (switched in ${formatSeconds(phases.switch ?? 0)})`);
      },
      async revert() {
        await target.run('switching back', plan.revert);
        say(`current -> ${plan.base ? `releases/${plan.base}` : 'nothing'} again (switched back)`);
      },
      discard: () => target.runQuietly(plan.discard),
      finish(log) {
        const report = (step: string) => (error: unknown) => log(`after the deploy to ${target.where()}: ${step}: ${(error as Error).message}`);
        target.nextReady = target.run('preparing the next release', plan.prepareNext).then(() => undefined, report('preparing the next release'));
        const previous = target.pruning;
        target.pruning = Promise.all([target.nextReady, previous]).then(() =>
          target.run('deleting old releases', plan.deletePruned).then(() => undefined, report('deleting old releases')),
        );
      },
    };
  }

  async activate(release: string): Promise<void> {
    await this.run(`activating ${release}`, activateCommand(this.appRoot, release));
  }

  /** Runs a clean-up command; its failure is not the deploy's (the next deploy's stage clears leftovers). */
  private async runQuietly(argv: Argv): Promise<void> {
    await this.transport.exec(argv).catch(() => undefined);
  }

  /** A full disk is explained by what fills it; other errors pass through. */
  private async explainDiskFull(error: unknown, keepReleases: number): Promise<unknown> {
    if (!(error instanceof UserError) || !isDiskFull(error.message)) return error;
    const usage = await this.transport.exec(diskUsageCommand(this.appRoot)).catch(() => undefined);
    if (!usage || usage.code !== 0) return error;
    return diskFullError('sending files', this.where(), this.appRoot, parseDiskUsage(usage.stdout), keepReleases);
  }

  async idle(): Promise<void> {
    await Promise.all([this.nextReady, this.pruning]);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.transport.close();
  }
}

/** `prefix`, then everything `rest` yields. */
function withPrefix(prefix: Buffer, rest: Readable | undefined): Readable {
  if (!rest) return Readable.from([prefix]);
  return Readable.from(
    (async function* () {
      if (prefix.length > 0) yield prefix;
      for await (const chunk of rest) yield chunk as Buffer;
    })(),
  );
}
