import type { Colour } from './colour.js';
import { releaseId, releaseTime } from './release-id.js';
import { type Argv, type HostState, discardCommand, finalizeCommand, prepareNextCommand, pruneCommand, revertCommand, stageCommand } from './remote-commands.js';
import { type TreeChange, type TreeEntry, fileChanges } from './tree-changes.js';

export interface DeployInput {
  colour: Colour;
  appRoot: string;
  revision: string;
  /** The release id, the same on every host of the colour (see `freshReleaseId`). */
  release: string;
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
  /**
   * The start of the stage step's stdin: NUL-separated paths to remove from the staged copy, then their parent
   * directories (deepest first), removed when left empty.
   */
  removals: Buffer;
  /** Builds the release: stdin is `removals`, then the tar stream of `send` (when there is anything to send). */
  stage: Argv;
  /** Removes what `stage` made, for a deploy that does not switch. */
  discard: Argv;
  /** Writes REVISION and switches `current` to the release. */
  finalize: Argv;
  /** After `finalize`, for a switch that did not stand: `current` back where it was, the release removed. */
  revert: Argv;
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
export function freshReleaseId(now: Date, revision: string, existing: readonly string[]): string {
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

/** Every ancestor directory of `paths`, deepest first (a parent is tried only after its children). */
function parentDirectories(paths: readonly string[]): string[] {
  const directories = new Set<string>();
  for (const p of paths) {
    for (let at = p.lastIndexOf('/'); at > 0; at = p.lastIndexOf('/', at - 1)) directories.add(p.slice(0, at));
  }
  return [...directories].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
}

const nulList = (paths: readonly string[]) => Buffer.from(paths.map((p) => `${p}\0`).join(''));

/** Decides how to bring a host from its current release to `revision`. Pure. */
export function planDeploy(input: DeployInput): DeployPlan {
  const { release } = input;
  const staging = `releases/.staging-${release}`;
  const incremental = input.changes !== undefined && input.host.current !== undefined;
  const changes = incremental ? fileChanges(input.changes ?? []) : [];
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
  const removedFiles = nulList(removed);
  const removedDirectories = nulList(parentDirectories(removed));
  const prune = releasesToPrune([...input.host.releases, release], input.keepReleases, [release, input.host.current]);
  return {
    colour: input.colour,
    revision: input.revision,
    release,
    base: incremental ? input.host.current : undefined,
    counts,
    send,
    removals: Buffer.concat([removedFiles, removedDirectories]),
    stage: stageCommand(
      input.appRoot,
      staging,
      incremental ? input.host.current : undefined,
      { removalBytes: removedFiles.length, directoryBytes: removedDirectories.length },
      send.length > 0,
    ),
    discard: discardCommand(input.appRoot, staging),
    finalize: finalizeCommand(input.appRoot, staging, release, input.revision),
    revert: revertCommand(input.appRoot, release, input.host.current),
    prune,
    prepareNext: prepareNextCommand(input.appRoot, release),
    deletePruned: pruneCommand(input.appRoot, prune),
  };
}
