/**
 * `bluegreen flip` / `rollback` / `status` / `history` end to end with the `local` provider: real pushes
 * deploy over SSH to two real sshd hosts, each host's `current` is served over HTTP, and production is the
 * router inside `bluegreen serve`.
 */
import { readdirSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { HEALTH_PATH, publicRevision, startLocalWorld } from './flip-env.js';

const short = (sha: string) => sha.slice(0, 12);

t.test('full loop: push green, flip green, status and history say so, rollback returns to blue', async (t) => {
  const w = await startLocalWorld(t);
  const blue = await w.deploy('blue', 'blue v1');
  t.equal(blue.push.code, 0, blue.push.output);

  // The first release: nothing was live, the router answers 503 until a flip.
  const first = await w.cli(['flip', 'blue', '--yes']);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, new RegExp(`blue is live \\(${short(blue.sha)}\\), verified through http://127\\.0\\.0\\.1:\\d+/`));
  t.equal(await publicRevision(w.publicUrl), blue.sha);

  const green = await w.deploy('green', 'green v2');
  t.equal(green.push.code, 0, green.push.output);
  t.equal(await publicRevision(w.publicUrl), blue.sha, 'a deploy to the idle colour does not touch production');

  const flip = await w.cli(['flip', 'green', '--yes']);
  t.equal(flip.code, 0, flip.stderr);
  t.match(flip.stderr, /check green at http:\/\/127\.0\.0\.1:\d+\/: \/health\.txt answers 2xx/);
  t.match(flip.stderr, /local router at http:\/\/127\.0\.0\.1:\d+ now routes to green/);
  t.match(flip.stderr, new RegExp(`green is live \\(${short(green.sha)}\\), verified through ${w.publicUrl.replace(/\./g, '\\.')}, in \\d+\\.\\d+ s`));
  t.equal(flip.stdout, '', 'progress goes to stderr');
  t.equal(await publicRevision(w.publicUrl), green.sha, 'production serves green');
  t.equal(w.routerLive(), 'green');

  const status = await w.cli(['status', '--json']);
  t.equal(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout);
  t.equal(s.live, 'green', 'the provider reports green live');
  t.equal(s.liveError, null);
  t.match(s.provider, /^local router at http:\/\/127\.0\.0\.1:\d+$/);
  t.match(s.colours, [
    { colour: 'blue', url: w.http.blue.url, deployed: { revision: blue.sha }, serving: blue.sha, healthy: true, lock: null },
    { colour: 'green', url: w.http.green.url, deployed: { revision: green.sha }, serving: green.sha, healthy: true, lock: null },
  ]);
  const text = await w.cli(['status']);
  t.match(text.stdout, new RegExp(`^live: green  \\(local router at .*\\)\\n  blue +${short(blue.sha)} deployed .*\\n.*healthy.*\\n +behind green: \`bluegreen sync\` deploys green's revision to blue .*\\n\\* green +${short(green.sha)} deployed`));

  const history = await w.cli(['history', '--json']);
  t.equal(history.code, 0, history.stderr);
  const records = JSON.parse(history.stdout);
  t.match(records[0], {
    type: 'flip',
    from: 'blue',
    to: 'green',
    outcome: 'flipped',
    revisions: { blue: blue.sha, green: green.sha },
    by: String,
    durationMs: Number,
    phases: { 'verify-host-green': Number, 'move-green': Number, 'verify-public-green': Number },
  });
  t.notOk('error' in records[0]);
  t.match(records[1], { type: 'deploy', colour: 'green', revision: green.sha, outcome: 'deployed' });
  t.match(records[2], { type: 'flip', to: 'blue', outcome: 'flipped' });
  t.notOk('from' in records[2], 'the first flip came from no colour');
  const historyText = await w.cli(['history', '--limit', '1']);
  t.match(historyText.stdout, /^\S+  flip      blue -> green  by \S+, flipped\n?$/);

  const rollback = await w.cli(['rollback', '--yes']);
  t.equal(rollback.code, 0, rollback.stderr);
  t.match(rollback.stderr, /rolling back to blue/);
  t.match(rollback.stderr, new RegExp(`blue is live \\(${short(blue.sha)}\\), verified through`));
  t.equal(await publicRevision(w.publicUrl), blue.sha, 'production serves blue again');
  t.equal(JSON.parse((await w.cli(['status', '--json'])).stdout).live, 'blue');
  t.match(JSON.parse((await w.cli(['history', '--json'])).stdout)[0], { type: 'flip', from: 'green', to: 'blue', outcome: 'flipped' });
});

