/**
 * Every way `bluegreen provision` refuses or fails, each provoked with a small real setup: nothing listening,
 * a key the host does not accept, a non-root admin without sudo, an unsupported /etc/os-release, a held apt
 * lock, a `current` that is not a symlink, an app root in a system directory, a sudoers drop-in visudo
 * rejects. Plus the admin login through an SSH agent, and hosts found by tag (a fake DigitalOcean whose droplets
 * are this machine). One fresh Debian root (127.0.0.14, and a second sshd of its own on 127.0.0.16) serves them all.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { parseConfig, type Config } from '../../src/core/config.js';
import { cloudInit, provision, type ProvisionOptions } from '../../src/provision/run-provision.js';
import { freePortOn, startDebianRoot, type DebianRoot } from '../helpers/debian-root.js';
import { canConnect, sleep } from '../helpers/sshd.js';
import { fingerprint, knownHostsLine } from '../../src/adapters/ssh/known-hosts.js';
import { startFakeDigitalOcean } from '../fakes/digitalocean-api.js';
import { DIGITALOCEAN_LB_ENV } from '../helpers/found-hosts-env.js';

const ADDRESS = '127.0.0.14';
/** A second sshd in the same machine, with its own host key: a second host for runs that meet several. */
const SECOND_ADDRESS = '127.0.0.16';
const TOKEN = 'dop_v1_pr0v1510n5ecret5ecret5ecret';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let root: DebianRoot;
let work: string;
let baseEnv: Record<string, string>;

function makeConfig(env: Record<string, string>): Config {
  const result = parseConfig(env, work);
  if (result.config === undefined) throw new Error(result.errors.join('\n'));
  return result.config;
}

function options(config: Config, extra: Partial<ProvisionOptions> = {}): ProvisionOptions {
  return {
    config,
    colours: ['blue'],
    dryRun: false,
    acceptNewHostKey: true,
    webListen: `${ADDRESS}:8080`,
    env: {},
    say: () => undefined,
    ...extra,
  };
}

function keygen(name: string): string {
  const file = path.join(work, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return file;
}

t.before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bluegreen-provision-errors-'));
  root = await startDebianRoot({ address: ADDRESS }, t);
  keygen('deploy_ed25519');
  baseEnv = {
    BLUEGREEN_DATA_DIR: path.join(work, 'data'),
    BLUE_HOST: `ssh://deploy@${ADDRESS}:${root.sshPort}`,
    GREEN_HOST: 'ssh://deploy@127.0.0.15:22',
    BLUEGREEN_SSH_KEY: path.join(work, 'deploy_ed25519'),
    BLUEGREEN_KNOWN_HOSTS: path.join(work, 'known_hosts'),
    BLUEGREEN_ADMIN_KEY: root.adminKeyPath,
  };
});
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('nothing listening: not reachable', async (t) => {
  const port = await freePortOn(ADDRESS);
  const config = makeConfig({ ...baseEnv, BLUE_HOST: `ssh://deploy@${ADDRESS}:${port}` });
  await t.rejects(provision(options(config)), {
    message: `cannot reach ${ADDRESS}:${port} (connection refused)`,
    hint: `is the host up and sshd listening on port ${port}? check BLUE_HOST / GREEN_HOST`,
  });
});

t.test('no admin key and no agent: a configuration error', async (t) => {
  const { BLUEGREEN_ADMIN_KEY: _, ...env } = baseEnv;
  await t.rejects(provision(options(makeConfig(env))), {
    message: /no credentials for the admin login: BLUEGREEN_ADMIN_KEY is not set and no SSH agent is running/,
    exitCode: 2,
  });
  await t.rejects(provision(options(makeConfig({ ...env, BLUEGREEN_ADMIN_KEY: path.join(work, 'missing') }))), {
    message: /cannot read the admin key .*missing/,
    exitCode: 2,
  });
});

