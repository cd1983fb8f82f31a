import t, { type Test } from 'tap';
import { type Env, parseConfig } from '../../src/core/config.js';
import { resolveHosts, createHostResolver } from '../../src/deploy/resolve-hosts.js';
import { startFakeAzure } from '../fakes/azure-api.js';
import { type FakeDroplet, startFakeDigitalOcean } from '../fakes/digitalocean-api.js';
import { rejectsWithUserError } from '../helpers/user-error.js';
import { DIGITALOCEAN_LB_ENV } from '../helpers/found-hosts-env.js';

const TOKEN = 'dop_v1_5ecret5ecret5ecret5ecret5e';
const SECRET = 'azure-5ecret-5ecret';
const fast = { pollIntervalMs: 10, deadlineMs: 5000 };

function configOf(env: Env) {
  const result = parseConfig(env, '/srv/deploy');
  if (!result.config) throw new Error(result.errors.join('\n'));
  return result.config;
}

async function digitalOcean(t: Test, droplets: FakeDroplet[], env: Env = {}) {
  const api = await startFakeDigitalOcean({ token: TOKEN, droplets, reservedIps: {}, maxPerPage: 2 });
  t.teardown(() => api.close());
  const config = configOf({
    ...DIGITALOCEAN_LB_ENV,
    DIGITALOCEAN_TOKEN: TOKEN,
    DIGITALOCEAN_API_URL: api.url,
    ...env,
  });
  return { api, config };
}

const BLUE_DROPLETS: FakeDroplet[] = [
  { id: 101, name: 'web-blue-1', tags: ['web-blue'] },
  { id: 201, name: 'web-green-1', tags: ['web-green'] },
  { id: 102, name: 'web-blue-2', tags: ['web-blue'] },
  { id: 103, name: 'web-blue-3', tags: ['web-blue', 'other'] },
];

t.test('a tag with 3 droplets over 2 pages: each one a host, by its private address, through the templates', async (t) => {
  const { api, config } = await digitalOcean(t, BLUE_DROPLETS, { BLUEGREEN_HOST_TEMPLATE: 'ssh://web@{ip}:2222/srv/shop', BLUEGREEN_URL_TEMPLATE: 'http://{ip}:8080/' });
  const hosts = await resolveHosts(config, 'blue', fast);
  t.same(hosts, [101, 102, 103].map((id) => ({ kind: 'ssh', user: 'web', host: `10.110.0.${id}`, port: 2222, appRoot: '/srv/shop', url: `http://10.110.0.${id}:8080/` })));
  t.same(
    api.requests.map((r) => r.line),
    ['GET /v2/droplets?tag_name=web-blue&per_page=200', 'GET /v2/droplets?tag_name=web-blue&per_page=2&page=2'],
    'two pages',
  );
});

t.test('BLUEGREEN_HOST_NETWORK=public: the public addresses', async (t) => {
  const { config } = await digitalOcean(t, BLUE_DROPLETS, { BLUEGREEN_HOST_NETWORK: 'public' });
  t.same(
    (await resolveHosts(config, 'blue', fast)).map((h) => [h.kind === 'ssh' && h.host, h.url]),
    [101, 102, 103].map((id) => [`198.51.0.${id}`, `http://198.51.0.${id}/`]),
  );
});

t.test('looked up again each time: a droplet tagged between two lookups is a host at the next, one untagged is gone', async (t) => {
  const droplets: FakeDroplet[] = BLUE_DROPLETS.map((d) => ({ ...d }));
  const { config } = await digitalOcean(t, droplets);
  const resolve = createHostResolver(config, fast);
  const addresses = async () => (await resolve('blue')).map((h) => (h.kind === 'ssh' ? h.host : ''));
  t.same(await addresses(), ['10.110.0.101', '10.110.0.102', '10.110.0.103']);
  droplets.push({ id: 104, name: 'web-blue-4', tags: ['web-blue'] });
  droplets[0]!.tags = [];
  t.same(await addresses(), ['10.110.0.102', '10.110.0.103', '10.110.0.104']);
  t.same((await resolve('green')).map((h) => h.url), ['http://10.110.0.201/']);
});

