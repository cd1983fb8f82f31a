import t from 'tap';
import { type Config, type Env, decideReload, parseConfig } from '../../../src/core/config.js';

const cwd = '/srv/deploy';
const base: Env = {
  BLUE_HOST: 'ssh://deploy@blue.example',
  GREEN_HOST: 'ssh://deploy@green.example',
  BLUEGREEN_PROVIDER: 'digitalocean',
  DIGITALOCEAN_TOKEN: 'dop_v1_old',
  BLUEGREEN_RESERVED_IP: '203.0.113.10',
  BLUE_DROPLET: 'web-blue',
  GREEN_DROPLET: 'web-green',
};
const config = (env: Env): Config => {
  const result = parseConfig(env, cwd);
  if (!result.config) throw new Error(result.errors.join('\n'));
  return result.config;
};
const current = config(base);

t.test('nothing changed', async (t) => {
  t.same(decideReload(current, config({ ...base })), { action: 'unchanged' });
});

t.test('settings that do not move deploys or traffic apply live; credentials and keys say what to remake', async (t) => {
  t.same(decideReload(current, config({ ...base, BLUEGREEN_KEEP_RELEASES: '9', BLUEGREEN_HEALTH_PATH: '/up' })), {
    action: 'apply',
    changed: ['BLUEGREEN_KEEP_RELEASES', 'BLUEGREEN_HEALTH_PATH'],
    reconnectHosts: false,
    recreateProvider: false,
  });
  t.same(decideReload(current, config({ ...base, DIGITALOCEAN_TOKEN: 'dop_v1_new' })), {
    action: 'apply',
    changed: ['DIGITALOCEAN_TOKEN'],
    reconnectHosts: false,
    recreateProvider: true,
  });
  t.same(decideReload(current, config({ ...base, BLUEGREEN_KNOWN_HOSTS: '/etc/bluegreen/known_hosts' })), {
    action: 'apply',
    changed: ['BLUEGREEN_KNOWN_HOSTS'],
    reconnectHosts: true,
    recreateProvider: false,
  });
});

