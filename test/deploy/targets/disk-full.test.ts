/**
 * A host whose disk fills up during a push (a real 3 MiB tmpfs as the app root, real SSH): the push is refused
 * saying what fills the disk, the partial copy is removed, and the next push that fits deploys.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { requireBuild } from '../../helpers/bluegreen.js';
import { push, setupPush } from '../../helpers/push-setup.js';
import { ensureTestUser } from '../../helpers/sshd.js';

requireBuild();

t.test('a full disk refuses the push, names what fills it, and leaves room for the next push', async (t) => {
  const { hosts, work, current } = await setupPush(t);
  const user = ensureTestUser();
  const appRoot = hosts.appRoots.blue;
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=3m,uid=${user.uid},gid=${user.gid},mode=0755`, 'tmpfs', appRoot]);
  t.teardown(() => execFileSync('umount', ['-l', appRoot]));

  work.write('index.html', 'small');
  work.commit('small');
  const first = await push(work, 'blue', 'main');
  t.equal(first.code, 0, first.output);
  // Incompressible content, more than the disk holds.
  for (let i = 0; i < 8; i++) work.write(`big/${i}.bin`, Buffer.from(Array.from({ length: 512 * 1024 }, (_, j) => (j * 7919 + i * 104729) % 251)));
  work.commit('too big');
  const full = await push(work, 'blue', 'main');
  t.not(full.code, 0, full.output);
  t.match(full.output, /remote: error: sending files failed on blue \(.*\): the disk is full \([\d.]+ (KiB|MiB) of [\d.]+ MiB used, [\d.]+ (B|KiB|MiB) free\); 1 release in .* takes [\d.]+ (B|KiB) \(the largest, \S+, [\d.]+ (B|KiB)\), everything else on that filesystem [\d.]+ (B|KiB|MiB); this deploy's partial copy was removed/);
  t.match(full.output, /remote: hint: this release does not fit in the [\d.]+ MiB free on that filesystem: grow the disk, or make the release smaller/);
  t.same(readdirSync(path.join(appRoot, 'releases')).filter((n) => n.startsWith('.staging-')), [], 'the failed staging copy is gone');
  t.equal(readFileSync(current('blue', 'index.html'), 'utf8'), 'small', 'still serving the last release');

  work.remove('big');
  work.write('index.html', 'fits');
  work.commit('fits');
  const next = await push(work, 'blue', 'main');
  t.equal(next.code, 0, next.output);
  t.equal(readFileSync(current('blue', 'index.html'), 'utf8'), 'fits');
});
