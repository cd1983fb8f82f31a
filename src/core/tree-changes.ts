/** One entry of `git diff --raw -z --no-renames` between the deployed and the pushed revision. */
export interface TreeChange {
  status: 'added' | 'modified' | 'deleted' | 'type-changed';
  path: string;
  /** Git mode of the new entry (`100644`, `100755`, `120000`, `160000`), or undefined when deleted. */
  mode: string | undefined;
  /** Git mode of the old entry, or undefined when added. */
  oldMode?: string | undefined;
  /** Blob id of the new entry, or undefined when deleted. */
  blob: string | undefined;
}

const STATUS: Record<string, TreeChange['status']> = { A: 'added', M: 'modified', D: 'deleted', T: 'type-changed' };

/** Parses `git diff --raw -z --no-renames --no-abbrev` output. */
export function parseRawDiff(output: string): TreeChange[] {
  const fields = output.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i] ?? '';
    const path = fields[i + 1] ?? '';
    // ":100644 100755 <old> <new> M"
    const [oldMode, newMode, , newBlob, letter] = meta.replace(/^\n?:/, '').split(' ');
    const status = STATUS[letter ?? ''];
    if (!status) throw new Error(`unexpected git diff entry: ${JSON.stringify(meta)}`);
    const deleted = status === 'deleted';
    const added = status === 'added';
    changes.push({ status, path, mode: deleted ? undefined : newMode, oldMode: added ? undefined : oldMode, blob: deleted ? undefined : newBlob });
  }
  return changes;
}

/** One entry of `git ls-tree -r -z <rev>`. */
export interface TreeEntry {
  mode: string;
  blob: string;
  path: string;
}

/**
 * Parses `git ls-tree -r -z` output; with `mode`, only the entries of that mode, found without building the
 * others (the symlinks of a 50,000-file tree in milliseconds).
 */
export function parseLsTree(output: string, mode?: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (let start = 0; start < output.length; ) {
    const nul = output.indexOf('\0', start);
    const end = nul < 0 ? output.length : nul;
    if (end > start && (mode === undefined || output.startsWith(`${mode} `, start))) {
      const tab = output.indexOf('\t', start);
      const [entryMode, type, blob] = output.slice(start, tab).split(' ');
      // submodules are not deployable content
      if (type !== 'commit') entries.push({ mode: entryMode ?? '', blob: blob ?? '', path: output.slice(tab + 1, end) });
    }
    start = end + 1;
  }
  return entries;
}

export const SYMLINK_MODE = '120000';
export const SUBMODULE_MODE = '160000';

/**
 * The changes as they concern the files of a release. A submodule is not deployable content (a full deploy
 * has nothing at its path), so a file that became a submodule is removed and a submodule that became a file
 * is added; changes between submodules are nothing.
 */
export function fileChanges(changes: readonly TreeChange[]): TreeChange[] {
  return changes.flatMap((change): TreeChange[] => {
    const wasSubmodule = change.oldMode === SUBMODULE_MODE;
    const isSubmodule = change.mode === SUBMODULE_MODE;
    if (!wasSubmodule && !isSubmodule) return [change];
    if (wasSubmodule && (isSubmodule || change.status === 'deleted')) return [];
    if (isSubmodule) return change.status === 'added' ? [] : [{ status: 'deleted', path: change.path, mode: undefined, oldMode: change.oldMode, blob: undefined }];
    return [{ ...change, status: 'added', oldMode: undefined }];
  });
}
