/** The record of which colour is in the production slot (`azure-slots`): `$DATA/slots.json`, written whole. */
import fs from 'node:fs';
import path from 'node:path';
import { type Colour, isColour } from '../../core/colour.js';
import { writeFileAtomic } from './atomic-file.js';

const FILE = 'slots.json';

/** The colour recorded in production, or undefined when there is no (readable) record. */
export function readSlotPlacement(dataDir: string): Colour | undefined {
  try {
    const production: unknown = JSON.parse(fs.readFileSync(path.join(dataDir, FILE), 'utf8'))?.production;
    return typeof production === 'string' && isColour(production) ? production : undefined;
  } catch {
    return undefined;
  }
}

export function writeSlotPlacement(dataDir: string, production: Colour): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(path.join(dataDir, FILE), `${JSON.stringify({ production, at: new Date().toISOString() })}\n`, 0o600);
}
