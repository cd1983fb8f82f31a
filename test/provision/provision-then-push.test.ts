/**
 * Issue 4, end to end through the real CLI: `bluegreen provision blue` prepares a fresh Debian bookworm
 * machine (a chroot with its own sshd on 127.0.0.34), then a real `git push blue main` over HTTP to
 * `bluegreen serve` deploys as the provisioned deploy user into the machine's app root, and the web server
 * provisioning installed there serves the pushed page and its REVISION. Also: a second provision changes
 * nothing, `--cloud-init` prints user-data, `releases` marks current, `activate` switches back and the web
 * server follows. Green is a second machine (127.0.0.35), provisioned while the server runs.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/package-root.js';
import t, { type Test } from 'tap';
import { cleanEnv, requireBuild, runCli, startServe, type CliResult, type RunningServe } from '../helpers/bluegreen.js';
import { startDebianRoot, type DebianRoot } from '../helpers/debian-root.js';
import { WorkRepo } from '../helpers/git-repo.js';

const execFileAsync = promisify(execFile);
requireBuild();

const REPO = packageRoot();
const BLUE_ADDRESS = '127.0.0.34';
const GREEN_ADDRESS = '127.0.0.35';
const RELEASE = /^\d{14}-[0-9a-f]{12}$/;

let blue: DebianRoot;
let green: DebianRoot;
let dir: string;
let env: Record<string, string>;
/** Where each machine's web server listens (one BLUEGREEN_WEB_LISTEN per machine: they share this host's network). */
const web = { blue: '', green: '' };
let server: RunningServe | undefined;
let work: WorkRepo;
/** alice's push token. */
let token = '';

async function cli(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  return runCli(dir, args, { ...env, ...extra });
}

function ok(t: Test, result: CliResult, what: string): void {
  t.equal(result.code, 0, `${what} exits 0`, { stdout: result.stdout, stderr: result.stderr });
}

/** GETs a path from a machine's web server; status, body and content type. */
async function get(colour: 'blue' | 'green', file: string): Promise<{ status: number; body: string; type: string }> {
  const response = await fetch(`http://${web[colour]}/${file}`);
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') ?? '' };
}

/** `bluegreen serve` and a work repo with remotes for both colours, started once (after blue is provisioned). */
async function ensureServer(): Promise<void> {
  if (server) return;
  const added = await cli(['user', 'add', 'alice']);
  if (added.code !== 0) throw new Error(`user add failed:\n${added.stdout}${added.stderr}`);
  token = added.stdout.split('\n')[1] ?? '';
  server = await startServe(dir, env, t);
  work = new WorkRepo();
  t.teardown(() => work.cleanup());
  const base = new URL(server.gitUrl);
  for (const colour of ['blue', 'green']) work.git('remote', 'add', colour, `${base.protocol}//alice:${token}@${base.host}/${colour}.git`);
}

async function push(colour: 'blue' | 'green'): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('git', ['push', colour, 'main'], { cwd: work.dir, env: cleanEnv() });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

