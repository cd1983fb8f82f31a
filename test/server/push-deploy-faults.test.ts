/**
 * End to end, when things go wrong mid-push: real `git push` over HTTP to the real `bluegreen serve`, deploying
 * over SSH to real OpenSSH hosts as an unprivileged deploy user — two pushes at once, the server killed, the
 * pusher's hook killed. Nothing half-done stays behind: no lock, no switched host.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { requireBuild, runCli, startServe } from '../helpers/bluegreen.js';
import { push, setupPush } from '../helpers/push-setup.js';
import { WorkRepo } from '../helpers/git-repo.js';
import { descendants } from '../helpers/sshd.js';

requireBuild();

const setup = setupPush;

t.test('two concurrent pushes to one colour are serialized: the second waits, told for whom, then is checked again', async (t) => {
  const { hosts, work, env, current, branchOf } = await setup(t);
  const added = await runCli(hosts.dir, ['user', 'add', 'bob'], env);
  const bobToken = added.stdout.split('\n')[1] ?? '';
  const other = new WorkRepo();
  t.teardown(() => other.cleanup());
  const bobUrl = new URL(work.git('remote', 'get-url', 'blue').trim());
  bobUrl.username = 'bob';
  bobUrl.password = bobToken;
  other.git('remote', 'add', 'blue', bobUrl.toString());
  // Alice's push carries a sizeable tree so her deploy is still running when Bob's arrives.
  for (let i = 0; i < 2000; i++) work.write(`a/${i}.txt`, `alice ${i}`.repeat(100));
  const alice = work.commit('alice');
  other.write('index.html', 'bob');
  other.commit('bob');
  const lockFile = path.join(hosts.dataDir, 'locks', 'blue.lock');
  const first = push(work, 'blue', 'main');
  while (!existsSync(lockFile)) await new Promise((r) => setTimeout(r, 5));
  const [a, b] = await Promise.all([first, push(other, 'blue', 'main')]);
  t.equal(a.code, 0, a.output);
  t.match(b.output, /remote: waiting: blue is busy with a deploy by alice since /);
  t.not(b.code, 0, 'main moved under Bob while he waited: his push would have been built on a stale main');
  t.match(b.output, /remote: error: refused: main on blue moved to [0-9a-f]{12} while this push waited; nothing was deployed/);
  t.equal(await branchOf('blue'), alice);
  t.equal(readFileSync(current('blue', 'REVISION'), 'utf8'), `${alice}\n`);

  // Once Bob has caught up, his push goes through.
  other.git('fetch', 'blue');
  other.git('rebase', '-q', 'blue/main');
  const again = await push(other, 'blue', 'main');
  t.equal(again.code, 0, again.output);
  t.equal(readFileSync(current('blue', 'index.html'), 'utf8'), 'bob');
});

t.test('a server killed mid-deploy leaves no lock behind', async (t) => {
  const { hosts, env, work, server, current } = await setup(t);
  // Enough files that the deploy is still running when it is interrupted, a few milliseconds after it took the lock.
  for (let i = 0; i < 800; i++) work.write(`a/${i}.txt`, `${i}`.repeat(200));
  work.commit();
  const lockFile = path.join(hosts.dataDir, 'locks', 'blue.lock');
  const pushing = push(work, 'blue', 'main');
  while (!existsSync(lockFile)) await new Promise((r) => setTimeout(r, 5));
  await server.stop('SIGKILL');
  t.not((await pushing).code, 0, 'the interrupted push failed');
  t.ok(existsSync(lockFile), 'the killed server left its lock file');
  t.throws(() => statSync(current('blue')), 'current was never switched');

  const restarted = await startServe(hosts.dir, env, t);
  const url = new URL(work.git('remote', 'get-url', 'blue').trim());
  url.host = new URL(restarted.gitUrl).host;
  work.git('remote', 'set-url', 'blue', url.toString());
  const result = await push(work, 'blue', 'main');
  t.equal(result.code, 0, result.output);
  t.notMatch(result.output, /waiting/);
  t.ok(statSync(current('blue', 'a/1.txt')).isFile());
});

/** Pids of processes below `ancestor` whose command line contains `needle`. */
function descendantsMatching(ancestor: number, needle: string): number[] {
  return descendants(ancestor).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  });
}

t.test('a hook killed mid-deploy rejects the push and never switches current', async (t) => {
  const { hosts, work, server, current, branchOf } = await setup(t);
  work.write('index.html', 'first');
  const first = work.commit();
  t.equal((await push(work, 'blue', 'main')).code, 0);
  // Enough files that the deploy is still running when it is interrupted, a few milliseconds after it took the lock.
  for (let i = 0; i < 800; i++) work.write(`a/${i}.txt`, `${i}`.repeat(200));
  work.commit();
  const lockFile = path.join(hosts.dataDir, 'locks', 'blue.lock');
  const pushing = push(work, 'blue', 'main');
  while (!existsSync(lockFile)) await new Promise((r) => setTimeout(r, 5));
  const hooks = descendantsMatching(server.child.pid ?? 0, 'git-hook.pl');
  t.equal(hooks.length, 1, 'found the running hook');
  for (const pid of hooks) process.kill(pid, 'SIGKILL');
  const result = await pushing;
  t.not(result.code, 0);
  // The engine notices, stops before the switch, and releases the lock.
  while (existsSync(lockFile)) await new Promise((r) => setTimeout(r, 20));
  t.equal(readFileSync(current('blue', 'REVISION'), 'utf8'), `${first}\n`);
  t.equal(await branchOf('blue'), first);
  const history = readFileSync(path.join(hosts.dataDir, 'history.jsonl'), 'utf8');
  t.match(history, /"outcome":"failed","error":"the push was interrupted \(the pusher disconnected\)"/);
});
