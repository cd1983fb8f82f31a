import t, { type Test } from 'tap';
import { createDigitalOceanProvider } from '../../../../src/adapters/providers/digitalocean/reserved-ip.js';
import type { ProviderConfig } from '../../../../src/core/config.js';
import { httpGet, startBackend } from '../../../fakes/backends.js';
import { virtualClock } from '../../../fakes/clock.js';
import { startFakeDigitalOcean } from '../../../fakes/digitalocean-api.js';
import { startTcpForwarder } from '../../../fakes/tcp-forwarder.js';
import { rejectsWithUserError } from '../../../helpers/user-error.js';

const TOKEN = 'dop_v1_5ecret5ecret5ecret5ecret';
const IP = '203.0.113.10';
const DROPLETS = [
  { id: 101, name: 'web-blue' },
  { id: 202, name: 'web-green' },
  { id: 303, name: 'web-other' },
  { id: 404, name: 'twin' },
  { id: 405, name: 'twin' },
];

const everythingSaid: string[][] = [];

/** Backends, a forwarder standing for the reserved IP (re-pointed when the fake completes an assign), the fake, a provider. */
async function setup(
  t: Test,
  options: { assigned?: number | null; droplets?: Partial<Record<'blue' | 'green', string>>; token?: string; ticks?: number; deadlineMs?: number; apiUrl?: string; requestTimeoutMs?: number } = {},
) {
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  const other = await startBackend('other');
  const portOf: Record<number, number> = { 101: blue.port, 202: green.port, 303: other.port };
  const assigned = options.assigned === undefined ? 101 : options.assigned;
  const forwarder = await startTcpForwarder(assigned === null ? undefined : portOf[assigned]);
  const clock = virtualClock();
  const api = await startFakeDigitalOcean({
    token: TOKEN,
    droplets: DROPLETS,
    reservedIps: { [IP]: assigned },
    ticks: options.ticks,
    now: clock.now,
    onAssign: (_ip, id) => forwarder.setTarget(portOf[id]),
  });
  const config: Extract<ProviderConfig, { kind: 'digitalocean' }> = {
    kind: 'digitalocean',
    token: options.token ?? TOKEN,
    apiUrl: options.apiUrl ?? api.url,
    reservedIp: IP,
    droplets: { blue: 'web-blue', green: 'web-green', ...options.droplets },
  };
  const provider = createDigitalOceanProvider(config, {
    pollIntervalMs: 1000,
    deadlineMs: options.deadlineMs ?? 60_000,
    requestTimeoutMs: options.requestTimeoutMs,
    ...clock,
  });
  const said: string[] = [];
  const say = (line: string) => said.push(line);
  t.teardown(async () => {
    await provider.close();
    await api.close();
    await forwarder.close();
    await Promise.all([blue.close(), green.close(), other.close()]);
  });
  const through = async () => (await httpGet(forwarder.url)).body;
  /** Asserts the move fails with a UserError whose text matches, and that no message carries the token. */
  const failsWith = (colour: 'blue' | 'green', message: RegExp, hint?: RegExp) =>
    rejectsWithUserError(t, provider.moveTraffic(colour, say), { message, hint, secrets: [TOKEN.slice(6)] });
  everythingSaid.push(said);
  return { api, provider, forwarder, clock, said, say, through, failsWith };
}

t.test('moves the reserved IP to green: traffic through it reaches green afterwards', async (t) => {
  const { api, provider, said, say, through } = await setup(t);
  t.equal(provider.description, `digitalocean reserved IP ${IP}`);
  t.equal(await provider.liveColour(), 'blue');
  t.equal(await through(), 'blue');
  await provider.moveTraffic('green', say);
  t.equal(await provider.liveColour(), 'green');
  t.equal(await through(), 'green');
  t.same(said, [
    `digitalocean reserved IP ${IP} points at blue (droplet 101 web-blue); assigning it to green (droplet 202)`,
    `digitalocean reserved IP ${IP} now points at green (droplet 202)`,
  ]);
  t.ok(api.requests.some((r) => r.line === '/v2/droplets?name=web-blue'.replace(/^/, 'GET ')));
  t.ok(api.requests.every((r) => r.authorization === `Bearer ${TOKEN}`), 'Bearer token on every request');
  t.ok(api.requests.some((r) => /^GET \/v2\/reserved_ips\/203.0.113.10\/actions\/\d+$/.test(r.line)), 'polled the action');
});

t.test('droplets by id; already there means no action', async (t) => {
  const { api, provider, say, said } = await setup(t, { droplets: { blue: '101', green: '202' } });
  await provider.moveTraffic('blue', say);
  t.same(said, [`digitalocean reserved IP ${IP} already points at blue (droplet 101 web-blue)`]);
  t.notOk(api.requests.some((r) => r.line.startsWith('POST') || r.line.includes('droplets?')));
});

