import { isFullSha, isReleaseId } from './release-id.js';

/**
 * Commands run on a host, as argv arrays. Each is a constant `sh -c` script whose inputs arrive as positional
 * parameters, so no value is ever spliced into script text; the SSH transport quotes the argv in one place.
 * Every script works inside `$BLUEGREEN_APP_ROOT` (`$1`).
 */
export type Argv = readonly string[];

const script = (body: string, ...args: string[]): Argv => ['sh', '-c', body, 'sh', ...args];

/** Prints what the deploy needs to know about a host; changes nothing. */
export function inspectCommand(appRoot: string): Argv {
  return script(
    [
      'if [ ! -d "$1" ]; then echo "approot missing"; exit 0; fi',
      'cd "$1" || exit 1',
      'echo "approot present"',
      'if [ -w . ] && { [ ! -e releases ] || [ -w releases ]; }; then echo "writable yes"; else echo "writable no"; fi',
      'if [ -L current ]; then printf "current %s\\n" "$(readlink current)"; fi',
      'if [ -f current/REVISION ]; then printf "revision %s\\n" "$(head -c 64 current/REVISION)"; fi',
      'if [ -d releases ]; then for r in releases/*; do [ -d "$r" ] && printf "release %s\\n" "${r#releases/}"; done; fi',
      'exit 0',
    ].join('\n'),
    appRoot,
  );
}

/**
 * Builds the new release in the staging directory, in one command:
 * 1. takes the copy of the base release prepared after the last deploy (`releases/.next-BASE`), or makes
 *    one now: a hard-linked copy shares every file with the base until it is replaced, and GNU tar replaces
 *    by unlinking (never --overwrite, which would write through the link), so the base release is never
 *    modified; with no base, an empty directory;
 * 2. removes the NUL-separated paths in the first `removalBytes` bytes of stdin, then the NUL-separated
 *    directories in the next `directoryBytes` bytes when they are left empty (deepest first), one process each;
 * 3. extracts the rest of stdin, a tar stream, when `withTar` (--ignore-zeros: tar reads its input to the end,
 *    so the sender never writes into a closed pipe).
 */
export function stageCommand(
  appRoot: string,
  stagingDir: string,
  baseRelease: string | undefined,
  removal: { removalBytes: number; directoryBytes: number },
  withTar: boolean,
): Argv {
  return script(
    [
      'set -e',
      'mkdir -p "$1/releases"',
      'cd "$1"',
      'rm -rf "$2"',
      'if [ -n "$3" ] && [ -d "releases/.next-$3" ]; then mv "releases/.next-$3" "$2"',
      'elif [ -n "$3" ]; then cp -al "releases/$3" "$2"',
      'else mkdir "$2"; fi',
      'cd "$2"',
      // head reads exactly that many bytes; xargs hands the paths over as arguments, so any byte but NUL survives.
      'if [ "$4" -gt 0 ]; then head -c "$4" | xargs -0 rm -f --; fi',
      'if [ "$5" -gt 0 ]; then head -c "$5" | xargs -0 rmdir --ignore-fail-on-non-empty -- 2>/dev/null || true; fi',
      'if [ "$6" = 1 ]; then tar -x --ignore-zeros --no-same-owner -f -; fi',
    ].join('\n'),
    appRoot,
    stagingDir,
    baseRelease ?? '',
    String(removal.removalBytes),
    String(removal.directoryBytes),
    withTar ? '1' : '0',
  );
}

/** Removes a deploy's staging directory (a deploy that failed or was abandoned before its switch). */
export function discardCommand(appRoot: string, stagingDir: string): Argv {
  if (!/^releases\/\.staging-\d{14}-[0-9a-f]{12}$/.test(stagingDir)) throw new Error(`bad staging directory ${stagingDir}`);
  return script(['cd "$1" 2>/dev/null || exit 0', 'rm -rf -- "$2"'].join('\n'), appRoot, stagingDir);
}

/**
 * Undoes a switch that did not stand: `current` back to `previous` (or no `current` at all on a first deploy),
 * and the release removed, so nothing on the host claims a deploy that was refused.
 */
export function revertCommand(appRoot: string, release: string, previous: string | undefined): Argv {
  if (!isReleaseId(release) || (previous !== undefined && !isReleaseId(previous))) throw new Error(`bad release ${release} or ${previous}`);
  return script(
    [
      'set -e',
      'cd "$1"',
      'if [ -n "$3" ]; then rm -f ".current-$3"; ln -s "releases/$3" ".current-$3"; mv -T ".current-$3" current',
      'elif [ "$(readlink current 2>/dev/null)" = "releases/$2" ]; then rm -f current; fi',
      'rm -rf -- "releases/$2"',
    ].join('\n'),
    appRoot,
    release,
    previous ?? '',
  );
}

