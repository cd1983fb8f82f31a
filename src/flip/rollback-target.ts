import { readHistory } from '../adapters/state/history.js';
import type { Colour } from '../core/colour.js';
import { rollbackTarget } from '../core/flip-plan.js';

/** The colour `rollback` flips to, from the history: the one live before the last successful flip. */
export async function readRollbackTarget(dataDir: string): Promise<Colour> {
  const lastFlip = (await readHistory(dataDir)).find((r) => r.type === 'flip' && r.outcome === 'flipped');
  return rollbackTarget(lastFlip?.type === 'flip' ? lastFlip : undefined);
}
