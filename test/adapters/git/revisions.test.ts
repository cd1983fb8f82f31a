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
