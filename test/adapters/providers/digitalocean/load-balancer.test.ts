import t, { type Test } from 'tap';
import { createDigitalOceanApi } from '../../../../src/adapters/providers/digitalocean/api.js';
import { createDigitalOceanLoadBalancerProvider } from '../../../../src/adapters/providers/digitalocean/load-balancer.js';
import { taggedDroplets } from '../../../../src/adapters/providers/digitalocean/tagged-droplets.js';
import type { ProviderConfig } from '../../../../src/core/config.js';
import { httpGet, startBackend } from '../../../fakes/backends.js';
import { virtualClock } from '../../../fakes/clock.js';
import { BALANCER_DEFAULTS, type FakeBalancer, loadBalancer, startFakeDigitalOcean } from '../../../fakes/digitalocean-api.js';
import { startTcpForwarder } from '../../../fakes/tcp-forwarder.js';
import { rejectsWithUserError } from '../../../helpers/user-error.js';

type LbConfig = Extract<ProviderConfig, { kind: 'digitalocean-lb' }>;

const TOKEN = 'dop_v1_1b5ecret1b5ecret1b5ecret1b';
const LB_ID = '4de7ac8b-495b-4884-9a69-1050c6793cd6';
const DESCRIPTION = 'digitalocean load balancer web-lb';
const DROPLETS = [
  { id: 101, name: 'web-blue-1', tags: ['web-blue'] },
  { id: 102, name: 'web-blue-2', tags: ['web-blue'] },
  { id: 201, name: 'web-green-1', tags: ['web-green'] },
  { id: 202, name: 'web-green-2', tags: ['web-green'] },
  { id: 203, name: 'web-green-3', tags: ['web-green'] },
  { id: 301, name: 'web-other', tags: ['other'] },
  ...[1, 2, 3, 4, 5, 6].map((n) => ({ id: 500 + n, name: `many-${n}`, tags: ['many'] })),
  { id: 401, name: 'twin' },
  { id: 402, name: 'twin' },
];
/** The balancers of the account: ours, others (so finding it by name takes pages), and two of one name. */
const BALANCERS = [
  loadBalancer('0a000000-0000-4000-8000-000000000001', 'api-lb', { droplet_ids: [301] }),
  loadBalancer('0a000000-0000-4000-8000-000000000002', 'twin-lb', { droplet_ids: [301] }),
  loadBalancer('0a000000-0000-4000-8000-000000000003', 'twin-lb', { droplet_ids: [301] }),
  loadBalancer(LB_ID, 'web-lb', { tag: 'web-blue' }),
];

const everythingSaid: string[][] = [];

/** Drops what a move changes (and what GET computes), leaving what it must keep. */
const kept = (balancer: FakeBalancer) => {
  const { tag: _tag, droplet_ids: _ids, status: _status, ...rest } = balancer;
  return rest;
};

