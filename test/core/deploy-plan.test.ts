import t from 'tap';
import { freshReleaseId, planDeploy, releasesToPrune } from '../../src/core/deploy-plan.js';
import type { HostState } from '../../src/core/remote-commands.js';
import type { TreeChange } from '../../src/core/tree-changes.js';

const sha = '0123456789abcdef0123456789abcdef01234567';
const now = new Date('2026-11-23T10:20:30Z');
const release = '20261123102030-0123456789ab';
const files = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `f${i}`, mode: '100644', blob: `${i}`.padStart(40, '0') }));
const empty: HostState = { appRootExists: false, writable: false, current: undefined, currentRevision: undefined, releases: [], spareRevision: undefined, text: 'approot missing' };
const base = '20261122000000-aaaaaaaaaaaa';
const onBase: HostState = { ...empty, appRootExists: true, writable: true, current: base, currentRevision: 'a'.repeat(40), releases: [base], text: 'as read' };

/** An incremental plan from `base` with these changes. */
const incremental = (changes: TreeChange[]) =>
  planDeploy({ colour: 'green', appRoot: '/srv', revision: sha, release, keepReleases: 5, host: onBase, tree: files(9), changes, spareChanges: undefined });

/** The session's arguments by name (see deploySessionCommand). */
function sessionArgs(plan: ReturnType<typeof planDeploy>) {
  const [appRoot, staging, source, from, removalBytes, directoryBytes, withTar, rel, revision, expected, owned, , ready, sentBytes, ...prune] = plan.session.slice(4);
  return { appRoot, staging, source, from, removalBytes, directoryBytes, withTar, release: rel, revision, expected, prune, owned, ready, sentBytes };
}
/** Source, removal bytes, directory bytes, whether a tar follows. */
const stageTail = (plan: ReturnType<typeof planDeploy>) => {
  const a = sessionArgs(plan);
  return [a.source === 'copy' ? a.from : a.source, a.removalBytes, a.directoryBytes, a.withTar];
};

t.test('a first deploy sends the whole tree into a fresh release', async (t) => {
  const plan = planDeploy({ colour: 'blue', appRoot: '/var/www/app', revision: sha, release, keepReleases: 5, host: empty, changes: undefined, spareChanges: undefined, tree: files(3) });
  t.equal(plan.release, release, 'the release it was given');
  t.same(plan.send, files(3), 'every file of the tree');
  t.equal(plan.base, undefined);
  t.same(plan.counts, { added: 3, changed: 0, removed: 0 });
  t.equal(plan.removals.length, 0);
  t.same(stageTail(plan), ['empty', '0', '0', '1'], 'no base release, nothing to remove, the whole tree follows');
  t.same(sessionArgs(plan), {
    appRoot: '/var/www/app',
    staging: `releases/.staging-${release}`,
    source: 'empty',
    from: '',
    removalBytes: '0',
    directoryBytes: '0',
    withTar: '1',
    release,
    revision: sha,
    expected: 'approot missing',
    prune: [],
    owned: '-',
    ready: '0',
    sentBytes: '0',
  });
  t.same(plan.discard.slice(-2), ['/var/www/app', `releases/.staging-${release}`], 'discard removes the staging directory');
  t.same(plan.revert.slice(-3), ['/var/www/app', release, ''], 'revert: no release to go back to');
  t.same(plan.prune, []);
});

t.test('an incremental deploy builds on current and sends only changed paths', async (t) => {
  const plan = incremental([
    { status: 'added', path: 'new.txt', mode: '100644', oldMode: undefined, blob: 'b1' },
    { status: 'modified', path: 'a b.txt', mode: '100755', oldMode: '100644', blob: 'b2' },
    { status: 'deleted', path: 'old/gone.txt', mode: undefined, oldMode: '100644', blob: undefined },
    { status: 'type-changed', path: 'link', mode: '120000', oldMode: '100644', blob: 'b3' },
  ]);
  t.equal(plan.base, base);
  t.same(
    plan.send,
    [
      { path: 'new.txt', mode: '100644', blob: 'b1' },
      { path: 'a b.txt', mode: '100755', blob: 'b2' },
      { path: 'link', mode: '120000', blob: 'b3' },
    ],
    'the changed files, not the tree',
  );
  t.equal(plan.removals.toString(), 'old/gone.txt\0link\0old\0', 'the removed files, then their parent directories');
  t.same(stageTail(plan), [base, String('old/gone.txt\0link\0'.length), String('old\0'.length), '1'], 'base, removal bytes, directory bytes, a tar follows');
  t.same(plan.counts, { added: 1, changed: 2, removed: 1 });
  t.same(plan.revert.slice(-3), ['/srv', release, base], 'revert goes back to the base release');
});

