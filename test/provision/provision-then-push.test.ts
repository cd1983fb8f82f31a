/**
 * Issue 4, end to end through the real CLI: `bluegreen provision blue` prepares a fresh Debian bookworm
 * machine (a chroot with its own sshd on 127.0.0.34), then a real `git push blue main` over HTTP to
 * `bluegreen serve` deploys as the provisioned deploy user into the machine's app root, and the web server
 * provisioning installed there serves the pushed page and its REVISION. Also: a second provision changes
 * nothing, `--cloud-init` prints user-data, `releases` marks current, `activate` switches back and the web
 * server follows. Green is a second machine (127.0.0.35), provisioned while the server runs.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { cleanEnv, requireBuild, runCli, startServe, type CliResult, type RunningServe } from '../helpers/bluegreen.js';
import { startDebianRoot, type DebianRoot } from '../helpers/debian-root.js';
import { WorkRepo } from '../helpers/git-repo.js';

const execFileAsync = promisify(execFile);
requireBuild();

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
  const token = added.stdout.split('\n')[1] ?? '';
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
