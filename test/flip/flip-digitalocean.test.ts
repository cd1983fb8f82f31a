/**
 * `bluegreen flip` end to end with the `digitalocean` provider against the fake API, over real sshd hosts.
 * Production is a TCP forwarder standing for the reserved IP: the fake re-points it when an assign completes.
 */
import t from 'tap';
import { assertNoSecrets, publicRevision } from './flip-env.js';
import { BLUE_ID, GREEN_ID, TOKEN, digitalOceanWorld } from './provider-worlds.js';

const short = (sha: string) => sha.slice(0, 12);

t.test('full loop: blue is live, push green, flip green, status, history, rollback', async (t) => {
  const { w, api, forwarder, publicUrl, assigned } = await digitalOceanWorld(t);

  // Production already runs on blue: a push to blue is refused, naming it, unless forced.
  const refused = await w.deploy('blue', 'blue v1');
  t.not(refused.push.code, 0);
  t.match(refused.push.output, /remote: error: refused: blue is live, it serves production traffic/);
  const forced = await w.push('blue', '-o', 'force-live');
  t.equal(forced.code, 0, forced.output);
  t.match(forced.output, /remote: force-live: deploying to blue, which serves production traffic/);
  const blue = refused.sha;
  t.equal(await publicRevision(publicUrl), blue);

  const green = await w.deploy('green', 'green v2');
  t.equal(green.push.code, 0, green.push.output);

  const flip = await w.cli(['flip', 'green', '--yes']);
  t.equal(flip.code, 0, flip.stderr);
  t.match(flip.stderr, /digitalocean reserved IP 203\.0\.113\.10 points at blue \(droplet 101 web-blue\); assigning it to green \(droplet 202\)/);
  t.match(flip.stderr, /digitalocean reserved IP 203\.0\.113\.10 now points at green \(droplet 202\)/);
  t.match(flip.stderr, new RegExp(`green is live \\(${short(green.sha)}\\), verified through ${publicUrl}`));
  t.equal(assigned(), GREEN_ID, 'the API has the IP on green');
  t.equal(forwarder.target(), w.http.green.port, 'the reserved IP reaches green');
  t.equal(await publicRevision(publicUrl), green.sha, 'production serves green');

  const status = await w.cli(['status', '--json']);
  t.equal(status.code, 0, status.stderr);
  t.match(JSON.parse(status.stdout), {
    provider: 'digitalocean reserved IP 203.0.113.10',
    live: 'green',
    liveError: null,
    colours: [
      { colour: 'blue', deployed: { revision: blue }, serving: blue, healthy: true },
      { colour: 'green', deployed: { revision: green.sha }, serving: green.sha, healthy: true },
    ],
  });

  const history = JSON.parse((await w.cli(['history', '--json'])).stdout);
  t.match(history[0], {
    type: 'flip',
    from: 'blue',
    to: 'green',
    outcome: 'flipped',
    revisions: { blue, green: green.sha },
    durationMs: Number,
    phases: { 'verify-host-green': Number, 'move-green': Number, 'verify-public-green': Number },
  });
  t.ok(history[0].durationMs >= history[0].phases['move-green'], 'the whole flip takes at least its move');

  // A careless API quoting the Authorization header in a 500: retried, and never repeated.
  api.echoCredentials = true;
  api.failNext(1, 500);
  const rollback = await w.cli(['rollback', '--yes', '--verbose']);
  t.equal(rollback.code, 0, rollback.stderr);
  t.match(rollback.stderr, new RegExp(`rolling back to blue[^]*blue is live \\(${short(blue)}\\), verified through`));
  t.ok(
    api.requests.some((r) => r.line.startsWith('GET /v2/reserved_ips/') && r.authorization === `Bearer ${TOKEN}`),
    'the fake did see the token (so the secret check below means something)',
  );
  t.equal(assigned(), BLUE_ID);
  t.equal(forwarder.target(), w.http.blue.port);
  t.equal(await publicRevision(publicUrl), blue, 'production serves blue again');
  t.equal(JSON.parse((await w.cli(['status', '--json'])).stdout).live, 'blue');
  t.match(JSON.parse((await w.cli(['history', '--json'])).stdout)[0], { type: 'flip', from: 'green', to: 'blue', outcome: 'flipped' });

  assertNoSecrets(t, w, { DIGITALOCEAN_TOKEN: TOKEN });
});

t.test('the check through the public address fails: flipped back to blue, verified, and recorded', async (t) => {
  const { w, forwarder, traffic, publicUrl, assigned } = await digitalOceanWorld(t);
  const blue = await w.deploy('blue', 'blue v1', 'force-live');
  t.equal(blue.push.code, 0, blue.push.output);
  const green = await w.deploy('green', 'green v2');
  t.equal(green.push.code, 0, green.push.output);

  // The API says the IP moved, but traffic still reaches blue (a stale route).
  traffic.moves = false;
  const r = await w.cli(['flip', 'green', '--yes']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, new RegExp(`the check through the public address failed: ${publicUrl} serves ${short(blue.sha)}, expected green's ${short(green.sha)}`));
  t.match(r.stderr, /flipping back to blue/);
  t.match(
    r.stderr,
    new RegExp(`error: flip to green failed the check through the public address \\(.*\\); flipped back: blue is live again, verified\\nhint: see what green serves at ${w.http.green.url} and through ${publicUrl}`),
  );
  t.equal(assigned(), BLUE_ID, 'the reserved IP is back on blue');
  t.equal(forwarder.target(), w.http.blue.port, 'production reaches blue');
  t.equal(await publicRevision(publicUrl), blue.sha);

  const history = JSON.parse((await w.cli(['history', '--json'])).stdout);
  t.match(history[0], {
    type: 'flip',
    from: 'blue',
    to: 'green',
    outcome: 'flipped-back',
    error: new RegExp(`serves ${short(blue.sha)}, expected green's`),
    phases: { 'verify-host-green': Number, 'move-green': Number, 'move-blue': Number, 'verify-public-blue': Number },
  });
  t.equal(JSON.parse((await w.cli(['status', '--json'])).stdout).live, 'blue');

  // rollback only follows successful flips: the last one is none, so there is nothing to roll back.
  const rollback = await w.cli(['rollback', '--yes']);
  t.equal(rollback.code, 1);
  t.match(rollback.stderr, /error: refused: there is no flip to roll back/);

  // Once traffic follows the IP again, the same flip succeeds.
  traffic.moves = true;
  const again = await w.cli(['flip', 'green', '--yes']);
  t.equal(again.code, 0, again.stderr);
  t.equal(await publicRevision(publicUrl), green.sha);

  assertNoSecrets(t, w, { DIGITALOCEAN_TOKEN: TOKEN });
});