t.test('liveColour is undefined when unassigned or on another droplet, and moving says which', async (t) => {
  t.test('unassigned', async (t) => {
    const { provider, say, said, through } = await setup(t, { assigned: null });
    t.equal(await provider.liveColour(), undefined);
    await provider.moveTraffic('blue', say);
    t.match(said[0], /points at nothing \(unassigned\); assigning it to blue/);
    t.equal(await through(), 'blue');
  });
  t.test('another droplet', async (t) => {
    const { provider, say, said } = await setup(t, { assigned: 303 });
    t.equal(await provider.liveColour(), undefined);
    await provider.moveTraffic('green', say);
    t.match(said[0], /points at droplet 303 web-other, neither blue nor green; assigning it to green/);
  });
});

t.test('a rejected token names DIGITALOCEAN_TOKEN, never its value', async (t) => {
  const { provider, failsWith } = await setup(t, { token: 'dop_v1_wrongwrongwrong' });
  const error = await failsWith('green', /^DigitalOcean rejected the API token \(401 unauthorized: Unable to authenticate you\)$/, /DIGITALOCEAN_TOKEN/);
  t.notMatch(error?.message, 'wrongwrong');
  await t.rejects(provider.liveColour(), { message: /401/, exitCode: 2 });
});

t.test('droplet names that match none, several, or the same droplet', async (t) => {
  t.test('none', async (t) => {
    const { failsWith } = await setup(t, { droplets: { green: 'web-gren' } });
    await failsWith('green', /^no droplet is named "web-gren" \(GREEN_DROPLET\)$/, /doctl compute droplet list/);
  });
  t.test('several', async (t) => {
    const { failsWith } = await setup(t, { droplets: { green: 'twin' } });
    await failsWith('green', /^2 droplets are named "twin" \(GREEN_DROPLET\): ids 404, 405$/, /set GREEN_DROPLET to the id/);
  });
  t.test('same', async (t) => {
    const { failsWith } = await setup(t, { droplets: { green: '101' } });
    await failsWith('green', /^BLUE_DROPLET and GREEN_DROPLET are the same droplet \(id 101\)$/);
  });
});

t.test('an unknown reserved IP', async (t) => {
  const { api, failsWith } = await setup(t);
  api.reservedIps.delete(IP);
  await failsWith('green', /^DigitalOcean has no reserved IP 203\.0\.113\.10 \(404 not_found\)$/, /BLUEGREEN_RESERVED_IP/);
});

t.test('429: waits as retry-after says, else until ratelimit-reset', async (t) => {
  const { api, provider, clock, say, through } = await setup(t);
  api.rateLimitNext(1, { retryAfter: '7' });
  t.equal(await provider.liveColour(), 'blue');
  t.same(clock.slept, [7000]);
  clock.slept.length = 0;
  api.rateLimitNext(1, { resetInSeconds: 30 });
  await provider.moveTraffic('green', say);
  t.equal(await through(), 'green');
  t.ok(clock.slept[0]! >= 29_000 && clock.slept[0]! <= 30_000, `waited for the reset (${clock.slept[0]})`);
});

t.test('429 past the deadline gives up saying so', async (t) => {
  const { api, failsWith, through } = await setup(t, { deadlineMs: 5000 });
  api.rateLimitNext(100, { retryAfter: '60' });
  await failsWith('green', /^gave up on DigitalOcean GET \/v2\/droplets\?name=web-blue after 1 try: HTTP 429 too_many_requests: API Rate limit exceeded\.$/, /try again/);
  t.equal(await through(), 'blue');
});

t.test('5xx is retried with backoff', async (t) => {
  const { api, provider, clock, say, through } = await setup(t);
  api.failNext(3, 503);
  await provider.moveTraffic('green', say);
  t.same(clock.slept.slice(0, 3), [1000, 2000, 4000]);
  t.equal(await through(), 'green');
});

t.test('5xx until the deadline', async (t) => {
  const { api, failsWith } = await setup(t, { deadlineMs: 10_000 });
  api.failNext(1000, 500);
  await failsWith('green', /^gave up on DigitalOcean GET \/v2\/droplets\?name=web-blue after 4 tries: HTTP 500 server_error: Server was unable to give you a response\.$/);
});

t.test('a server that quotes the token back: the token is redacted', async (t) => {
  const { api, failsWith } = await setup(t, { deadlineMs: 0 });
  api.echoCredentials = true;
  api.failNext(1, 500);
  await failsWith('green', /^gave up on DigitalOcean GET .* after 1 try: HTTP 500 server_error: Server was unable to give you a response\. \(Bearer \[DIGITALOCEAN_TOKEN\]\)$/);
});

t.test('other refusals: 403 and 4xx', async (t) => {
  t.test('403', async (t) => {
    const { api, failsWith } = await setup(t);
    api.failNext(1, 403);
    await failsWith('green', /^DigitalOcean refused GET \/v2\/droplets\?name=web-blue \(403 forbidden: .*\)$/, /write access/);
  });
  t.test('400', async (t) => {
    const { api, failsWith } = await setup(t);
    api.failNext(1, 400);
    await failsWith('green', /^DigitalOcean refused GET \/v2\/droplets\?name=web-blue: HTTP 400 server_error: /, /BLUE_DROPLET/);
  });
  t.test('assign refused (422, not pending)', async (t) => {
    const { failsWith, through } = await setup(t, { droplets: { green: '999' } });
    await failsWith('green', /^DigitalOcean refused to assign 203\.0\.113\.10 to droplet 999 \(422 unprocessable_entity: Droplet must exist and be in the same region\.\)$/, /same region/);
    t.equal(await through(), 'blue');
  });
});

