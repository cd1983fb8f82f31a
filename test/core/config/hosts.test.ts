import t from 'tap';
import { type Env, decideReload, discoveredHost, parseConfig } from '../../../src/core/config.js';
import { UserError } from '../../../src/core/errors.js';
import { AZURE_APPGW_ENV, DIGITALOCEAN_LB_ENV } from '../../helpers/found-hosts-env.js';

const cwd = '/srv/deploy';
const errorsOf = (env: Env) => parseConfig(env, cwd).errors;

const lb = DIGITALOCEAN_LB_ENV;
const appgw = AZURE_APPGW_ENV;

t.test('digitalocean-lb with tags and no *_HOST: the hosts are found by tag, through the default templates', async (t) => {
  const { config, errors } = parseConfig(lb, cwd);
  t.same(errors, []);
  t.equal(config?.embedded, false);
  t.same(config?.hosts, { blue: [], green: [] });
  t.same(config?.discovery, {
    sources: { blue: { kind: 'digitalocean-tag', tag: 'web-blue' }, green: { kind: 'digitalocean-tag', tag: 'web-green' } },
    hostTemplate: 'ssh://deploy@{ip}',
    urlTemplate: 'http://{ip}/',
    network: 'private',
  });
  // A host of the default template gets BLUEGREEN_APP_ROOT.
  t.same(discoveredHost(config!.discovery!, config!.appRoot, '10.110.0.7'), { kind: 'ssh', user: 'deploy', host: '10.110.0.7', port: 22, appRoot: '/var/www/app', url: 'http://10.110.0.7/' });
});

t.test('azure-appgw with scale sets: templates with a port and app root, and the public network for droplets only', async (t) => {
  const { config, errors } = parseConfig(
    { ...appgw, BLUEGREEN_HOST_TEMPLATE: 'ssh://web@{ip}:2222/srv/shop', BLUEGREEN_URL_TEMPLATE: 'https://{ip}:8443/', BLUEGREEN_HOST_NETWORK: 'private' },
    cwd,
  );
  t.same(errors, []);
  t.same(config?.discovery?.sources, { blue: { kind: 'azure-vmss', vmss: 'web-blue' }, green: { kind: 'azure-vmss', vmss: 'web-green' } });
  t.same(discoveredHost(config!.discovery!, config!.appRoot, '10.0.1.4'), { kind: 'ssh', user: 'web', host: '10.0.1.4', port: 2222, appRoot: '/srv/shop', url: 'https://10.0.1.4:8443/' });
  t.same(discoveredHost(config!.discovery!, config!.appRoot, '2001:db8::4'), {
    kind: 'ssh',
    user: 'web',
    host: '2001:db8::4',
    port: 2222,
    appRoot: '/srv/shop',
    url: 'https://[2001:db8::4]:8443/',
  });
  t.throws(() => discoveredHost(config!.discovery!, config!.appRoot, 'not an address'), {
    constructor: UserError,
    message: 'the address "not an address" found for a host does not make a host URL through BLUEGREEN_HOST_TEMPLATE and BLUEGREEN_URL_TEMPLATE',
    hint: 'give the instances IPv4 addresses, or list the hosts in BLUE_HOST and GREEN_HOST',
  });
  t.equal(parseConfig({ ...lb, BLUEGREEN_HOST_NETWORK: 'public' }, cwd).config?.discovery?.network, 'public');
});

t.test('listed hosts win: with *_HOST set, tags and scale sets only say where traffic goes', async (t) => {
  const { config, errors } = parseConfig({ ...lb, BLUE_HOST: 'ssh://deploy@10.0.0.5', GREEN_HOST: 'ssh://deploy@10.0.0.6', BLUEGREEN_HOST_TEMPLATE: 'whatever' }, cwd);
  t.same(errors, []);
  t.equal(config?.discovery, undefined);
  t.equal(config?.hosts.blue[0]?.kind === 'ssh' && config.hosts.blue[0].host, '10.0.0.5');
});

