import t from 'tap';
import { parseConfig, type Config } from '../../src/core/config.js';
import {
  BOOTSTRAP,
  bundleEntries,
  checkWebListen,
  cloudInitSite,
  cloudInitUserData,
  decideHostKey,
  deployPublicKeyLine,
  parseScriptOutput,
  provisionTargets,
  remoteArgv,
  scriptArgs,
  scriptErrorHint,
  scriptInputs,
  adminAuthSource,
  type BundleFile,
  type ScriptInputs,
} from '../../src/core/provision-plan.js';
import { AZURE_APPGW_ENV, DIGITALOCEAN_LB_ENV } from '../helpers/found-hosts-env.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1aa/B+0= bluegreen';
const FILES: BundleFile[] = [
  { path: 'provision.sh', mode: 0o755, content: '#!/bin/sh\necho hi\n' },
  ...['apache-site.conf', 'apache-ports.conf', 'nginx-site.conf', 'sudoers', 'index.html'].map((name) => ({
    path: `templates/${name}`,
    mode: 0o644,
    content: `${name}\n`,
  })),
];

function config(env: Record<string, string>): Config {
  const result = parseConfig({ BLUE_HOST: 'ssh://deploy@10.0.0.1', GREEN_HOST: 'ssh://deploy@10.0.0.2:2222/srv/green', ...env }, '/work');
  if (result.config === undefined) throw new Error(result.errors.join('\n'));
  return result.config;
}

const inputs: ScriptInputs = {
  colour: 'blue',
  deployUser: 'deploy',
  deployPublicKey: KEY,
  appRoot: '/var/www/app',
  webServer: 'nginx',
  webListen: '127.0.0.1:8080',
  sudoCommands: ['/usr/bin/systemctl reload nginx'],
  dryRun: true,
  aptLockTimeoutSeconds: 3.7,
};

t.test('targets come from BLUE_HOST/GREEN_HOST; file:// hosts, root deploy users and a shared host are refused', async (t) => {
  t.same(provisionTargets(config({}), ['blue', 'green']), [
    { colour: 'blue', host: '10.0.0.1', port: 22, deployUser: 'deploy', appRoot: '/var/www/app' },
    { colour: 'green', host: '10.0.0.2', port: 2222, deployUser: 'deploy', appRoot: '/srv/green' },
  ]);
  const embedded = parseConfig({}, '/work').config!;
  t.throws(() => provisionTargets(embedded, ['blue']), { message: /no hosts are configured/, exitCode: 2 });
  t.throws(() => provisionTargets(config({ BLUE_HOST: 'ssh://root@10.0.0.1' }), ['blue']), { message: /logs in as root/ });
  t.throws(() => provisionTargets(config({ GREEN_HOST: 'ssh://deploy@10.0.0.1/srv/other' }), ['blue', 'green']), {
    message: /blue and green are the same host \(10\.0\.0\.1:22\)/,
  });
  // Both colours in one app root would overwrite each other's `current`: refused by the configuration already.
  t.throws(() => config({ GREEN_HOST: 'ssh://deploy@10.0.0.1' }), { message: 'GREEN_HOST names ssh://10.0.0.1:22/var/www/app which BLUE_HOST names too: each host and app root serves one colour, once' });
});

