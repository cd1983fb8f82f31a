import { Readable } from 'node:stream';
import type { RevisionReader } from '../adapters/git/revisions.js';
import type { Transport } from '../adapters/transport/transport.js';
import type { Colour } from '../core/colour.js';
import { type DeployPlan, planDeploy } from '../core/deploy-plan.js';
import { UserError } from '../core/errors.js';
import { type Argv, type HostState, inspectCommand, parseInspect } from '../core/remote-commands.js';
import { remoteFailure } from '../core/remote-failure.js';
import { refusedSymlinks, symlinkRefusal } from '../core/symlinks.js';
import { SUBMODULE_MODE, type TreeEntry } from '../core/tree-changes.js';
import { formatBytes, formatSeconds } from '../core/format.js';

export interface DeployOptions {
  colour: Colour;
  revision: string;
  appRoot: string;
  keepReleases: number;
  transport: Transport;
  reader: RevisionReader;
  say: (line: string) => void;
  /** Aborted when the push can no longer succeed: the release is then never switched to. */
  interrupted?: AbortSignal;
  now?: Date;
}

export interface DeployResult {
  plan: DeployPlan;
  bytesSent: number;
  durationMs: number;
  phases: Record<string, number>;
  /**
   * Work to run after the push is answered: prepares the next deploy's copy of this release (the next deploy
   * to this colour waits for it), then deletes old releases (nothing waits for that).
   */
  prepareNext: () => Promise<void>;
  deletePruned: () => Promise<void>;
}

/** Reads what a host has now. */
export async function inspectHost(transport: Transport, appRoot: string): Promise<HostState> {
  const result = await transport.exec(inspectCommand(appRoot));
  if (result.code !== 0) throw remoteFailure('reading the host', transport.label, appRoot, result);
  return parseInspect(result.stdout);
}

/**
 * Puts `revision` into a new release on the host and switches `current` to it. Only what changed since the
 * host's current release is sent; everything else is hard-linked from it.
 */
export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const { transport, reader, revision, appRoot, say } = options;
  const started = Date.now();
  const phases: Record<string, number> = {};
  const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await work();
    } finally {
      phases[phase] = Date.now() - t0;
    }
  };
  const run = async (step: string, argv: Argv, stdin?: Parameters<Transport['exec']>[1]) => {
    const result = await transport.exec(argv, stdin);
    if (result.code !== 0) throw remoteFailure(step, `${options.colour} (${transport.label})`, appRoot, result);
    return result;
  };

  say(`deploying ${revision.slice(0, 12)} to ${options.colour} on ${transport.label}, ${appRoot}`);
  const host = await timed('inspect', () => inspectHost(transport, appRoot));
  if (host.appRootExists && !host.writable) {
    throw new UserError(`cannot deploy to ${options.colour} (${transport.label}): the app root ${appRoot} is not writable by the deploy user`, {
      hint: `give the deploy user the app root: \`bluegreen provision ${options.colour}\``,
    });
  }

  const { changes, tree } = await timed('diff', async () => {
    const base = host.currentRevision;
    const diff = base ? (await reader.diff(base, revision))?.filter((c) => c.mode !== SUBMODULE_MODE) : undefined;
    if (diff) return { changes: diff, tree: [] };
    return { changes: undefined, tree: await reader.listTree(revision) };
  });
  await timed('check', () => refuseEscapingSymlinks(reader, revision, changes ? undefined : tree));

  const plan = planDeploy({
    colour: options.colour,
    appRoot,
    revision,
    now: options.now ?? new Date(),
    keepReleases: options.keepReleases,
    host,
    changes,
    tree,
  });
  const { added, changed, removed } = plan.counts;
  say(
    plan.base
      ? `files: ${added} added, ${changed} changed, ${removed} removed since ${plan.base}`
      : `files: ${added} (full deploy${host.current ? ': the current release is not from this repository' : ''})`,
  );

  const archive = plan.send.length > 0 ? reader.tar(revision, plan.send) : undefined;
  const upload = await timed('send', () => run('sending files', plan.stage, { stdin: withPrefix(plan.removals, archive) }));
  const bytesSent = upload.bytesSent;
  say(`sent ${formatBytes(bytesSent)} in ${formatSeconds(phases.send ?? 0)}`);
  // The last moment to back out: after the switch the host serves the new release.
  options.interrupted?.throwIfAborted();
  await timed('switch', () => run('switching current', plan.finalize));
  say(`current -> releases/${plan.release} (switched in ${formatSeconds(phases.switch ?? 0)})`);
  const durationMs = Date.now() - started;
  say(`deployed ${revision.slice(0, 12)} to ${options.colour} in ${formatSeconds(durationMs)}`);
  const after = (step: string, argv: Argv) => async () => {
    const result = await transport.exec(argv);
    if (result.code !== 0) throw remoteFailure(step, `${options.colour} (${transport.label})`, appRoot, result);
  };
  return {
    plan,
    bytesSent,
    durationMs,
    phases,
    prepareNext: after('preparing the next release', plan.prepareNext),
    deletePruned: after('deleting old releases', plan.deletePruned),
  };
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

/**
 * Refuses a revision with a symlink that leads outside the release. All the new tree's links are checked, not
 * only the changed ones: a link can escape through another that was already there. `tree`: the revision's
 * listing, when the deploy has it already.
 */
async function refuseEscapingSymlinks(reader: RevisionReader, revision: string, tree: readonly TreeEntry[] | undefined) {
  const refused = refusedSymlinks(await reader.symlinks(revision, tree));
  if (refused.length > 0) throw symlinkRefusal(refused);
}
