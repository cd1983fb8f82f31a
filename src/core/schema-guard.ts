import { SCHEMA_FILE } from './app-hooks.js';
import { UserError } from './errors.js';
import { shortSha } from './format.js';

/** What a release's `.bluegreen/schema` declares (nothing, when it has no such file). */
export interface SchemaDeclaration {
  /** The database versions the release works with, inclusive. */
  compatible?: { min: number; max: number };
  /** The version its `migrate` hook leaves the database at. */
  migratesTo?: number;
}

/** Parses `.bluegreen/schema`: `compatible=MIN-MAX` and `migrates-to=N` lines; `#` comments and blank lines. */
export function parseSchema(text: string, revision: string): SchemaDeclaration {
  const declaration: SchemaDeclaration = {};
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const range = /^compatible=(\d{1,9})-(\d{1,9})$/.exec(line);
    const target = /^migrates-to=(\d{1,9})$/.exec(line);
    if (range && Number(range[1]) <= Number(range[2])) declaration.compatible = { min: Number(range[1]), max: Number(range[2]) };
    else if (target) declaration.migratesTo = Number(target[1]);
    else {
      throw new UserError(`${SCHEMA_FILE} of ${shortSha(revision)}, line ${index + 1}: ${JSON.stringify(line)} is not \`compatible=MIN-MAX\` (MIN ≤ MAX) or \`migrates-to=N\``, {
        hint: `fix ${SCHEMA_FILE} (e.g. compatible=3-4 and migrates-to=4) and push again`,
      });
    }
  }
  return declaration;
}

export const formatRange = (d: SchemaDeclaration) => (d.compatible ? `${d.compatible.min}-${d.compatible.max}` : 'any');

const within = (version: number, d: SchemaDeclaration) => !d.compatible || (version >= d.compatible.min && version <= d.compatible.max);

/** A release as the guard sees it. */
export interface GuardedRelease {
  colour: string;
  revision: string;
  schema: SchemaDeclaration;
}

/**
 * Whether a deploy whose `migrate` hook runs may take the database where it declares: refused (before anything
 * runs) when the live colour's release would not work with the version it migrates to. Undefined: allowed.
 */
export function refuseMigration(input: { database: number | undefined; incoming: GuardedRelease; live: GuardedRelease | undefined }): UserError | undefined {
  const { incoming, live } = input;
  const to = incoming.schema.migratesTo;
  if (to === undefined || !live || live.colour === incoming.colour) return undefined;
  if (within(to, live.schema)) return undefined;
  return new UserError(
    `refused by the schema guard: ${shortSha(incoming.revision)} migrates the database to version ${to}${input.database === undefined ? '' : ` (now ${input.database})`}, but the live colour ${live.colour} serves ${shortSha(live.revision)}, which works with versions ${formatRange(live.schema)} only; nothing ran`,
    {
      hint: `first deploy and flip to a release that works with both (expand, then contract), or deploy anyway: \`git push -o force-schema\` (\`bluegreen deploy --force\`)`,
    },
  );
}

/**
 * Whether `release` may serve production with the database at `database`. Undefined: allowed. `override` is the
 * command that does it anyway (`bluegreen flip green --force`).
 */
export function refuseServing(input: { database: number | undefined; release: GuardedRelease; action: string; override: string }): UserError | undefined {
  const { database, release } = input;
  if (database === undefined || within(database, release.schema)) return undefined;
  return new UserError(
    `refused by the schema guard: ${input.action} would make ${release.colour}'s ${shortSha(release.revision)} serve production, but it works with database versions ${formatRange(release.schema)} and the database is at version ${database}; nothing was changed`,
    { hint: `deploy a release compatible with version ${database}, or do it anyway: \`${input.override}\` (recorded in history)` },
  );
}

/** What history records when the schema guard was overridden. */
const SCHEMA_FORCED_NOTE = 'schema guard overridden (force)';

/**
 * A refusal of the schema guard (refuseMigration, refuseServing) stands unless forced; forced, it is said (as what
 * disagrees) and the note history records is returned. Undefined: nothing was refused.
 */
export function forcePastGuard(refusal: UserError | undefined, force: boolean | undefined, say: (line: string) => void): string | undefined {
  if (!refusal) return undefined;
  if (!force) throw refusal;
  say(`forced past the schema guard: ${refusal.message.replace(/^refused by the schema guard: /, '').replace(/; nothing (ran|was changed)$/, '')}`);
  return SCHEMA_FORCED_NOTE;
}
