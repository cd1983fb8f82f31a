/**
 * `bluegreen provision` with BLUEGREEN_WEB_SERVER=nginx, a non-root admin that uses sudo, and
 * BLUEGREEN_SUDO_COMMANDS, on a fresh Debian root (127.0.0.24): a port already taken makes the start fail
 * clearly; once it is free, provisioning again finishes the job; the sudoers drop-in lets the deploy user
 * run exactly the listed commands; a second run changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SshTransport } from '../../src/adapters/ssh/ssh-transport.js';
import { parseConfig, type Config } from '../../src/core/config.js';
import { provision, type ProvisionOptions } from '../../src/provision/run-provision.js';
import { startDebianRoot, type DebianRoot } from '../helpers/debian-root.js';
import { diffSnapshots, snapshot } from './snapshot.js';

const ADDRESS = '127.0.0.24';
const VOLATILE = ['proc', 'dev', 'sys', 'run', 'tmp', 'var/log', 'var/cache/debconf', 'var/lib/sudo'];

let root: DebianRoot;
let config: Config;
let work: string;
let webListen: string;

function options(extra: Partial<ProvisionOptions> = {}): ProvisionOptions & { lines: string[] } {
  const lines: string[] = [];
  return { config, colours: ['blue'], dryRun: false, acceptNewHostKey: true, webListen, env: {}, say: (l) => lines.push(l), lines, ...extra };
}

t.before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bluegreen-provision-nginx-'));
  root = await startDebianRoot({ address: ADDRESS }, t);
  webListen = `${ADDRESS}:${await root.freePort()}`;
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bluegreen-deploy', '-f', path.join(work, 'deploy_ed25519')]);
  // The admin: an ordinary user with passwordless sudo, as on a cloud image (ubuntu, admin, debian...).
  root.run(['useradd', '--create-home', '--shell', '/bin/bash', '--password', '*', 'admin']);
  mkdirSync(root.path('home/admin/.ssh'), { recursive: true });
  writeFileSync(root.path('home/admin/.ssh/authorized_keys'), `${root.adminPublicKey}\n`);
  root.run(['chown', '-R', 'admin:admin', '/home/admin/.ssh']);
  writeFileSync(root.path('etc/sudoers.d/90-admin'), 'admin ALL=(ALL) NOPASSWD: ALL\n', { mode: 0o440 });
  const result = parseConfig(
    {
      BLUEGREEN_DATA_DIR: path.join(work, 'data'),
      BLUE_HOST: `ssh://web@${ADDRESS}:${root.sshPort}/srv/site`,
      GREEN_HOST: 'ssh://web@127.0.0.25:22',
      BLUEGREEN_SSH_KEY: path.join(work, 'deploy_ed25519'),
      BLUEGREEN_KNOWN_HOSTS: path.join(work, 'known_hosts'),
      BLUEGREEN_ADMIN_USER: 'admin',
      BLUEGREEN_ADMIN_KEY: root.adminKeyPath,
      BLUEGREEN_WEB_SERVER: 'nginx',
      BLUEGREEN_SUDO_COMMANDS: '/usr/sbin/nginx -t, /usr/bin/id -u',
    },
    work,
  );
  if (result.config === undefined) throw new Error(result.errors.join('\n'));
  config = result.config;
});
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('a web port already in use: the start fails clearly, and the next run finishes the job', async (t) => {
  const [host, port] = webListen.split(':');
  const squatter: Server = createServer();
  await new Promise<void>((resolve) => squatter.listen(Number(port), host, resolve));
  try {
    await t.rejects(provision(options()), {
      message: /provisioning blue \(.*\) failed: could not start nginx: .*\/var\/log\/nginx\/error.log: .*Address already in use/,
      hint: /a port already in use/,
    });
  } finally {
    await new Promise((resolve) => squatter.close(resolve));
  }
  const o = options();
  const result = await provision(o);
  const steps = Object.fromEntries(result.hosts[0]!.steps.map((s) => [s.name, s.status]));
  t.equal(steps['web-server'], 'already done', 'nginx was installed by the first run');
  t.equal(steps['web-server-running'], 'changed');
  t.match(o.lines.join('\n'), /blue: logged in as admin \(using sudo\)/);
});

t.test('nginx serves the placeholder and its REVISION from the app root in the URL', async (t) => {
  const page = await fetch(`http://${webListen}/`);
  t.equal(page.status, 200);
  t.match(await page.text(), /blue is ready/);
  const revision = await fetch(`http://${webListen}/REVISION`);
  t.match(revision.headers.get('content-type') ?? '', /^text\/plain/);
  t.equal(await revision.text(), '0'.repeat(40) + '\n');
  t.match(readFileSync(root.path('etc/nginx/sites-available/bluegreen'), 'utf8'), `listen ${webListen};`);
  t.notOk(statSync(root.path('etc/nginx/sites-enabled/default'), { throwIfNoEntry: false }), 'default site disabled');
});

t.test('the sudoers drop-in: validated, root-owned 0440, and only the listed commands', async (t) => {
  const dropin = root.path('etc/sudoers.d/bluegreen');
  const st = statSync(dropin);
  t.same([(st.mode & 0o777).toString(8), st.uid, st.gid], ['440', 0, 0]);
  t.match(readFileSync(dropin, 'utf8'), /^web ALL=\(root\) NOPASSWD: \/usr\/sbin\/nginx -t, \/usr\/bin\/id -u$/m);
  t.equal(root.run(['visudo', '-c']).code, 0, 'the whole sudoers configuration parses');
  const deploy = new SshTransport({
    host: ADDRESS,
    port: root.sshPort,
    user: 'web',
    privateKey: readFileSync(config.sshKeyPath),
    knownHostsPath: config.knownHostsPath,
  });
  t.teardown(() => deploy.close());
  const allowed = await deploy.exec(['sudo', '-n', '/usr/bin/id', '-u']);
  t.equal(allowed.code, 0);
  t.equal(allowed.stdout, '0\n', 'a listed command runs as root');
  t.not((await deploy.exec(['sudo', '-n', '/usr/bin/id'])).code, 0, 'other arguments are refused');
  t.not((await deploy.exec(['sudo', '-n', '/bin/sh', '-c', 'true'])).code, 0, 'other commands are refused');
  t.equal((await deploy.exec(['touch', '/srv/site/releases/x'])).code, 0, 'the app root is the deploy user\'s');
  t.not((await deploy.exec(['touch', '/srv/x'])).code, 0, 'its parent is not');
});

t.test('a second run changes nothing and reloads nothing', async (t) => {
  const before = snapshot(root.dir, VOLATILE);
  const pid = readFileSync(root.path('run/nginx.pid'), 'utf8').trim();
  const workers = execFileSync('sh', ['-c', `cat /proc/[0-9]*/stat 2>/dev/null | awk '$4 == ${pid} {print $1}' | sort`], { encoding: 'utf8' });
  const result = await provision(options());
  t.ok(result.hosts[0]!.steps.every((s) => s.status === 'already done'));
  t.same(diffSnapshots(before, snapshot(root.dir, VOLATILE)), []);
  t.equal(readFileSync(root.path('run/nginx.pid'), 'utf8').trim(), pid);
  t.equal(execFileSync('sh', ['-c', `cat /proc/[0-9]*/stat 2>/dev/null | awk '$4 == ${pid} {print $1}' | sort`], { encoding: 'utf8' }), workers, 'same workers: no reload');
});

t.test('emptying BLUEGREEN_SUDO_COMMANDS removes the drop-in', async (t) => {
  const result = await provision(options({ config: { ...config, sudoCommands: [] } }));
  t.match(result.hosts[0]!.steps.find((s) => s.name === 'sudoers'), { status: 'changed', detail: /removed/ });
  t.notOk(statSync(root.path('etc/sudoers.d/bluegreen'), { throwIfNoEntry: false }));
});

t.test('a site configuration that fails the server\'s test is reported, and the running server keeps serving', async (t) => {
  const bundle = root.path('tmp/broken-bundle');
  mkdirSync(path.join(bundle, 'templates'), { recursive: true });
  const repo = path.resolve(import.meta.dirname, '../..');
  writeFileSync(path.join(bundle, 'provision.sh'), readFileSync(path.join(repo, 'provisioning/provision.sh')));
  for (const name of ['apache-site.conf', 'apache-ports.conf', 'sudoers', 'index.html']) {
    writeFileSync(path.join(bundle, 'templates', name), readFileSync(path.join(repo, 'templates', name)));
  }
  writeFileSync(path.join(bundle, 'templates/nginx-site.conf'), 'server {\n@NGINX_LISTEN@\n    no_such_directive on;\n}\n');
  const key = readFileSync(`${config.sshKeyPath}.pub`, 'utf8').trim();
  const broken = root.run([
    'sh', '/tmp/broken-bundle/provision.sh', '--web-server', 'nginx', '--deploy-user', 'web', '--deploy-key', key,
    '--app-root', '/srv/site', '--web-listen', webListen,
  ]);
  t.equal(broken.code, 1);
  t.match(broken.stdout, /^error config-invalid: the nginx configuration test failed, so nginx was not started or reloaded .*unknown directive "no_such_directive"/m);
  t.equal((await fetch(`http://${webListen}/REVISION`)).status, 200, 'still serving with the old configuration');
  // provision puts the right file back and reloads.
  const result = await provision(options());
  const steps = Object.fromEntries(result.hosts[0]!.steps.map((s) => [s.name, s.status]));
  t.equal(steps['site-config'], 'changed');
  t.equal(steps['web-server-running'], 'changed');
  t.equal((await fetch(`http://${webListen}/`)).status, 200);
});
