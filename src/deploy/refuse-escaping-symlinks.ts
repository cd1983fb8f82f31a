import type { RevisionReader } from '../adapters/git/revisions.js';
import { refusedSymlinks, symlinkRefusal } from '../core/symlinks.js';
import { SYMLINK_MODE } from '../core/tree-changes.js';

/**
 * Refuses a revision whose tree holds a symlink that leads outside the release, through any chain of links.
 * `checked` is a revision that passed this check (the colour's main: it moves only through a deploy): where
 * the change from it touches no symlink, the answer is the same, and reading the whole tree is skipped.
 */
export async function refuseEscapingSymlinks(reader: RevisionReader, revision: string, checked?: string): Promise<void> {
  if (checked !== undefined && checked !== revision) {
    const changes = await reader.diff(checked, revision);
    if (changes && !changes.some((c) => c.mode === SYMLINK_MODE || c.oldMode === SYMLINK_MODE)) return;
  }
  const refused = refusedSymlinks(await reader.symlinks(revision));
  if (refused.length > 0) throw symlinkRefusal(refused);
}