t.test('no deploy public key: a configuration error naming `bluegreen init`', async (t) => {
  const config = makeConfig({ ...baseEnv, BLUEGREEN_SSH_KEY: path.join(work, 'nokey') });
  await t.rejects(provision(options(config)), { message: /cannot read the deploy public key .*nokey\.pub/, hint: /bluegreen init/, exitCode: 2 });
});

t.test('file:// hosts and a root deploy user are refused', async (t) => {
  await t.rejects(provision(options(makeConfig({ ...baseEnv, BLUE_HOST: 'file:///srv/blue' }))), {
    message: 'BLUE_HOST is a file:// directory on this machine: provision prepares hosts over SSH',
    exitCode: 2,
  });
  await t.rejects(provision(options(makeConfig({ ...baseEnv, BLUE_HOST: `ssh://root@${ADDRESS}:${root.sshPort}` }))), {
    message: /BLUE_HOST logs in as root: the deploy user must be an ordinary user/,
    exitCode: 2,
  });
});

t.test('the host refuses the admin key', async (t) => {
  const stranger = keygen('stranger_ed25519');
  const config = makeConfig({ ...baseEnv, BLUEGREEN_ADMIN_KEY: stranger });
  await t.rejects(provision(options(config)), {
    message: `the admin login root@${ADDRESS}:${root.sshPort} was refused: the server accepted none of our credentials`,
    hint: /stranger_ed25519's public key in ~root\/.ssh\/authorized_keys/,
  });
});

