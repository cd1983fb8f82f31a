/**
 * A server killed at a bad moment, then started again (real `bluegreen serve`, real SSH hosts): main, what the
 * hosts serve and history agree again, the log says which way each went, and quarantine leftovers are gone.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { requireBuild, startServe } from '../helpers/bluegreen.js';
import { push, setupPush } from '../helpers/push-setup.js';

requireBuild();

const deploys = (dataDir: string) =>
  readFileSync(path.join(dataDir, 'history.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; revision?: string; outcome?: string; note?: string })
    .filter((r) => r.type === 'deploy');

t.test('a host left on a release git never accepted goes back to main; a deploy that stood but was not recorded is recorded; quarantine leftovers go', async (t) => {
  const { hosts, env, work, server, current, repoDir } = await setupPush(t);
  work.write('index.html', 'v1');
  const v1 = work.commit('v1');
  t.equal((await push(work, 'blue', 'main')).code, 0);
  await server.stop('SIGKILL');

  // As a kill between the switch and git's update leaves it: a release of a commit main never took, current on it.
  const releases = path.join(hosts.appRoots.blue, 'releases');
  const good = readlinkSync(path.join(hosts.appRoots.blue, 'current')).replace('releases/', '');
  const stray = `29991231235959-${'f'.repeat(12)}`;
  cpSync(path.join(releases, good), path.join(releases, stray), { recursive: true });
  writeFileSync(path.join(releases, stray, 'REVISION'), `${'f'.repeat(40)}\n`);
  writeFileSync(path.join(releases, stray, 'index.html'), 'never accepted');
  symlinkSync(`releases/${stray}`, path.join(hosts.appRoots.blue, '.current-tmp'));
  renameSync(path.join(hosts.appRoots.blue, '.current-tmp'), path.join(hosts.appRoots.blue, 'current'));
  // And a quarantine directory of a killed push.
  const quarantine = path.join(repoDir('blue'), 'objects', 'tmp_objdir-incoming-Xy12ab');
  mkdirSync(quarantine, { recursive: true });
  writeFileSync(path.join(quarantine, 'big.pack'), Buffer.alloc(1024 * 1024));

  const restarted = await startServe(hosts.dir, env, t);
  await restarted.waitFor(/reconciled blue: .* served ffffffffffff, which git never accepted; back on releases\/\S+ \(main, [0-9a-f]{12}\)/);
  t.match(restarted.output(), /removed 1 leftover of interrupted pushes from the repositories/);
  t.notOk(existsSync(quarantine), 'the quarantine leftover is gone');
  t.equal(readFileSync(current('blue', 'index.html'), 'utf8'), 'v1');
  t.equal(readFileSync(current('blue', 'REVISION'), 'utf8'), `${v1}\n`);
  await restarted.stop();

  // A deploy that stood (main moved, hosts switched) whose record the kill lost.
  const historyFile = path.join(hosts.dataDir, 'history.jsonl');
  const kept = readFileSync(historyFile, 'utf8').split('\n').filter((line) => line && !line.includes(v1));
  writeFileSync(historyFile, kept.join('\n'));
  t.same(deploys(hosts.dataDir), [], 'the record is lost');
  const again = await startServe(hosts.dir, env, t);
  await again.waitFor(/reconciled blue: recorded the deploy of [0-9a-f]{12} \(releases\/\S+\), which the server had stopped before recording/);
  const recorded = deploys(hosts.dataDir);
  t.equal(recorded.length, 1);
  t.equal(recorded[0]?.revision, v1);
  t.equal(recorded[0]?.outcome, 'deployed');
  t.match(recorded[0]?.note, /recorded later/);
  t.notMatch(again.output(), /reconciled green/, 'green had nothing to reconcile');
});

t.test('killed at random moments of a push, the server comes back with main and the hosts agreeing', async (t) => {
  const { hosts, env, work, server, current, branchOf } = await setupPush(t);
  work.write('index.html', 'base');
  work.commit('base');
  const first = await push(work, 'blue', 'main');
  t.equal(first.code, 0, first.output);
  let running = server;
  for (const [round, delayMs] of [250, 700, 1200, 1800].entries()) {
    for (let i = 0; i < 400; i++) work.write(`r${round}/${i}.txt`, `${round} ${i}`.repeat(300));
    work.commit(`round ${round}`);
    const pushing = push(work, 'blue', 'main');
    await new Promise((r) => setTimeout(r, delayMs));
    await running.stop('SIGKILL');
    await pushing;
    running = await startServe(hosts.dir, env, t);
    const url = new URL(work.git('remote', 'get-url', 'blue').trim());
    url.host = new URL(running.gitUrl).host;
    work.git('remote', 'set-url', 'blue', url.toString());
    // Reconciling runs in the background, under the colour's lock.
    const lockFile = path.join(hosts.dataDir, 'locks', 'blue.lock');
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 400 && existsSync(lockFile); i++) await new Promise((r) => setTimeout(r, 25));
    const main = await branchOf('blue');
    t.equal(readFileSync(current('blue', 'REVISION'), 'utf8'), `${main}\n`, `round ${round} (killed after ${delayMs} ms): the host serves main`);
    const last = deploys(hosts.dataDir).filter((r) => r.outcome === 'deployed').at(-1);
    t.equal(last?.revision, main, `round ${round}: history's last deploy is main`);
    t.same(readdirSync(path.join(hosts.dataDir, 'repos', 'blue.git', 'objects')).filter((n) => n.includes('incoming')), [], 'no quarantine left');
  }
});