t.test('script arguments and the remote argv', async (t) => {
  t.same(scriptArgs(inputs), [
    '--colour', 'blue', '--web-server', 'nginx', '--deploy-user', 'deploy', '--deploy-key', KEY, '--app-root', '/var/www/app',
    '--web-listen', '127.0.0.1:8080', '--sudo-command', '/usr/bin/systemctl reload nginx', '--apt-lock-timeout', '3', '--dry-run',
  ]);
  t.same(remoteArgv(['--x'], { sudo: false }), ['sh', '-c', BOOTSTRAP, 'bluegreen-provision', '--x']);
  t.same(remoteArgv(['--x'], { sudo: true }).slice(0, 3), ['sudo', '-n', 'sh']);
  const c = config({ BLUEGREEN_WEB_SERVER: 'nginx', BLUEGREEN_SUDO_COMMANDS: '/bin/true' });
  const target = provisionTargets(c, ['green'])[0]!;
  t.match(scriptInputs(c, target, { deployPublicKey: KEY, webListen: '80', dryRun: false }), {
    colour: 'green', appRoot: '/srv/green', webServer: 'nginx', sudoCommands: ['/bin/true'], webListen: '80',
  });
  t.throws(() => scriptInputs(c, target, { deployPublicKey: KEY, webListen: '0', dryRun: false }), { message: /BLUEGREEN_WEB_LISTEN="0": expected a port/ });
});

t.test('the bundle: templates/ first, then each file with its mode and content; an incomplete bundle is refused', async (t) => {
  t.same(bundleEntries(FILES), [
    { type: 'directory', path: 'templates/', mode: 0o755 },
    { type: 'file', path: 'provision.sh', mode: 0o755, content: '#!/bin/sh\necho hi\n' },
    ...['apache-site.conf', 'apache-ports.conf', 'nginx-site.conf', 'sudoers', 'index.html'].map((name) => ({
      type: 'file',
      path: `templates/${name}`,
      mode: 0o644,
      content: `${name}\n`,
    })),
  ]);
  t.throws(() => bundleEntries(FILES.slice(0, 4)), { message: 'provisioning bundle is missing templates/sudoers, templates/index.html' });
  t.throws(() => bundleEntries(FILES.slice(1)), { message: 'provisioning bundle is missing provision.sh' });
  t.throws(() => cloudInitUserData(inputs, FILES.slice(0, 5)), { message: 'provisioning bundle is missing templates/index.html' });
});

t.test('status lines are parsed; anything else is ignored', async (t) => {
  const out = parseScriptOutput(
    [
      'info protocol: 1',
      'info os: Debian GNU/Linux 12 (bookworm)',
      'Reading package lists...',
      'step web-server: changed (installed apache2)',
      'step sudoers: already done',
      'step listen: would change (/etc/apache2/ports.conf)',
      'step bogus: maybe',
      'done',
    ].join('\n'),
  );
  t.same(out.info, { protocol: '1', os: 'Debian GNU/Linux 12 (bookworm)' });
  t.same(out.steps, [
    { name: 'web-server', status: 'changed', detail: 'installed apache2' },
    { name: 'sudoers', status: 'already done', detail: undefined },
    { name: 'listen', status: 'would change', detail: '/etc/apache2/ports.conf' },
  ]);
  t.equal(out.complete, true);
  t.equal(out.error, undefined);
  const failed = parseScriptOutput('info protocol: 1\nerror apt-locked: apt is locked (x)\n');
  t.same(failed.error, { code: 'apt-locked', message: 'apt is locked (x)' });
  t.equal(failed.complete, false);
  for (const code of ['unsupported-os', 'apt-locked', 'apt-failed', 'not-root', 'bad-input', 'config-invalid', 'sudoers-invalid', 'service-failed', 'bad-state']) {
    t.match(scriptErrorHint(code, 'green'), /\S/, code);
  }
});

