import { isFullSha, isReleaseId } from './release-id.js';

/**
 * Commands run on a host, as argv arrays. Each is a constant `sh -c` script whose inputs arrive as positional
 * parameters, so no value is ever spliced into script text; the SSH transport quotes the argv in one place.
 * Every script works inside `$BLUEGREEN_APP_ROOT` (`$1`).
 */
export type Argv = readonly string[];

const script = (body: string, ...args: string[]): Argv => ['sh', '-c', body, 'sh', ...args];

/**
 * A shell function printing what a deploy needs to know about the app root `$1`, a line each: whether it
 * exists and is writable, where `current` points, the current REVISION, the releases, and the revision of the
 * spare tree the next deploy builds from (see deploySessionCommand). The same text before a deploy and after
 * one means nothing changed the host in between. Changes nothing.
 */
const HOST_STATE_FUNCTION = [
  'host_state() {',
  '  if [ ! -d "$1" ]; then echo "approot missing"; return 0; fi',
  '  (',
  '    cd "$1" || exit 1',
  '    echo "approot present"',
  '    if [ -w . ] && { [ ! -e releases ] || [ -w releases ]; }; then echo "writable yes"; else echo "writable no"; fi',
  '    if [ -L current ]; then printf "current %s\\n" "$(readlink current)"; fi',
  '    if [ -f current/REVISION ]; then printf "revision %s\\n" "$(head -c 64 current/REVISION)"; fi',
  '    if [ -d releases ]; then for r in releases/*; do if [ -d "$r" ]; then printf "release %s\\n" "${r#releases/}"; fi; done; fi',
  '    if [ -f releases/.spare/REVISION ]; then printf "spare %s\\n" "$(head -c 64 releases/.spare/REVISION)"; fi',
  '    if [ -f releases/.tree/REVISION ]; then printf "tree %s\\n" "$(head -c 64 releases/.tree/REVISION)"; elif [ -e releases/.tree ]; then echo "tree unknown"; fi',
  '    if [ -f releases/.copy/REVISION ]; then printf "copy %s\\n" "$(head -c 64 releases/.copy/REVISION)"; fi',
  '    :',
  '  )',
  '}',
].join('\n');

/** Prints the host's state (see HOST_STATE_FUNCTION); changes nothing. */
export function inspectCommand(appRoot: string): Argv {
  return script([HOST_STATE_FUNCTION, 'host_state "$1"'].join('\n'), appRoot);
}

/** Lines a deploy session prints on stdout, in order, as its steps complete. */
export const SESSION = {
  /** The host is not what the server last read: nothing was done (exit SESSION_HOST_CHANGED). */
  changed: 'bluegreen: host changed',
  staged: 'bluegreen: staged',
  switched: 'bluegreen: switched',
  /** Printed (then the path) when a shared file the release links is missing on the host (exit SESSION_SHARED_MISSING). */
  sharedMissing: 'bluegreen: shared file missing',
  /** The host's state after the tidying follows this line. */
  state: 'bluegreen: state',
} as const;
export const SESSION_HOST_CHANGED = 75;
export const SESSION_SHARED_MISSING = 76;

/**
 * Links each shared path (`$shared`, one a line) of the staged release (`$staging`, in `$root`) to
 * `$root/shared/PATH`: a directory the host lacks is created, seeded from the release's copy; a file the host
 * lacks fails the session (SESSION_SHARED_MISSING); what the commit holds at the path is replaced by the link.
 */
const LINK_SHARED = [
  'while IFS= read -r p; do',
  '  [ -n "$p" ] || continue',
  '  d=${p%/}',
  '  if [ "$d" != "$p" ]; then',
  '    if [ ! -d "shared/$d" ]; then',
  '      mkdir -p -- "shared/$d" && rmdir -- "shared/$d"',
  '      if [ -d "$staging/$d" ] && [ ! -L "$staging/$d" ]; then cp -a -- "$staging/$d" "shared/$d"; echo "shared: created shared/$d from the release"',
  '      else mkdir -- "shared/$d"; echo "shared: created shared/$d"; fi',
  '    fi',
  `  elif [ ! -f "shared/$d" ]; then echo "${SESSION.sharedMissing} $d"; exit ${SESSION_SHARED_MISSING}`,
  '  fi',
  '  if [ -e "$staging/$d" ] || [ -L "$staging/$d" ]; then rm -rf -- "$staging/$d"; echo "shared: $d from the commit is replaced by the link to shared/$d"; fi',
  '  mkdir -p -- "$(dirname -- "$staging/$d")"',
  '  ln -s -- "$root/shared/$d" "$staging/$d"',
  'done <<EOF',
  '$shared',
  'EOF',
].join('\n');

