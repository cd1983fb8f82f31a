/**
 * `bluegreen provision` against a real Debian bookworm machine (a chroot with its own sshd on 127.0.0.4):
 * host key rules, dry run, a full apache provision served over HTTP, a second run that changes nothing, and
 * what the deploy user can write.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SshTransport } from '../../src/adapters/ssh/ssh-transport.js';
import { parseConfig, type Config } from '../../src/core/config.js';
import { provision, type ProvisionOptions } from '../../src/provision/run-provision.js';
import { startDebianRoot, type DebianRoot } from '../helpers/debian-root.js';
import { diffSnapshots, snapshot } from './snapshot.js';

const ADDRESS = '127.0.0.4';
// Not compared: kernel and runtime state, logs, and the temp dir the bundle is unpacked into (removed again).
const VOLATILE = ['proc', 'dev', 'sys', 'run', 'tmp', 'var/log', 'var/cache/debconf', 'var/lib/sudo'];

let root: DebianRoot;
let config: Config;
let work: string;
let webListen: string;
let webPort: number;

function makeConfig(env: Record<string, string>): Config {
  const result = parseConfig(env, work);
  if (result.config === undefined) throw new Error(result.errors.join('\n'));
  return result.config;
}

function options(extra: Partial<ProvisionOptions> = {}): ProvisionOptions & { lines: string[] } {
  const lines: string[] = [];
  return {
    config,
    colours: ['blue'],
    dryRun: false,
    acceptNewHostKey: false,
    webListen,
    env: {},
    say: (line) => lines.push(line),
    lines,
    ...extra,
  };
}

/** PIDs of the web server's processes: a reload or restart replaces the workers. */
function webServerPids(name: string): string[] {
  const pids: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith(name)) continue;
      const r = execFileSync('readlink', [`/proc/${entry}/root`], { encoding: 'utf8' }).trim();
      if (r === root.dir) pids.push(entry);
    } catch {
      // gone
    }
  }
  return pids.sort();
}

t.before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bluegreen-provision-'));
  root = await startDebianRoot({ address: ADDRESS }, t);
  webPort = await root.freePort();
  webListen = `${ADDRESS}:${webPort}`;
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bluegreen-deploy', '-f', path.join(work, 'deploy_ed25519')]);
  config = makeConfig({
    BLUEGREEN_DATA_DIR: path.join(work, 'data'),
    BLUE_HOST: `ssh://deploy@${ADDRESS}:${root.sshPort}`,
    GREEN_HOST: 'ssh://deploy@127.0.0.5:22',
    BLUEGREEN_SSH_KEY: path.join(work, 'deploy_ed25519'),
    BLUEGREEN_KNOWN_HOSTS: path.join(work, 'known_hosts'),
    BLUEGREEN_ADMIN_KEY: root.adminKeyPath,
  });
});
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('a host met for the first time is refused without --host-key or --accept-new-host-key', async (t) => {
  await t.rejects(provision(options()), { message: new RegExp(`not known yet: it offered ${escape(root.fingerprint)}`) });
  t.notOk(existsSync(config.knownHostsPath), 'nothing recorded');
});

t.test('a --host-key that does not match is refused, and nothing is recorded or changed', async (t) => {
  const wrong = 'SHA256:' + 'A'.repeat(43);
  await t.rejects(provision(options({ hostKey: wrong })), {
    message: new RegExp(`is ${escape(root.fingerprint)}, not the ${escape(wrong)} given with --host-key: refusing`),
  });
  t.notOk(existsSync(config.knownHostsPath));
  t.notOk(existsSync(root.path('var/www/app')), 'the host was not touched');
  await t.rejects(provision(options({ hostKey: 'SHA256:short' })), { message: /is not a SHA256 fingerprint/, exitCode: 2 });
});

t.test('--dry-run connects, inspects, and changes nothing (not even known_hosts)', async (t) => {
  const before = snapshot(root.dir, VOLATILE);
  const o = options({ dryRun: true, hostKey: root.fingerprint });
  const result = await provision(o);
  t.same(diffSnapshots(before, snapshot(root.dir, VOLATILE)), [], 'no file changed');
  t.notOk(existsSync(config.knownHostsPath), 'known_hosts not written in a dry run');
  const host = result.hosts[0]!;
  t.equal(host.hostKey.status, 'would record');
  t.ok(host.steps.length >= 10);
  t.ok(
    host.steps.filter((s) => s.name !== 'sudoers').every((s) => s.status === 'would change'),
    'every step would change',
  );
  t.match(o.lines.join('\n'), /blue: web-server: would change \(install apache2\)/);
  t.match(o.lines.join('\n'), /steps would change \(dry run: nothing was changed\)/);
});

