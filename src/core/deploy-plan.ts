import type { Colour } from './colour.js';
import { releaseId, releaseTime } from './release-id.js';
import { type Argv, type HostState, type SessionInput, type StageSource, deploySessionCommand, discardCommand, revertCommand } from './remote-commands.js';
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
  /** Changes from the host's spare tree (`host.spareRevision`) to `revision`, when git knows that revision. */
  spareChanges: TreeChange[] | undefined;
  /** Changes from the host's pristine tree (`host.tree`) to `revision`, when git knows that revision. */
  treeChanges?: TreeChange[] | undefined;
  /** The pushed tree's files, for a full deploy (unused when `changes` are given). */
  tree: readonly TreeEntry[];
  /** The release is one of its own (hooks or shared paths): see SessionInput.owned. */
  owned?: SessionInput['owned'];
}

export interface DeployPlan {
  colour: Colour;
  revision: string;
  release: string;
  /** The release the new one is built from (hard-linked), for an incremental deploy. */
  base: string | undefined;
  counts: { added: number; changed: number; removed: number };
  /** What the release is built from on the host. */
  source: StageSource;
  /** Files whose content is sent. */
  send: TreeEntry[];
  /**
   * The start of the session's stdin: NUL-separated paths to remove from the staged copy, then their parent
   * directories (deepest first), removed when left empty, then (for a ready copy) the paths the tar holds.
   */
  removals: Buffer;
  /** The whole deploy on the host (see deploySessionCommand): stdin is `removals`, then the padded tar of `send`. */
  session: Argv;
  /** Where the release is staged (relative to the app root) until it is switched to. */
  staging: string;
  /** Removes what the session staged, for a session that ended before its switch. */
  discard: Argv;
  /** After the switch, for a deploy that did not stand: `current` back where it was, the release removed. */
  revert: Argv;
  /** Releases deleted once the deploy stood, oldest first. */
  prune: string[];
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

/** The removals and files to send that turn a tree into `revision`'s, given the changes between them. */
function delta(changes: readonly TreeChange[]) {
  const files = fileChanges([...changes]);
  const send = files.flatMap((c) => (c.mode !== undefined && c.blob !== undefined ? [{ path: c.path, mode: c.mode, blob: c.blob }] : []));
  // A type change (file <-> symlink) is removed first, so the new entry is created fresh.
  const removed = files.filter((c) => c.status === 'deleted' || c.status === 'type-changed').map((c) => c.path);
  const counts = {
    added: files.filter((c) => c.status === 'added').length,
    changed: files.filter((c) => c.status === 'modified' || c.status === 'type-changed').length,
    removed: files.filter((c) => c.status === 'deleted').length,
  };
  return { send, removed, counts };
}

/**
 * Decides how to bring a host from its current release to `revision`. Pure. The counts say what changed since
 * the current release; what is sent turns the tree the release is built from into `revision`'s: the spare
 * tree when git knows its revision (an older release, recycled), else a copy of the current release, else
 * nothing (a full deploy).
 */
export function planDeploy(input: DeployInput): DeployPlan {
  const { release, host } = input;
  const staging = `releases/.staging-${release}`;
  const incremental = input.changes !== undefined && host.current !== undefined;
  const fromCurrent = incremental ? delta(input.changes ?? []) : undefined;
  // Once a host has a pristine tree, its releases may hold what hooks made: the tree is the only base.
  const hasTree = host.tree !== undefined && host.tree !== 'none';
  const fromTree = hasTree && host.tree !== 'unknown' && input.treeChanges !== undefined ? delta(input.treeChanges) : undefined;
  const fromSpare = !hasTree && incremental && host.spareRevision !== undefined && input.spareChanges !== undefined ? delta(input.spareChanges) : undefined;
  const fromCopy = hasTree ? undefined : fromCurrent;
  const source: StageSource = fromTree
    ? { kind: 'tree' }
    : fromSpare
      ? { kind: 'spare' }
      : fromCopy && host.current
        ? { kind: 'copy', release: host.current }
        : { kind: 'empty' };
  const work = fromTree ?? fromSpare ?? fromCopy ?? { send: [...input.tree], removed: [], counts: { added: input.tree.length, changed: 0, removed: 0 } };
  const removedFiles = nulList(work.removed);
  const removedDirectories = nulList(parentDirectories(work.removed));
  // A host that keeps a pristine tree keeps it up to date, hooks or not.
  const owned = input.owned ?? (hasTree ? { copy: 'link' as const, shared: [] } : undefined);
  const readyCopy = owned?.copy === 'real' && source.kind === 'tree' && host.copyRevision !== undefined && host.copyRevision === host.tree;
  const sentFiles = nulList(readyCopy ? work.send.map((entry) => entry.path) : []);
  const prune = releasesToPrune([...host.releases, release], input.keepReleases, [release, host.current]);
  return {
    colour: input.colour,
    revision: input.revision,
    release,
    base: incremental ? host.current : undefined,
    counts: (fromCurrent ?? work).counts,
    source,
    send: work.send,
    removals: Buffer.concat([removedFiles, removedDirectories, sentFiles]),
    session: deploySessionCommand({
      appRoot: input.appRoot,
      stagingDir: staging,
      source,
      removal: { removalBytes: removedFiles.length, directoryBytes: removedDirectories.length, sentBytes: sentFiles.length },
      withTar: work.send.length > 0,
      release,
      revision: input.revision,
      expectedState: host.text,
      prune,
      owned: owned && readyCopy ? { ...owned, readyCopy } : owned,
    }),
    staging,
    discard: discardCommand(input.appRoot, staging),
    revert: revertCommand(input.appRoot, release, host.current),
    prune,
  };
}
