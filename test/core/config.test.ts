import t from 'tap';
import { type Env, parseConfig } from '../../src/core/config.js';

const cwd = '/srv/deploy';
const errorsOf = (env: Env) => parseConfig(env, cwd).errors;

t.test('no configuration at all is the embedded default', async (t) => {
  const { config, errors } = parseConfig({}, cwd);
  t.same(errors, []);
  t.ok(config?.embedded);
  t.equal(config?.dataDir, '/srv/deploy/.bluegreen');
  t.same(config?.listen, { host: '127.0.0.1', port: 7000 });
  t.same(config?.hosts.blue, { kind: 'file', appRoot: '/srv/deploy/.bluegreen/hosts/blue', url: 'http://127.0.0.1:8001/' });
  t.same(config?.hosts.green, { kind: 'file', appRoot: '/srv/deploy/.bluegreen/hosts/green', url: 'http://127.0.0.1:8002/' });
  t.same(config?.provider, { kind: 'local', listen: { host: '127.0.0.1', port: 8080 } });
  t.equal(config?.keepReleases, 5);
  t.equal(config?.lockWaitMs, 120_000);
  t.equal(config?.sshKeyPath, '/srv/deploy/.bluegreen/id_ed25519');
  t.equal(config?.knownHostsPath, '/srv/deploy/.bluegreen/known_hosts');
  t.equal(config?.healthPath, '/');
  t.same(config?.admin, { user: 'root', keyPath: undefined });
  t.equal(config?.webServer, 'apache');
});

t.test('ssh hosts with ports, app roots in the URL, and defaults', async (t) => {
  const { config, errors } = parseConfig(
    { BLUE_HOST: 'ssh://deploy@127.0.0.2:2222', GREEN_HOST: 'ssh://web@green.example/srv/site', BLUEGREEN_APP_ROOT: '/var/www/shop/' },
    cwd,
  );
  t.same(errors, []);
  t.notOk(config?.embedded);
  t.same(config?.hosts.blue, { kind: 'ssh', user: 'deploy', host: '127.0.0.2', port: 2222, appRoot: '/var/www/shop', url: 'http://127.0.0.2/' });
  t.same(config?.hosts.green, { kind: 'ssh', user: 'web', host: 'green.example', port: 22, appRoot: '/srv/site', url: 'http://green.example/' });
});

t.test('each bad value is named with what it expects, all at once', async (t) => {
  const errors = errorsOf({
    BLUEGREEN_LISTEN: 'localhost',
    BLUE_HOST: 'deploy@host',
    GREEN_HOST: 'ssh://host-without-user',
    BLUEGREEN_KEEP_RELEASES: 'lots',
    BLUE_URL: 'ftp://x',
    BLUEGREEN_PROVIDER: 'aws',
    BLUEGREEN_WEB_SERVER: 'iis',
    BLUEGREEN_HEALTH_PATH: 'health',
  });
  t.same(errors, [
    'BLUEGREEN_LISTEN="localhost": expected host:port, e.g. 127.0.0.1:7000',
    'BLUEGREEN_KEEP_RELEASES="lots": expected a whole number',
    'BLUEGREEN_HEALTH_PATH="health": expected a path starting with /',
    'BLUE_HOST="deploy@host": expected ssh://user@host[:port][/app/root] or file:///app/root',
    'BLUE_URL="ftp://x": expected an http:// or https:// URL',
    'GREEN_HOST="ssh://host-without-user": expected ssh://user@host[:port][/app/root] or file:///app/root',
    'BLUEGREEN_PROVIDER="aws": expected one of digitalocean, azure-appgw, azure-ip, local',
    'BLUEGREEN_WEB_SERVER="iis": expected apache or nginx',
  ]);
});