/**
 * What fills the app root's filesystem, for a deploy that found the disk full: `df` of the filesystem, then
 * `du` of each entry of releases/ (kibibytes). Changes nothing.
 */
export function diskUsageCommand(appRoot: string): Argv {
  return script(
    [
      'df -Pk "$1" | tail -n 1 | awk \'{ print "filesystem", $2, $3, $4 }\'',
      'cd "$1/releases" 2>/dev/null || exit 0',
      // One du for all: a file hard-linked into several releases counts once, in the oldest.
      'du -sk -- * .staging-* .next-* 2>/dev/null | awk \'{ print "entry", $1, $2 }\'',
      'exit 0',
    ].join('\n'),
    appRoot,
  );
}

/**
 * After a deploy, off the push's clock: removes stale copies (of a killed deploy, or prepared for a base that
 * is no longer current) and prepares the next deploy's hard-linked copy of `release`.
 */
export function prepareNextCommand(appRoot: string, release: string): Argv {
  if (!isReleaseId(release)) throw new Error(`bad release ${release}`);
  return script(
    [
      'set -e',
      'cd "$1/releases"',
      'for d in .staging-* .next-*; do if [ -e "$d" ] && [ "$d" != ".next-$2" ]; then rm -rf -- "$d"; fi; done',
      'if [ ! -d ".next-$2" ]; then cp -al "$2" ".next-$2.tmp" && mv ".next-$2.tmp" ".next-$2"; fi',
    ].join('\n'),
    appRoot,
    release,
  );
}

/** Deletes old releases (after the next copy is prepared: the next deploy waits for that, not for this). */
export function pruneCommand(appRoot: string, prune: readonly string[]): Argv {
  for (const id of prune) if (!isReleaseId(id)) throw new Error(`bad release ${id}`);
  return script(['set -e', 'cd "$1/releases"', 'shift', 'if [ $# -gt 0 ]; then rm -rf -- "$@"; fi'].join('\n'), appRoot, ...prune);
}

/** Writes REVISION, gives the staged release its final name, and switches `current` to it by rename. */
export function finalizeCommand(appRoot: string, stagingDir: string, release: string, revision: string): Argv {
  if (!isReleaseId(release) || !isFullSha(revision)) throw new Error(`bad release ${release} or revision ${revision}`);
  return script(
    [
      'set -e',
      'cd "$1"',
      'printf "%s\\n" "$4" > "$2/REVISION.tmp"',
      'mv -f "$2/REVISION.tmp" "$2/REVISION"',
      'mv "$2" "releases/$3"',
      'rm -f ".current-$3"',
      'ln -s "releases/$3" ".current-$3"',
      'mv -T ".current-$3" current',
    ].join('\n'),
    appRoot,
    stagingDir,
    release,
    revision,
  );
}

/** Points `current` at an existing release, by rename. */
export function activateCommand(appRoot: string, release: string): Argv {
  if (!isReleaseId(release)) throw new Error(`bad release ${release}`);
  return script(
    [
      'set -e',
      'if [ ! -d "$1/releases/$2" ]; then echo "release $2 does not exist" >&2; exit 3; fi',
      'cd "$1"',
      'rm -f ".current-$2"',
      'ln -s "releases/$2" ".current-$2"',
      'mv -T ".current-$2" current',
    ].join('\n'),
    appRoot,
    release,
  );
}

/** What `inspectCommand` found on a host. */
export interface HostState {
  appRootExists: boolean;
  writable: boolean;
  /** The release `current` points at, if it points into releases/. */
  current: string | undefined;
  /** The REVISION of the current release, if it is a full sha. */
  currentRevision: string | undefined;
  /** Release ids, oldest first. */
  releases: string[];
}

export function parseInspect(stdout: string): HostState {
  const state: HostState = { appRootExists: false, writable: false, current: undefined, currentRevision: undefined, releases: [] };
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (key === 'approot') state.appRootExists = value === 'present';
    else if (key === 'writable') state.writable = value === 'yes';
    else if (key === 'current') {
      const release = value.replace(/^(\.\/)?releases\//, '').replace(/\/$/, '');
      state.current = isReleaseId(release) ? release : undefined;
    } else if (key === 'revision') state.currentRevision = isFullSha(value.trim()) ? value.trim() : undefined;
    else if (key === 'release' && isReleaseId(value)) state.releases.push(value);
  }
  state.releases.sort();
  if (!state.current) state.currentRevision = undefined;
  return state;
}