t.test('bad templates, networks and scale sets stop with exit 2, naming the variable', async (t) => {
  const hostExpected = "expected ssh://user@{ip}[:port][/app/root], with {ip} where each host's address goes";
  const urlExpected = "expected http://{ip}[:port]/ or https://…, with {ip} where each host's address goes";
  const cases: [Env, string][] = [
    [{ ...lb, BLUEGREEN_HOST_TEMPLATE: 'ssh://deploy@10.0.0.5' }, `BLUEGREEN_HOST_TEMPLATE="ssh://deploy@10.0.0.5": ${hostExpected}`],
    [{ ...lb, BLUEGREEN_HOST_TEMPLATE: 'http://{ip}/' }, `BLUEGREEN_HOST_TEMPLATE="http://{ip}/": ${hostExpected}`],
    [{ ...lb, BLUEGREEN_HOST_TEMPLATE: 'file:///srv/{ip}' }, `BLUEGREEN_HOST_TEMPLATE="file:///srv/{ip}": ${hostExpected}`],
    [{ ...lb, BLUEGREEN_HOST_TEMPLATE: 'ssh://{ip}@host.example' }, `BLUEGREEN_HOST_TEMPLATE="ssh://{ip}@host.example": ${hostExpected} (user must be a plain login name)`],
    [{ ...lb, BLUEGREEN_HOST_TEMPLATE: 'ssh://deploy@{ip}:0' }, `BLUEGREEN_HOST_TEMPLATE="ssh://deploy@{ip}:0": ${hostExpected} (port must be 1 to 65535)`],
    [{ ...lb, BLUEGREEN_URL_TEMPLATE: 'http://web.example/' }, `BLUEGREEN_URL_TEMPLATE="http://web.example/": ${urlExpected}`],
    [{ ...lb, BLUEGREEN_URL_TEMPLATE: 'ftp://{ip}/' }, `BLUEGREEN_URL_TEMPLATE="ftp://{ip}/": ${urlExpected}`],
    [{ ...lb, BLUEGREEN_URL_TEMPLATE: 'http://user:pw@{ip}/' }, `BLUEGREEN_URL_TEMPLATE="http://user:pw@{ip}/": ${urlExpected}`],
    [{ ...lb, BLUEGREEN_HOST_NETWORK: 'intranet' }, 'BLUEGREEN_HOST_NETWORK="intranet": expected private or public'],
    [
      { ...appgw, BLUEGREEN_HOST_NETWORK: 'public' },
      'BLUEGREEN_HOST_NETWORK=public: scale set instances are found by their private addresses only (a public address takes a further call per instance); use private, or list the hosts in BLUE_HOST and GREEN_HOST',
    ],
    [{ ...appgw, BLUE_VMSS: 'web/blue' }, 'BLUE_VMSS="web/blue": expected a name of letters, digits, . _ -'],
    [{ ...appgw, GREEN_VMSS: 'Web-Blue' }, 'BLUE_VMSS and GREEN_VMSS are the same scale set "web-blue": blue and green must be different hosts'],
    [
      { ...appgw, GREEN_VMSS: '' },
      "GREEN_HOST is not set, and green's hosts cannot be found (blue's are found by tag or scale set): set GREEN_VMSS to find them in a scale set, or set BLUE_HOST and GREEN_HOST",
    ],
    [
      { ...lb, GREEN_TAG: '', GREEN_DROPLET: 'web-green-1' },
      "GREEN_HOST is not set, and green's hosts cannot be found (blue's are found by tag or scale set): set GREEN_TAG to find them by tag, or set BLUE_HOST and GREEN_HOST",
    ],
    [{ ...lb, BLUE_VMSS: 'web-blue' }, 'BLUE_VMSS is set, but BLUEGREEN_PROVIDER=digitalocean-lb: only azure-appgw finds a colour\'s hosts in a scale set'],
  ];
  for (const [env, message] of cases) t.same(errorsOf(env), [message], JSON.stringify(env));
});

t.test('a running server refuses edits to how hosts are found: they decide where deploys go', async (t) => {
  const config = (env: Env) => {
    const result = parseConfig(env, cwd);
    if (!result.config) throw new Error(result.errors.join('\n'));
    return result.config;
  };
  const cases: [Env, Env, string[]][] = [
    [lb, { ...lb, BLUEGREEN_HOST_TEMPLATE: 'ssh://web@{ip}' }, ['BLUEGREEN_HOST_TEMPLATE']],
    [lb, { ...lb, BLUEGREEN_URL_TEMPLATE: 'http://{ip}:8080/' }, ['BLUEGREEN_URL_TEMPLATE']],
    [lb, { ...lb, BLUEGREEN_HOST_NETWORK: 'public' }, ['BLUEGREEN_HOST_NETWORK']],
    [appgw, { ...appgw, GREEN_VMSS: 'web-green-2' }, ['GREEN_VMSS']],
  ];
  for (const [before, after, needRestart] of cases) {
    const decision = decideReload(config(before), config(after));
    t.same(decision.action === 'refuse' ? decision.needRestart : decision, needRestart, JSON.stringify(after));
  }
});