t.test('the admin logs in through the SSH agent (dry run)', async (t) => {
  const socket = path.join(work, 'agent.sock');
  const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  t.teardown(() => {
    agent.kill();
  });
  for (let i = 0; i < 500 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
  execFileSync('ssh-add', ['-q', root.adminKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
  const { BLUEGREEN_ADMIN_KEY: _, ...env } = baseEnv;
  const lines: string[] = [];
  const result = await provision(options(makeConfig(env), { dryRun: true, env: { SSH_AUTH_SOCK: socket }, say: (l) => lines.push(l) }));
  t.equal(result.hosts[0]!.steps.find((s) => s.name === 'web-server')?.status, 'would change');
  t.match(lines.join('\n'), /blue: logged in as root\n/);
});

t.test('a non-root admin without sudo', async (t) => {
  root.run(['useradd', '--create-home', '--shell', '/bin/sh', '--password', '*', 'ops']);
  mkdirSync(root.path('home/ops/.ssh'), { recursive: true });
  writeFileSync(root.path('home/ops/.ssh/authorized_keys'), `${root.adminPublicKey}\n`);
  root.run(['chown', '-R', 'ops:ops', '/home/ops/.ssh']);
  const config = makeConfig({ ...baseEnv, BLUEGREEN_ADMIN_USER: 'ops' });
  await t.rejects(provision(options(config)), {
    message: new RegExp(`the admin login ops@${ADDRESS}:${root.sshPort} is not root and cannot use sudo without a password \\(sudo: a password is required\\)`),
    hint: /set BLUEGREEN_ADMIN_USER=root, or allow ops passwordless sudo/,
  });
});

t.test('an unsupported OS', async (t) => {
  const osRelease = root.path('etc/os-release');
  renameSync(osRelease, `${osRelease}.real`);
  t.teardown(() => {
    rmSync(osRelease, { force: true });
    renameSync(`${osRelease}.real`, osRelease);
  });
  writeFileSync(osRelease, 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nID=debian\nVERSION_ID="11"\n');
  const config = makeConfig(baseEnv);
  await t.rejects(provision(options(config)), {
    message: /failed: Debian GNU\/Linux 11 \(bullseye\) is not supported: bluegreen provisions Ubuntu 20.04-24.04 and Debian 12/,
    hint: /Ubuntu 20.04–24.04 and Debian 12/,
  });
  writeFileSync(osRelease, 'PRETTY_NAME="Unsupported OS 1"\nID=unsupported\nVERSION_ID="1"\n');
  await t.rejects(provision(options(config)), { message: /Unsupported OS 1 is not supported/ });
  rmSync(osRelease);
  await t.rejects(provision(options(config)), { message: /no \/etc\/os-release/ });
});

t.test('apt locked by another package operation', async (t) => {
  // dpkg and apt lock with fcntl(2) record locks, so that is what holds it here (flock(1) would not conflict).
  const lockFile = root.path('var/lib/dpkg/lock-frontend');
  const holder = spawn(
    'perl',
    [
      '-MFcntl',
      '-e',
      'open(my $f, ">>", $ARGV[0]) or die $!; my $lock = pack("s s x4 q q l x4", F_WRLCK, 0, 0, 0, 0); fcntl($f, F_SETLK, $lock) or die $!; $| = 1; print "locked\\n"; sleep 600',
      lockFile,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => {
    holder.kill();
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  const config = makeConfig(baseEnv);
  await t.rejects(provision(options(config, { aptLockTimeoutSeconds: 1 })), {
    message: new RegExp(
      `provisioning blue \\(${ADDRESS}:${root.sshPort}\\) failed: apt is locked by another package operation .*Could not get lock /var/lib/dpkg/lock-frontend\\. It is held by process ${holder.pid} \\(perl\\)`,
    ),
    hint: /another apt\/dpkg run holds the lock/,
  });
});

t.test('a `current` that is not a symlink is left alone and reported', async (t) => {
  mkdirSync(root.path('var/www/app/current'), { recursive: true });
  t.teardown(() => rmSync(root.path('var/www'), { recursive: true, force: true }));
  await t.rejects(provision(options(makeConfig(baseEnv), { dryRun: true })), {
    message: /\/var\/www\/app\/current exists and is not a symlink; move it away and run provision again/,
  });
  rmSync(root.path('var/www/app/current'), { recursive: true });
  symlinkSync('releases/gone', root.path('var/www/app/current'));
  await t.rejects(provision(options(makeConfig(baseEnv), { dryRun: true })), {
    message: /current points to releases\/gone, which does not exist/,
  });
});

t.test('an app root inside a system directory is refused by the host script', async (t) => {
  const config = makeConfig({ ...baseEnv, BLUE_HOST: `ssh://deploy@${ADDRESS}:${root.sshPort}/etc/app` });
  await t.rejects(provision(options(config, { dryRun: true })), {
    message: /--app-root \/etc\/app is inside a system directory/,
  });
  await t.rejects(provision(options(makeConfig({ ...baseEnv, BLUEGREEN_APP_ROOT: '/srv' }))), {
    message: /the app root "\/srv" of blue is not one provision can prepare/,
    exitCode: 2,
  });
  await t.rejects(provision(options(makeConfig(baseEnv), { webListen: 'localhost:80' })), {
    message: 'BLUEGREEN_WEB_LISTEN="localhost:80": expected PORT or IPV4:PORT, e.g. 80 or 127.0.0.1:8080',
    exitCode: 2,
  });
});

t.test('the host script refuses bad input and a sudoers drop-in that visudo rejects', async (t) => {
  // Run provision.sh directly in the machine, with a sudoers template that is not valid sudoers syntax.
  const bundle = root.path('tmp/bundle');
  mkdirSync(bundle, { recursive: true });
  cpSync(path.join(REPO, 'provisioning/provision.sh'), path.join(bundle, 'provision.sh'));
  cpSync(path.join(REPO, 'templates'), path.join(bundle, 'templates'), { recursive: true });
  writeFileSync(path.join(bundle, 'templates/sudoers'), '@DEPLOY_USER@ ALL=(root NOPASSWD @SUDO_COMMANDS@\n');
  const key = readFileSync(path.join(work, 'deploy_ed25519.pub'), 'utf8').trim();
  const script = (...args: string[]) => root.run(['sh', '/tmp/bundle/provision.sh', ...args]);

  const bad = script('--dry-run', '--deploy-user', 'deploy', '--deploy-key', key, '--sudo-command', '/usr/sbin/nginx -t');
  t.equal(bad.code, 1);
  t.match(bad.stdout, /^error sudoers-invalid: the sudoers drop-in does not pass visudo -c: .*syntax error/m);
  t.notOk(existsSync(root.path('etc/sudoers.d/bluegreen')));

  t.match(script('--deploy-user', 'Root!', '--deploy-key', key).stdout, /^error bad-input: --deploy-user must be a login name/m);
  t.match(script('--deploy-user', 'root', '--deploy-key', key).stdout, /^error bad-input: the deploy user cannot be root/m);
  t.match(script('--deploy-user', 'deploy', '--deploy-key', 'not a key').stdout, /^error bad-input: --deploy-key must be one OpenSSH public key line/m);
  t.match(script('--deploy-user', 'deploy', '--deploy-key', key, '--web-server', 'iis').stdout, /^error bad-input: --web-server must be apache or nginx/m);
  t.match(script('--deploy-user', 'deploy', '--deploy-key', key, '--web-listen', 'x').stdout, /^error bad-input: --web-listen must be PORT or IPV4:PORT/m);
  t.match(script('--deploy-user', 'deploy', '--deploy-key', key, '--web-listen', '70000').stdout, /^error bad-input: --web-listen port must be 1-65535/m);
  t.match(script('--deploy-user', 'deploy', '--deploy-key', key, '--sudo-command', 'reboot').stdout, /^error bad-input: --sudo-command must be an absolute command path/m);
  t.match(script('--deploy-user', 'deploy', '--deploy-key', key, '--app-root', '/var/www/../etc').stdout, /^error bad-input: --app-root must be an absolute path/m);
  t.match(script('--bogus').stdout, /^error bad-input: unknown argument: --bogus/m);
  t.match(script('--deploy-user').stdout, /^error bad-input: --deploy-user needs a value/m);

  // Not root: run it as an ordinary user (ops exists from an earlier test, or is made here).
  if (root.run(['id', 'ops']).code !== 0) root.run(['useradd', '--password', '*', 'ops']);
  const asOps = root.run(['setpriv', '--reuid=ops', '--regid=ops', '--clear-groups', 'sh', '/tmp/bundle/provision.sh', '--deploy-user', 'deploy', '--deploy-key', key]);
  t.match(asOps.stdout, /^error not-root: provision.sh must run as root \(it was run as ops\)/m);

  const untemplated = spawnSync('chroot', [root.dir, 'sh', '-c', 'cp /tmp/bundle/provision.sh /tmp/alone.sh && sh /tmp/alone.sh --deploy-user deploy --deploy-key x'], { encoding: 'utf8' });
  t.match(untemplated.stdout, /^error bad-input: templates not found next to the script/m);
});

t.test('apt cannot reach its mirror', async (t) => {
  const sources = root.path('etc/apt/sources.list');
  const real = readFileSync(sources);
  t.teardown(() => writeFileSync(sources, real));
  // Nothing listens on the discard port: every download is refused.
  writeFileSync(sources, 'deb http://127.0.0.1:9/debian bookworm main\n');
  const config = makeConfig({ ...baseEnv, BLUEGREEN_WEB_SERVER: 'nginx' });
  await t.rejects(provision(options(config, { aptLockTimeoutSeconds: 1 })), {
    message: /failed: apt-get install failed: E: Unable to locate package nginx .*\(apt-get update reported: .*http:\/\/127\.0\.0\.1:9\/debian/,
    hint: /check the host's apt sources and network/,
  });
});

t.test('--cloud-init user-data writes the same bundle and runs the same script', async (t) => {
  const config = makeConfig(baseEnv);
  t.throws(() => cloudInit({ config, colours: ['blue', 'green'] }), { message: /--cloud-init prints the user-data of one host/, exitCode: 2 });
  const userData = cloudInit({ config, colours: ['blue'], webListen: '127.0.0.1:8081' });
  t.match(userData, /^#cloud-config\n/);
  // Materialize write_files in the machine (as cloud-init would), then run runcmd's command, in a dry run.
  const lines = userData.split('\n');
  let written = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^  - path: (".*")$/.exec(lines[i]!);
    if (!m) continue;
    const file = JSON.parse(m[1]!) as string;
    const content = /^    content: (.*)$/.exec(lines.slice(i, i + 6).find((l) => l.startsWith('    content: ')) ?? '')![1]!;
    const mode = /^    permissions: "(\d+)"$/.exec(lines.slice(i, i + 6).find((l) => l.startsWith('    permissions: ')) ?? '')![1]!;
    mkdirSync(path.dirname(root.path(file)), { recursive: true });
    writeFileSync(root.path(file), Buffer.from(content, 'base64'), { mode: parseInt(mode, 8) });
    written++;
  }
  t.equal(written, 6, 'provision.sh and five templates');
  const runcmd = lines[lines.indexOf('runcmd:') + 1]!;
  const argv = JSON.parse(runcmd.replace(/^  - /, '')) as string[];
  t.same(argv.slice(0, 2), ['sh', '/usr/local/lib/bluegreen/provision.sh']);
  t.ok(argv.includes('--deploy-key'));
  t.notOk(argv.includes('--dry-run'));
  const r = root.run([...argv, '--dry-run']);
  t.equal(r.code, 0, r.stdout);
  t.match(r.stdout, /^step web-server: would change \(install apache2\)$/m);
  t.match(r.stdout, /^done$/m);
  rmSync(root.path('usr/local/lib/bluegreen'), { recursive: true });
});

/** The machine's sshd again, on SECOND_ADDRESS and the first's port, with a host key of its own; stopped with the test. */
async function secondSshd(t: Test): Promise<{ fingerprint: string }> {
  rmSync(root.path('etc/ssh/second_host_ed25519_key'), { force: true });
  rmSync(root.path('etc/ssh/second_host_ed25519_key.pub'), { force: true });
  root.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/etc/ssh/second_host_ed25519_key']);
  const [, blob] = readFileSync(root.path('etc/ssh/second_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/);
  const sshd = spawn(
    'chroot',
    [root.dir, '/usr/sbin/sshd', '-D', '-e', '-o', `ListenAddress=${SECOND_ADDRESS}:${root.sshPort}`, '-o', 'HostKey=/etc/ssh/second_host_ed25519_key', '-o', 'PidFile=none', '-o', 'UseDNS=no', '-o', 'LogLevel=ERROR'],
    { stdio: 'ignore' },
  );
  t.teardown(() => {
    sshd.kill();
  });
  for (let i = 0; i < 400 && !(await canConnect(SECOND_ADDRESS, root.sshPort)); i++) await sleep(50);
  return { fingerprint: fingerprint(Buffer.from(blob!, 'base64')) };
}

/** baseEnv with blue and green found by tag in a fake DigitalOcean (BLUE_HOST and GREEN_HOST unset). */
async function foundByTag(t: Test, droplets: Parameters<typeof startFakeDigitalOcean>[0]['droplets'], template: string): Promise<Record<string, string>> {
  const api = await startFakeDigitalOcean({ token: TOKEN, droplets, reservedIps: {} });
  t.teardown(() => api.close());
  const { BLUE_HOST: _blue, GREEN_HOST: _green, ...env } = baseEnv;
  return {
    ...env,
    ...DIGITALOCEAN_LB_ENV,
    DIGITALOCEAN_TOKEN: TOKEN,
    DIGITALOCEAN_API_URL: api.url,
    BLUEGREEN_HOST_TEMPLATE: template,
  };
}

t.test('hosts found by tag: provision looks them up and prepares each droplet tagged; a tag on no droplet names the fix', async (t) => {
  const env = await foundByTag(t, [{ id: 101, name: 'web-blue-1', tags: ['web-blue'], addresses: { private: ADDRESS } }], `ssh://deploy@{ip}:${root.sshPort}`);
  const lines: string[] = [];
  const result = await provision(options(makeConfig(env), { dryRun: true, say: (line) => lines.push(line) }));
  t.same(result.hosts.map((host) => `${host.colour} ${host.host}`), [`blue ${ADDRESS}:${root.sshPort}`]);
  t.equal(result.hosts[0]!.steps.find((s) => s.name === 'web-server')?.status, 'would change');
  t.match(lines.join('\n'), new RegExp(`^blue: ${ADDRESS.replaceAll('.', '\\.')}:${root.sshPort} offers host key `, 'm'));
  // `all`: green's tag is on no droplet; nothing is met before every colour's hosts are known.
  await t.rejects(provision(options(makeConfig(env), { colours: ['blue', 'green'], say: (line) => lines.push(`all: ${line}`) })), {
    message: 'no droplet has the tag web-green (GREEN_TAG): green has no hosts',
    hint: "tag green's droplets with web-green (`doctl compute droplet tag`), or set GREEN_TAG",
  });
  t.notMatch(lines.join('\n'), /^all: /m, 'no host was met');
  // --cloud-init needs no host, and is the document a listed host with the same user and app root gets.
  t.equal(
    cloudInit({ config: makeConfig(env), colours: ['green'], webListen: '80' }),
    cloudInit({ config: makeConfig({ ...baseEnv, GREEN_HOST: 'ssh://deploy@203.0.113.9' }), colours: ['green'], webListen: '80' }),
  );
});

/** `text` as a regular expression that matches it literally (fingerprints hold `+` and `/`). */
const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

t.test('a run that meets several new hosts: --host-key trusts one at a time, the hosts already known are used as they are', async (t) => {
  const second = await secondSshd(t);
  const knownHosts = path.join(work, 'known_hosts_several');
  const env = {
    ...(await foundByTag(
      t,
      [
        { id: 101, name: 'web-blue-1', tags: ['web-blue'], addresses: { private: ADDRESS } },
        { id: 102, name: 'web-blue-2', tags: ['web-blue'], addresses: { private: SECOND_ADDRESS } },
      ],
      `ssh://deploy@{ip}:${root.sshPort}`,
    )),
    BLUEGREEN_KNOWN_HOSTS: knownHosts,
  };
  const strict = (extra: Partial<ProvisionOptions>) => options(makeConfig(env), { acceptNewHostKey: false, dryRun: true, ...extra });
  await t.rejects(provision(strict({})), {
    message: `host key of ${ADDRESS}:${root.sshPort} (blue) is not known yet: it offered ${root.fingerprint}`,
    hint: new RegExp(escaped(`bluegreen provision blue --host-key ${root.fingerprint}`)),
  });
  // The first host's key, checked and given: it would be recorded; the second is named with its own key to check.
  await t.rejects(provision(strict({ hostKey: root.fingerprint })), {
    message: `host key of ${SECOND_ADDRESS}:${root.sshPort} (blue) is not known yet: it offered ${second.fingerprint}`,
    hint: new RegExp(escaped(`bluegreen provision blue --host-key ${second.fingerprint}`)),
  });
  // The first is known now (as a run without --dry-run records it); the second's key, given, lets the run through.
  writeFileSync(knownHosts, `${knownHostsLine(ADDRESS, root.sshPort, root.hostKeyBlob)}\n`);
  const result = await provision(strict({ hostKey: second.fingerprint }));
  t.same(
    result.hosts.map((host) => [host.host, host.hostKey.status]),
    [[`${ADDRESS}:${root.sshPort}`, 'known'], [`${SECOND_ADDRESS}:${root.sshPort}`, 'would record']],
  );
  t.ok(result.hosts.every((host) => host.os !== undefined && host.steps.length > 0), 'both prepared (dry run)');
  // Alone, a host whose trusted key is not the one given is still refused.
  await t.rejects(provision(strict({ hostKey: second.fingerprint, config: makeConfig({ ...baseEnv, BLUEGREEN_KNOWN_HOSTS: knownHosts }) })), {
    message: new RegExp(escaped(`is ${root.fingerprint}, not the ${second.fingerprint} given with --host-key: refusing to connect`)),
  });
});