t.test('provision installs apache, the deploy user, its key, the app root and the site', async (t) => {
  const o = options({ hostKey: root.fingerprint });
  const result = await provision(o);
  const host = result.hosts[0]!;
  t.equal(host.hostKey.status, 'recorded');
  t.match(readFileSync(config.knownHostsPath, 'utf8'), `[${ADDRESS}]:${root.sshPort} ssh-ed25519 ${root.hostKeyBlob.toString('base64')}\n`);
  t.equal(host.os, 'Debian GNU/Linux 12 (bookworm)');
  const byName = Object.fromEntries(host.steps.map((s) => [s.name, s.status]));
  t.same(byName, {
    'web-server': 'changed',
    'deploy-user': 'changed',
    'authorized-key': 'changed',
    'app-root': 'changed',
    'placeholder-release': 'changed',
    'site-config': 'changed',
    listen: 'changed',
    'site-enabled': 'changed',
    'default-site-disabled': 'changed',
    sudoers: 'already done',
    'web-server-running': 'changed',
  });

  // The deploy user: no password login, key installed with strict modes, owning the app root.
  const passwd = root.run(['getent', 'passwd', 'deploy']).stdout.split(':');
  const uid = Number(passwd[2]);
  t.equal(root.run(['getent', 'shadow', 'deploy']).stdout.split(':')[1], '*', 'password login disabled');
  const mode = (p: string) => {
    const st = statSync(root.path(p));
    return [(st.mode & 0o777).toString(8), st.uid];
  };
  t.same(mode('home/deploy/.ssh'), ['700', uid]);
  t.same(mode('home/deploy/.ssh/authorized_keys'), ['600', uid]);
  t.equal(
    readFileSync(root.path('home/deploy/.ssh/authorized_keys'), 'utf8'),
    readFileSync(`${config.sshKeyPath}.pub`, 'utf8'),
  );
  t.same(mode('var/www/app'), ['755', uid]);
  t.same(mode('var/www/app/releases'), ['755', uid]);
  t.same(mode('var/www'), ['755', 0]);
  const current = root.run(['readlink', '/var/www/app/current']).stdout.trim();
  t.match(current, /^releases\/\d{14}-000000000000$/);
  t.notOk(existsSync(root.path('etc/apache2/sites-enabled/000-default.conf')), 'default site disabled');
  t.notOk(existsSync(root.path('etc/sudoers.d/bluegreen')), 'no sudoers drop-in without BLUEGREEN_SUDO_COMMANDS');

  // Served over HTTP on the address given, from current/.
  const page = await fetch(`http://${webListen}/`);
  t.equal(page.status, 200);
  t.match(await page.text(), /blue is ready/);
  const revision = await fetch(`http://${webListen}/REVISION`);
  t.equal(revision.status, 200);
  t.match(revision.headers.get('content-type') ?? '', /^text\/plain/);
  t.equal(await revision.text(), '0'.repeat(40) + '\n');
});

t.test('a second provision changes nothing, restarts nothing, and says so', async (t) => {
  const before = snapshot(root.dir, VOLATILE);
  const pids = webServerPids('apache2');
  t.ok(pids.length >= 2, 'apache is running');
  const o = options();
  const result = await provision(o);
  const host = result.hosts[0]!;
  t.equal(host.hostKey.status, 'known');
  t.equal(host.changes, 0);
  t.ok(host.steps.every((s) => s.status === 'already done'), 'every step already done');
  t.same(diffSnapshots(before, snapshot(root.dir, VOLATILE)), [], 'every file as it was: content, mode, owner');
  t.same(webServerPids('apache2'), pids, 'apache was neither restarted nor reloaded');
  t.match(o.lines.join('\n'), /blue: nothing to change: all \d+ steps already done/);
});

t.test('the deploy user logs in with the deploy key and cannot write outside the app root', async (t) => {
  const deploy = new SshTransport({
    host: ADDRESS,
    port: root.sshPort,
    user: 'deploy',
    privateKey: readFileSync(config.sshKeyPath),
    knownHostsPath: config.knownHostsPath,
  });
  t.teardown(() => deploy.close());
  // Symlinks are skipped: writing through one writes its target, which find checks on its own (or which is
  // /dev/null, as for masked systemd units).
  const found = await deploy.exec(['sh', '-c', 'find / -xdev ! -type l -writable -print 2>/dev/null; true']);
  const allowed = [/^\/var\/www\/app(\/|$)/, /^\/home\/deploy(\/|$)/, /^\/tmp(\/|$)/, /^\/var\/tmp(\/|$)/, /^\/run\/lock$/];
  const outside = found.stdout.split('\n').filter((p) => p !== '' && !allowed.some((re) => re.test(p)));
  t.same(outside, [], 'nothing writable outside the app root, home and the temp dirs');
  t.ok(found.stdout.includes('/var/www/app/releases\n'), 'the releases dir is writable');
  const touch = await deploy.exec(['touch', '/var/www/escape']);
  t.not(touch.code, 0);
  const sudo = await deploy.exec(['sudo', '-n', 'true']);
  t.not(sudo.code, 0, 'no sudo without BLUEGREEN_SUDO_COMMANDS');
});

t.test('a changed host key is always refused', async (t) => {
  const known = readFileSync(config.knownHostsPath, 'utf8');
  await root.restartSshd({ newHostKey: true });
  await t.rejects(provision(options({ acceptNewHostKey: true })), {
    message: new RegExp(`has CHANGED: it offered ${escape(root.fingerprint)}`),
  });
  await t.rejects(provision(options({ hostKey: root.fingerprint })), { message: /has CHANGED/ });
  t.equal(readFileSync(config.knownHostsPath, 'utf8'), known, 'known_hosts untouched');
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