/** Backends, a forwarder standing for the balancer (re-pointed when the fake applies a change), the fake, a provider. */
async function setup(
  t: Test,
  options: { targets?: Partial<LbConfig['targets']>; loadBalancer?: string; balancerTicks?: number; deadlineMs?: number; start?: { tag: string } | { droplet_ids: number[] } } = {},
) {
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  const other = await startBackend('other');
  const portOf = (id: number | undefined) => (id === undefined ? undefined : id < 200 ? blue.port : id < 300 ? green.port : other.port);
  const clock = virtualClock();
  const balancers = BALANCERS.map((b) => (b.id === LB_ID && options.start ? loadBalancer(LB_ID, 'web-lb', options.start) : b));
  const forwarder = await startTcpForwarder(blue.port);
  const api = await startFakeDigitalOcean({
    token: TOKEN,
    droplets: DROPLETS,
    reservedIps: {},
    loadBalancers: balancers,
    balancerTicks: options.balancerTicks ?? 0,
    perPage: 2,
    now: clock.now,
    onBalancerActive: (b) => {
      if (b.id === LB_ID) forwarder.setTarget(portOf(b.droplet_ids[0]));
    },
  });
  const config: LbConfig = {
    kind: 'digitalocean-lb',
    token: TOKEN,
    apiUrl: api.url,
    loadBalancer: options.loadBalancer ?? 'web-lb',
    targets: { blue: { tag: 'web-blue' }, green: { tag: 'web-green' }, ...options.targets },
  };
  const provider = createDigitalOceanLoadBalancerProvider(config, { pollIntervalMs: 1000, deadlineMs: options.deadlineMs ?? 60_000, ...clock });
  const said: string[] = [];
  const say = (line: string) => said.push(line);
  t.teardown(async () => {
    await provider.close();
    await api.close();
    await forwarder.close();
    await Promise.all([blue.close(), green.close(), other.close()]);
  });
  const through = async () => (await httpGet(forwarder.url)).body;
  const puts = () => api.requests.filter((r) => r.line.startsWith('PUT '));
  /** Asserts the move fails with a UserError whose text matches, and that no message carries the token. */
  const failsWith = (colour: 'blue' | 'green', message: RegExp, hint?: RegExp) =>
    rejectsWithUserError(t, provider.moveTraffic(colour, say), { message, hint, secrets: [TOKEN.slice(7)] });
  everythingSaid.push(said);
  return { api, provider, forwarder, clock, said, say, through, puts, failsWith };
}

t.test('tag to tag: every attribute the balancer had is kept, region goes as its slug, traffic follows', async (t) => {
  const { api, provider, clock, said, say, through } = await setup(t);
  const before = api.balancerView(LB_ID);
  t.equal(provider.description, DESCRIPTION);
  t.equal(await provider.liveColour(), 'blue');
  t.equal(await through(), 'blue');

  await provider.moveTraffic('green', say);

  const after = api.balancerView(LB_ID);
  t.same(kept(after), kept(before), 'forwarding rules, health check, sticky sessions, size, VPC, firewall, flags: all as they were');
  t.match(after, { tag: 'web-green', droplet_ids: [201, 202, 203], status: 'active' });
  t.equal(await provider.liveColour(), 'green');
  t.equal(await through(), 'green');

  t.equal(api.balancerPuts.length, 1);
  const body = api.balancerPuts[0]!;
  t.equal(body.region, 'ams3', 'region as its slug');
  t.equal(body.tag, 'web-green');
  t.notOk('droplet_ids' in body, 'droplet_ids left out when sending a tag');
  for (const attribute of ['id', 'ip', 'status', 'created_at']) t.notOk(attribute in body, `read-only ${attribute} not sent`);
  t.same(body.forwarding_rules, before.forwarding_rules);

  t.same(said, [
    `${DESCRIPTION} sends traffic to blue (tag web-blue); pointing it at green (tag web-green: web-green-1, web-green-2, web-green-3)`,
    `waiting for ${DESCRIPTION} to become active (status new)`,
    `${DESCRIPTION} is active; waiting 10 s for green's droplets to pass 2 health checks, 5 s apart`,
    `${DESCRIPTION} sends traffic to green (tag web-green), after 11 s`,
  ]);
  t.ok(clock.slept.includes(10_000), 'waited for the health checks');
  t.ok(
    api.requests.some((r) => r.line.startsWith('GET /v2/droplets?tag_name=web-green') && r.line.includes('page=2')),
    'the tag list was followed to its second page',
  );
  t.ok(
    api.requests.some((r) => r.line.startsWith('GET /v2/load_balancers?') && r.line.includes('page=2')),
    'the balancer was found by name on the second page of the list',
  );
  t.ok(api.requests.every((r) => r.authorization === `Bearer ${TOKEN}`), 'Bearer token on every request');
});

