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
  t.same(config?.hosts.blue, [{ kind: 'file', appRoot: '/srv/deploy/.bluegreen/hosts/blue', url: 'http://127.0.0.1:8001/' }]);
  t.same(config?.hosts.green, [{ kind: 'file', appRoot: '/srv/deploy/.bluegreen/hosts/green', url: 'http://127.0.0.1:8002/' }]);
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
  t.same(config?.hosts.blue, [{ kind: 'ssh', user: 'deploy', host: '127.0.0.2', port: 2222, appRoot: '/var/www/shop', url: 'http://127.0.0.2/' }]);
  t.same(config?.hosts.green, [{ kind: 'ssh', user: 'web', host: 'green.example', port: 22, appRoot: '/srv/site', url: 'http://green.example/' }]);
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
    'BLUEGREEN_PROVIDER="aws": expected one of digitalocean, digitalocean-lb, azure-appgw, azure-ip, azure-slots, local',
    'BLUE_HOST="deploy@host": expected ssh://user@host[:port][/app/root] or file:///app/root',
    'BLUE_URL="ftp://x": expected an http:// or https:// URL',
    'GREEN_HOST="ssh://host-without-user": expected ssh://user@host[:port][/app/root] or file:///app/root',
    'BLUEGREEN_WEB_SERVER="iis": expected apache or nginx',
  ]);
});

