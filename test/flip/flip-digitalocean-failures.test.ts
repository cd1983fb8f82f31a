/**
 * `bluegreen flip` with the `digitalocean` provider when the API fails: each failure says where production
 * points, exits with the right code, leaves traffic where it was, and never shows the token (also with --verbose).
 */
import t, { type Test } from 'tap';
import { assertNoSecrets, publicRevision } from './flip-env.js';
import { BLUE_ID, TOKEN, digitalOceanWorld } from './provider-worlds.js';

const WRONG_TOKEN = 'dop_v1_FLIPTEST0wrong0token0deadbeef9876543210';

t.test('provider failures', async (t) => {
  const { w, api, fakeOptions, forwarder, publicUrl, assigned } = await digitalOceanWorld(t);
  const blue = await w.deploy('blue', 'blue v1', 'force-live');
  t.equal(blue.push.code, 0, blue.push.output);
  const green = await w.deploy('green', 'green v2');
  t.equal(green.push.code, 0, green.push.output);
  const unchanged = async (t: Test) => {
    t.equal(assigned(), BLUE_ID, 'the reserved IP is still on blue');
    t.equal(forwarder.target(), w.http.blue.port);
    t.equal(await publicRevision(publicUrl), blue.sha, 'production serves blue');
  };

  t.test('the assign action errors', async (t) => {
    api.nextOutcome = 'errored';
    t.teardown(() => {
      api.nextOutcome = 'completed';
    });
    const r = await w.cli(['flip', 'green', '--yes', '--verbose']);
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /error: moving traffic to green failed: DigitalOcean reports the assign of 203\.0\.113\.10 to green \(action \d+\) errored: it points at blue \(droplet 101 web-blue\)\. Production now points at: blue\n/,
    );
    t.match(r.stderr, /hint: see the action in the DigitalOcean control panel, then run `bluegreen flip green` again/);
    t.notMatch(r.stderr, /\n\s+at /, 'a reported failure has no stack trace, even with --verbose');
    await unchanged(t);
    t.match(w.history()[0], { type: 'flip', from: 'blue', to: 'green', outcome: 'failed', error: /errored/ });
  });

  t.test('a rejected token: refused before anything moves, naming DIGITALOCEAN_TOKEN', async (t) => {
    const r = await w.cli(['flip', 'green', '--yes', '--verbose'], { DIGITALOCEAN_TOKEN: WRONG_TOKEN });
    t.equal(r.code, 2, 'a bad token is bad configuration');
    t.match(r.stderr, /error: DigitalOcean rejected the API token \(401 unauthorized: Unable to authenticate you\)\nhint: set DIGITALOCEAN_TOKEN to a valid personal access token/);
    const status = await w.cli(['status', '--json'], { DIGITALOCEAN_TOKEN: WRONG_TOKEN });
    t.equal(status.code, 0, status.stderr);
    t.match(JSON.parse(status.stdout), { live: null, liveError: /DigitalOcean rejected the API token/ });
    t.ok(
      api.requests.some((req) => req.authorization === `Bearer ${WRONG_TOKEN}`),
      'the wrong token did reach the API (so the secret check means something)',
    );
    await unchanged(t);
  });

  t.test('the token is revoked in the middle of the flip', async (t) => {
    // Revoked while bluegreen checks green, i.e. after it read where the IP points and before it moves it.
    w.http.green.onHealth = () => {
      fakeOptions.token = 'revoked';
    };
    t.teardown(() => {
      w.http.green.onHealth = undefined;
      fakeOptions.token = TOKEN;
    });
    const r = await w.cli(['flip', 'green', '--yes', '--verbose']);
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /error: moving traffic to green failed: DigitalOcean rejected the API token \(401 unauthorized: Unable to authenticate you\)\. Production now points at: unknown \(it cannot be read now; before this flip it was blue\)\nhint: set DIGITALOCEAN_TOKEN to a valid personal access token/,
    );
    t.match(w.history()[0], { type: 'flip', from: 'blue', to: 'green', outcome: 'failed', error: /401/ });
    fakeOptions.token = TOKEN;
    await unchanged(t);
  });

  t.test('another action holds the IP: the flip waits it out, then moves', async (t) => {
    // An action not made by bluegreen, still running for two reads of the IP: the one deciding the flip and
    // the first one of the move, which then waits it out and assigns.
    api.startForeignAction('203.0.113.10', BLUE_ID, 2);
    const r = await w.cli(['flip', 'green', '--yes']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /is busy with another action; waiting/);
    t.equal(await publicRevision(publicUrl), green.sha);
    const back = await w.cli(['rollback', '--yes']);
    t.equal(back.code, 0, back.stderr);
    await unchanged(t);
  });

  t.test('no secret anywhere', async (t) => {
    assertNoSecrets(t, w, { DIGITALOCEAN_TOKEN: TOKEN, 'the wrong token': WRONG_TOKEN });
  });
});