t.test('single messages', async (t) => {
  const cases: [Env, string][] = [
    [{ BLUEGREEN_LISTEN: '127.0.0.1:70000' }, 'BLUEGREEN_LISTEN="127.0.0.1:70000": expected a port from 0 (any free port) to 65535'],
    [{ BLUEGREEN_TLS_CERT: 'c.pem' }, 'BLUEGREEN_TLS_KEY is not set: HTTPS needs both BLUEGREEN_TLS_CERT and BLUEGREEN_TLS_KEY'],
    [{ BLUEGREEN_TLS_KEY: 'k.pem' }, 'BLUEGREEN_TLS_CERT is not set: HTTPS needs both BLUEGREEN_TLS_CERT and BLUEGREEN_TLS_KEY'],
    [{ BLUEGREEN_APP_ROOT: 'var/www' }, 'BLUEGREEN_APP_ROOT="var/www": expected an absolute path without ..'],
    [{ BLUEGREEN_APP_ROOT: '/var/www/../etc' }, 'BLUEGREEN_APP_ROOT="/var/www/../etc": expected an absolute path without ..'],
    [{ BLUEGREEN_KEEP_RELEASES: '1' }, 'BLUEGREEN_KEEP_RELEASES="1": expected a number from 2 to 1000 (current and its predecessor are always kept)'],
    [{ BLUEGREEN_LOCK_WAIT: 'soon' }, 'BLUEGREEN_LOCK_WAIT="soon": expected a whole number of seconds'],
    [{ BLUEGREEN_LOCK_WAIT: '7200' }, 'BLUEGREEN_LOCK_WAIT="7200": expected at most 3600 seconds'],
    [{ BLUEGREEN_PUBLIC_URL: 'example.com' }, 'BLUEGREEN_PUBLIC_URL="example.com": expected an http:// or https:// URL'],
    [{ BLUE_HOST: 'ssh://deploy@a' }, 'GREEN_HOST is not set: set both BLUE_HOST and GREEN_HOST, or neither for the embedded default'],
    [{ GREEN_HOST: 'ssh://deploy@a' }, 'BLUE_HOST is not set: set both BLUE_HOST and GREEN_HOST, or neither for the embedded default'],
    [{ BLUE_HOST: 'file://relative', GREEN_HOST: 'file:///g' }, 'BLUE_HOST="file://relative": expected ssh://user@host[:port][/app/root] or file:///app/root (file:// needs an absolute path)'],
    [{ BLUE_HOST: 'ssh://de%20ploy@a', GREEN_HOST: 'file:///g' }, 'BLUE_HOST="ssh://de%20ploy@a": expected ssh://user@host[:port][/app/root] or file:///app/root (user must be a plain login name)'],
    [{ BLUE_HOST: 'not a url', GREEN_HOST: 'file:///g' }, 'BLUE_HOST="not a url": expected ssh://user@host[:port][/app/root] or file:///app/root'],
    [{ BLUEGREEN_ROUTER_LISTEN: ':80' }, 'BLUEGREEN_ROUTER_LISTEN=":80": expected host:port, e.g. 127.0.0.1:7000'],
    [{ BLUEGREEN_ADMIN_USER: 'root admin' }, 'BLUEGREEN_ADMIN_USER="root admin": expected a login name'],
    [
      { BLUEGREEN_SUDO_COMMANDS: 'systemctl reload apache2' },
      'BLUEGREEN_SUDO_COMMANDS="systemctl reload apache2": expected a comma-separated list of commands with absolute paths, e.g. /usr/bin/systemctl reload apache2',
    ],
  ];
  for (const [env, message] of cases) t.same(errorsOf(env), [message], JSON.stringify(env));
});

t.test('provider variables: missing ones are named with why they are needed; secrets never shown', async (t) => {
  t.same(errorsOf({ BLUEGREEN_PROVIDER: 'digitalocean' }), [
    'DIGITALOCEAN_TOKEN is not set: the digitalocean provider calls the API with it',
    'BLUEGREEN_RESERVED_IP is not set: the digitalocean provider moves the reserved IP between the two droplets',
    'BLUE_DROPLET is not set: the digitalocean provider moves the reserved IP between the two droplets',
    'GREEN_DROPLET is not set: the digitalocean provider moves the reserved IP between the two droplets',
  ]);
  const secretErrors = errorsOf({
    BLUEGREEN_PROVIDER: 'digitalocean',
    DIGITALOCEAN_TOKEN: 'dop_v1_secret',
    BLUEGREEN_RESERVED_IP: '10.0.0',
    BLUE_DROPLET: 'web blue',
    GREEN_DROPLET: '42',
    DIGITALOCEAN_API_URL: 'nope',
  });
  t.same(secretErrors, [
    'DIGITALOCEAN_API_URL="nope": expected an http:// or https:// URL',
    'BLUEGREEN_RESERVED_IP="10.0.0": expected an IPv4 address',
    'BLUE_DROPLET="web blue": expected a name of letters, digits, . _ -',
  ]);
  t.same(errorsOf({ BLUEGREEN_PROVIDER: 'azure-appgw', AZURE_CLIENT_SECRET: 'shh', AZURE_ARM_URL: 'x' }), [
    'AZURE_TENANT_ID is not set: the Azure providers sign in as a service principal',
    'AZURE_CLIENT_ID is not set: the Azure providers sign in as a service principal',
    'AZURE_SUBSCRIPTION_ID is not set: the Azure resources live in this subscription',
    'AZURE_RESOURCE_GROUP is not set: the Azure resources live in this resource group',
    'AZURE_ARM_URL="x": expected an http:// or https:// URL',
    'AZURE_APP_GATEWAY is not set: the azure-appgw provider switches the routing rule between the two backend pools',
    'AZURE_ROUTING_RULE is not set: the azure-appgw provider switches the routing rule between the two backend pools',
    'BLUE_POOL is not set: the azure-appgw provider switches the routing rule between the two backend pools',
    'GREEN_POOL is not set: the azure-appgw provider switches the routing rule between the two backend pools',
  ]);
  t.same(errorsOf({ BLUEGREEN_PROVIDER: 'azure-ip', AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 's', AZURE_SUBSCRIPTION_ID: 'sub', AZURE_RESOURCE_GROUP: 'rg' }), [
    'AZURE_PUBLIC_IP is not set: the azure-ip provider moves the public IP between the two network interfaces',
    'BLUE_NIC is not set: the azure-ip provider moves the public IP between the two network interfaces',
    'GREEN_NIC is not set: the azure-ip provider moves the public IP between the two network interfaces',
  ]);
  t.same(errorsOf({ BLUEGREEN_PROVIDER: 'azure-ip', AZURE_CLIENT_SECRET: 'hunter2', AZURE_AUTHORITY_URL: '::' }).filter((e) => e.includes('hunter2')), []);
});
