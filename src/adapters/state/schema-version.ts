import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Colour } from '../../core/colour.js';
import { writeFileAtomic } from './atomic-file.js';

/** The database's schema version, as the last successful `migrate` hook left it. */
export interface SchemaVersion {
  version: number;
  /** The release whose migrate hook set it. */
  colour: Colour;
  revision: string;
  at: string;
}

const versionPath = (dataDir: string) => path.join(dataDir, 'schema.json');

/** The recorded version, or undefined until a `migrate` hook of a release declaring `migrates-to` succeeded. */
export function readSchemaVersion(dataDir: string): SchemaVersion | undefined {
  try {
    const record = JSON.parse(readFileSync(versionPath(dataDir), 'utf8')) as SchemaVersion;
    return Number.isInteger(record.version) ? record : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function writeSchemaVersion(dataDir: string, record: SchemaVersion): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileAtomic(versionPath(dataDir), `${JSON.stringify(record)}\n`, 0o600);
}