t.test('another action pending: waits (locked IP, or 422 pending event), then assigns', async (t) => {
  t.test('locked', async (t) => {
    const { api, provider, say, said, through } = await setup(t);
    api.startForeignAction(IP, 101, 3);
    await provider.moveTraffic('green', say);
    t.ok(said.includes(`digitalocean reserved IP ${IP} is busy with another action; waiting`));
    t.equal(await through(), 'green');
  });
  t.test('422 pending event', async (t) => {
    const { api, provider, say, said, through } = await setup(t);
    api.reportLocked = false;
    api.startForeignAction(IP, 101, 3);
    await provider.moveTraffic('green', say);
    t.ok(api.requests.filter((r) => r.line.startsWith('POST')).length >= 2, 'assign retried');
    t.ok(said.includes(`digitalocean reserved IP ${IP} is busy with another action; waiting`));
    t.equal(await through(), 'green');
  });
  t.test('busy past the deadline', async (t) => {
    const { api, failsWith } = await setup(t, { deadlineMs: 3000 });
    api.startForeignAction(IP, 101, 1000);
    await failsWith('green', /^digitalocean reserved IP 203\.0\.113\.10 stayed busy with another action; gave up after 3 s: it points at blue \(droplet 101 web-blue\)$/, /flip green/);
  });
});

t.test('an errored action leaves traffic on blue and says so', async (t) => {
  const { api, failsWith, through } = await setup(t);
  api.nextOutcome = 'errored';
  await failsWith('green', /^DigitalOcean reports the assign of 203\.0\.113\.10 to green \(action \d+\) errored: it points at blue \(droplet 101 web-blue\)$/);
  t.equal(await through(), 'blue');
});

t.test('action GET 404: falls back to reading the reserved IP', async (t) => {
  const { api, provider, say, said, through } = await setup(t, { ticks: 3 });
  api.actionGet404 = true;
  await provider.moveTraffic('green', say);
  t.match(said.join('\n'), /action \d+ cannot be read \(404\); watching the reserved IP instead/);
  t.equal(await through(), 'green');
  t.equal(await provider.liveColour(), 'green');
});

t.test('an action that never completes: gives up at the deadline saying where the IP points', async (t) => {
  const { api, failsWith, through } = await setup(t, { deadlineMs: 10_000 });
  api.nextOutcome = 'never';
  await failsWith('green', /^the assign of 203\.0\.113\.10 to green \(action \d+\) did not finish; gave up after 10 s: it points at blue \(droplet 101 web-blue\)$/);
  t.equal(await through(), 'blue');
});

t.test('the API fails while following the action, and where the IP points cannot be read', async (t) => {
  const { api, clock, failsWith } = await setup(t, { deadlineMs: 5000 });
  api.nextOutcome = 'never';
  clock.onSleep = (count) => {
    if (count === 2) api.failNext(1000, 500); // from the second poll on, every request fails
  };
  await failsWith(
    'green',
    /^could not follow the assign of 203\.0\.113\.10 to green \(action \d+\): gave up on DigitalOcean GET \/v2\/reserved_ips\/203\.0\.113\.10\/actions\/\d+ after 3 tries: HTTP 500 server_error: .*; gave up after 5 s: where it points now could not be read \(gave up on DigitalOcean GET \/v2\/reserved_ips\/203\.0\.113\.10 after \d+ tries: HTTP 500/,
  );
});

t.test('API unreachable or silent', async (t) => {
  t.test('refused', async (t) => {
    const closed = await startBackend('closed');
    await closed.close();
    const { failsWith } = await setup(t, { apiUrl: `http://127.0.0.1:${closed.port}`, deadlineMs: 0 });
    await failsWith('green', /^gave up on DigitalOcean GET \/v2\/droplets\?name=web-blue after 1 try: could not reach 127\.0\.0\.1:\d+ \(connection refused\)$/, /DIGITALOCEAN_API_URL/);
  });
  t.test('no answer', async (t) => {
    const { api, failsWith } = await setup(t, { deadlineMs: 0, requestTimeoutMs: 50 });
    api.hangNext(1);
    await failsWith('green', /^gave up on DigitalOcean GET \/v2\/droplets\?name=web-blue after 1 try: could not reach 127\.0\.0\.1:\d+ \(timed out after 50 ms\)$/);
  });
  t.test('a network blip is retried', async (t) => {
    const { api, provider, say, through } = await setup(t, { requestTimeoutMs: 50 });
    api.hangNext(1);
    await provider.moveTraffic('green', say);
    t.equal(await through(), 'green');
  });
});

t.test('no secret in anything any provider said', async (t) => {
  const all = everythingSaid.flat().join('\n');
  t.ok(all.length > 0);
  t.notMatch(all, TOKEN.slice(6));
});