t.test('deletions give their parent directories, deepest first, each once', async (t) => {
  const gone = (path: string): TreeChange => ({ status: 'deleted', path, mode: undefined, oldMode: '100644', blob: undefined });
  const plan = incremental([gone('top.txt'), gone('a/z.txt'), gone('d/e/f.txt'), gone('a/b/c/x.txt'), gone('a/b/y.txt')]);
  const removedFiles = 'top.txt\0a/z.txt\0d/e/f.txt\0a/b/c/x.txt\0a/b/y.txt\0';
  const directories = 'a/b/c\0a/b\0d/e\0a\0d\0';
  t.equal(plan.removals.toString(), removedFiles + directories);
  t.same(stageTail(plan), [base, String(removedFiles.length), String(directories.length), '0'], 'nothing to send: no tar');
  t.same(plan.send, []);
  t.same(plan.counts, { added: 0, changed: 0, removed: 5 });
});

t.test('removal byte counts are bytes, not characters', async (t) => {
  const plan = incremental([{ status: 'deleted', path: 'ünï/cödé.txt', mode: undefined, oldMode: '100644', blob: undefined }]);
  t.same(stageTail(plan).slice(1, 3), [String(Buffer.byteLength('ünï/cödé.txt\0')), String(Buffer.byteLength('ünï\0'))]);
  t.equal(plan.removals.length, Buffer.byteLength('ünï/cödé.txt\0ünï\0'));
});

t.test('submodules are not content: a file that became one is removed, one that became a file is added, bumps are nothing', async (t) => {
  const plan = incremental([
    { status: 'type-changed', path: 'lib/vendor', mode: '160000', oldMode: '100644', blob: 'c1' },
    { status: 'type-changed', path: 'docs', mode: '100644', oldMode: '160000', blob: 'b1' },
    { status: 'modified', path: 'theme', mode: '160000', oldMode: '160000', blob: 'c2' },
    { status: 'added', path: 'plugins/x', mode: '160000', oldMode: undefined, blob: 'c3' },
    { status: 'deleted', path: 'plugins/y', mode: undefined, oldMode: '160000', blob: undefined },
  ]);
  t.same(plan.send, [{ path: 'docs', mode: '100644', blob: 'b1' }], 'the submodule that became a file is sent');
  t.equal(plan.removals.toString(), 'lib/vendor\0lib\0', 'the file that became a submodule is removed (and its directory if left empty)');
  t.same(plan.counts, { added: 1, changed: 0, removed: 1 });

  const bumps = incremental([{ status: 'modified', path: 'theme', mode: '160000', oldMode: '160000', blob: 'c2' }]);
  t.same(bumps.send, []);
  t.equal(bumps.removals.length, 0);
  t.same(bumps.counts, { added: 0, changed: 0, removed: 0 });
  t.same(stageTail(bumps), [base, '0', '0', '0']);
});

t.test('changes are ignored when the host has no current release to build on', async (t) => {
  const plan = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, release, keepReleases: 5, host: empty, changes: [], spareChanges: [], tree: files(7) });
  t.same(plan.send, files(7));
  t.equal(plan.base, undefined);
  t.same(plan.counts, { added: 7, changed: 0, removed: 0 });
});

t.test('a fresh release id is stamped with the clock, to the second', async (t) => {
  t.equal(freshReleaseId(now, sha, []), release);
  t.equal(freshReleaseId(new Date('2026-11-23T10:20:30.999Z'), sha, []), release);
});

t.test('a second deploy of the same sha in the same second gets its own release id', async (t) => {
  t.equal(freshReleaseId(now, sha, [release]), '20261123102031-0123456789ab');
});

t.test('a release made in the same second as another revision still sorts after it', async (t) => {
  // Names compare as strings: '0123…' would sort before 'ffff…' and the newer release would look older.
  t.equal(freshReleaseId(now, sha, ['20261123102030-ffffffffffff', '20261122000000-aaaaaaaaaaaa']), '20261123102031-0123456789ab');
});

t.test('a host whose newest release is stamped ahead of our clock still gets a later name', async (t) => {
  t.equal(freshReleaseId(now, sha, ['20261201000000-ffffffffffff', '20261122000000-aaaaaaaaaaaa']), '20261201000001-0123456789ab');
});

t.test("an older release on the host leaves the clock's stamp alone", async (t) => {
  t.equal(freshReleaseId(now, sha, ['20261123102029-ffffffffffff']), release);
});