/** A shared path: relative, without `.`/`..` segments or control characters, a trailing `/` for a directory. */
export function isSharedPath(p: string): boolean {
  const parts = p.replace(/\/$/, '').split('/');
  return p !== '' && !p.startsWith('/') && !/[\u0000-\u001f\u007f]/.test(p) && parts.every((part) => part !== '' && part !== '.' && part !== '..') && parts[0] !== '.bluegreen' && p !== 'REVISION';
}

/** Tar reads its input in records of this many bytes; an archive padded to a whole record ends where it ends. */
export const TAR_RECORD_BYTES = 10240;

/** What the new release is built from. */
export type StageSource =
  /** The spare tree (releases/.spare), at the given revision: moved, not copied. */
  | { kind: 'spare' }
  /** The host's pristine tree (releases/.tree), at the given revision: updated in place. */
  | { kind: 'tree' }
  /** A hard-linked copy of this release. */
  | { kind: 'copy'; release: string }
  /** Nothing: a full deploy. */
  | { kind: 'empty' };

export interface SessionInput {
  appRoot: string;
  stagingDir: string;
  source: StageSource;
  /**
   * Byte counts of the NUL-separated lists at the start of stdin: files to remove, then directories to remove
   * (when left empty), then the files the tar holds (only for `owned.readyCopy`, else empty).
   */
  removal: { removalBytes: number; directoryBytes: number; sentBytes: number };
  /** A tar archive, padded to whole TAR_RECORD_BYTES records, follows the lists. */
  withTar: boolean;
  release: string;
  revision: string;
  /** The host's state as the server last read it (HOST_STATE_FUNCTION's output): anything else is refused. */
  expectedState: string;
  /** Releases to delete once the deploy stood, oldest first; the oldest becomes the next spare. */
  prune: readonly string[];
  /**
   * A release of its own (hooks may write into it, shared paths are linked into it): the lists and tar update
   * the pristine tree releases/.tree, of which the release is a copy — `real` (its own inodes, for hooks) or
   * `link` (hard links: nothing writes into it but the deploy, which replaces by unlinking) — and the shared
   * paths (relative; a trailing `/` marks a directory) are linked in. Undefined: the release is staged in place.
   * `readyCopy` (with `real`): the real copy of the tree made after the last deploy (releases/.copy, of the
   * tree's revision before this deploy) becomes the release, taking the same removals and the sent files from
   * the updated tree — a one-file change costs one file, not a copy of the whole tree.
   */
  owned?: { copy: 'real' | 'link'; shared: readonly string[]; readyCopy?: boolean };
}

/**
 * A whole deploy on one host in one command (one SSH session), driven by lines on stdin:
 * 1. waits for any other session on the app root to end (`flock` on the app root directory, held to the end),
 *    then refuses (SESSION.changed, exit 75) if the host's state is not `expectedState`, so a server that
 *    remembers what each host holds need not read it first;
 * 2. stages the release in `stagingDir` from its source — the spare tree, or a hard-linked copy of a
 *    release (sharing every file until it is replaced: GNU tar and rm replace by unlinking, never writing
 *    through a link, so no other release ever changes), or nothing — removes the listed paths and extracts
 *    the tar (padded to whole records, so tar stops at its end and the control lines stay unread), then
 *    prints SESSION.staged;
 * 3. on the line `switch`: writes REVISION, renames the release into place, switches `current` by rename,
 *    prints SESSION.switched; on anything else (end of input: the deploy was abandoned) removes the staging
 *    directory;
 * 4. on the line `finish` (the deploy stood): removes leftovers of killed deploys, makes the oldest pruned
 *    release the next deploy's spare and deletes the other pruned ones — so in the steady state a deploy
 *    neither copies nor deletes a whole tree — or, with nothing to prune, makes the spare a hard-linked copy
 *    of the new release; with real copies (hooks), deletes the pruned releases and makes the next release's
 *    copy of the tree (releases/.copy) now, after the push has its answer; then prints SESSION.state and the
 *    host's state.
 */
