import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { appendHistory, deployedRevision, readHistory } from '../../../src/adapters/state/history.js';

t.test('records come back newest first, and a torn line from a crash is skipped', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-history-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.same(await readHistory(dir), []);
  const base = { at: 'now', by: 'alice', durationMs: 1 } as const;
  await appendHistory(dir, { ...base, type: 'deploy', colour: 'blue', revision: 'a'.repeat(40), release: 'r1', outcome: 'deployed' });
  appendFileSync(path.join(dir, 'history.jsonl'), '{"type":"deploy","colour":"bl'); // crash mid-write
  await appendHistory(dir, { ...base, type: 'deploy', colour: 'blue', revision: 'b'.repeat(40), release: '', outcome: 'failed', error: 'x' });
  await appendHistory(dir, { ...base, type: 'flip', from: undefined, to: 'blue', revisions: {}, outcome: 'flipped' });
  const history = await readHistory(dir);
  t.same(history.map((r) => r.type), ['flip', 'deploy', 'deploy']);
  t.equal(deployedRevision(history, 'blue')?.revision, 'a'.repeat(40), 'a failed deploy does not count');
  t.equal(deployedRevision(history, 'green'), undefined);
});
