import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ensureRepos } from '../../src/adapters/git/repos.js';
import { appendHistory } from '../../src/adapters/state/history.js';
import { parseConfig } from '../../src/core/config.js';
import { syncIdle } from '../../src/deploy/sync-idle.js';

// What `bluegreen sync` refuses before anything is deployed (the sync itself: test/flip/flip-after-push.test.ts).
t.test('sync is refused without a live colour, without a deploy of it on record, and when the person says no', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-sync-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfig({ BLUEGREEN_DATA_DIR: path.join(dir, 'data') }, dir).config!;
  ensureRepos(config.dataDir);
  const said: string[] = [];
  const sync = (live: 'blue' | 'green' | undefined, confirm?: (lines: string[]) => Promise<boolean>) =>
    syncIdle({ config, by: 'ops', liveColour: async () => live, say: (line) => said.push(line), confirm });

  await t.rejects(sync(undefined), { message: 'refused: no colour is live yet, so there is no live revision to sync', hint: 'make a colour live first: `bluegreen flip blue`' });
  await t.rejects(sync('blue'), {
    message: 'refused: bluegreen has no deploy of blue (the live colour) on record, so it cannot tell which revision to sync',
    hint: 'deploy the live colour through bluegreen once: `git push -o force-live blue main`',
  });

  const revision = 'a'.repeat(40);
  await appendHistory(config.dataDir, { type: 'deploy', at: new Date().toISOString(), colour: 'blue', revision, release: 'r', by: 'alice', outcome: 'deployed', durationMs: 1 });
  let asked: string[] = [];
  await t.rejects(
    sync('blue', async (lines) => {
      asked = lines;
      return false;
    }),
    { message: 'sync cancelled; green unchanged' },
  );
  t.same(asked, ["sync: deploy blue's revision aaaaaaaaaaaa to green (which serves nothing yet); green's main moves to it"]);
  t.same(said, [], 'nothing happened');
});