export function deploySessionCommand(input: SessionInput): Argv {
  const { source } = input;
  if (!/^releases\/\.staging-\d{14}-[0-9a-f]{12}$/.test(input.stagingDir)) throw new Error(`bad staging directory ${input.stagingDir}`);
  if (!isReleaseId(input.release) || !isFullSha(input.revision)) throw new Error(`bad release ${input.release} or revision ${input.revision}`);
  if (source.kind === 'copy' && !isReleaseId(source.release)) throw new Error(`bad release ${source.release}`);
  if (source.kind === 'tree' && !input.owned) throw new Error('a release staged in place cannot update the pristine tree');
  if (input.owned?.readyCopy && (input.owned.copy !== 'real' || source.kind !== 'tree')) throw new Error('only a real copy of an updated tree can be made ready');
  for (const p of input.owned?.shared ?? []) if (!isSharedPath(p)) throw new Error(`bad shared path ${p}`);
  for (const id of input.prune) if (!isReleaseId(id)) throw new Error(`bad release ${id}`);
  return script(
    [
      HOST_STATE_FUNCTION,
      'set -e',
      'root=$1 staging=$2 source=$3 from=$4 removal_bytes=$5 directory_bytes=$6 with_tar=$7 release=$8 revision=$9 expected=${10} owned=${11} shared=${12} ready=${13} sent_bytes=${14}',
      'shift 14',
      // One session at a time on an app root, from whatever process (a CLI deploy while the server's last deploy
      // still tidies): the later one waits, then finds the host changed. Held until the session ends.
      'if [ -d "$root" ] && [ -r "$root" ]; then exec 9<"$root"; flock 9 2>/dev/null || true; fi',
      `if [ "$(host_state "$root")" != "$expected" ]; then echo "${SESSION.changed}"; exit ${SESSION_HOST_CHANGED}; fi`,
      // Tests instead of commands where a command is rarely needed: every process counts in a one-file deploy.
      '[ -d "$root/releases" ] || mkdir -p "$root/releases"',
      'cd "$root"',
      'if [ -e "$staging" ]; then rm -rf "$staging"; fi',
      // The lists are read off stdin once (head reads exactly that many bytes), into files (those not empty): a
      // ready copy takes the same removals as the tree.
      'lists=$root/releases/.lists-$release',
      'take() { if [ "$1" -gt 0 ]; then head -c "$1" > "$lists.$2"; fi; }',
      'take "$removal_bytes" files; take "$directory_bytes" dirs; take "$sent_bytes" sent',
      // xargs hands the paths over as arguments, so any byte but NUL survives.
      'remove_listed() {',
      '  if [ -f "$lists.files" ]; then xargs -0 rm -f -- < "$lists.files"; fi',
      '  if [ -f "$lists.dirs" ]; then xargs -0 rmdir --ignore-fail-on-non-empty -- < "$lists.dirs" 2>/dev/null || true; fi',
      '}',
      'work=$staging',
      'if [ "$owned" = - ]; then',
      '  case $source in',
      '    spare) mv releases/.spare "$staging" ;;',
      '    tree) cp -al releases/.tree "$staging" ;;',
      '    copy) cp -al "releases/$from" "$staging" ;;',
      '    *) mkdir "$staging" ;;',
      '  esac',
      'else',
      // The pristine tree: only ever changed by unlinking (rm, tar), never given to a hook or served.
      '  work=releases/.tree',
      '  case $source in',
      '    tree) ;;',
      '    spare) rm -rf releases/.tree; mv releases/.spare releases/.tree ;;',
      '    copy) rm -rf releases/.tree; cp -al "releases/$from" releases/.tree ;;',
      '    *) rm -rf releases/.tree; mkdir releases/.tree ;;',
      '  esac',
      '  rm -f releases/.tree/REVISION',
      'fi',
      'cd "$work"',
      'remove_listed',
      'if [ "$with_tar" = 1 ]; then tar -x --no-same-owner -f -; fi',
      'cd "$root"',
      'if [ "$owned" != - ]; then',
      '  printf "%s\\n" "$revision" > releases/.tree/REVISION',
      '  if [ "$ready" = 1 ]; then',
      // --remove-destination: a changed file is replaced, never written through.
      '    mv releases/.copy "$staging"',
      '    cd "$staging"; remove_listed; cd "$root/releases/.tree"',
      '    if [ -f "$lists.sent" ]; then xargs -0 cp -a --parents --remove-destination -t "$root/$staging" -- < "$lists.sent"; fi',
      '    cd "$root"',
      '    printf "%s\\n" "$revision" > "$staging/REVISION"',
      '  elif [ "$owned" = real ]; then cp -a --reflink=auto releases/.tree "$staging"; else cp -al releases/.tree "$staging"; fi',
      '  [ -d shared ] || mkdir shared',
      '  if [ -n "$shared" ]; then',
      LINK_SHARED,
      '  fi',
      'fi',
      'if [ "$removal_bytes$directory_bytes$sent_bytes" != 000 ]; then rm -f -- "$lists".*; fi',
      `echo "${SESSION.staged}"`,
      'answer=; read -r answer || true',
      'if [ "$answer" != switch ]; then rm -rf -- "$staging"; exit 0; fi',
      'printf "%s\\n" "$revision" > "$staging/REVISION.tmp"',
      'mv -f "$staging/REVISION.tmp" "$staging/REVISION"',
      'mv "$staging" "releases/$release"',
      'rm -f ".current-$release"',
      'ln -s "releases/$release" ".current-$release"',
      'mv -T ".current-$release" current',
      `echo "${SESSION.switched}"`,
      'answer=; read -r answer || true',
      'if [ "$answer" != finish ]; then exit 0; fi',
      'cd releases',
      // A spare of a revision git does not know was not used (the source says so): it is replaced.
      'if [ "$source" != spare ]; then rm -rf .spare; fi',
      'for d in .staging-* .next-* .spare.tmp .copy.tmp .lists-* .hook-*; do if [ -e "$d" ]; then rm -rf -- "$d"; fi; done',
      // A host with a pristine tree builds from it: its releases may hold what hooks made, so none becomes a spare.
      'if [ -e .tree ]; then rm -rf .spare; for old in "$@"; do rm -rf -- "$old"; done',
      '  rm -rf .copy',
      '  if [ "$owned" = real ]; then cp -a --reflink=auto .tree .copy.tmp; mv .copy.tmp .copy; fi',
      'else',
      'for old in "$@"; do if [ ! -e .spare ]; then mv -- "$old" .spare; else rm -rf -- "$old"; fi; done',
      'if [ ! -e .spare ]; then cp -al "$release" .spare.tmp; mv .spare.tmp .spare; fi',
      'fi',
      `echo "${SESSION.state}"`,
      'host_state "$root"',
    ].join('\n'),
    input.appRoot,
    input.stagingDir,
    source.kind,
    source.kind === 'copy' ? source.release : '',
    String(input.removal.removalBytes),
    String(input.removal.directoryBytes),
    input.withTar ? '1' : '0',
    input.release,
    input.revision,
    input.expectedState,
    input.owned ? input.owned.copy : '-',
    (input.owned?.shared ?? []).join('\n'),
    input.owned?.readyCopy ? '1' : '0',
    String(input.removal.sentBytes),
    ...input.prune,
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
      'du -sk -- * .staging-* .spare 2>/dev/null | awk \'{ print "entry", $1, $2 }\'',
      'exit 0',
    ].join('\n'),
    appRoot,
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
  /** The revision of the spare tree the next deploy can build from, if there is one. */
  spareRevision: string | undefined;
  /**
   * The host's pristine tree (releases/.tree, kept once a release of its own was made): `none`, `unknown` (a
   * deploy died updating it), or its revision.
   */
  tree?: string;
  /** The revision of the ready-made real copy of the pristine tree (releases/.copy), if there is one. */
  copyRevision?: string;
  /** The text it was read from: a deploy session refuses a host whose state reads otherwise now. */
  text: string;
}

export function parseInspect(stdout: string): HostState {
  // As the shell's $(host_state) has it: without the trailing newlines.
  const text = stdout.replace(/\n+$/, '');
  const state: HostState = { appRootExists: false, writable: false, current: undefined, currentRevision: undefined, releases: [], spareRevision: undefined, text };
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
    else if (key === 'spare') state.spareRevision = isFullSha(value.trim()) ? value.trim() : undefined;
    else if (key === 'tree') state.tree = isFullSha(value.trim()) ? value.trim() : 'unknown';
    else if (key === 'copy' && isFullSha(value.trim())) state.copyRevision = value.trim();
  }
  state.releases.sort();
  if (!state.current) state.currentRevision = undefined;
  return state;
}
