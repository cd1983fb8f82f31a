import type { RevisionReader } from '../adapters/git/revisions.js';
import { type AppHooks, SCHEMA_FILE, findHooks } from '../core/app-hooks.js';
import { type SchemaDeclaration, parseSchema } from '../core/schema-guard.js';

/** What a revision says about itself as an application: its hooks and its schema declaration. */
export interface AppSpec {
  hooks: AppHooks;
  schema: SchemaDeclaration;
}

/** Reads `.bluegreen/` of a revision (one small `git ls-tree`, and the schema file when there is one). */
export async function readAppSpec(reader: RevisionReader, revision: string): Promise<AppSpec> {
  const entries = await reader.listUnder(revision, '.bluegreen');
  const schemaEntry = entries.find((e) => e.path === SCHEMA_FILE && e.mode.startsWith('100'));
  const schemaText = schemaEntry ? (await reader.readBlobs([schemaEntry.blob])).get(schemaEntry.blob) : undefined;
  return { hooks: findHooks(entries), schema: schemaText === undefined ? {} : parseSchema(schemaText, revision) };
}
