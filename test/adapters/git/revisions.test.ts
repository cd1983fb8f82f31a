import path from 'node:path';
import t from 'tap';
import { RevisionReader } from '../../../src/adapters/git/revisions.js';
import { WorkRepo } from '../../helpers/git-repo.js';

t.test('RevisionReader.symlinks lists only the links of a revision, with their targets', async (t) => {
  const work = new WorkRepo('bg-revisions-');
  t.teardown(() => work.cleanup());
  for (let i = 0; i < 50; i++) work.write(`site/${i}.html`, `${i}`);
  const revision = work.symlink('a', '.').symlink('docs/b', '../a/../..').symlink('same', '.').write('docs/c.txt', 'c').commit();
  const reader = new RevisionReader(path.join(work.dir, '.git'));
  const expected = [
    { path: 'a', mode: '120000', target: '.' },
    { path: 'docs/b', mode: '120000', target: '../a/../..' },
    { path: 'same', mode: '120000', target: '.' },
  ];
  t.same(await reader.symlinks(revision), expected);
  // With the listing at hand it reads only the blobs: what it is given is what it reports.
  const tree = await reader.listTree(revision);
  t.same(await reader.symlinks(revision, tree), expected);
  t.same(await reader.symlinks(revision, tree.filter((e) => e.path !== 'a')), expected.slice(1));
  t.same(await reader.symlinks(work.write('x', 'x').remove('a').remove('docs/b').remove('same').commit()), []);
});

t.test('RevisionReader asks git once per pair of commits named by sha (the hosts of a colour ask alike); a ref is asked each time', async (t) => {
  const work = new WorkRepo('bg-revisions-');
  t.teardown(() => work.cleanup());
  const v1 = work.write('a.txt', 'a').commit();
  const v2 = work.write('a.txt', 'b').commit();
  const reader = new RevisionReader(path.join(work.dir, '.git'));
  const [one, two] = await Promise.all([reader.diff(v1, v2), reader.diff(v1, v2)]);
  t.equal(one, two, 'one answer for both');
  t.same(one?.map((c) => c.path), ['a.txt']);
  t.equal(await reader.listTree(v2), await reader.listTree(v2));
  t.not(await reader.listTree('HEAD'), await reader.listTree('HEAD'), 'a ref may move: not remembered');
  t.equal(await reader.diff('0'.repeat(40), v2), undefined, 'a commit git does not know');
});
