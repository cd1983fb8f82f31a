import t, { type Test } from 'tap';
import { createAzureAppGatewayProvider } from '../../../../src/adapters/providers/azure/app-gateway.js';
import type { ProviderConfig } from '../../../../src/core/config.js';
import { appGateway, startFakeAzure } from '../../../fakes/azure-api.js';
import { httpGet, startBackend } from '../../../fakes/backends.js';
import { virtualClock } from '../../../fakes/clock.js';
import { startTcpForwarder } from '../../../fakes/tcp-forwarder.js';
import { rejectsWithUserError } from '../../../helpers/user-error.js';

const SECRET = 'Zq8~client-secret-value-0123456789';
const IDS = { tenantId: 'tenant-1', clientId: 'client-1', subscriptionId: 'sub-1', resourceGroup: 'rg-1' };
const everythingSaid: string[] = [];

async function setup(t: Test, options: { afterChange?: (fake: Awaited<ReturnType<typeof startFakeAzure>>) => void; rulePool?: string; config?: Partial<Extract<ProviderConfig, { kind: 'azure-appgw' }>>; deadlineMs?: number } = {}) {
  const clock = virtualClock();
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  const portOfPool: Record<string, number> = { 'pool-blue': blue.port, 'pool-green': green.port };
  const forwarder = await startTcpForwarder(portOfPool[options.rulePool ?? 'pool-blue']);
  const fake = await startFakeAzure({
    ...IDS,
    clientSecret: SECRET,
    tokenLifetimeS: 120, // shorter than a gateway update: renewal happens mid-flip
    now: clock.now,
    gateways: {
      gw: appGateway(IDS.subscriptionId, IDS.resourceGroup, 'gw', ['pool-blue', 'pool-green', 'pool-old'], [
        { name: 'rule-main', pool: options.rulePool ?? 'pool-blue' },
        { name: 'rule-paths' },
      ]),
    },
    polls: 20,
    // The gateway's frontend stands for production: point it where the rule now sends.
    onChange: () => {
      const pool = fake.gateways.gw.properties.requestRoutingRules[0].properties.backendAddressPool.id.split('/').pop();
      forwarder.setTarget(portOfPool[pool]);
      options.afterChange?.(fake);
    },
  });
  const provider = createAzureAppGatewayProvider(
    {
      kind: 'azure-appgw',
      azure: { ...IDS, clientSecret: SECRET, armUrl: fake.url, authorityUrl: fake.url },
      gateway: 'gw',
      routingRule: 'rule-main',
      pools: { blue: 'pool-blue', green: 'pool-green' },
      ...options.config,
    },
    { pollIntervalMs: 1000, deadlineMs: options.deadlineMs ?? 900_000, ...clock },
  );
  const said: string[] = [];
  const say = (line: string) => {
    said.push(line);
    everythingSaid.push(line);
  };
  t.teardown(async () => {
    await provider.close();
    await fake.close();
    await forwarder.close();
    await blue.close();
    await green.close();
  });
  const through = async () => (await httpGet(forwarder.url)).body;
  const failsWith = (promise: Promise<unknown>, message: RegExp, hint?: RegExp) =>
    rejectsWithUserError(t, promise, { message, hint, secrets: [SECRET, /eyJfake/] });
  return { clock, fake, provider, said, say, through, failsWith };
}

t.test('switches the rule to the green pool: traffic through the gateway reaches green', async (t) => {
  const { fake, provider, said, say, through } = await setup(t);
  t.equal(provider.description, 'azure application gateway gw, rule rule-main');
  t.equal(await provider.liveColour(), 'blue');
  t.equal(await through(), 'blue');
  await provider.moveTraffic('green', say);
  t.equal(await through(), 'green');
  t.equal(await provider.liveColour(), 'green');
  t.same(said, [
    'azure application gateway gw, rule rule-main sends to blue (pool pool-blue); switching it to green (pool pool-green); gateway updates take a few minutes',
    'azure application gateway gw, rule rule-main now sends to green (pool pool-green)',
  ]);
  t.ok(fake.tokensIssued() >= 2, `token renewed during the long update (${fake.tokensIssued()} issued)`);
  t.equal(fake.requests.filter((r) => r.startsWith('PUT')).length, 1);
  const rules = fake.gateways.gw.properties.requestRoutingRules;
  t.equal(rules[1].properties.urlPathMap.id.endsWith('/urlPathMaps/paths'), true, 'the rest of the gateway is PUT back unchanged');
  await provider.moveTraffic('green', say);
  t.equal(said.at(-1), 'azure application gateway gw, rule rule-main already sends to green (pool pool-green)');
});

