/**
 * End to end through real `git push` over HTTP to the real `bluegreen serve` and real SSH hosts: git may refuse an
 * update after the deploy hook has run (a ref it cannot lock, an atomic push whose other ref fails), so the hosts
 * switch only while git holds main's lock, and nothing claims a deploy that did not stand.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { requireBuild } from '../helpers/bluegreen.js';
import { serverChildren } from '../helpers/processes.js';
import { push, setupPush } from '../helpers/push-setup.js';

requireBuild();

const history = (dataDir: string) =>
  readFileSync(path.join(dataDir, 'history.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; revision?: string; outcome?: string; error?: string });

t.test('a ref git cannot lock: the push is rejected after the release was prepared, and no host switched', async (t) => {
  const { hosts, work, current, branchOf, repoDir } = await setupPush(t);
  work.write('index.html', 'v1');
  const v1 = work.commit('v1');
  t.equal((await push(work, 'blue', 'main')).code, 0);
  const servedBefore = readlinkSync(path.join(hosts.appRoots.blue, 'current'));

  // A stale lock file, as a git killed mid-update leaves: git refuses to update main only after pre-receive.
  writeFileSync(path.join(repoDir('blue'), 'refs', 'heads', 'main.lock'), '');
  work.write('index.html', 'v2');
  const v2 = work.commit('v2');
  const result = await push(work, 'blue', 'main');
  t.not(result.code, 0, result.output);
  t.match(result.output, /remote: ready on blue; switching as git updates main/, 'the release was prepared');
  t.match(result.output, /\[remote rejected\] main -> main/);
  t.notMatch(result.output, /remote: deployed /);
  t.equal(await branchOf('blue'), v1);
  t.equal(readlinkSync(path.join(hosts.appRoots.blue, 'current')), servedBefore, 'current never moved');
  t.equal(readFileSync(current('blue', 'REVISION'), 'utf8'), `${v1}\n`);
  // The deploy ends (and its lock is released) once git-receive-pack is done.
  const lockFile = path.join(hosts.dataDir, 'locks', 'blue.lock');
  for (let i = 0; i < 200 && existsSync(lockFile); i++) await new Promise((r) => setTimeout(r, 25));
  t.notOk(existsSync(lockFile), 'no stale lock');
  t.same(readdirSync(path.join(hosts.appRoots.blue, 'releases')).filter((n) => n.includes(v2.slice(0, 12))), [], 'nothing of v2 is left on the host');
  const last = history(hosts.dataDir).filter((r) => r.type === 'deploy').at(-1);
  t.equal(last?.revision, v2);
  t.equal(last?.outcome, 'failed', 'history does not claim the deploy');
});

t.test('an atomic push whose other ref git refuses deploys nothing', async (t) => {
  const { work, current, branchOf, repoDir } = await setupPush(t);
  work.write('index.html', 'v1');
  const v1 = work.commit('v1');
  t.equal((await push(work, 'blue', 'main')).code, 0);
  mkdirSync(path.join(repoDir('blue'), 'refs', 'heads'), { recursive: true });
  writeFileSync(path.join(repoDir('blue'), 'refs', 'heads', 'feature.lock'), '');
  work.write('index.html', 'v2');
  work.commit('v2');
  work.git('branch', 'feature');
  const result = await push(work, 'blue', '--atomic', 'main', 'feature');
  t.not(result.code, 0, result.output);
  t.equal(await branchOf('blue'), v1);
  t.equal(readFileSync(current('blue', 'index.html'), 'utf8'), 'v1');
  t.notMatch(result.output, /stored, not deployed/, 'no ref is said to be stored when git refused it');
});

t.test('refused before anything is deployed: a tag object on a branch, a tag named main, refs outside branches and tags, unknown push options', async (t) => {
  const { work, current, branchOf } = await setupPush(t);
  work.write('index.html', 'v1');
  const v1 = work.commit('v1');
  work.git('tag', '-a', 'v1', '-m', 'release 1');

  const tagOnBranch = await push(work, 'blue', 'refs/tags/v1:refs/heads/main');
  t.not(tagOnBranch.code, 0);
  t.match(tagOnBranch.output, /remote: error: refused: refs\/heads\/main would point at a tag object \([0-9a-f]{12}\), and a branch must point at a commit/);
  t.match(tagOnBranch.output, /remote: hint: push the commit itself: `git push REMOTE main\^\{commit\}:main`/);
  t.equal(await branchOf('blue'), '');
  t.notOk(existsSync(current('blue')), 'nothing was deployed');

  work.git('tag', 'main');
  const tagMain = await push(work, 'blue', 'refs/heads/main:refs/heads/main', 'refs/tags/main:refs/tags/main');
  t.not(tagMain.code, 0);
  t.match(tagMain.output, /remote: error: refused: a tag named main would make `main` ambiguous in every clone/);
  t.equal(await branchOf('blue', 'refs/tags/main'), '');
  work.git('tag', '-d', 'main');

  const notes = await push(work, 'blue', 'main', 'main:refs/notes/x');
  t.not(notes.code, 0);
  t.match(notes.output, /remote: error: refused: refs\/notes\/x is not a branch or a tag/);
  t.equal(await branchOf('blue', 'refs/notes/x'), '', 'not stored either');

  work.git('branch', 'feature');
  const typo = await push(work, 'blue', '-o', 'force-liev', 'main', 'feature');
  t.not(typo.code, 0);
  t.match(typo.output, /remote: error: refused: unknown push option "force-liev"; nothing was deployed/);
  t.match(typo.output, /remote: hint: bluegreen understands -o force-live/);
  t.notMatch(typo.output, /stored, not deployed/);
  t.equal(await branchOf('blue', 'refs/heads/feature'), '');

  const fine = await push(work, 'blue', 'main', 'feature');
  t.equal(fine.code, 0, fine.output);
  t.match(fine.output, /remote: stored, not deployed: refs\/heads\/feature/);
  t.equal(await branchOf('blue'), v1);
});

t.test('a file that becomes a submodule leaves the release, as in a full deploy; many deletions in one go', async (t) => {
  const { work, current } = await setupPush(t);
  work.write('lib', 'a file');
  for (let i = 0; i < 1500; i++) work.write(`deep/d${i % 30}/sub/f${i}.txt`, `${i}`);
  work.write('keep/me.txt', 'kept');
  work.commit('v1');
  t.equal((await push(work, 'blue', 'main')).code, 0);
  t.ok(existsSync(current('blue', 'lib')));

  work.remove('lib').remove('deep');
  work.git('rm', '-q', '--cached', '-r', 'lib', 'deep');
  work.git('update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},lib`);
  work.git('commit', '-q', '-m', 'lib becomes a submodule; deep goes');
  const result = await push(work, 'blue', 'main');
  t.equal(result.code, 0, result.output);
  t.match(result.output, /remote: files: 0 added, 0 changed, 1501 removed since /);
  t.notOk(existsSync(current('blue', 'lib')), 'the old file is gone: the release equals the commit tree');
  t.notOk(existsSync(current('blue', 'deep')), 'directories left empty are gone too');
  t.equal(readFileSync(current('blue', 'keep/me.txt'), 'utf8'), 'kept');
});

t.test('git-receive-pack and the hooks under it get none of the secrets from the environment or .env', async (t) => {
  const secret = 'do-not-leak-0123456789abcdef';
  const { hosts, work } = await setupPush(t, { DIGITALOCEAN_TOKEN: secret, BLUEGREEN_NOTIFY_SECRET: secret });
  for (let i = 0; i < 1500; i++) work.write(`f/${i}.txt`, `${i}`.repeat(400));
  work.commit('big enough to watch');
  const pushing = push(work, 'blue', 'main');
  const seen = new Map<number, string>();
  while (!seen.size || [...seen.values()].every((c) => !c.includes('git-hook.pl'))) {
    for (const child of serverChildren(hosts.dataDir)) {
      try {
        seen.set(child.pid, readFileSync(`/proc/${child.pid}/environ`, 'utf8'));
      } catch {
        // ended meanwhile
      }
    }
    if ((await Promise.race([pushing.then(() => true), new Promise((r) => setTimeout(() => r(false), 10))])) === true) break;
  }
  t.equal((await pushing).code, 0);
  t.ok(seen.size > 0, 'saw the push’s git processes');
  for (const [pid, environ] of seen) t.notOk(environ.includes(secret), `process ${pid} has no secret in its environment`);
});
