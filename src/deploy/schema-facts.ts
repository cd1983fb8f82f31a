import { repoPath } from '../adapters/git/repos.js';
import { RevisionReader } from '../adapters/git/revisions.js';
import { deployedRevision, readHistory } from '../adapters/state/history.js';
import type { Colour } from '../core/colour.js';
import type { GuardedRelease } from '../core/schema-guard.js';
import { readAppSpec } from './app-spec.js';

/** The release a colour serves by the record (its last deploy or activate), with its schema declaration. */
export async function servedRelease(dataDir: string, colour: Colour): Promise<GuardedRelease | undefined> {
  const served = deployedRevision(await readHistory(dataDir), colour);
  if (!served) return undefined;
  return revisionRelease(dataDir, colour, served.revision);
}

/** A revision of a colour's repository (a full sha, or the 12-digit prefix of a release id) with its schema. */
export async function revisionRelease(dataDir: string, colour: Colour, revision: string): Promise<GuardedRelease | undefined> {
  const reader = new RevisionReader(repoPath(dataDir, colour));
  const sha = await reader.resolve(revision);
  if (!sha) return undefined;
  return { colour, revision: sha, schema: (await readAppSpec(reader, sha)).schema };
}