t.test('single messages', async (t) => {
  const cases: [Env, string][] = [
    [{ BLUEGREEN_LISTEN: '127.0.0.1:70000' }, 'BLUEGREEN_LISTEN="127.0.0.1:70000": expected a port from 0 (any free port) to 65535'],
    [{ BLUEGREEN_TLS_CERT: 'c.pem' }, 'BLUEGREEN_TLS_KEY is not set: HTTPS needs both BLUEGREEN_TLS_CERT and BLUEGREEN_TLS_KEY'],
    [{ BLUEGREEN_TLS_KEY: 'k.pem' }, 'BLUEGREEN_TLS_CERT is not set: HTTPS needs both BLUEGREEN_TLS_CERT and BLUEGREEN_TLS_KEY'],
    [{ BLUEGREEN_APP_ROOT: 'var/www' }, 'BLUEGREEN_APP_ROOT="var/www": expected an absolute path without .. or control characters'],
    [{ BLUEGREEN_APP_ROOT: '/var/www/../etc' }, 'BLUEGREEN_APP_ROOT="/var/www/../etc": expected an absolute path without .. or control characters'],
    [{ BLUEGREEN_KEEP_RELEASES: '1' }, 'BLUEGREEN_KEEP_RELEASES="1": expected a number from 2 to 1000 (current and its predecessor are always kept)'],
    [{ BLUEGREEN_LOCK_WAIT: 'soon' }, 'BLUEGREEN_LOCK_WAIT="soon": expected a whole number of seconds'],
    [{ BLUEGREEN_LOCK_WAIT: '7200' }, 'BLUEGREEN_LOCK_WAIT="7200": expected at most 3600 seconds'],
    [{ BLUEGREEN_PUBLIC_URL: 'example.com' }, 'BLUEGREEN_PUBLIC_URL="example.com": expected an http:// or https:// URL'],
    [{ BLUE_HOST: 'ssh://deploy@a' }, 'GREEN_HOST is not set: set both BLUE_HOST and GREEN_HOST, or neither for the embedded default'],
    [{ GREEN_HOST: 'ssh://deploy@a' }, 'BLUE_HOST is not set: set both BLUE_HOST and GREEN_HOST, or neither for the embedded default'],
    [{ BLUE_HOST: 'file://relative', GREEN_HOST: 'file:///g' }, 'BLUE_HOST="file://relative": expected ssh://user@host[:port][/app/root] or file:///app/root (file:// needs an absolute path without .. or control characters)'],
    [{ BLUE_HOST: 'ssh://de%20ploy@a', GREEN_HOST: 'file:///g' }, 'BLUE_HOST="ssh://de%20ploy@a": expected ssh://user@host[:port][/app/root] or file:///app/root (user must be a plain login name)'],
    [{ BLUE_HOST: 'not-a-url', GREEN_HOST: 'file:///g' }, 'BLUE_HOST="not-a-url": expected ssh://user@host[:port][/app/root] or file:///app/root'],
    [{ BLUEGREEN_ROUTER_LISTEN: ':80' }, 'BLUEGREEN_ROUTER_LISTEN=":80": expected host:port, e.g. 127.0.0.1:7000'],
    [{ BLUEGREEN_SSH_LISTEN: 'no' }, 'BLUEGREEN_SSH_LISTEN="no": expected host:port, e.g. 127.0.0.1:7000'],
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

const HOST = 'expected ssh://user@host[:port][/app/root] or file:///app/root';
const URL_ = 'expected an http:// or https:// URL';
const hosts = { BLUE_HOST: 'ssh://deploy@blue.example', GREEN_HOST: 'ssh://deploy@green.example' };

t.test('every variable, broken: exit-2 messages instead of crashes or values that break later', async (t) => {
  const cases: [Env, string][] = [
    // Malformed escapes used to throw "URI malformed" (exit 1), or were sent as they were.
    [{ ...hosts, BLUE_HOST: 'ssh://deploy@h/srv/%zz' }, `BLUE_HOST="ssh://deploy@h/srv/%zz": ${HOST} (% must start an escape of two hex digits, e.g. %20)`],
    [{ ...hosts, BLUE_HOST: 'ssh://de%zz@h' }, `BLUE_HOST="ssh://de%zz@h": ${HOST} (% must start an escape of two hex digits, e.g. %20)`],
    [{ BLUE_HOST: 'file:///srv/%zz', GREEN_HOST: 'file:///g' }, `BLUE_HOST="file:///srv/%zz": ${HOST} (% must start an escape of two hex digits, e.g. %20)`],
    [{ ...hosts, BLUE_URL: 'http://blue.example/%zz' }, `BLUE_URL="http://blue.example/%zz": ${URL_} (% must start an escape of two hex digits, e.g. %20)`],
    [{ BLUEGREEN_PUBLIC_URL: 'https://www.example/%zz' }, `BLUEGREEN_PUBLIC_URL="https://www.example/%zz": ${URL_} (% must start an escape of two hex digits, e.g. %20)`],
    // Host URLs: ports, host names, app roots, extras.
    [{ ...hosts, BLUE_HOST: 'ssh://deploy@h:0' }, `BLUE_HOST="ssh://deploy@h:0": ${HOST} (port must be 1 to 65535)`],
    [{ ...hosts, GREEN_HOST: 'ssh://deploy@-oProxyCommand=sh' }, `GREEN_HOST="ssh://deploy@-oProxyCommand=sh": ${HOST} ("-oProxyCommand=sh" is not a host name (letters, digits, - and .))`],
    [{ ...hosts, BLUE_HOST: 'ssh://deploy@h/srv/..%2F..%2Fetc' }, `BLUE_HOST="ssh://deploy@h/srv/..%2F..%2Fetc": ${HOST} (the app root must be an absolute path without .. or control characters)`],
    [{ ...hosts, BLUE_HOST: 'ssh://deploy@h/srv/a%0Ab' }, `BLUE_HOST="ssh://deploy@h/srv/a%0Ab": ${HOST} (the app root must be an absolute path without .. or control characters)`],
    [{ ...hosts, BLUE_HOST: 'ssh://deploy:pw@h' }, `BLUE_HOST="ssh://deploy:pw@h": ${HOST} (no password: the deploy key logs in)`],
    [{ ...hosts, BLUE_HOST: 'ssh://deploy@h/srv?x' }, `BLUE_HOST="ssh://deploy@h/srv?x": ${HOST} (no ?query or #fragment)`],
    [{ BLUE_HOST: 'file:///srv/blue#x', GREEN_HOST: 'file:///g' }, `BLUE_HOST="file:///srv/blue#x": ${HOST} (no ?query or #fragment)`],
    [{ ...hosts, BLUE_HOST: 'ssh://deploy@h /srv' }, `BLUE_HOST="ssh://deploy@h /srv": ${HOST} (it holds spaces or control characters)`],
    // URLs: port 0 where something must answer, credentials that would be printed, newlines URL parsing drops.
    [{ ...hosts, BLUE_URL: 'http://blue.example:0/' }, `BLUE_URL="http://blue.example:0/": ${URL_} (port 0 is not a port anything answers on)`],
    [{ BLUEGREEN_PUBLIC_URL: 'http://www.example:0/' }, `BLUEGREEN_PUBLIC_URL="http://www.example:0/": ${URL_} (port 0 is not a port anything answers on)`],
    [{ BLUEGREEN_PUBLIC_URL: 'http://ops:pw@www.example/' }, `BLUEGREEN_PUBLIC_URL="http://ops:pw@www.example/": ${URL_} (without user:password@: URLs appear in logs and status)`],
    [{ BLUEGREEN_PUBLIC_URL: 'http://www.example/a\nb' }, `BLUEGREEN_PUBLIC_URL="http://www.example/a\\nb": ${URL_} (it holds spaces or control characters)`],
    // Paths on this machine.
    [{ BLUEGREEN_DATA_DIR: '/srv/a\nb' }, 'BLUEGREEN_DATA_DIR="/srv/a\\nb": expected a path without control characters'],
    [{ BLUEGREEN_SSH_KEY: '/srv/key\u0000' }, 'BLUEGREEN_SSH_KEY="/srv/key\\u0000": expected a path without control characters'],
    [{ BLUEGREEN_KNOWN_HOSTS: '~/.ssh/known_hosts' }, 'BLUEGREEN_KNOWN_HOSTS="~/.ssh/known_hosts": expected a path; ~ needs HOME set to an absolute path'],
    [{ BLUEGREEN_ADMIN_KEY: '~root/.ssh/id_ed25519', HOME: '/root' }, 'BLUEGREEN_ADMIN_KEY="~root/.ssh/id_ed25519": expected a path; only ~/ (your own home) is expanded'],
    [{ BLUEGREEN_TLS_CERT: 'c\tpem', BLUEGREEN_TLS_KEY: 'k.pem' }, 'BLUEGREEN_TLS_CERT="c\\tpem": expected a path without control characters'],
    [{ BLUEGREEN_APP_ROOT: '/srv/a\tb' }, 'BLUEGREEN_APP_ROOT="/srv/a\\tb": expected an absolute path without .. or control characters'],
    // Listen addresses that only failed when binding.
    [{ BLUEGREEN_LISTEN: '999.1.1.1:7000' }, 'BLUEGREEN_LISTEN="999.1.1.1:7000": expected host:port, e.g. 127.0.0.1:7000 ("999.1.1.1" is not an IPv4 address)'],
    [{ BLUEGREEN_LISTEN: '[zz]:7000' }, 'BLUEGREEN_LISTEN="[zz]:7000": expected host:port, e.g. 127.0.0.1:7000 ("zz" is not an IPv6 address)'],
    [{ BLUEGREEN_ROUTER_LISTEN: '-x:80' }, 'BLUEGREEN_ROUTER_LISTEN="-x:80": expected host:port, e.g. 127.0.0.1:7000 ("-x" is not a host name (letters, digits, - and .))'],
    [{ BLUEGREEN_HEALTH_PATH: '/a\u0001b' }, 'BLUEGREEN_HEALTH_PATH="/a\\u0001b": expected a path starting with /, without control characters or a bad % escape'],
    [{ BLUEGREEN_HEALTH_PATH: '/health%zz' }, 'BLUEGREEN_HEALTH_PATH="/health%zz": expected a path starting with /, without control characters or a bad % escape'],
    [{ BLUEGREEN_VERIFY_TIMEOUT: '0' }, 'BLUEGREEN_VERIFY_TIMEOUT="0": expected 1 to 3600 seconds'],
    [{ BLUEGREEN_KEEP_RELEASES: '99999999999999999999' }, 'BLUEGREEN_KEEP_RELEASES="99999999999999999999": expected a number from 2 to 1000 (current and its predecessor are always kept)'],
    [{ BLUEGREEN_WEB_LISTEN: '0' }, 'BLUEGREEN_WEB_LISTEN="0": expected a port between 1 and 65535'],
    [{ BLUEGREEN_WEB_LISTEN: '300.1.1.1:80' }, 'BLUEGREEN_WEB_LISTEN="300.1.1.1:80": expected an IPv4 address'],
  ];
  for (const [env, message] of cases) t.same(errorsOf(env), [message], JSON.stringify(env));
});

t.test('provider values that would break requests or leak credentials', async (t) => {
  const digitalocean = { BLUEGREEN_PROVIDER: 'digitalocean', DIGITALOCEAN_TOKEN: 'dop_v1_ok', BLUEGREEN_RESERVED_IP: '203.0.113.10', BLUE_DROPLET: 'b', GREEN_DROPLET: 'g' };
  t.same(errorsOf({ ...digitalocean, DIGITALOCEAN_TOKEN: 'dop_v1_sec ret\n' }), ['DIGITALOCEAN_TOKEN=(value hidden): expected a token of printable characters without spaces']);
  t.same(errorsOf({ ...digitalocean, DIGITALOCEAN_API_URL: 'http://api.example.com' }), [
    `DIGITALOCEAN_API_URL="http://api.example.com": ${URL_} (https://: credentials are sent there; plain http:// only to a loopback address)`,
  ]);
  t.same(errorsOf({ ...digitalocean, DIGITALOCEAN_API_URL: 'https://api.example.com/?x=1' }), [
    `DIGITALOCEAN_API_URL="https://api.example.com/?x=1": ${URL_} (an API base: without ?query or #fragment)`,
  ]);
  t.same(errorsOf({ ...digitalocean, DIGITALOCEAN_API_URL: 'http://127.0.0.1:9000' }), [], 'a local fake over plain http');
  const azure = {
    BLUEGREEN_PROVIDER: 'azure-ip',
    AZURE_TENANT_ID: 'tenant',
    AZURE_CLIENT_ID: 'client',
    AZURE_CLIENT_SECRET: 'hunter2',
    AZURE_SUBSCRIPTION_ID: 'sub',
    AZURE_RESOURCE_GROUP: 'rg',
    AZURE_PUBLIC_IP: 'pip',
    BLUE_NIC: 'nic-b',
    GREEN_NIC: 'nic-g',
  };
  t.same(errorsOf(azure), []);
  t.same(errorsOf({ ...azure, AZURE_TENANT_ID: '../other', AZURE_CLIENT_SECRET: 'hunter2\n', AZURE_AUTHORITY_URL: 'https://login.example/%zz' }), [
    'AZURE_TENANT_ID="../other": expected a name of letters, digits, . _ -',
    'AZURE_CLIENT_SECRET=(value hidden): expected no control characters or surrounding spaces',
    `AZURE_AUTHORITY_URL="https://login.example/%zz": ${URL_} (% must start an escape of two hex digits, e.g. %20)`,
  ]);
});

t.test('paths: relative to the working directory, ~/ under HOME', async (t) => {
  const { config } = parseConfig({ BLUEGREEN_DATA_DIR: 'state', BLUEGREEN_ADMIN_KEY: '~/.ssh/id_ed25519', HOME: '/home/ops', BLUEGREEN_TLS_CERT: 'c.pem', BLUEGREEN_TLS_KEY: '/etc/k.pem' }, cwd);
  t.equal(config?.dataDir, '/srv/deploy/state');
  t.equal(config?.sshKeyPath, '/srv/deploy/state/id_ed25519');
  t.equal(config?.admin.keyPath, '/home/ops/.ssh/id_ed25519');
  t.same(config?.tls, { cert: '/srv/deploy/c.pem', key: '/etc/k.pem' });
});

t.test('file:// hosts answer on the embedded ports unless told; a router on any free port gives no production address', async (t) => {
  const { config } = parseConfig({ BLUE_HOST: 'file:///srv/blue', GREEN_HOST: 'file:///srv/green', BLUE_URL: 'http://127.0.0.1:0/' }, cwd);
  t.same(config?.hosts.blue, [{ kind: 'file', appRoot: '/srv/blue', url: 'http://127.0.0.1:0/' }], 'served from this process on any free port');
  t.same(config?.hosts.green, [{ kind: 'file', appRoot: '/srv/green', url: 'http://127.0.0.1:8002/' }]);
  t.equal(config?.publicUrl, 'http://127.0.0.1:8080/');
  t.equal(parseConfig({ BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0' }, cwd).config?.publicUrl, undefined);
  t.same(config?.sshListen, { host: '127.0.0.1', port: 7022 }, 'git over SSH by default');
  t.equal(parseConfig({ BLUEGREEN_SSH_LISTEN: 'off' }, cwd).config?.sshListen, undefined, 'git over SSH off');
  t.same(parseConfig({ BLUEGREEN_SSH_LISTEN: '0.0.0.0:22' }, cwd).config?.sshListen, { host: '0.0.0.0', port: 22 });
  t.equal(parseConfig({ BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0', BLUEGREEN_PUBLIC_URL: 'http://127.0.0.1:8088/' }, cwd).config?.publicUrl, 'http://127.0.0.1:8088/');
  const ipv6 = parseConfig({ BLUE_HOST: 'ssh://deploy@[2001:db8::1]:2222/srv', GREEN_HOST: 'ssh://deploy@green.example', BLUEGREEN_LISTEN: '[::1]:7000' }, cwd).config;
  t.same(ipv6?.hosts.blue, [{ kind: 'ssh', user: 'deploy', host: '2001:db8::1', port: 2222, appRoot: '/srv', url: 'http://[2001:db8::1]/' }]);
  t.same(ipv6?.listen, { host: '::1', port: 7000 });
});

t.test('digitalocean-lb: a load balancer, and per colour a tag or a list of droplets', async (t) => {
  const lb = { BLUEGREEN_PROVIDER: 'digitalocean-lb', DIGITALOCEAN_TOKEN: 'dop_v1_lbsecret', DIGITALOCEAN_LOAD_BALANCER: 'web-lb' };
  // Hosts listed: a colour found by tag is test/core/config/hosts.test.ts's.
  const listed = { BLUE_HOST: 'ssh://deploy@10.0.0.5', GREEN_HOST: 'ssh://deploy@10.0.0.6' };
  t.same(parseConfig({ ...lb, ...listed, BLUE_TAG: 'prod:web-blue', GREEN_DROPLET: 'web-green-1, 4242 ,web-green-2' }, cwd).config?.provider, {
    kind: 'digitalocean-lb',
    token: 'dop_v1_lbsecret',
    apiUrl: 'https://api.digitalocean.com',
    loadBalancer: 'web-lb',
    targets: { blue: { tag: 'prod:web-blue' }, green: { droplets: ['web-green-1', '4242', 'web-green-2'] } },
  });
  t.same(errorsOf({ BLUEGREEN_PROVIDER: 'digitalocean-lb' }), [
    'DIGITALOCEAN_TOKEN is not set: the digitalocean-lb provider calls the API with it',
    "DIGITALOCEAN_LOAD_BALANCER is not set: the digitalocean-lb provider points this load balancer (id or name) at the live colour's droplets",
    "BLUE_TAG (or BLUE_DROPLET) is not set: the digitalocean-lb provider sends blue's traffic to the droplets with a tag, or to a list of droplets",
    "GREEN_TAG (or GREEN_DROPLET) is not set: the digitalocean-lb provider sends green's traffic to the droplets with a tag, or to a list of droplets",
  ]);
  const cases: [Env, string][] = [
    [{ BLUE_TAG: 'web-blue', BLUE_DROPLET: 'web-1', GREEN_TAG: 'web-green' }, "BLUE_TAG and BLUE_DROPLET are both set: the digitalocean-lb provider sends blue's traffic to a tag or to a list of droplets, not both"],
    [{ BLUE_TAG: 'web blue', GREEN_TAG: 'web-green' }, 'BLUE_TAG="web blue": expected a tag name: up to 255 letters, digits, : - _'],
    [{ BLUE_TAG: 'a'.repeat(256), GREEN_TAG: 'web-green' }, `BLUE_TAG="${'a'.repeat(256)}": expected a tag name: up to 255 letters, digits, : - _`],
    [{ BLUE_TAG: 'web', GREEN_TAG: 'web' }, 'BLUE_TAG and GREEN_TAG are the same tag "web": blue and green must be different droplets'],
    [{ BLUE_TAG: 'web-blue', GREEN_DROPLET: 'web-1,,web-2' }, 'GREEN_DROPLET="web-1,,web-2": expected droplet ids or names (letters, digits, . _ -), comma-separated'],
    [{ BLUE_TAG: 'web-blue', GREEN_DROPLET: 'web 1' }, 'GREEN_DROPLET="web 1": expected droplet ids or names (letters, digits, . _ -), comma-separated'],
    [{ BLUE_TAG: 'web-blue', GREEN_DROPLET: 'web-1,web-2,web-1' }, 'GREEN_DROPLET="web-1,web-2,web-1": expected each droplet once ("web-1" is named twice)'],
    [{ BLUE_DROPLET: 'web-1,web-2', GREEN_DROPLET: 'web-3,web-2' }, 'BLUE_DROPLET and GREEN_DROPLET both name "web-2": a droplet belongs to one colour'],
    [{ BLUE_TAG: 'web-blue', GREEN_TAG: 'web-green', DIGITALOCEAN_LOAD_BALANCER: 'web/lb' }, 'DIGITALOCEAN_LOAD_BALANCER="web/lb": expected a name of letters, digits, . _ -'],
    [{ BLUE_TAG: 'web-blue', GREEN_TAG: 'web-green', DIGITALOCEAN_TOKEN: 'dop_v1 lb' }, 'DIGITALOCEAN_TOKEN=(value hidden): expected a token of printable characters without spaces'],
  ];
  for (const [env, message] of cases) t.same(errorsOf({ ...lb, ...listed, ...env }), [message], JSON.stringify(env));
});

t.test('lifecycle and notifications: BLUEGREEN_AUTO_FLIP, BLUEGREEN_NOTIFY_URLS (never repeated: webhook URLs hold tokens), BLUEGREEN_NOTIFY_SECRET', async (t) => {
  const defaults = parseConfig({}, cwd).config;
  t.equal(defaults?.autoFlip, false);
  t.same(defaults?.notify, { urls: [], secret: undefined });
  const { config, errors } = parseConfig(
    { BLUEGREEN_AUTO_FLIP: 'true', BLUEGREEN_NOTIFY_URLS: 'https://hooks.slack.com/services/T1/B2/tok3n, http://127.0.0.1:9000/hook?key=k', BLUEGREEN_NOTIFY_SECRET: 's3cret' },
    cwd,
  );
  t.same(errors, []);
  t.equal(config?.autoFlip, true);
  t.same(config?.notify, { urls: ['https://hooks.slack.com/services/T1/B2/tok3n', 'http://127.0.0.1:9000/hook?key=k'], secret: 's3cret' });
  t.same(errorsOf({ BLUEGREEN_AUTO_FLIP: 'yes' }), ['BLUEGREEN_AUTO_FLIP="yes": expected true or false']);
  t.same(errorsOf({ BLUEGREEN_NOTIFY_URLS: 'https://hooks.example/ok,ftp://files.example/tok3n,https://u:p@x.example/' }), [
    'BLUEGREEN_NOTIFY_URLS=(value hidden): entry 2 is not an http:// or https:// URL (without user:password@); expected comma-separated webhook URLs; entry 3 is not an http:// or https:// URL (without user:password@); expected comma-separated webhook URLs',
  ]);
  t.same(errorsOf({ BLUEGREEN_NOTIFY_SECRET: ' padded' }), ['BLUEGREEN_NOTIFY_SECRET=(value hidden): expected no control characters or surrounding spaces']);
});

t.test('application settings: shared paths and the hook timeout', async (t) => {
  const { config } = parseConfig({ BLUEGREEN_SHARED_PATHS: 'storage/, public/uploads/,.env', BLUEGREEN_HOOK_TIMEOUT: '60' }, cwd);
  t.same(config?.sharedPaths, ['storage/', 'public/uploads/', '.env']);
  t.equal(config?.hookTimeoutSeconds, 60);
  t.equal(parseConfig({}, cwd).config?.hookTimeoutSeconds, 900);
  for (const bad of ['/etc/passwd', 'a/../b', '.bluegreen/hooks', 'a,a/', './x']) {
    t.match(errorsOf({ BLUEGREEN_SHARED_PATHS: bad }).join('\n'), /BLUEGREEN_SHARED_PATHS.*expected a comma-separated list of distinct paths relative to the release/);
  }
  t.match(errorsOf({ BLUEGREEN_HOOK_TIMEOUT: '0' }).join('\n'), /BLUEGREEN_HOOK_TIMEOUT.*expected 1 to 86400 seconds/);
});
