/**
 * Edges of a flip with the `digitalocean` provider over real sshd hosts: a push racing a flip to its colour,
 * and a flip back to a colour bluegreen never deployed (nothing to verify it by).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { publicRevision } from './flip-env.js';
import { BLUE_ID, digitalOceanWorld } from './provider-worlds.js';

const short = (sha: string) => sha.slice(0, 12);

t.test(
  'a push to green that arrives while green is being flipped live waits for the flip, then must be refused as a push to the live colour',
  async (t) => {
    const { w, publicUrl, assigned } = await digitalOceanWorld(t);
    const blue = await w.deploy('blue', 'blue v1', 'force-live');
    t.equal(blue.push.code, 0, blue.push.output);
    const green = await w.deploy('green', 'green v2');
    t.equal(green.push.code, 0, green.push.output);

    // Hold the flip while it checks green (it holds green's lock by then).
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    w.http.green.onHealth = () => held;
    t.teardown(() => {
      release();
      w.http.green.onHealth = undefined;
    });
    const flipping = w.cli(['flip', 'green', '--yes']);
    const lockFile = path.join(w.dataDir, 'locks', 'green.lock');
    while (!existsSync(lockFile) || !readFileSync(lockFile, 'utf8').includes('"purpose":"flip"')) await new Promise((r) => setTimeout(r, 10));

    // Meanwhile someone pushes to green: it waits for the flip's lock (give it time to get there) ...
    w.work.write('index.html', 'late change\n');
    const late = w.work.commit('late change');
    const pushing = w.push('green');
    await new Promise((r) => setTimeout(r, 1500));
    // ... and the flip goes on; the push must ask where production is only once it holds the lock.
    release();

    const flip = await flipping;
    t.equal(flip.code, 0, flip.stderr);
    t.equal(await publicRevision(publicUrl), green.sha, 'green is live');
    const pushed = await pushing;
    t.match(pushed.output, /remote: waiting: green is busy with a flip by /);
    t.not(pushed.code, 0, 'green is live once the push gets the lock: it must be refused without force-live');
    t.match(pushed.output, /remote: error: refused: green is live, it serves production traffic/);
    t.not(await w.branchOf('green'), late, 'green main is not moved');
    t.equal(await publicRevision(publicUrl), green.sha, 'production still serves what was verified');
    t.equal(assigned(), 202);
  },
);

t.test('flipping back to a colour bluegreen never deployed does not claim it was verified', async (t) => {
  const { w, traffic, forwarder, publicUrl, assigned } = await digitalOceanWorld(t);
  // Production ran on blue before bluegreen: blue has no deploy in bluegreen's history.
  const green = await w.deploy('green', 'green v1');
  t.equal(green.push.code, 0, green.push.output);

  const dry = await w.cli(['flip', 'green', '--dry-run']);
  t.match(dry.stderr, /if step 3 fails: move traffic to blue \(digitalocean reserved IP 203\.0\.113\.10\)\n/, 'the plan has no check to flip back by');

  traffic.moves = false; // the API moves the IP, traffic does not follow
  const r = await w.cli(['flip', 'green', '--yes']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /flipping back to blue/);
  t.match(r.stderr, /error: flip to green failed the check through the public address \(.*\); flipped back: blue is live again/);
  t.notMatch(r.stderr, /blue is live again, verified/, 'nothing verified blue: there was no revision to check it by');
  t.match(r.stderr, new RegExp(`not verified[^\\n]*${publicUrl}`), 'it says so, and where to look');
  t.equal(assigned(), BLUE_ID);
  t.equal(forwarder.target(), w.http.blue.port);
  t.match(w.history()[0], { type: 'flip', from: 'blue', to: 'green', outcome: 'flipped-back' });
  t.equal(short(green.sha).length, 12);
});
