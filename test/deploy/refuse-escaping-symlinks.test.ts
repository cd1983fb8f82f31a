import path from 'node:path';
import t from 'tap';
import { RevisionReader } from '../../src/adapters/git/revisions.js';
import { refuseEscapingSymlinks } from '../../src/deploy/refuse-escaping-symlinks.js';
import { WorkRepo } from '../helpers/git-repo.js';

/** A reader that counts how often it read a whole tree's links. */
class CountingReader extends RevisionReader {
  treeReads = 0;
  override symlinks(...args: Parameters<RevisionReader['symlinks']>) {
    this.treeReads++;
    return super.symlinks(...args);
  }
}

t.test('a change that touches no symlink is judged by the checked revision, without reading the tree', async (t) => {
  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  const reader = new CountingReader(path.join(work.dir, '.git'));
  const checked = work.write('index.html', 'one').symlink('home.html', 'index.html').commit();
  const fileOnly = work.write('index.html', 'two').write('new/page.html', 'x').commit();
  await refuseEscapingSymlinks(reader, fileOnly, checked);
  t.equal(reader.treeReads, 0, 'no tree listing for a change of files only');

  // A link added, changed or removed: the whole tree's links are checked again.
  const escaping = work.symlink('passwd', '../../etc/passwd').commit();
  await t.rejects(refuseEscapingSymlinks(reader, escaping, fileOnly), { message: /the symlink "passwd" points outside the release/ });
  t.equal(reader.treeReads, 1);
  const dirBecomesLink = work.remove('passwd').remove('new/page.html').symlink('new', '..').commit();
  await t.rejects(refuseEscapingSymlinks(reader, dirBecomesLink, fileOnly), { message: /the symlink "new" points outside the release/ });
  t.equal(reader.treeReads, 2);

  // Without a checked revision, or when asked about the checked revision itself, the tree is read.
  await refuseEscapingSymlinks(reader, fileOnly);
  await refuseEscapingSymlinks(reader, fileOnly, fileOnly);
  t.equal(reader.treeReads, 4);
});