t.test('refusals leave production where it was', async (t) => {
  const w = await startLocalWorld(t);
  const blue = await w.deploy('blue', 'blue v1');
  t.equal(blue.push.code, 0, blue.push.output);

  t.test('a colour that was never deployed', async (t) => {
    const r = await w.cli(['flip', 'green', '--yes']);
    t.equal(r.code, 1);
    t.match(r.stderr, /error: refused: nothing has been deployed to green\nhint: deploy first: git push green main/);
    t.equal(w.routerLive(), undefined, 'nothing was made live');
    t.equal(w.historyText().includes('"type":"flip"'), false, 'no flip recorded');
  });

  t.test('blue goes live; flipping to the live colour only verifies it', async (t) => {
    t.equal((await w.cli(['flip', 'blue', '--yes'])).code, 0);
    const before = w.historyText();
    const r = await w.cli(['flip', 'blue', '--yes']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, new RegExp(`blue is live already \\(${short(blue.sha)}\\), and healthy: nothing to move`));
    t.equal(w.historyText(), before, 'nothing recorded');
    t.equal(await publicRevision(w.publicUrl), blue.sha);
  });

  let green = '';
  t.test('--dry-run prints the plan and changes nothing', async (t) => {
    const deployed = await w.deploy('green', 'green v2');
    t.equal(deployed.push.code, 0, deployed.push.output);
    green = deployed.sha;
    const before = w.historyText();
    const r = await w.cli(['flip', 'green', '--dry-run']);
    t.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    t.match(lines, [
      `flip blue -> green (${short(green)})`,
      new RegExp(`^  1\\. check green at ${w.http.green.url}: /health\\.txt answers 2xx and /REVISION is ${short(green)}$`),
      /^ {2}2\. move traffic to green \(local router at http:\/\/127\.0\.0\.1:\d+\)$/,
      new RegExp(`^  3\\. check ${w.publicUrl}: /REVISION is green's ${short(green)}$`),
      new RegExp(`^  if step 3 fails: move traffic to blue \\(local router .*\\), then check ${w.publicUrl}: /REVISION is blue's ${short(blue.sha)}$`),
      'dry run: nothing was changed',
    ]);
    t.equal(lines.length, 6);
    t.equal(w.routerLive(), 'blue');
    t.equal(await publicRevision(w.publicUrl), blue.sha);
    t.equal(w.historyText(), before, 'nothing recorded');

    const viaFlip = await w.flipBin(['green', '--dry-run']);
    t.equal(viaFlip.code, 0, viaFlip.stderr);
    t.equal(viaFlip.stderr, r.stderr, '`flip green` is `bluegreen flip green`');

    const rollback = await w.cli(['rollback', '--dry-run']);
    t.equal(rollback.code, 1, 'the only flip came from no colour');
    t.match(rollback.stderr, /refused: no colour was live before the last flip to blue/);
  });

  t.test('on a terminal, flip shows the plan and asks first; anything but yes cancels', async (t) => {
    const no = await w.cliOnTerminal(['flip', 'green'], 'n\n');
    t.equal(no.code, 1, no.output);
    t.match(no.output, `flip blue -> green (${short(green)})`);
    t.match(no.output, /proceed\? \[y\/N\] /);
    t.match(no.output, /error: flip cancelled; production unchanged \(blue is live\)/);
    t.equal(w.routerLive(), 'blue');
    t.equal(await publicRevision(w.publicUrl), blue.sha);
  });

  t.test('an unhealthy target is refused', async (t) => {
    w.http.green.unhealthy = true;
    t.teardown(() => {
      w.http.green.unhealthy = false;
    });
    const r = await w.cli(['flip', 'green', '--yes']);
    t.equal(r.code, 1);
    t.match(
      r.stderr,
      new RegExp(
        `error: refused: green is not healthy: ${w.http.green.url.replace(/\/$/, '')}${HEALTH_PATH.replace('.', '\\.')}: HTTP 500 .*\\. Production unchanged: blue is live`,
      ),
    );
    t.match(r.stderr, /hint: fix green, or push a working revision: git push green main/);
    t.notMatch(r.stderr, /move traffic/, 'never got as far as moving traffic');
    t.equal(w.routerLive(), 'blue');
    t.equal(await publicRevision(w.publicUrl), blue.sha);
  });

  t.test('a target serving another revision than its last deploy is refused', async (t) => {
    const again = await w.deploy('green', 'green v3');
    t.equal(again.push.code, 0, again.push.output);
    // Someone pointed green's `current` back at the previous release behind bluegreen's back.
    const root = w.appRoots.green;
    const latest = readlinkSync(path.join(root, 'current'));
    const previous = readdirSync(path.join(root, 'releases')).sort().find((id) => id.endsWith(short(green)));
    t.ok(previous, 'the previous release is still there');
    symlinkSync(`releases/${previous}`, path.join(root, 'current.test'));
    renameSync(path.join(root, 'current.test'), path.join(root, 'current'));
    t.teardown(() => {
      symlinkSync(latest, path.join(root, 'current.test'));
      renameSync(path.join(root, 'current.test'), path.join(root, 'current'));
    });
    const r = await w.cli(['flip', 'green', '--yes']);
    t.equal(r.code, 1);
    t.match(r.stderr, `error: refused: green serves ${short(green)}, but its last deploy was ${short(again.sha)}. Production unchanged: blue is live`);
    t.match(r.stderr, /hint: redeploy it \(git push green main\)/);
    t.equal(w.routerLive(), 'blue');
    t.equal(await publicRevision(w.publicUrl), blue.sha);

    const status = JSON.parse((await w.cli(['status', '--json'])).stdout);
    t.match(status.colours[1], { colour: 'green', deployed: { revision: again.sha }, serving: green });
  });

  t.test('once green serves its last deploy again, answering yes on the terminal flips', async (t) => {
    const yes = await w.cliOnTerminal(['flip', 'green'], 'y\n');
    t.equal(yes.code, 0, yes.output);
    t.match(yes.output, /proceed\? \[y\/N\] /);
    t.match(yes.output, /green is live \([0-9a-f]{12}\), verified through/);
    t.equal(w.routerLive(), 'green');
  });
});