t.test('liveColour is undefined when the rule sends to another pool', async (t) => {
  const { provider, say, said, through } = await setup(t, { rulePool: 'pool-old' });
  t.equal(await provider.liveColour(), undefined);
  await provider.moveTraffic('blue', say);
  t.match(said[0], /sends to pool pool-old, neither blue nor green; switching it to blue/);
  t.equal(await through(), 'blue');
});

t.test('configuration that does not match the gateway', async (t) => {
  t.test('no such rule', async (t) => {
    const { provider, failsWith } = await setup(t, { config: { routingRule: 'rule-x' } });
    await failsWith(provider.liveColour(), /^application gateway gw has no routing rule rule-x \(AZURE_ROUTING_RULE\); it has: rule-main, rule-paths$/, /AZURE_ROUTING_RULE/);
  });
  t.test('a path-based rule', async (t) => {
    const { provider, failsWith } = await setup(t, { config: { routingRule: 'rule-paths' } });
    await failsWith(provider.liveColour(), /^routing rule rule-paths of gw has no backend pool of its own/, /basic rule/);
  });
  t.test('no such pool', async (t) => {
    const { provider, say, failsWith } = await setup(t, { config: { pools: { blue: 'pool-blue', green: 'pool-grene' } } });
    await failsWith(provider.moveTraffic('green', say), /^application gateway gw has no backend pool pool-grene \(GREEN_POOL\); it has: pool-blue, pool-green, pool-old$/, /GREEN_POOL/);
  });
  t.test('no such gateway', async (t) => {
    const { provider, failsWith } = await setup(t, { config: { gateway: 'gw2' } });
    await failsWith(provider.liveColour(), /^application gateway gw2 \(AZURE_APP_GATEWAY\) does not exist \(404 ResourceNotFound/);
  });
});

t.test('a failed update leaves traffic on blue and says so', async (t) => {
  const { fake, provider, say, failsWith, through } = await setup(t);
  fake.outcomes.push('Failed');
  await failsWith(
    provider.moveTraffic('green', say),
    /^Azure reports the update of application gateway gw \(AZURE_APP_GATEWAY\) Failed: InternalServerError: .*; rule rule-main: it sends to blue \(pool pool-blue\)$/,
  );
  t.equal(await through(), 'blue');
  t.equal(await provider.liveColour(), 'blue');
});

t.test('an update that never ends: gives up at the deadline, saying where the rule sends', async (t) => {
  const { fake, provider, say, failsWith, through } = await setup(t, { deadlineMs: 120_000 });
  fake.outcomes.push('never');
  await failsWith(
    provider.moveTraffic('green', say),
    /^the update of application gateway gw \(AZURE_APP_GATEWAY\) did not finish in time \(operation status: InProgress\); rule rule-main: it sends to blue \(pool pool-blue\)$/,
    /may still finish/,
  );
  t.equal(await through(), 'blue');
});

t.test('access lost mid-update: says where the rule sends could not be read', async (t) => {
  const { fake, provider, say, failsWith, clock } = await setup(t);
  fake.outcomes.push('never');
  clock.onSleep = (count) => {
    if (count === 3) fake.failNext(100, 403, 'AuthorizationFailed', 'The client does not have authorization.');
  };
  await failsWith(
    provider.moveTraffic('green', say),
    /^Azure refused GET the update of application gateway gw \(AZURE_APP_GATEWAY\) \(403 AuthorizationFailed: .*\); rule rule-main: where it sends now could not be read \(Azure refused GET application gateway gw \(AZURE_APP_GATEWAY\) \(403 AuthorizationFailed/,
    /Network Contributor/,
  );
});

t.test('busy, throttled, then Location-style: still moves', async (t) => {
  const { fake, provider, say, clock, through } = await setup(t);
  fake.lroStyle = 'location';
  fake.throttleNext(1, '20');
  fake.busyNext(2);
  await provider.moveTraffic('green', say);
  t.equal(await through(), 'green');
  t.same(clock.slept.slice(0, 3), [20_000, 3000, 3000]);
});

t.test('someone else changes the rule during our update', async (t) => {
  // Right after our PUT is applied, another client points the rule back at blue.
  const { provider, say, failsWith } = await setup(t, {
    afterChange: (fake) => {
      const gw = fake.gateways.gw;
      gw.properties.requestRoutingRules[0].properties.backendAddressPool.id = gw.properties.backendAddressPools[0].id;
    },
  });
  await failsWith(provider.moveTraffic('green', say), /^the update of gw succeeded but rule rule-main sends to blue \(pool pool-blue\)$/, /Activity log/);
});

t.test('no secret in anything said', async (t) => {
  const all = everythingSaid.join('\n');
  t.ok(all.length > 0);
  t.notMatch(all, SECRET);
  t.notMatch(all, /eyJfake/);
});
