import type { RevisionReader } from '../adapters/git/revisions.js';
import { refusedSymlinks, symlinkRefusal } from '../core/symlinks.js';

/** Refuses a revision whose tree holds a symlink that leads outside the release, through any chain of links. */
export async function refuseEscapingSymlinks(reader: RevisionReader, revision: string): Promise<void> {
  const refused = refusedSymlinks(await reader.symlinks(revision));
  if (refused.length > 0) throw symlinkRefusal(refused);
}