t.test('host key rules: trust on first use only when asked, a changed key never', async (t) => {
  const where = { colour: 'blue' as const, host: '10.0.0.1', port: 22, knownHostsPath: '/d/known_hosts' };
  const fp = 'SHA256:' + 'a'.repeat(43);
  const other = 'SHA256:' + 'b'.repeat(43);
  t.same(decideHostKey('trusted', fp, where, { acceptNewHostKey: false }), { action: 'trusted' });
  t.same(decideHostKey('trusted', fp, where, { hostKey: fp, acceptNewHostKey: false }), { action: 'trusted' });
  t.throws(() => decideHostKey('trusted', fp, where, { hostKey: other, acceptNewHostKey: false }), { message: /not the SHA256:b+ given with --host-key/ });
  t.same(decideHostKey('unknown', fp, where, { hostKey: fp, acceptNewHostKey: false }), { action: 'record', reason: 'matches --host-key' });
  t.same(decideHostKey('unknown', fp, where, { acceptNewHostKey: true }), { action: 'record', reason: '--accept-new-host-key' });
  t.throws(() => decideHostKey('unknown', fp, where, { acceptNewHostKey: false }), {
    message: `host key of 10.0.0.1 (blue) is not known yet: it offered ${fp}`,
    hint: new RegExp(`bluegreen provision blue --host-key ${fp}`),
  });
  t.throws(() => decideHostKey('changed', fp, { ...where, port: 2222 }, { acceptNewHostKey: true }), {
    message: /host key of 10.0.0.1:2222 \(blue\) has CHANGED/,
    hint: /ssh-keygen -R '\[10.0.0.1\]:2222' -f \/d\/known_hosts/,
  });
  t.throws(() => decideHostKey('revoked', fp, where, { hostKey: fp, acceptNewHostKey: true }), { message: /has been REVOKED/ });
});

t.test('host keys when provision meets several hosts: --host-key is the one new host\'s; the trusted ones are used as they are', async (t) => {
  const fp = `SHA256:${'a'.repeat(43)}`;
  const other = `SHA256:${'b'.repeat(43)}`;
  const where = { colour: 'blue' as const, host: '10.0.0.1', port: 22, knownHostsPath: '/d/known_hosts', oneOfSeveral: true };
  t.same(decideHostKey('trusted', fp, where, { hostKey: other, acceptNewHostKey: false }), { action: 'trusted' }, 'another host\'s key given');
  t.same(decideHostKey('unknown', fp, where, { hostKey: fp, acceptNewHostKey: false }), { action: 'record', reason: 'matches --host-key' });
  // A new host whose key is not the one given is not trusted: it is named with its own fingerprint, to check.
  t.throws(() => decideHostKey('unknown', fp, where, { hostKey: other, acceptNewHostKey: false }), {
    message: `host key of 10.0.0.1 (blue) is not known yet: it offered ${fp}`,
    hint: new RegExp(`bluegreen provision blue --host-key ${fp}`),
  });
  t.same(decideHostKey('unknown', fp, where, { hostKey: other, acceptNewHostKey: true }), { action: 'record', reason: '--accept-new-host-key' });
  t.throws(() => decideHostKey('changed', fp, where, { hostKey: fp, acceptNewHostKey: true }), { message: /host key of 10.0.0.1 \(blue\) has CHANGED/ });
  t.throws(() => decideHostKey('revoked', fp, where, { hostKey: fp, acceptNewHostKey: true }), { message: /has been REVOKED/ });
});

t.test('admin credentials, deploy key and web listen checks', async (t) => {
  t.same(adminAuthSource('/k', '/sock'), { kind: 'key', path: '/k' });
  t.same(adminAuthSource(undefined, '/sock'), { kind: 'agent', socket: '/sock' });
  t.throws(() => adminAuthSource(undefined, undefined), { message: /no credentials for the admin login/, exitCode: 2 });
  t.equal(deployPublicKeyLine(`${KEY}\n`, '/k.pub'), KEY);
  t.throws(() => deployPublicKeyLine('-----BEGIN OPENSSH PRIVATE KEY-----\n', '/k.pub'), { message: '/k.pub is not one OpenSSH public key line' });
  t.throws(() => deployPublicKeyLine(`${KEY}\n${KEY}\n`, '/k.pub'));
  t.equal(checkWebListen('80'), undefined);
  t.equal(checkWebListen('127.0.0.4:8080'), undefined);
  t.match(checkWebListen('localhost:80'), /expected PORT or IPV4:PORT/);
  t.match(checkWebListen('70000'), /between 1 and 65535/);
  t.match(checkWebListen('300.0.0.1:80'), /IPv4/);
});

