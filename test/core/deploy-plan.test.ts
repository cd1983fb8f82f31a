import t from 'tap';
import { planDeploy, releasesToPrune } from '../../src/core/deploy-plan.js';
import type { HostState } from '../../src/core/remote-commands.js';

const sha = '0123456789abcdef0123456789abcdef01234567';
const now = new Date('2026-11-23T10:20:30Z');
const files = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `f${i}`, mode: '100644', blob: `${i}`.padStart(40, '0') }));
const empty: HostState = { appRootExists: false, writable: false, current: undefined, currentRevision: undefined, releases: [] };

t.test('a first deploy sends the whole tree into a fresh release', async (t) => {
  const plan = planDeploy({ colour: 'blue', appRoot: '/var/www/app', revision: sha, now, keepReleases: 5, host: empty, changes: undefined, tree: files(3) });
  t.equal(plan.release, '20261123102030-0123456789ab');
  t.same(plan.send, files(3), 'every file of the tree');
  t.equal(plan.base, undefined);
  t.same(plan.counts, { added: 3, changed: 0, removed: 0 });
  t.same(plan.stage.slice(-3), ['', '0', '1'], 'no base release, nothing to remove, the whole tree follows');
  t.same(plan.finalize.slice(-4), ['/var/www/app', 'releases/.staging-20261123102030-0123456789ab', '20261123102030-0123456789ab', sha]);
  t.same(plan.prune, []);
  t.same(plan.prepareNext.slice(-2), ['/var/www/app', '20261123102030-0123456789ab'], 'the next copy is of the new release');
  t.same(plan.deletePruned.slice(-1), ['/var/www/app'], 'nothing to prune');
});

t.test('an incremental deploy builds on current and sends only changed paths', async (t) => {
  const host: HostState = { appRootExists: true, writable: true, current: '20261122000000-aaaaaaaaaaaa', currentRevision: 'a'.repeat(40), releases: ['20261122000000-aaaaaaaaaaaa'] };
  const plan = planDeploy({
    colour: 'green',
    appRoot: '/srv',
    revision: sha,
    now,
    keepReleases: 5,
    host,
    tree: files(9),
    changes: [
      { status: 'added', path: 'new.txt', mode: '100644', blob: 'b1' },
      { status: 'modified', path: 'a b.txt', mode: '100755', blob: 'b2' },
      { status: 'deleted', path: 'old/gone.txt', mode: undefined, blob: undefined },
      { status: 'type-changed', path: 'link', mode: '120000', blob: 'b3' },
    ],
  });
  t.equal(plan.base, '20261122000000-aaaaaaaaaaaa');
  t.same(
    plan.send,
    [
      { path: 'new.txt', mode: '100644', blob: 'b1' },
      { path: 'a b.txt', mode: '100755', blob: 'b2' },
      { path: 'link', mode: '120000', blob: 'b3' },
    ],
    'the changed files, not the tree',
  );
  t.equal(plan.removals.toString(), 'old/gone.txt\0link\0');
  t.same(plan.stage.slice(-3), ['20261122000000-aaaaaaaaaaaa', String('old/gone.txt\0link\0'.length), '1'], 'base, removal bytes, a tar follows');
  t.same(plan.counts, { added: 1, changed: 2, removed: 1 });

});

t.test('changes are ignored when the host has no current release to build on', async (t) => {
  const plan = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, now, keepReleases: 5, host: empty, changes: [], tree: files(7) });
  t.same(plan.send, files(7));
  t.same(plan.counts, { added: 7, changed: 0, removed: 0 });
});

t.test('a second deploy of the same sha in the same second gets its own release id', async (t) => {
  const host: HostState = { ...empty, releases: ['20261123102030-0123456789ab'] };
  const plan = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, now, keepReleases: 5, host, changes: undefined, tree: files(1) });
  t.equal(plan.release, '20261123102031-0123456789ab');
});

t.test('a release made in the same second as another revision still sorts after it', async (t) => {
  // Names compare as strings: '13cb…' would sort before 'f000…' and the newer release would look older.
  const host: HostState = { ...empty, releases: ['20261123102030-ffffffffffff', '20261122000000-aaaaaaaaaaaa'] };
  const plan = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, now, keepReleases: 5, host, changes: undefined, tree: files(1) });
  t.equal(plan.release, '20261123102031-0123456789ab');
});

t.test('a host whose newest release is stamped ahead of our clock still gets a later name', async (t) => {
  const host: HostState = { ...empty, releases: ['20261201000000-ffffffffffff'] };
  const plan = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, now, keepReleases: 5, host, changes: undefined, tree: files(1) });
  t.equal(plan.release, '20261201000001-0123456789ab');
});

t.test('an older release on the host leaves the clock\'s stamp alone', async (t) => {
  const host: HostState = { ...empty, releases: ['20261123102029-ffffffffffff'] };
  const plan = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, now, keepReleases: 5, host, changes: undefined, tree: files(1) });
  t.equal(plan.release, '20261123102030-0123456789ab');
});

t.test('a deploy beyond BLUEGREEN_KEEP_RELEASES deletes the oldest, after preparing the next copy', async (t) => {
  const releases = ['1', '2', '3'].map((n) => `2026112200000${n}-aaaaaaaaaaaa`);
  const host: HostState = { ...empty, appRootExists: true, writable: true, current: releases[2], currentRevision: 'a'.repeat(40), releases };
  const plan = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, now, keepReleases: 3, host, changes: [], tree: [] });
  t.same(plan.prune, [releases[0]]);
  t.same(plan.deletePruned.slice(-2), ['/a', releases[0]]);
  t.same(plan.prepareNext.slice(-2), ['/a', plan.release]);
});

t.test('pruning keeps the newest, never the new release nor its predecessor', async (t) => {
  const ids = ['1', '2', '3', '4', '5', '6'].map((n) => `2026112300000${n}-aaaaaaaaaaaa`);
  t.same(releasesToPrune(ids, 5, [ids[5], ids[4]]), [ids[0]]);
  t.same(releasesToPrune(ids, 2, [ids[5], ids[0]]), [ids[1], ids[2], ids[3]], 'an old current (after activate) is kept');
  t.same(releasesToPrune(ids.slice(0, 2), 5, []), []);
});
