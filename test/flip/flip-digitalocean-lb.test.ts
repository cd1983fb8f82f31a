/**
 * `bluegreen flip` end to end with the `digitalocean-lb` provider against the fake API, over real sshd hosts.
 * Production is a TCP forwarder standing for the load balancer: the fake re-points it at the first droplet
 * the balancer targets when a change becomes active. Blue is found by tag, green by a droplet name.
 */
import t, { type Test } from 'tap';
import { type FakeBalancer, loadBalancer, startFakeDigitalOcean } from '../fakes/digitalocean-api.js';
import { startTcpForwarder } from '../fakes/tcp-forwarder.js';
import { assertNoSecrets, publicRevision, startFlipWorld } from './flip-env.js';

const TOKEN = 'dop_v1_FLIPTEST0lb0token0c0ffee0123456789abcdef';
const LB_ID = '7dbf91fe-cbdb-48dc-8290-c3a181554905';
const BLUE_ID = 101;
const GREEN_ID = 202;
const short = (sha: string) => sha.slice(0, 12);
/** What a move must leave as it was. */
const kept = ({ tag: _tag, droplet_ids: _ids, status: _status, ...rest }: FakeBalancer) => rest;

async function loadBalancerWorld(t: Test) {
  const forwarder = await startTcpForwarder(undefined);
  let portOf: Record<number, number> = {};
  const balancer = loadBalancer(LB_ID, 'web-lb', { tag: 'web-blue' });
  // Health checks 1 s apart (shorter than DigitalOcean allows, to keep the test quick): the provider waits
  // the balancer's own 2 × 1 s after each change.
  balancer.health_check = { ...balancer.health_check, check_interval_seconds: 1, healthy_threshold: 2 };
  const api = await startFakeDigitalOcean({
    token: TOKEN,
    droplets: [
      { id: BLUE_ID, name: 'web-blue', tags: ['web-blue'] },
      { id: GREEN_ID, name: 'web-green', tags: ['web-green'] },
    ],
    reservedIps: {},
    loadBalancers: [balancer],
    // Each change is active at the first read after it: the real provider polls every 2 s.
    balancerTicks: 0,
    onBalancerActive: (b) => forwarder.setTarget(portOf[b.droplet_ids[0]]),
  });
  t.teardown(async () => {
    await api.close();
    await forwarder.close();
  });
  const w = await startFlipWorld(t, {
    BLUEGREEN_PROVIDER: 'digitalocean-lb',
    DIGITALOCEAN_TOKEN: TOKEN,
    DIGITALOCEAN_API_URL: api.url,
    DIGITALOCEAN_LOAD_BALANCER: 'web-lb', // by name
    BLUE_TAG: 'web-blue',
    GREEN_DROPLET: 'web-green',
    BLUEGREEN_PUBLIC_URL: forwarder.url,
  });
  portOf = { [BLUE_ID]: w.http.blue.port, [GREEN_ID]: w.http.green.port };
  forwarder.setTarget(w.http.blue.port);
  return { w, api, forwarder, publicUrl: forwarder.url, initial: api.balancerView(LB_ID) };
}

t.test('full loop: blue (by tag) is live, push green, flip green (by droplet), status, rollback', async (t) => {
  const { w, api, forwarder, publicUrl, initial } = await loadBalancerWorld(t);

  const blue = await w.deploy('blue', 'blue v1', 'force-live');
  t.equal(blue.push.code, 0, blue.push.output);
  t.match(blue.push.output, /remote: force-live: deploying to blue, which serves production traffic/, 'the balancer says blue is live');
  const green = await w.deploy('green', 'green v2');
  t.equal(green.push.code, 0, green.push.output);

  const flip = await w.cli(['flip', 'green', '--yes']);
  t.equal(flip.code, 0, flip.stderr);
  t.match(flip.stderr, /digitalocean load balancer web-lb sends traffic to blue \(tag web-blue\); pointing it at green \(droplet 202\)/);
  t.match(flip.stderr, /waiting for digitalocean load balancer web-lb to become active \(status new\)/);
  t.match(flip.stderr, /digitalocean load balancer web-lb is active; waiting 2 s for green's droplets to pass 2 health checks, 1 s apart/);
  t.match(flip.stderr, /digitalocean load balancer web-lb sends traffic to green \(droplet 202\), after \d+ s/);
  t.match(flip.stderr, new RegExp(`green is live \\(${short(green.sha)}\\), verified through ${publicUrl}`));
  const flipped = api.balancerView(LB_ID);
  t.match(flipped, { tag: '', droplet_ids: [GREEN_ID], status: 'active' });
  t.same(kept(flipped), kept(initial), 'forwarding rules, health check and every other attribute kept');
  t.equal(forwarder.target(), w.http.green.port);
  t.equal(await publicRevision(publicUrl), green.sha, 'production serves green');

  const status = await w.cli(['status', '--json']);
  t.equal(status.code, 0, status.stderr);
  t.match(JSON.parse(status.stdout), { provider: 'digitalocean load balancer web-lb', live: 'green', liveError: null });

  const rollback = await w.cli(['rollback', '--yes']);
  t.equal(rollback.code, 0, rollback.stderr);
  t.match(rollback.stderr, /pointing it at blue \(tag web-blue: web-blue\)/);
  t.match(rollback.stderr, new RegExp(`blue is live \\(${short(blue.sha)}\\), verified through`));
  t.same(api.balancerView(LB_ID), { ...initial }, 'the balancer is as it was before the first flip');
  t.equal(await publicRevision(publicUrl), blue.sha, 'production serves blue again');
  t.match(JSON.parse((await w.cli(['history', '--json'])).stdout)[0], { type: 'flip', from: 'green', to: 'blue', outcome: 'flipped' });
  t.equal(api.balancerPuts.length, 2);
  t.ok(api.balancerPuts.every((body) => body.region === 'ams3'), 'region sent as its slug');

  // A colour given both ways is a configuration error: exit 2, naming the variables.
  const bad = await w.cli(['status'], { GREEN_TAG: 'web-green' });
  t.equal(bad.code, 2, bad.stderr);
  t.match(bad.stderr, /GREEN_TAG and GREEN_DROPLET are both set/);

  assertNoSecrets(t, w, { DIGITALOCEAN_TOKEN: TOKEN });
});
