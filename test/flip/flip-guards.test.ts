/**
 * Guards around a flip with the `local` provider over real sshd hosts: a push to the live colour is refused
 * (the live colour as the provider reports it) unless `-o force-live`; a running deploy's lock makes flip refuse.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { publicRevision, startLocalWorld } from './flip-env.js';

t.test('a push to the live colour is refused naming it; -o force-live deploys it', async (t) => {
  const w = await startLocalWorld(t);
  const blue = await w.deploy('blue', 'blue v1');
  t.equal(blue.push.code, 0, blue.push.output);
  t.equal((await w.cli(['flip', 'blue', '--yes'])).code, 0);

  const refused = await w.deploy('blue', 'blue v2 straight to production');
  t.not(refused.push.code, 0);
  t.match(refused.push.output, /remote: error: refused: blue is live, it serves production traffic/);
  t.match(refused.push.output, /remote: hint: deploy to green and flip, or deploy to the live colour anyway: `git push -o force-live` \(`bluegreen deploy blue --force-live`\)/);
  t.equal(await w.branchOf('blue'), blue.sha, "blue's main is unchanged");
  t.equal(await publicRevision(w.publicUrl), blue.sha, 'production unchanged');

  // Green is not live: an ordinary push goes through.
  const green = await w.push('green');
  t.equal(green.code, 0, green.output);

  const forced = await w.push('blue', '-o', 'force-live');
  t.equal(forced.code, 0, forced.output);
  t.match(forced.output, /remote: force-live: deploying to blue, which serves production traffic/);
  t.equal(await w.branchOf('blue'), refused.sha);
  t.equal(await publicRevision(w.publicUrl), refused.sha, 'production serves the forced revision at once');
});

t.test('a lock held by a running deploy makes flip refuse, naming who deploys', async (t) => {
  const w = await startLocalWorld(t);
  const blue = await w.deploy('blue', 'blue v1');
  t.equal(blue.push.code, 0, blue.push.output);
  t.equal((await w.cli(['flip', 'blue', '--yes'])).code, 0);
  const green = await w.deploy('green', 'green v1');
  t.equal(green.push.code, 0, green.push.output);

  // A second deploy to green, held still mid-transfer by stopping the SSH server's processes.
  for (let i = 0; i < 1500; i++) w.work.write(`big/${i}.txt`, `${i}`.repeat(100));
  const big = w.work.commit('big');
  const lockFile = path.join(w.dataDir, 'locks', 'green.lock');
  const pushing = w.push('green');
  while (!existsSync(lockFile)) await new Promise((resolve) => setTimeout(resolve, 5));
  const stopped = w.hosts.green.connectionPids();
  for (const pid of stopped) process.kill(pid, 'SIGSTOP');
  let resumed = false;
  const resume = () => {
    if (resumed) return;
    resumed = true;
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
  };
  t.teardown(resume);

  const r = await w.cli(['flip', 'green', '--yes']);
  const status = JSON.parse((await w.cli(['status', '--json'])).stdout);
  resume();
  t.equal(r.code, 1);
  t.match(r.stderr, /error: refused: green is busy with a deploy by alice\nhint: flip when it is done \(`bluegreen status` shows locks\)/);
  t.match(status.colours[1], { colour: 'green', lock: { holder: 'alice', purpose: 'deploy' } });
  t.equal(w.routerLive(), 'blue');
  t.equal(await publicRevision(w.publicUrl), blue.sha);

  const pushed = await pushing;
  t.equal(pushed.code, 0, pushed.output);
  t.notOk(existsSync(lockFile), 'the lock is gone with the deploy');
  const after = await w.cli(['flip', 'green', '--yes']);
  t.equal(after.code, 0, after.stderr);
  t.equal(await publicRevision(w.publicUrl), big);
});