t.test('the fake resets what a PUT leaves out, and refuses a region object: a client that drops attributes is caught', async (t) => {
  const { api } = await setup(t);
  const put = (body: unknown) =>
    fetch(`${api.url}/v2/load_balancers/${LB_ID}`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const regionObject = await put({ ...api.balancerView(LB_ID), tag: 'web-green', droplet_ids: undefined });
  t.equal(regionObject.status, 422);
  t.match(await regionObject.json(), { id: 'unprocessable_entity', message: /region slug/ });
  const dropped = await put({ name: 'web-lb', region: 'ams3', tag: 'web-green' });
  t.equal(dropped.status, 200);
  const after = api.balancerView(LB_ID);
  t.same(after.forwarding_rules, [], 'forwarding rules reset');
  t.same(after.health_check, BALANCER_DEFAULTS.health_check, 'health check reset');
  t.equal(after.redirect_http_to_https, false);
});

t.test('a colour as a list of droplets (names and ids), and back to a tag', async (t) => {
  const { api, provider, said, say, through } = await setup(t, { targets: { green: { droplets: ['web-green-1', '202', 'web-green-3'] } } });
  const before = api.balancerView(LB_ID);
  await provider.moveTraffic('green', say);
  t.match(api.balancerPuts[0], { droplet_ids: [201, 202, 203] });
  t.notOk('tag' in api.balancerPuts[0]!, 'tag left out when sending droplet ids');
  t.match(api.balancerView(LB_ID), { tag: '', droplet_ids: [201, 202, 203] });
  t.same(kept(api.balancerView(LB_ID)), kept(before));
  t.equal(await provider.liveColour(), 'green');
  t.equal(await through(), 'green');
  t.match(said[0], `${DESCRIPTION} sends traffic to blue (tag web-blue); pointing it at green (droplets 201, 202, 203)`);
  t.ok(api.requests.some((r) => r.line === 'GET /v2/droplets?name=web-green-1'), 'a name is looked up');

  await provider.moveTraffic('blue', say);
  t.match(api.balancerPuts[1], { tag: 'web-blue' });
  t.notOk('droplet_ids' in api.balancerPuts[1]!);
  t.same(kept(api.balancerView(LB_ID)), kept(before));
  t.match(said.at(-4), `${DESCRIPTION} sends traffic to green (droplets 201, 202, 203); pointing it at blue (tag web-blue: web-blue-1, web-blue-2)`);
  t.equal(await provider.liveColour(), 'blue');
  t.equal(await through(), 'blue');
});

t.test('already there: nothing is sent; by id, the balancer is not looked up by name', async (t) => {
  const { api, provider, said, say, puts } = await setup(t, { loadBalancer: LB_ID });
  await provider.moveTraffic('blue', say);
  t.same(said, [`digitalocean load balancer ${LB_ID} already sends traffic to blue (tag web-blue)`, `digitalocean load balancer ${LB_ID} sends traffic to blue (tag web-blue), after 0 s`]);
  t.same(puts(), []);
  t.notOk(api.requests.some((r) => r.line.startsWith('GET /v2/load_balancers?')));
});

t.test('live colour: nothing targeted is no colour; something else is an error saying what', async (t) => {
  const { api, provider } = await setup(t, { start: { droplet_ids: [] }, targets: { green: { droplets: ['201'] } } });
  t.equal(await provider.liveColour(), undefined);
  api.loadBalancers.get(LB_ID)!.tag = 'other';
  await rejectsWithUserError(t, provider.liveColour(), {
    message: new RegExp(`^${DESCRIPTION} sends traffic to tag other, which is neither blue \\(tag web-blue\\) nor green \\(droplet 201\\)$`),
    hint: /BLUE_TAG/,
    secrets: [TOKEN],
  });
  api.loadBalancers.get(LB_ID)!.tag = '';
  api.loadBalancers.get(LB_ID)!.droplet_ids = [201, 301];
  await t.rejects(provider.liveColour(), { message: /sends traffic to droplets 201, 301, which is neither blue/ });
});

t.test('403 while the balancer applies an earlier change: waits, then updates', async (t) => {
  const { api, provider, said, say, through, puts } = await setup(t);
  api.startForeignBalancerChange(LB_ID, 3);
  await provider.moveTraffic('green', say);
  t.ok(puts().length >= 2, `the PUT was sent again (${puts().length})`);
  t.equal(api.balancerPuts.length, 1, 'one PUT was accepted');
  t.equal(said.filter((line) => line === `${DESCRIPTION} is still applying an earlier change; waiting`).length, 1);
  t.equal(said.filter((line) => line.includes('pointing it at green')).length, 1, 'said once');
  t.equal(await through(), 'green');
});

t.test('busy past the deadline gives up, saying where traffic goes', async (t) => {
  const { api, failsWith, through } = await setup(t, { deadlineMs: 3000 });
  api.startForeignBalancerChange(LB_ID, 1000);
  await failsWith('green', new RegExp(`^${DESCRIPTION} stayed busy with earlier changes; gave up after 3 s: it sends traffic to blue \\(tag web-blue\\)$`), /flip green/);
  t.equal(await through(), 'blue');
});

t.test('status new until active: polled, then traffic moves', async (t) => {
  const { api, provider, said, say, through } = await setup(t, { balancerTicks: 3 });
  await provider.moveTraffic('green', say);
  t.ok(said.includes(`waiting for ${DESCRIPTION} to become active (status new)`));
  const reads = api.requests.filter((r) => r.line === `GET /v2/load_balancers/${LB_ID}`).length;
  t.ok(reads >= 5, `read until active (${reads} reads)`);
  t.equal(await through(), 'green');
});

t.test('a change that errors, or never becomes active', async (t) => {
  t.test('errored', async (t) => {
    const { api, failsWith } = await setup(t, { balancerTicks: 1 });
    api.nextBalancerOutcome = 'errored';
    await failsWith('green', new RegExp(`^DigitalOcean reports ${DESCRIPTION} errored: it sends traffic to green \\(tag web-green\\)$`), /control panel/);
  });
  t.test('never active', async (t) => {
    const { api, failsWith, through } = await setup(t, { deadlineMs: 10_000 });
    api.nextBalancerOutcome = 'never';
    await failsWith('green', new RegExp(`^${DESCRIPTION} did not become active \\(status new\\); gave up after 10 s: it sends traffic to green \\(tag web-green\\)$`));
    t.equal(await through(), 'blue', 'traffic never moved');
  });
});

t.test('another change replaced this one before it became active', async (t) => {
  const { api, clock, failsWith } = await setup(t, { balancerTicks: 2 });
  clock.onSleep = (count) => {
    if (count === 1) api.loadBalancers.get(LB_ID)!.tag = 'other';
  };
  await failsWith('green', new RegExp(`^${DESCRIPTION} became active sending traffic to tag other, neither blue nor green, not green: another change replaced this one$`));
});

t.test('names: balancers and droplets that match none, several, or one droplet for both colours', async (t) => {
  t.test('no balancer of that name', async (t) => {
    const { failsWith } = await setup(t, { loadBalancer: 'web-lbb' });
    const error = await failsWith('green', /^no load balancer is named "web-lbb" \(DIGITALOCEAN_LOAD_BALANCER\)$/, /doctl compute load-balancer list/);
    t.equal(error?.exitCode, 2);
  });
  t.test('two balancers of that name', async (t) => {
    const { failsWith } = await setup(t, { loadBalancer: 'twin-lb' });
    await failsWith(
      'green',
      /^2 load balancers are named "twin-lb" \(DIGITALOCEAN_LOAD_BALANCER\): ids 0a000000-0000-4000-8000-000000000002, 0a000000-0000-4000-8000-000000000003$/,
      /the id of the one you mean/,
    );
  });
  t.test('no balancer of that id', async (t) => {
    const { failsWith } = await setup(t, { loadBalancer: '0b000000-0000-4000-8000-00000000dead' });
    await failsWith('green', /^DigitalOcean has no load balancer 0b000000-0000-4000-8000-00000000dead \(404 not_found\)$/, /DIGITALOCEAN_LOAD_BALANCER/);
  });
  t.test('a droplet name that matches several', async (t) => {
    const { failsWith } = await setup(t, { targets: { green: { droplets: ['web-green-1', 'twin'] } } });
    await failsWith('green', /^2 droplets are named "twin" \(GREEN_DROPLET\): ids 401, 402$/);
  });
  t.test('one droplet in both colours, by name and by id', async (t) => {
    const { failsWith } = await setup(t, { targets: { blue: { droplets: ['web-blue-1', '201'] }, green: { droplets: ['web-green-1'] } } });
    const error = await failsWith('green', /^BLUE_DROPLET and GREEN_DROPLET both name droplet 201$/, /different droplets/);
    t.equal(error?.exitCode, 2);
  });
});

t.test('a tag of many droplets: progress names the first five and the count', async (t) => {
  const { provider, said, say } = await setup(t, { targets: { green: { tag: 'many' } } });
  await provider.moveTraffic('green', say);
  t.equal(said[0], `${DESCRIPTION} sends traffic to blue (tag web-blue); pointing it at green (tag many: many-1, many-2, many-3, many-4, many-5, … (6 droplets))`);
});

t.test('a tag that no droplet carries is refused before anything changes', async (t) => {
  const { failsWith, puts } = await setup(t, { targets: { green: { tag: 'web-gren' } } });
  await failsWith('green', new RegExp(`^no droplet has the tag web-gren \\(GREEN_TAG\\): pointing ${DESCRIPTION} at it would leave production without a backend$`), /GREEN_TAG/);
  t.same(puts(), []);
});

t.test('a token without write access: the PUT refusal names the access it needs', async (t) => {
  const { api, failsWith, through } = await setup(t);
  api.forbidBalancerPuts = true;
  const error = await failsWith(
    'green',
    new RegExp(`^DigitalOcean refused to update ${DESCRIPTION} \\(403 forbidden: You do not have access for the attempted action\\.\\)$`),
    /write access to load balancers/,
  );
  t.equal(error?.exitCode, 2);
  t.equal(await through(), 'blue');
});

t.test('429 waits as ratelimit-reset says, then the move goes on', async (t) => {
  const { api, provider, clock, say, through } = await setup(t);
  api.rateLimitNext(1, { resetInSeconds: 20 });
  await provider.moveTraffic('green', say);
  t.ok(clock.slept[0]! >= 19_000 && clock.slept[0]! <= 20_000, `waited for the reset (${clock.slept[0]})`);
  t.equal(await through(), 'green');
});

t.test("taggedDroplets: every page of a tag's droplets, with their addresses", async (t) => {
  const { api, clock } = await setup(t);
  const client = createDigitalOceanApi({ token: TOKEN, apiUrl: api.url }, { pollIntervalMs: 1000, ...clock }, { forbidden: '', refused: '' });
  const droplets = await taggedDroplets(client, 'web-green', clock.now() + 60_000);
  t.same(
    droplets.map((d) => d.id),
    [201, 202, 203],
  );
  t.same(droplets[2], {
    id: 203,
    name: 'web-green-3',
    v4: [
      { ip: '10.110.0.203', type: 'private' },
      { ip: '198.51.0.203', type: 'public' },
    ],
  });
  t.same(await taggedDroplets(client, 'nobody', clock.now() + 60_000), []);
});

t.test('no secret in anything any provider said', async (t) => {
  const all = everythingSaid.flat().join('\n');
  t.ok(all.length > 0);
  t.notMatch(all, TOKEN.slice(7));
});
