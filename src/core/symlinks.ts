import path from 'node:path';
import { UserError } from './errors.js';
import { SYMLINK_MODE } from './tree-changes.js';

/** One entry of a release's tree: its path, git mode, and for a symlink (`120000`) its target. */
export interface ReleaseEntry {
  path: string;
  mode: string;
  target?: string;
}

/** A symlink followed while resolving a path. */
export interface LinkStep {
  path: string;
  target: string;
}

export type RefusalReason =
  /** It leads to `resolved`: absolute, or relative to the release root and starting with `..`. */
  | { kind: 'outside'; resolved: string }
  /** It never resolves: a loop, or more links than the kernel follows. */
  | { kind: 'loop' }
  /** Its target cannot be a checked link on the host. */
  | { kind: 'invalid'; why: string };

export interface RefusedSymlink {
  path: string;
  target: string;
  /** The links followed, in order (for `invalid`, just this one). */
  chain: LinkStep[];
  reason: RefusalReason;
}

/** Linux follows at most 40 symlinks in one path lookup (MAXSYMLINKS), then fails with ELOOP. */
export const MAX_LINKS = 40;
/** The longest target a Linux symlink holds (PATH_MAX less the terminating NUL). */
export const MAX_TARGET_BYTES = 4095;

/**
 * The symlinks of a tree that are refused, each with why: those that lead outside the release, loops, and
 * targets no link on the host can hold. Every link is resolved the way the kernel resolves a path on the host,
 * with the release directory as the root: component by component, following every link of the tree it meets
 * (the link itself, links in its target, links those lead through), with `..` going to the parent of the
 * directory actually reached, not of the text. A target that is absolute or climbs above the root escapes.
 * Where the kernel's answer depends on what is not in the tree, we stay conservative: a missing component, or
 * a file used as a directory (where the kernel would stop with ENOTDIR), is taken for a plain directory and
 * resolution goes on lexically, so `missing/../..` still escapes. Hence only the links of `entries` matter.
 */
export function refusedSymlinks(entries: readonly ReleaseEntry[]): RefusedSymlink[] {
  const links = new Map<string, string>();
  for (const entry of entries) if (entry.mode === SYMLINK_MODE) links.set(entry.path, entry.target ?? '');
  const refused: RefusedSymlink[] = [];
  for (const [linkPath, target] of links) {
    const why = invalidTarget(linkPath, target);
    const outcome = why ? { chain: [{ path: linkPath, target }], reason: { kind: 'invalid', why } as const } : resolve(linkPath, links);
    if (outcome) refused.push({ path: linkPath, target, ...outcome });
  }
  return refused;
}

function invalidTarget(linkPath: string, target: string): string | undefined {
  if (target === '') return 'its target is empty';
  if (target.includes('\0')) return 'its target contains a NUL byte';
  // Invalid UTF-8 reaches us as U+FFFD: two different names could then look alike, and we would follow the wrong link.
  if (`${linkPath}${target}`.includes('\uFFFD')) return 'its path or target is not valid UTF-8';
  if (Buffer.byteLength(target) > MAX_TARGET_BYTES) return `its target is longer than the ${MAX_TARGET_BYTES} bytes a symlink holds`;
  return undefined;
}

/** Resolves `linkPath` from the release root; undefined when it stays inside. */
function resolve(linkPath: string, links: ReadonlyMap<string, string>): Omit<RefusedSymlink, 'path' | 'target'> | undefined {
  // The directories reached, each as its path from the root (never a link: links are replaced by where they lead).
  const reached: string[] = [];
  // The components still to walk, the next one last.
  const todo = linkPath.split('/').reverse();
  const chain: LinkStep[] = [];
  const rest = () => todo.slice().reverse();
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (reached.pop() === undefined) return { chain, reason: { kind: 'outside', resolved: path.posix.normalize(['..', ...rest()].join('/')) } };
      continue;
    }
    const here = reached.length === 0 ? name : `${reached[reached.length - 1]}/${name}`;
    const target = links.get(here);
    if (target === undefined) {
      reached.push(here); // a directory, a file or nothing: a plain directory (see above)
      continue;
    }
    chain.push({ path: here, target });
    // A loop can't escape, but we refuse it: it is broken anyway, and the verdict needs no host's link limit.
    if (chain.length > MAX_LINKS) return { chain, reason: { kind: 'loop' } };
    if (target.startsWith('/')) return { chain, reason: { kind: 'outside', resolved: path.posix.normalize([target, ...rest()].join('/')) } };
    const parts = target.split('/');
    for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i] ?? '');
  }
  return undefined;
}

/** The refusal users see for `refused` (not empty): the first link in full, and how many more there are. */
export function symlinkRefusal(refused: readonly RefusedSymlink[]): UserError {
  const [first, ...others] = refused;
  if (!first) throw new Error('symlinkRefusal needs a refused symlink');
  const name = `the symlink ${JSON.stringify(first.path)}`;
  const target = `(-> ${JSON.stringify(first.target)})`;
  const { reason } = first;
  const linksFollowed = new Set(first.chain.map((step) => step.path));
  const through = linksFollowed.size === 1 && linksFollowed.has(first.path) ? '' : `through ${formatChain(first.chain, false)} `;
  let message: string;
  let hint: string;
  if (reason.kind === 'outside') {
    const where = path.posix.isAbsolute(reason.resolved) ? '' : ' (relative to the release root)';
    message = `refused: ${name} points outside the release ${target}: ${through}it resolves to ${JSON.stringify(reason.resolved)}${where}`;
    hint = 'make it a relative link that stays inside the repository, also where it goes through other links, or replace it with the file';
  } else if (reason.kind === 'loop') {
    message = `refused: ${name} never resolves ${target}: it ${linksFollowed.size < first.chain.length ? 'loops' : `goes through more than ${MAX_LINKS} links`}: ${formatChain(first.chain, true)}`;
    hint = 'point it at a file or directory of the repository, or remove it';
  } else {
    message = `refused: ${name} cannot be checked ${target}: ${reason.why}`;
    hint = 'point it at a file or directory of the repository, or remove it';
  }
  if (others.length > 0) {
    const names = others.slice(0, 5).map((o) => JSON.stringify(o.path));
    message += `; ${others.length} more refused: ${names.join(', ')}${others.length > 5 ? ', ...' : ''}`;
  }
  return new UserError(message, { hint });
}

/**
 * The links of `chain`, each once, at most 6: `"b" -> "a/../..", "a" -> "."`; for a loop, up to the first link
 * seen twice: `"a" -> "b", "b" -> "a", back to "a"`.
 */
function formatChain(chain: readonly LinkStep[], loop: boolean): string {
  const seen = new Set<string>();
  const shown: string[] = [];
  for (const step of chain) {
    if (seen.has(step.path)) {
      if (loop) return `${shown.join(', ')}, back to ${JSON.stringify(step.path)}`;
      continue;
    }
    if (shown.length === 6) return `${shown.join(', ')}, ...`;
    seen.add(step.path);
    shown.push(`${JSON.stringify(step.path)} -> ${JSON.stringify(step.target)}`);
  }
  return shown.join(', ');
}