t.test('a deploy beyond BLUEGREEN_KEEP_RELEASES prunes the oldest once it stands', async (t) => {
  const releases = ['1', '2', '3'].map((n) => `2026112200000${n}-aaaaaaaaaaaa`);
  const host: HostState = { ...empty, appRootExists: true, writable: true, current: releases[2], currentRevision: 'a'.repeat(40), releases };
  const plan = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, release, keepReleases: 3, host, changes: [], spareChanges: undefined, tree: [] });
  t.same(plan.prune, [releases[0]]);
  t.same(sessionArgs(plan).prune, [releases[0]]);
});

t.test('with a spare of a revision git knows, the release is built from it: what is sent turns the spare into the new tree', async (t) => {
  const host: HostState = { ...onBase, spareRevision: 'b'.repeat(40) };
  const sinceCurrent: TreeChange[] = [{ status: 'modified', path: 'index.html', mode: '100644', oldMode: '100644', blob: 'b1' }];
  const sinceSpare: TreeChange[] = [
    ...sinceCurrent,
    { status: 'added', path: 'old.txt', mode: '100644', oldMode: undefined, blob: 'b2' },
    { status: 'deleted', path: 'later/gone.txt', mode: undefined, oldMode: '100644', blob: undefined },
  ];
  const plan = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, release, keepReleases: 5, host, changes: sinceCurrent, spareChanges: sinceSpare, tree: [] });
  t.same(plan.source, { kind: 'spare' });
  t.same(plan.counts, { added: 0, changed: 1, removed: 0 }, 'the counts say what changed since the current release');
  t.equal(plan.base, base);
  t.same(plan.send.map((f) => f.path), ['index.html', 'old.txt']);
  t.equal(plan.removals.toString(), 'later/gone.txt\0later\0');
  t.same(stageTail(plan), ['spare', String('later/gone.txt\0'.length), String('later\0'.length), '1']);
  t.equal(sessionArgs(plan).expected, 'as read', 'the session checks the host is still as read');

  const unknown = planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, release, keepReleases: 5, host, changes: sinceCurrent, spareChanges: undefined, tree: [] });
  t.same(unknown.source, { kind: 'copy', release: base }, 'a spare git cannot diff is not used: a copy of current is');
  t.same(unknown.send.map((f) => f.path), ['index.html']);
});

t.test('with hooks, a ready copy of the tree as it stands becomes the release: it takes the removals and the sent files', async (t) => {
  const tree = 'c'.repeat(40);
  const changes: TreeChange[] = [
    { status: 'modified', path: 'index.html', mode: '100644', oldMode: '100644', blob: 'b1' },
    { status: 'deleted', path: 'old/gone.txt', mode: undefined, oldMode: '100644', blob: undefined },
  ];
  const plan = (host: HostState, copy: 'real' | 'link' = 'real') =>
    planDeploy({ colour: 'blue', appRoot: '/a', revision: sha, release, keepReleases: 5, host, changes, spareChanges: undefined, treeChanges: changes, tree: [], owned: { copy, shared: [] } });
  const ready = plan({ ...onBase, tree, copyRevision: tree });
  t.same(ready.source, { kind: 'tree' });
  t.equal(ready.removals.toString(), 'old/gone.txt\0old\0index.html\0', 'the removals, then the paths the tar holds');
  t.match(sessionArgs(ready), { owned: 'real', ready: '1', sentBytes: String('index.html\0'.length), removalBytes: String('old/gone.txt\0'.length) });
  for (const [why, other] of [
    ['a copy of another revision of the tree', plan({ ...onBase, tree, copyRevision: 'd'.repeat(40) })],
    ['no copy', plan({ ...onBase, tree })],
    ['a tree a deploy died updating', plan({ ...onBase, tree: 'unknown', copyRevision: tree })],
    ['hard links', plan({ ...onBase, tree, copyRevision: tree }, 'link')],
  ] as const) {
    t.match(sessionArgs(other), { ready: '0', sentBytes: '0' }, `not with ${why}`);
    t.notMatch(other.removals.toString(), /index\.html/, `nor its sent paths (${why})`);
  }
});

t.test('pruning keeps the newest, never the new release nor its predecessor', async (t) => {
  const ids = ['1', '2', '3', '4', '5', '6'].map((n) => `2026112300000${n}-aaaaaaaaaaaa`);
  t.same(releasesToPrune(ids, 5, [ids[5], ids[4]]), [ids[0]]);
  t.same(releasesToPrune(ids, 2, [ids[5], ids[0]]), [ids[1], ids[2], ids[3]], 'an old current (after activate) is kept');
  t.same(releasesToPrune(ids.slice(0, 2), 5, []), []);
});