t.test('cloud-init user-data: the bundle in write_files, the script in runcmd', async (t) => {
  const doc = cloudInitUserData(inputs, FILES);
  t.match(doc, /^#cloud-config\n/);
  t.match(doc, '  - path: "/usr/local/lib/bluegreen/provision.sh"\n    owner: "root:root"\n    permissions: "0755"\n    encoding: b64\n');
  t.match(doc, `    content: ${Buffer.from('#!/bin/sh\necho hi\n').toString('base64')}\n`);
  t.match(doc, '  - path: "/usr/local/lib/bluegreen/templates/sudoers"\n');
  const runcmd = doc.split('\n')[doc.split('\n').indexOf('runcmd:') + 1]!;
  const argv = JSON.parse(runcmd.slice(4)) as string[];
  t.same(argv.slice(0, 2), ['sh', '/usr/local/lib/bluegreen/provision.sh']);
  t.notOk(argv.includes('--dry-run'), 'cloud-init applies');
  t.ok(argv.includes(KEY));
});

const DIGITALOCEAN_LB = DIGITALOCEAN_LB_ENV;
const AZURE_APPGW = AZURE_APPGW_ENV;

/** A configuration whose hosts are found (no BLUE_HOST / GREEN_HOST). */
function foundConfig(env: Record<string, string>): Config {
  const result = parseConfig(env, '/work');
  if (result.config?.discovery === undefined) throw new Error(result.errors.join('\n') || 'the hosts are not found');
  return result.config;
}

t.test('--cloud-init for a colour whose hosts are found: the deploy user and app root of BLUEGREEN_HOST_TEMPLATE, no host needed', async (t) => {
  t.same(cloudInitSite(foundConfig(DIGITALOCEAN_LB), 'blue'), { colour: 'blue', deployUser: 'deploy', appRoot: '/var/www/app' }, 'the default template');
  t.same(
    cloudInitSite(foundConfig({ ...AZURE_APPGW, BLUEGREEN_HOST_TEMPLATE: 'ssh://web@{ip}:2222/srv/shop', BLUEGREEN_APP_ROOT: '/srv/other' }), 'green'),
    { colour: 'green', deployUser: 'web', appRoot: '/srv/shop' },
    'the template\'s own user and path',
  );
  t.same(cloudInitSite(foundConfig({ ...DIGITALOCEAN_LB, BLUEGREEN_APP_ROOT: '/srv/app' }), 'green'), { colour: 'green', deployUser: 'deploy', appRoot: '/srv/app' });
  t.throws(() => cloudInitSite(foundConfig({ ...DIGITALOCEAN_LB, BLUEGREEN_HOST_TEMPLATE: 'ssh://root@{ip}:2222/srv/shop' }), 'blue'), {
    message: 'BLUEGREEN_HOST_TEMPLATE logs in as root: the deploy user must be an ordinary user',
    hint: 'set BLUEGREEN_HOST_TEMPLATE=ssh://deploy@{ip}:2222/srv/shop; provision creates that user',
    exitCode: 2,
  });
  // The same script inputs as the hosts found later get over SSH.
  const config = foundConfig({ ...DIGITALOCEAN_LB, BLUEGREEN_HOST_TEMPLATE: 'ssh://web@{ip}/srv/shop' });
  const found = { kind: 'ssh' as const, user: 'web', host: '10.0.1.1', port: 22, appRoot: '/srv/shop', url: 'http://10.0.1.1/' };
  const options = { deployPublicKey: KEY, webListen: '80', dryRun: false };
  t.same(scriptInputs(config, cloudInitSite(config, 'blue'), options), scriptInputs(config, provisionTargets(config, ['blue'], { blue: [found] })[0]!, options));
});

t.test('--cloud-init for listed hosts: theirs, when they agree; hosts that differ, file:// and the embedded default are refused', async (t) => {
  const listed = config({});
  t.same(cloudInitSite(listed, 'green'), { colour: 'green', deployUser: 'deploy', appRoot: '/srv/green' });
  const target = provisionTargets(listed, ['green'])[0]!;
  const options = { deployPublicKey: KEY, webListen: '80', dryRun: false };
  t.equal(
    cloudInitUserData(scriptInputs(listed, cloudInitSite(listed, 'green'), options), FILES),
    cloudInitUserData(scriptInputs(listed, target, options), FILES),
    'the same document as from the first listed host',
  );
  t.same(cloudInitSite(config({ BLUE_HOST: 'ssh://deploy@10.0.0.1,ssh://deploy@10.0.0.3:2200' }), 'blue'), { colour: 'blue', deployUser: 'deploy', appRoot: '/var/www/app' });
  t.throws(() => cloudInitSite(config({ BLUE_HOST: 'ssh://deploy@10.0.0.1,ssh://web@10.0.0.3/srv/shop' }), 'blue'), {
    message: "BLUE_HOST gives blue's hosts different deploy users or app roots (deploy in /var/www/app; web in /srv/shop): one cloud-init document prepares every new host of blue alike",
    hint: 'give every host in BLUE_HOST the same deploy user and app root, or provision each host over SSH with `bluegreen provision blue`',
    exitCode: 2,
  });
  t.throws(() => cloudInitSite(config({ BLUE_HOST: 'file:///srv/blue' }), 'blue'), { message: 'BLUE_HOST is a file:// directory on this machine: provision prepares hosts over SSH', exitCode: 2 });
  t.throws(() => cloudInitSite(parseConfig({}, '/work').config!, 'blue'), { message: /no hosts are configured/, exitCode: 2 });
  t.throws(() => cloudInitSite(config({ BLUE_HOST: 'ssh://root@10.0.0.1:2200' }), 'blue'), {
    message: 'BLUE_HOST logs in as root: the deploy user must be an ordinary user',
    hint: 'set BLUE_HOST=ssh://deploy@10.0.0.1:2200; provision creates that user',
  });
});

t.test('provision over SSH of hosts found through a template that logs in as root: refused, naming the template', async (t) => {
  const config = foundConfig({ ...DIGITALOCEAN_LB, BLUEGREEN_HOST_TEMPLATE: 'ssh://root@{ip}' });
  const found = { kind: 'ssh' as const, user: 'root', host: '10.0.1.1', port: 22, appRoot: '/var/www/app', url: 'http://10.0.1.1/' };
  t.throws(() => provisionTargets(config, ['blue'], { blue: [found] }), {
    message: 'BLUEGREEN_HOST_TEMPLATE logs in as root: the deploy user must be an ordinary user',
    hint: 'set BLUEGREEN_HOST_TEMPLATE=ssh://deploy@{ip}; provision creates that user',
    exitCode: 2,
  });
});

t.test('provision prepares every host of a colour: listed, or found by tag or scale set and handed in', async (t) => {
  const found = [
    { kind: 'ssh' as const, user: 'deploy', host: '10.0.1.1', port: 22, appRoot: '/var/www/app', url: 'http://10.0.1.1/' },
    { kind: 'ssh' as const, user: 'deploy', host: '10.0.1.2', port: 22, appRoot: '/var/www/app', url: 'http://10.0.1.2/' },
  ];
  t.same(
    provisionTargets(config({}), ['blue'], { blue: found }).map((target) => `${target.colour} ${target.host}`),
    ['blue 10.0.1.1', 'blue 10.0.1.2'],
  );
  t.same(provisionTargets(config({ BLUE_HOST: 'ssh://deploy@10.0.0.1,ssh://deploy@10.0.0.3' }), ['blue']).map((target) => target.host), ['10.0.0.1', '10.0.0.3']);
});
