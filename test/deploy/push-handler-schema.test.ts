/**
 * The schema guard through a real `git push` over HTTP to the real `bluegreen serve`: the refusal and its way
 * out reach the pusher, and `-o force-schema` deploys anyway, on record.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { routerStateFile, writeRouterState } from '../../src/adapters/providers/local/router.js';
import { requireBuild } from '../helpers/bluegreen.js';
import { push, setupPush } from '../helpers/push-setup.js';

requireBuild();

const history = (dataDir: string) =>
  readFileSync(path.join(dataDir, 'history.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; colour?: string; note?: string });

t.test('the schema guard over a real push: refused with the way out, then `-o force-schema` deploys, on record', async (t) => {
  const { hosts, work, current, branchOf } = await setupPush(t);
  // green serves a release that works with schema 1 and migrated the database there; green is live.
  work.write('index.html', 'green');
  work.write('.bluegreen/schema', 'compatible=1-1\nmigrates-to=1\n');
  work.write('.bluegreen/hooks/migrate', '#!/bin/sh\necho "migrated to $(cat .bluegreen/schema | tail -n 1)"\n', 0o755);
  work.commit('green');
  const green = await push(work, 'green', 'main');
  t.equal(green.code, 0, green.output);
  t.match(green.output, /remote: .*migrate: migrated to migrates-to=1/);
  await writeRouterState(routerStateFile(hosts.dataDir), 'green');

  work.write('index.html', 'blue');
  work.write('.bluegreen/schema', 'compatible=2-2\nmigrates-to=2\n');
  const v2 = work.commit('contract');
  const refused = await push(work, 'blue', 'main');
  t.not(refused.code, 0);
  t.match(refused.output, /remote: error: refused by the schema guard: [0-9a-f]{12} migrates the database to version 2 \(now 1\), but the live colour green serves [0-9a-f]{12}, which works with versions 1-1 only; nothing ran/);
  t.match(refused.output, /remote: hint: .*`git push -o force-schema`/);
  t.equal(await branchOf('blue'), '', 'main was not moved');
  t.notOk(existsSync(current('blue')), 'nothing was deployed');

  const forced = await push(work, 'blue', '-o', 'force-schema', 'main');
  t.equal(forced.code, 0, forced.output);
  t.match(forced.output, /remote: forced past the schema guard: /);
  t.match(forced.output, /remote: .*migrate: migrated to migrates-to=2/);
  t.match(forced.output, /remote: the database is at schema version 2 now/);
  t.equal(readFileSync(current('blue', 'index.html'), 'utf8'), 'blue');
  t.equal(await branchOf('blue'), v2);
  const record = history(hosts.dataDir).filter((r) => r.type === 'deploy').at(-1);
  t.match(record, { colour: 'blue', note: 'schema guard overridden (force)' }, 'history records the override');
});