/** The release `current` points at in a machine's app root. */
function currentRelease(root: DebianRoot): string {
  return root.run(['readlink', '/var/www/app/current']).stdout.trim().replace(/^releases\//, '');
}

t.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'bluegreen-provision-push-'));
  [blue, green] = await Promise.all([startDebianRoot({ address: BLUE_ADDRESS }, t), startDebianRoot({ address: GREEN_ADDRESS }, t)]);
  web.blue = `${BLUE_ADDRESS}:${await blue.freePort()}`;
  web.green = `${GREEN_ADDRESS}:${await green.freePort()}`;
  const data = path.join(dir, '.bluegreen');
  // `bluegreen init` writes the .env template and the deploy key pair, as a user starts.
  const init = await runCli(dir, ['init'], {});
  if (init.code !== 0) throw new Error(`bluegreen init failed:\n${init.stdout}${init.stderr}`);
  env = {
    BLUEGREEN_DATA_DIR: data,
    BLUEGREEN_LISTEN: '127.0.0.1:0',
    BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0',
    BLUE_HOST: `ssh://deploy@${BLUE_ADDRESS}:${blue.sshPort}`,
    GREEN_HOST: `ssh://deploy@${GREEN_ADDRESS}:${green.sshPort}`,
    BLUEGREEN_SSH_KEY: path.join(data, 'id_ed25519'),
    BLUEGREEN_KNOWN_HOSTS: path.join(dir, 'known_hosts'),
    BLUEGREEN_ADMIN_KEY: blue.adminKeyPath,
    BLUEGREEN_WEB_LISTEN: web.blue,
    // What examples/static-app needs (the last subtest): a reload of Apache through sudo.
    BLUEGREEN_SUDO_COMMANDS: '/usr/sbin/apache2ctl graceful',
  };
});
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('blue: provision, push main, served by the web server; releases and activate switch it back', async (t) => {
  t.ok(existsSync(env.BLUEGREEN_SSH_KEY!) && existsSync(`${env.BLUEGREEN_SSH_KEY}.pub`), 'init made the deploy key pair');
  t.notOk(existsSync(env.BLUEGREEN_KNOWN_HOSTS!), 'known_hosts starts empty');

  // 1. Provision: the host key given, every step reported as it runs.
  const first = await cli(['provision', 'blue', '--host-key', blue.fingerprint]);
  ok(t, first, 'provision blue');
  const out = first.stdout;
  t.match(out, `blue: ${BLUE_ADDRESS}:${blue.sshPort} offers host key ${blue.fingerprint}`);
  t.match(out, `blue: host key: added to ${env.BLUEGREEN_KNOWN_HOSTS} (matches --host-key)`);
  t.match(out, /^blue: logged in as root$/m);
  t.match(out, /^blue: web-server: changed \(installed apache2\)$/m);
  t.match(out, /^blue: sudoers: changed/m, 'the sudo rule for the restart hook');
  for (const step of ['deploy-user', 'authorized-key', 'app-root', 'placeholder-release', 'site-config', 'listen', 'site-enabled', 'web-server-running']) {
    t.match(out, new RegExp(`^blue: ${step}: changed`, 'm'), `step ${step} reported changed`);
  }
  t.match(out, /^blue: \d+ of \d+ steps changed$/m);
  t.match(readFileSync(env.BLUEGREEN_KNOWN_HOSTS!, 'utf8'), `[${BLUE_ADDRESS}]:${blue.sshPort} ssh-ed25519 ${blue.hostKeyBlob.toString('base64')}`);
  const placeholder = await get('blue', 'REVISION');
  t.equal(placeholder.status, 200, 'the web server answers on BLUEGREEN_WEB_LISTEN');
  t.equal(placeholder.body, `${'0'.repeat(40)}\n`, 'the placeholder release is served');
  t.match((await get('blue', '')).body, /blue is ready/);

  // 2. Again: nothing to do; no host key option needed any more.
  const second = await cli(['provision', 'blue']);
  ok(t, second, 'second provision blue');
  t.match(second.stdout, `blue: host key: already in ${env.BLUEGREEN_KNOWN_HOSTS}`);
  t.match(second.stdout, /^blue: nothing to change: all \d+ steps already done$/m);
  t.notMatch(second.stdout, /: (changed|would change)\b/, 'no step changed');

  // 3. The same preparation as cloud-init user-data, without connecting.
  const cloud = await cli(['provision', 'blue', '--cloud-init']);
  ok(t, cloud, 'provision blue --cloud-init');
  t.match(cloud.stdout, /^#cloud-config\n/);
  t.ok(cloud.stdout.includes(readFileSync(`${env.BLUEGREEN_SSH_KEY}.pub`, 'utf8').trim().split(/\s+/)[1]!), 'it carries the deploy public key');

  // 4. Push over HTTP to the real server; it deploys over SSH as the deploy user.
  await ensureServer();
  work.write('index.html', '<h1>release one</h1>\n').write('css/site.css', 'h1 { color: blue }\n');
  const v1 = work.commit('v1');
  const pushed1 = await push('blue');
  t.equal(pushed1.code, 0, pushed1.output);
  t.match(pushed1.output, `remote: deploying ${v1.slice(0, 12)} to blue on deploy@${BLUE_ADDRESS}:${blue.sshPort}`);
  t.match(pushed1.output, /remote: files: 2 \(full deploy: the current release is not from this repository\)/, 'the placeholder release is not a revision git knows');
  t.match(pushed1.output, new RegExp(`remote: deployed ${v1.slice(0, 12)} to blue`));

  const deployUid = Number(blue.run(['id', '-u', 'deploy']).stdout.trim());
  t.ok(deployUid > 0, 'the deploy user is not root');
  const release1 = currentRelease(blue);
  t.match(release1, RELEASE);
  t.ok(release1.endsWith(`-${v1.slice(0, 12)}`), 'current is the pushed release');
  for (const file of ['', '/index.html', '/css/site.css', '/REVISION']) {
    t.equal(statSync(blue.path(`var/www/app/releases/${release1}${file}`)).uid, deployUid, `releases/${release1}${file} belongs to deploy`);
  }
  t.equal((await get('blue', '')).body, '<h1>release one</h1>\n', 'the web server serves the pushed page');
  t.equal((await get('blue', 'css/site.css')).body, 'h1 { color: blue }\n');
  const revision1 = await get('blue', 'REVISION');
  t.equal(revision1.body, `${v1}\n`, 'and its REVISION');
  t.match(revision1.type, /^text\/plain/);

  work.write('index.html', '<h1>release two</h1>\n');
  const v2 = work.commit('v2');
  const pushed2 = await push('blue');
  t.equal(pushed2.code, 0, pushed2.output);
  t.match(pushed2.output, /remote: files: 0 added, 1 changed, 0 removed since /);
  t.equal((await get('blue', '')).body, '<h1>release two</h1>\n');
  t.equal((await get('blue', 'REVISION')).body, `${v2}\n`);

  // 5. releases lists them newest first, * on current; activate switches back and the web server follows.
  const listed = await cli(['releases', 'blue']);
  ok(t, listed, 'releases blue');
  const lines = listed.stdout.trimEnd().split('\n');
  t.equal(lines.length, 3, `placeholder and two pushes:\n${listed.stdout}`);
  t.match(lines[0], new RegExp(`^\\* \\d{14}-${v2.slice(0, 12)}$`));
  t.equal(lines[1], `  ${release1}`);
  t.match(lines[2], /^ {2}\d{14}-000000000000$/);

  const activated = await cli(['activate', 'blue', release1]);
  ok(t, activated, 'activate blue');
  t.equal(activated.stdout, `blue: current -> releases/${release1} (${v1.slice(0, 12)})\n`);
  t.equal(currentRelease(blue), release1);
  t.equal((await get('blue', 'REVISION')).body, `${v1}\n`, 'the web server serves the older REVISION');
  t.equal((await get('blue', '')).body, '<h1>release one</h1>\n');
  const relisted = await cli(['releases', 'blue']);
  t.match(relisted.stdout, new RegExp(`^  \\d{14}-${v2.slice(0, 12)}\n\\* ${release1}\n`));
});

t.test('green, a second machine: dry run, then provision (--accept-new-host-key --json) while the server runs, push', async (t) => {
  // Both machines share this host's network, so green's web server needs its own address.
  const greenEnv = { BLUEGREEN_ADMIN_KEY: green.adminKeyPath, BLUEGREEN_WEB_LISTEN: web.green };
  const knownBefore = readFileSync(env.BLUEGREEN_KNOWN_HOSTS!, 'utf8');

  const dry = await cli(['provision', 'green', '--dry-run', '--accept-new-host-key'], greenEnv);
  ok(t, dry, 'provision green --dry-run');
  t.match(dry.stdout, `green: host key: would add it to ${env.BLUEGREEN_KNOWN_HOSTS}`);
  t.match(dry.stdout, /^green: web-server: would change \(install apache2\)$/m);
  t.match(dry.stdout, /^green: \d+ of \d+ steps would change \(dry run: nothing was changed\)$/m);
  t.equal(readFileSync(env.BLUEGREEN_KNOWN_HOSTS!, 'utf8'), knownBefore, 'known_hosts untouched by the dry run');
  t.notOk(existsSync(green.path('var/www/app')), 'no app root after the dry run');

  const provisioned = await cli(['provision', 'green', '--accept-new-host-key', '--json'], greenEnv);
  ok(t, provisioned, 'provision green --json');
  t.match(provisioned.stderr, /^green: web-server: changed \(installed apache2\)$/m, 'steps go to stderr with --json');
  const result = JSON.parse(provisioned.stdout) as {
    dryRun: boolean;
    hosts: { colour: string; host: string; hostKey: { fingerprint: string; status: string }; os: string; changes: number; steps: { name: string; status: string }[] }[];
  };
  t.equal(result.dryRun, false);
  t.equal(result.hosts.length, 1);
  const host = result.hosts[0]!;
  t.match(host, { colour: 'green', host: `${GREEN_ADDRESS}:${green.sshPort}`, hostKey: { fingerprint: green.fingerprint, status: 'recorded' }, os: 'Debian GNU/Linux 12 (bookworm)' });
  t.equal(host.changes, host.steps.filter((s) => s.status === 'changed').length);
  t.ok(host.changes >= 10, `${host.changes} steps changed`);
  t.match(readFileSync(env.BLUEGREEN_KNOWN_HOSTS!, 'utf8'), `${knownBefore}[${GREEN_ADDRESS}]:${green.sshPort} ssh-ed25519 `, 'green appended');
  t.equal((await get('green', 'REVISION')).body, `${'0'.repeat(40)}\n`);

  // The server started before green's key was known: the push still finds it.
  await ensureServer();
  const blueServes = (await get('blue', 'REVISION')).body;
  work.write('index.html', '<h1>green three</h1>\n');
  const v3 = work.commit('v3');
  const pushed = await push('green');
  t.equal(pushed.code, 0, pushed.output);
  t.match(pushed.output, `remote: deploying ${v3.slice(0, 12)} to green on deploy@${GREEN_ADDRESS}:${green.sshPort}`);
  t.match(currentRelease(green), new RegExp(`^\\d{14}-${v3.slice(0, 12)}$`));
  t.equal((await get('green', '')).body, '<h1>green three</h1>\n');
  t.equal((await get('green', 'REVISION')).body, `${v3}\n`);
  t.equal((await get('blue', 'REVISION')).body, blueServes, 'blue still serves what it did');

  const deployed = currentRelease(green);
  const again = await cli(['provision', 'green', '--json'], greenEnv);
  ok(t, again, 'second provision green');
  t.match(JSON.parse(again.stdout), { hosts: [{ hostKey: { status: 'known' }, changes: 0 }] });
  t.equal(currentRelease(green), deployed);
  t.equal((await get('green', 'REVISION')).body, `${v3}\n`, 'a second provision leaves the deployed release in place');
});

/** A push whose stderr is read as it streams: each line with the time it reached the client. */
async function pushLive(dir: string, remote: string): Promise<{ code: number | null; lines: { at: number; line: string }[]; output: string }> {
  const child = spawn('git', ['push', remote, 'main'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: { at: number; line: string }[] = [];
  let partial = '';
  child.stdout.resume();
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split(/\r?\n|\r/);
    partial = parts.pop() ?? '';
    for (const line of parts) lines.push({ at: Date.now(), line });
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (partial) lines.push({ at: Date.now(), line: partial });
  return { code, lines, output: lines.map((l) => l.line).join('\n') };
}

t.test('examples/static-app on provisioned blue, as the deploy user: three deploys, an uploaded file, a rollback; shared .env intact; Apache reloaded through sudo', async (t) => {
  await ensureServer();
  // The application's server: the same data dir and users, with the example's shared paths.
  await server!.stop();
  const app = await startServe(dir, { ...env, BLUEGREEN_SHARED_PATHS: '.env,uploads/' }, t);
  // The same repository goes on with the application in place of the static pages.
  const shop = work;
  shop.git('rm', '-rq', '.');
  cpSync(path.join(REPO, 'examples/static-app'), shop.dir, { recursive: true });
  const base = new URL(app.gitUrl);
  shop.git('remote', 'set-url', 'blue', `${base.protocol}//alice:${token}@${base.host}/blue.git`);

  // The configuration, put in place once by hand as the deploy user (a shared file is never made up).
  const dotenv = 'APP_NAME=shop\nACCENT=teal\nSECRET=do-not-serve\n';
  const asDeploy = (script: string) => blue.run(['su', 'deploy', '-s', '/bin/sh', '-c', script]);
  t.equal(asDeploy(`printf '${dotenv.replace(/\n/g, '\\n')}' > /var/www/app/shared/.env`).code, 0, 'the deploy user writes shared/.env');
  const sharedEnv = () => readFileSync(blue.path('var/www/app/shared/.env'), 'utf8');
  // Apache's own log says so on each graceful restart (AH00493 with the event MPM, AH00171 with prefork).
  const apacheLog = () => readFileSync(blue.path('var/log/apache2/error.log'), 'utf8');
  const reloads = () => (apacheLog().match(/AH00493|AH00171/g) ?? []).length;
  const reloadsBefore = reloads();
  const host = `deploy@${BLUE_ADDRESS}:${blue.sshPort}`;

  const deployOnce = async (message: string) => {
    const revision = shop.commit(message);
    const pushed = await pushLive(shop.dir, 'blue');
    t.equal(pushed.code, 0, pushed.output);
    const release = currentRelease(blue);
    t.ok(release.endsWith(`-${revision.slice(0, 12)}`), `${message}: current is the pushed release`);
    const page = await get('blue', '');
    t.match(page.body, '<h1>shop</h1>', `${message}: the build read the shared .env`);
    t.match(page.body, `release ${release} (revision ${revision}), built on ${host}`, `${message}: the page is this release's build`);
    t.equal(sharedEnv(), dotenv, `${message}: shared .env intact`);
    return { revision, release, pushed };
  };

  // 1. First deploy: shared paths linked (uploads/ seeded from the release), build, migrate, restart, in order.
  const one = await deployOnce('shop v1');
  const order = [
    'shared: created shared/uploads from the release',
    `[${host}] build: building release ${one.release} for blue`,
    `[${host}] migrate: applying 001-uploads-table.sql`,
    `current -> releases/${one.release}`,
    `[${host}] restart: apache reloaded for release ${one.release} (live: false)`,
  ];
  const at = order.map((text) => one.pushed.lines.findIndex((l) => l.line.includes(text)));
  t.ok(at.every((i) => i >= 0) && at.every((i, k) => k === 0 || i > at[k - 1]!), `hook output in order:\n${one.pushed.output}`);
  const deployUid = Number(blue.run(['id', '-u', 'deploy']).stdout);
  t.equal(statSync(blue.path(`var/www/app/releases/${one.release}/index.html`)).uid, deployUid, 'build ran as the deploy user');
  const css = (await get('blue', 'assets/site.css')).body;
  t.match(css, `for revision ${one.revision}`, 'the stylesheet was generated');
  t.match(css, 'color: teal');
  for (const hidden of ['.env', '.bluegreen/hooks/build', '.bluegreen/schema']) t.equal((await get('blue', hidden)).status, 403, `${hidden} is not served`);

  // 2. A file uploaded to the site (over SSH, as the deploy user), into the shared directory.
  t.equal(asDeploy("printf 'hello from a visitor\\n' > /var/www/app/shared/uploads/hello.txt").code, 0);
  const uploaded = async (what: string) => t.equal((await get('blue', 'uploads/hello.txt')).body, 'hello from a visitor\n', `${what}: the uploaded file is served`);
  await uploaded('after the upload');

  // 3. Second deploy, its build printing a line before a pause: the line reaches the pusher while the hook sleeps.
  const buildHook = path.join(shop.dir, '.bluegreen/hooks/build');
  const build = readFileSync(buildHook, 'utf8');
  writeFileSync(buildHook, build.replace('set -eu\n', 'set -eu\necho "warming the cache"\nsleep 2\necho "cache warm"\n'));
  const two = await deployOnce('shop v2');
  const seen = (text: string) => two.pushed.lines.find((l) => l.line.includes(`] build: ${text}`))?.at ?? NaN;
  const early = seen('cache warm') - seen('warming the cache');
  t.ok(early >= 1500, `the line before the pause reached the pusher ${early} ms before the one after it`);
  t.notMatch(two.pushed.output, /migrate: applying/, 'no migration left to apply');
  await uploaded('after the second deploy');

  // 4. Third deploy.
  writeFileSync(buildHook, build);
  writeFileSync(path.join(shop.dir, 'src/site.css'), `${readFileSync(path.join(shop.dir, 'src/site.css'), 'utf8')}h1 { letter-spacing: .1em; }\n`);
  await deployOnce('shop v3');
  t.match((await get('blue', 'assets/site.css')).body, 'letter-spacing');
  await uploaded('after the third deploy');

  // 5. Roll back to the second release: its restart runs again.
  const rolled = await cli(['activate', 'blue', two.release]);
  ok(t, rolled, 'activate blue');
  t.match(rolled.stderr, `[${host}] restart: apache reloaded for release ${two.release} (live: false)`);
  t.equal(currentRelease(blue), two.release);
  t.match((await get('blue', '')).body, `release ${two.release} (revision ${two.revision})`, 'the older release is served');
  t.notMatch((await get('blue', 'assets/site.css')).body, 'letter-spacing', 'with its own generated files');
  await uploaded('after the rollback');
  t.equal(sharedEnv(), dotenv, 'shared .env intact after the rollback');
  // The last reload is logged once Apache has handled the signal: wait for it (a few ms, at most 5 s).
  for (let i = 0; i < 100 && reloads() - reloadsBefore < 4; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(reloads() - reloadsBefore, 4, `Apache reloaded gracefully by each restart (three deploys, one rollback):\n${apacheLog().split('\n').slice(-8).join('\n')}`);
});