t.test('a tag without droplets, or a droplet without an address on the network, is refused by name', async (t) => {
  const { config } = await digitalOcean(t, [...BLUE_DROPLETS, { id: 301, name: 'web-green-2', tags: ['web-green'], addresses: { public: '198.51.1.45' } }], { GREEN_TAG: 'web-nobody' });
  await rejectsWithUserError(t, resolveHosts(config, 'green', fast), {
    message: /^no droplet has the tag web-nobody \(GREEN_TAG\): green has no hosts$/,
    hint: /tag green's droplets with web-nobody .*or set GREEN_TAG/,
    secrets: [TOKEN],
  });
  const other = await digitalOcean(t, [...BLUE_DROPLETS, { id: 301, name: 'web-green-2', tags: ['web-green'], addresses: { public: '198.51.1.45' } }]);
  await rejectsWithUserError(t, resolveHosts(other.config, 'green', fast), {
    message: /^droplet web-green-2 \(tag web-green\) has no private IPv4 address$/,
    hint: /set BLUEGREEN_HOST_NETWORK=public/,
    secrets: [TOKEN],
  });
});

t.test('listed hosts are as listed, without a call', async (t) => {
  const config = configOf({ BLUE_HOST: 'ssh://deploy@10.0.0.5', GREEN_HOST: 'ssh://deploy@10.0.0.6' });
  t.same(await resolveHosts(config, 'green'), config.hosts.green);
});

async function azure(t: Test, scaleSets: Record<string, string[]>) {
  const ids = { tenantId: 'tenant', clientId: 'client', clientSecret: SECRET, subscriptionId: 'sub', resourceGroup: 'rg' };
  const fake = await startFakeAzure({ ...ids, scaleSets, pageSize: 2 });
  t.teardown(() => fake.close());
  const config = configOf({
    BLUEGREEN_PROVIDER: 'azure-appgw',
    AZURE_TENANT_ID: ids.tenantId,
    AZURE_CLIENT_ID: ids.clientId,
    AZURE_CLIENT_SECRET: SECRET,
    AZURE_SUBSCRIPTION_ID: ids.subscriptionId,
    AZURE_RESOURCE_GROUP: ids.resourceGroup,
    AZURE_ARM_URL: fake.url,
    AZURE_AUTHORITY_URL: fake.url,
    AZURE_APP_GATEWAY: 'gw',
    AZURE_ROUTING_RULE: 'rule',
    BLUE_POOL: 'blue-pool',
    GREEN_POOL: 'green-pool',
    BLUE_VMSS: 'web-blue',
    GREEN_VMSS: 'web-green',
    BLUEGREEN_HOST_TEMPLATE: 'ssh://deploy@{ip}/srv/app',
  });
  return { fake, config };
}

t.test("a scale set's instances: each network interface's private address, every page, again at each lookup", async (t) => {
  const { fake, config } = await azure(t, { 'web-blue': ['10.0.1.4', '10.0.1.5', '10.0.1.6'], 'web-green': ['10.0.2.4'] });
  const resolve = createHostResolver(config, fast);
  t.same(await resolve('blue'), ['10.0.1.4', '10.0.1.5', '10.0.1.6'].map((ip) => ({ kind: 'ssh', user: 'deploy', host: ip, port: 22, appRoot: '/srv/app', url: `http://${ip}/` })));
  t.same(
    fake.requests.filter((r) => r.includes('Compute')),
    Array(2).fill('GET /subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web-blue/networkInterfaces'),
    'two pages',
  );
  // Autoscaling: one instance goes, two come.
  fake.scaleSets['web-blue']!.splice(0, 1, '10.0.1.7');
  fake.scaleSets['web-blue']!.push('10.0.1.8');
  t.same((await resolve('blue')).map((h) => h.url), ['http://10.0.1.7/', 'http://10.0.1.5/', 'http://10.0.1.6/', 'http://10.0.1.8/']);
  t.equal(fake.tokensIssued(), 1, 'one sign-in for the lookups of one resolver');
});

t.test('a scale set with no instances, or none at all, is refused by name', async (t) => {
  const { config } = await azure(t, { 'web-blue': [] });
  await rejectsWithUserError(t, resolveHosts(config, 'blue', fast), {
    message: /^scale set web-blue \(BLUE_VMSS\) has no instances: blue has no hosts$/,
    hint: /az vmss scale.*or set BLUE_VMSS/,
    secrets: [SECRET],
  });
  await rejectsWithUserError(t, resolveHosts(config, 'green', fast), {
    message: /^scale set web-green does not exist/,
    hint: /AZURE_RESOURCE_GROUP/,
    secrets: [SECRET],
  });
});
