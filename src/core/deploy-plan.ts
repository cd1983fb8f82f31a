import type { Colour } from './colour.js';
import { releaseId, releaseTime } from './release-id.js';
import { type Argv, type HostState, finalizeCommand, prepareNextCommand, pruneCommand, stageCommand } from './remote-commands.js';
import type { TreeChange, TreeEntry } from './tree-changes.js';

export interface DeployInput {
  colour: Colour;
  appRoot: string;
  revision: string;
  now: Date;
  keepReleases: number;
  host: HostState;
  /**
   * Changes from the host's current revision to `revision`, when the current revision is known to git;
   * undefined means a full deploy.
   */
  changes: TreeChange[] | undefined;
  /** The pushed tree's files, for a full deploy (unused when `changes` are given). */
  tree: readonly TreeEntry[];
}

export interface DeployPlan {
  colour: Colour;
  revision: string;
  release: string;
  /** The release the new one is built from (hard-linked), for an incremental deploy. */
  base: string | undefined;
  counts: { added: number; changed: number; removed: number };
  /** Files whose content is sent. */
  send: TreeEntry[];
  /** NUL-separated paths to remove from the staged copy: the start of the stage step's stdin. */
  removals: Buffer;
  /** Builds the release: stdin is `removals`, then the tar stream of `send` (when there is anything to send). */
  stage: Argv;
  /** Writes REVISION and switches `current` to the release. */
  finalize: Argv;
  /** Releases deleted after the switch, oldest first. */
  prune: string[];
  /** Off the push's clock: clears stale copies and prepares the next deploy's copy of the new release. */
  prepareNext: Argv;
  /** Off the push's clock, after `prepareNext`: deletes `prune`. */
  deletePruned: Argv;
}

/**
 * Names sort in deploy order: a release made in the same second as the newest one on the host (or while
 * the host's newest is stamped ahead of our clock) is stamped one second after that newest one.
 */
function freshReleaseId(now: Date, revision: string, existing: readonly string[]): string {
  const newestTime = [...existing].sort().map(releaseTime).at(-1);
  const newestMs = newestTime === undefined ? -Infinity : Date.parse(newestTime);
  // Release ids have whole seconds: compare at that grain.
  const nowMs = Math.floor(now.getTime() / 1000) * 1000;
  return releaseId(new Date(Math.max(nowMs, newestMs + 1000)), revision);
}

/**
 * Releases to delete once `current` points at the new release: the oldest beyond `keep`, never the new
 * release nor its predecessor (the rollback target).
 */
export function releasesToPrune(releases: readonly string[], keep: number, protect: readonly (string | undefined)[]): string[] {
  const sorted = [...releases].sort();
  const excess = sorted.length - keep;
  if (excess <= 0) return [];
  return sorted.slice(0, excess).filter((id) => !protect.includes(id));
}

/** Decides how to bring a host from its current release to `revision`. Pure. */
export function planDeploy(input: DeployInput): DeployPlan {
  const release = freshReleaseId(input.now, input.revision, input.host.releases);
  const staging = `releases/.staging-${release}`;
  const incremental = input.changes !== undefined && input.host.current !== undefined;
  const changes = incremental ? (input.changes ?? []) : [];
  const send = incremental
    ? changes.flatMap((c) => (c.mode !== undefined && c.blob !== undefined ? [{ path: c.path, mode: c.mode, blob: c.blob }] : []))
    : [...input.tree];
  // A type change (file <-> symlink) is removed first, so the new entry is created fresh.
  const removed = changes.filter((c) => c.status === 'deleted' || c.status === 'type-changed').map((c) => c.path);
  const counts = incremental
    ? {
        added: changes.filter((c) => c.status === 'added').length,
        changed: changes.filter((c) => c.status === 'modified' || c.status === 'type-changed').length,
        removed: changes.filter((c) => c.status === 'deleted').length,
      }
    : { added: input.tree.length, changed: 0, removed: 0 };
  const removals = Buffer.from(removed.map((p) => `${p}\0`).join(''));
  const prune = releasesToPrune([...input.host.releases, release], input.keepReleases, [release, input.host.current]);
  return {
    colour: input.colour,
    revision: input.revision,
    release,
    base: incremental ? input.host.current : undefined,
    counts,
    send,
    removals,
    stage: stageCommand(input.appRoot, staging, incremental ? input.host.current : undefined, removals.length, send.length > 0),
    finalize: finalizeCommand(input.appRoot, staging, release, input.revision),
    prune,
    prepareNext: prepareNextCommand(input.appRoot, release),
    deletePruned: pruneCommand(input.appRoot, prune),
  };
}