t.test('where deploys and traffic go is refused whole, naming what needs a restart', async (t) => {
  const cases: [Env, string[]][] = [
    // An emptied .env: the embedded default would deploy to directories on this machine.
    [{}, ['BLUE_HOST', 'GREEN_HOST', 'BLUE_URL', 'GREEN_URL', 'BLUEGREEN_PROVIDER', 'BLUEGREEN_ROUTER_LISTEN', 'DIGITALOCEAN_API_URL', 'BLUEGREEN_RESERVED_IP', 'BLUE_DROPLET', 'GREEN_DROPLET']],
    [{ ...base, BLUEGREEN_DATA_DIR: '/var/lib/other' }, ['BLUEGREEN_DATA_DIR']],
    [{ ...base, BLUEGREEN_LISTEN: '0.0.0.0:7000' }, ['BLUEGREEN_LISTEN']],
    [{ ...base, BLUEGREEN_SSH_LISTEN: 'off' }, ['BLUEGREEN_SSH_LISTEN']],
    [{ ...base, BLUEGREEN_TLS_CERT: 'c.pem', BLUEGREEN_TLS_KEY: 'k.pem' }, ['BLUEGREEN_TLS_CERT', 'BLUEGREEN_TLS_KEY']],
    [{ ...base, BLUE_HOST: 'ssh://deploy@elsewhere.example' }, ['BLUE_HOST', 'BLUE_URL']],
    [{ ...base, BLUE_HOST: 'ssh://deploy@blue.example:2222', BLUE_URL: 'http://blue.example/' }, ['BLUE_HOST']],
    [{ ...base, GREEN_URL: 'http://green.example:8080/' }, ['GREEN_URL']],
    [{ ...base, BLUEGREEN_APP_ROOT: '/srv/other' }, ['BLUE_HOST', 'GREEN_HOST', 'BLUEGREEN_APP_ROOT']],
    [{ ...base, GREEN_DROPLET: 'web-other' }, ['GREEN_DROPLET']],
    [{ ...base, BLUEGREEN_RESERVED_IP: '203.0.113.99' }, ['BLUEGREEN_RESERVED_IP']],
  ];
  for (const [env, needRestart] of cases) {
    const decision = decideReload(current, config(env));
    t.equal(decision.action, 'refuse', JSON.stringify(env));
    t.same(decision.action === 'refuse' ? decision.needRestart : [], needRestart, JSON.stringify(env));
  }
  const mixed = decideReload(current, config({ ...base, BLUEGREEN_KEEP_RELEASES: '9', BLUE_HOST: 'ssh://deploy@elsewhere.example' }));
  t.same(mixed, { action: 'refuse', needRestart: ['BLUE_HOST', 'BLUE_URL'], changed: ['BLUE_HOST', 'BLUE_URL', 'BLUEGREEN_KEEP_RELEASES'] }, 'the harmless part of the edit is not applied either');
  const azure = config({ BLUEGREEN_PROVIDER: 'azure-appgw', AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 's', AZURE_SUBSCRIPTION_ID: 'sub', AZURE_RESOURCE_GROUP: 'rg', AZURE_APP_GATEWAY: 'gw', AZURE_ROUTING_RULE: 'rule', BLUE_POOL: 'b', GREEN_POOL: 'g' });
  const azureEnv: Env = { BLUEGREEN_PROVIDER: 'azure-appgw', AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 's2', AZURE_SUBSCRIPTION_ID: 'sub', AZURE_RESOURCE_GROUP: 'rg', AZURE_APP_GATEWAY: 'gw', AZURE_ROUTING_RULE: 'rule', BLUE_POOL: 'b', GREEN_POOL: 'other' };
  t.same(decideReload(azure, config(azureEnv)), { action: 'refuse', needRestart: ['GREEN_POOL'], changed: ['AZURE_CLIENT_SECRET', 'GREEN_POOL'] });
  t.same(decideReload(azure, config({ ...azureEnv, GREEN_POOL: 'g' })), { action: 'apply', changed: ['AZURE_CLIENT_SECRET'], reconnectHosts: false, recreateProvider: true });
});

t.test('digitalocean-lb: its token applies live; the balancer, tags and droplet lists need a restart', async (t) => {
  const lbEnv: Env = { ...base, BLUEGREEN_RESERVED_IP: '', BLUEGREEN_PROVIDER: 'digitalocean-lb', DIGITALOCEAN_LOAD_BALANCER: 'web-lb', BLUE_DROPLET: '', BLUE_TAG: 'web-blue', GREEN_DROPLET: 'g1,g2' };
  const lb = config(lbEnv);
  t.same(decideReload(lb, config({ ...lbEnv, DIGITALOCEAN_TOKEN: 'dop_v1_new' })), { action: 'apply', changed: ['DIGITALOCEAN_TOKEN'], reconnectHosts: false, recreateProvider: true });
  const cases: [Env, string[]][] = [
    [{ ...lbEnv, DIGITALOCEAN_LOAD_BALANCER: 'other-lb' }, ['DIGITALOCEAN_LOAD_BALANCER']],
    [{ ...lbEnv, BLUE_TAG: 'web-blue-2' }, ['BLUE_TAG']],
    [{ ...lbEnv, GREEN_DROPLET: 'g1,g3' }, ['GREEN_DROPLET']],
    [{ ...lbEnv, GREEN_DROPLET: '', GREEN_TAG: 'web-green' }, ['GREEN_DROPLET', 'GREEN_TAG']],
    [{ ...lbEnv, DIGITALOCEAN_API_URL: 'http://127.0.0.1:9000' }, ['DIGITALOCEAN_API_URL']],
  ];
  for (const [env, needRestart] of cases) {
    const decision = decideReload(lb, config(env));
    t.same(decision.action === 'refuse' ? decision.needRestart : decision, needRestart, JSON.stringify(env));
  }
});
