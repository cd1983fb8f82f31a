import type { RevisionReader } from '../adapters/git/revisions.js';
import { UserError } from '../core/errors.js';
import { symlinkStaysInside } from '../core/symlinks.js';
import { SYMLINK_MODE } from '../core/tree-changes.js';

/** Refuses a revision whose tree holds a symlink that leads outside the release. */
export async function refuseEscapingSymlinks(reader: RevisionReader, revision: string): Promise<void> {
  const symlinks = (await reader.listTree(revision)).filter((e) => e.mode === SYMLINK_MODE);
  if (symlinks.length === 0) return;
  const targets = await reader.readBlobs(symlinks.map((s) => s.blob));
  for (const link of symlinks) {
    const target = targets.get(link.blob) ?? '';
    if (!symlinkStaysInside(link.path, target)) {
      throw new UserError(`refused: the symlink ${JSON.stringify(link.path)} points outside the release (-> ${JSON.stringify(target)})`, {
        hint: 'make it a relative link to a path inside the repository, or replace it with the file',
      });
    }
  }
}
