import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { requireBuild, runCli } from '../helpers/bluegreen.js';

requireBuild();

function workdir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('usage errors exit 2', async (t) => {
  const dir = workdir(t);
  const unknown = await runCli(dir, ['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command 'frobnicate'/);
  const colour = await runCli(dir, ['releases', 'red']);
  t.equal(colour.code, 2);
  t.match(colour.stderr, /error: "red" is not a colour: expected blue or green/);
  const limit = await runCli(dir, ['history', '--limit', 'ten']);
  t.equal(limit.code, 2);
  t.match(limit.stderr, /error: --limit "ten": expected a positive whole number/);
  const release = await runCli(dir, ['activate', 'blue', '../../etc']);
  t.equal(release.code, 2);
  t.match(release.stderr, /error: "..\/..\/etc" is not a release id \(yyyymmddHHMMSS-sha12\)\nhint: list them with `bluegreen releases blue`/);
  const help = await runCli(dir, ['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /flip \[options\] <colour>/);
});

t.test('bad configuration exits 2 listing every problem, from .env too', async (t) => {
  const dir = workdir(t);
  writeFileSync(path.join(dir, '.env'), 'BLUEGREEN_KEEP_RELEASES=many\nBLUEGREEN_PROVIDER=aws\nDIGITALOCEAN_TOKEN=dop_v1_secret\n');
  const result = await runCli(dir, ['history']);
  t.equal(result.code, 2);
  t.match(result.stderr, /error: bad configuration:\n {2}- BLUEGREEN_KEEP_RELEASES="many": expected a whole number\n {2}- BLUEGREEN_PROVIDER="aws": expected one of/);
  t.match(result.stderr, /hint: fix the variables above/);
  t.notMatch(result.stderr + result.stdout, /dop_v1_secret/);
});

t.test('init writes a commented .env and a private deploy key, and refuses to overwrite', async (t) => {
  const dir = workdir(t);
  const result = await runCli(dir, ['init']);
  t.equal(result.code, 0, result.stderr);
  const env = readFileSync(path.join(dir, '.env'), 'utf8');
  t.equal(statSync(path.join(dir, '.env')).mode & 0o777, 0o600, '.env is private: cloud secrets go in it');
  t.match(result.stdout, /wrote .*\.env \(private, 0600: secrets go in it\)/);
  t.match(env, /#BLUE_HOST=ssh:\/\/deploy@/);
  t.match(env, /#BLUEGREEN_PROVIDER=local/);
  const key = path.join(dir, '.bluegreen', 'id_ed25519');
  t.equal(statSync(key).mode & 0o777, 0o600);
  t.match(readFileSync(key, 'utf8'), /BEGIN OPENSSH PRIVATE KEY/);
  t.match(result.stdout, /ssh-ed25519 AAAA\S+ bluegreen-deploy/);
  const again = await runCli(dir, ['init']);
  t.equal(again.code, 1);
  t.match(again.stderr, /\.env exists already; nothing was changed\nhint: edit it, or run `bluegreen init --force`/);
  chmodSync(path.join(dir, '.env'), 0o644);
  const forced = await runCli(dir, ['init', '--force']);
  t.equal(forced.code, 0);
  t.match(forced.stdout, /kept the deploy key/);
  t.equal(statSync(path.join(dir, '.env')).mode & 0o777, 0o600, 'an overwritten .env is made private too');
});

t.test('users: add prints a token once, list shows names only, remove', async (t) => {
  const dir = workdir(t);
  const added = await runCli(dir, ['user', 'add', 'alice']);
  t.equal(added.code, 0, added.stderr);
  const token = added.stdout.split('\n')[1] ?? '';
  t.match(token, /^[A-Za-z0-9_-]{43}$/);
  const list = await runCli(dir, ['user', 'list', '--json']);
  t.same(JSON.parse(list.stdout).map((u: { name: string }) => u.name), ['alice']);
  t.notMatch(list.stdout, token);
  t.notMatch(readFileSync(path.join(dir, '.bluegreen', 'users.json'), 'utf8'), token, 'only a hash is stored');
  const dup = await runCli(dir, ['user', 'add', 'alice']);
  t.equal(dup.code, 1);
  const removed = await runCli(dir, ['user', 'remove', 'alice']);
  t.equal(removed.code, 0);
  const missing = await runCli(dir, ['user', 'remove', 'alice']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /alice/);
});

t.test('users: roles and SSH keys from the command line', async (t) => {
  const dir = workdir(t);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', path.join(dir, 'alice')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', path.join(dir, 'spare')]);
  const fingerprintOf = (file: string) => execFileSync('ssh-keygen', ['-lf', file], { encoding: 'utf8' }).split(' ')[1] ?? '';
  const alice = fingerprintOf(path.join(dir, 'alice.pub'));
  const spare = fingerprintOf(path.join(dir, 'spare.pub'));
  const env = { BLUEGREEN_SSH_LISTEN: '127.0.0.1:7022' };
  const added = await runCli(dir, ['user', 'add', 'alice', '--ssh-key', 'alice.pub'], env);
  t.equal(added.code, 0, added.stderr);
  t.match(added.stdout, `or over SSH with the key ${alice}: ssh://git@127.0.0.1:7022/blue.git`);
  const viewer = await runCli(dir, ['user', 'add', 'vera', '--role', 'viewer']);
  t.match(viewer.stdout, /^added vera \(viewer\)/);
  const badRole = await runCli(dir, ['user', 'add', 'bob', '--role', 'root']);
  t.equal(badRole.code, 2);
  t.match(badRole.stderr, 'bad role "root": expected viewer, deployer, operator');
  const unreadable = await runCli(dir, ['user', 'add', 'bob', '--ssh-key', 'nope.pub']);
  t.equal(unreadable.code, 2);
  t.match(unreadable.stderr, `cannot read the SSH public key nope.pub: ENOENT`);
  const privateKey = await runCli(dir, ['user', 'key', 'add', 'vera', 'spare']);
  t.equal(privateKey.code, 2);
  t.match(privateKey.stderr, 'spare is not one SSH public key');
  const taken = await runCli(dir, ['user', 'key', 'add', 'vera', 'alice.pub']);
  t.equal(taken.code, 1);
  t.match(taken.stderr, `the SSH key ${alice} already belongs to the user alice`);
  const keyAdded = await runCli(dir, ['user', 'key', 'add', 'vera', 'spare.pub'], { BLUEGREEN_SSH_LISTEN: 'off' });
  t.equal(keyAdded.stdout, `added the SSH key ${spare} to vera\n`, 'no SSH remote when SSH is off');
  const role = await runCli(dir, ['user', 'role', 'vera', 'operator']);
  t.equal(role.stdout, "vera's role is now operator\n");
  const list = await runCli(dir, ['user', 'list']);
  t.match(list.stdout, new RegExp(`^alice\tdeployer\tadded \\S+\tSSH keys: ${alice.replace(/[+/]/g, '\\$&')}\nvera\toperator\tadded \\S+\tSSH keys: ${spare.replace(/[+/]/g, '\\$&')}\n$`));
  const removed = await runCli(dir, ['user', 'key', 'remove', 'alice', alice]);
  t.equal(removed.stdout, `removed the SSH key ${alice} from alice\n`);
  const again = await runCli(dir, ['user', 'key', 'remove', 'alice', alice]);
  t.equal(again.code, 1);
  t.match(again.stderr, `the user alice has no SSH key ${alice}`);
  const json = await runCli(dir, ['user', 'list', '--json']);
  t.same(JSON.parse(json.stdout).map((u: { name: string; role: string; keys: string[] }) => [u.name, u.role, u.keys]), [
    ['alice', 'deployer', []],
    ['vera', 'operator', [spare]],
  ]);
});

t.test('status names the git-over-SSH host key, or says there is none yet', async (t) => {
  const dir = workdir(t);
  const env = { BLUE_URL: 'http://127.0.0.1:9/', GREEN_URL: 'http://127.0.0.1:9/' };
  const before = await runCli(dir, ['status'], env);
  t.match(before.stdout, '\ngit over SSH host key: none yet (bluegreen serve makes it on first start)\n');
  t.same(JSON.parse((await runCli(dir, ['status', '--json'], env)).stdout).gitSsh, { hostKey: null });
  const off = await runCli(dir, ['status', '--json'], { ...env, BLUEGREEN_SSH_LISTEN: 'off' });
  t.equal(JSON.parse(off.stdout).gitSsh, null);
});

t.test('history is empty at first, and rollback with no flip is refused', async (t) => {
  const dir = workdir(t);
  const history = await runCli(dir, ['history']);
  t.equal(history.code, 0);
  t.match(history.stdout, /no deploys or flips yet/);
  t.same(JSON.parse((await runCli(dir, ['history', '--json'])).stdout), []);
  const rollback = await runCli(dir, ['rollback', '--yes']);
  t.equal(rollback.code, 1);
  t.match(rollback.stderr, /error: refused: there is no flip to roll back/);
});

t.test('releases and activate on a host with nothing deployed say so', async (t) => {
  const dir = workdir(t);
  const env = { BLUE_HOST: `file://${dir}/blue`, GREEN_HOST: `file://${dir}/green` };
  const list = await runCli(dir, ['releases', 'blue'], env);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /no releases on blue yet: git push blue main/);
  t.same(JSON.parse((await runCli(dir, ['releases', 'blue', '--json'], env)).stdout), { colour: 'blue', current: null, releases: [], hosts: [{ host: 'this machine', current: null, releases: [] }] });
  const missing = await runCli(dir, ['activate', 'blue', '20990101000000-aaaaaaaaaaaa'], { ...env, BLUEGREEN_LOCK_WAIT: '0' });
  t.equal(missing.code, 1);
  t.match(missing.stderr, /error: blue has no release 20990101000000-aaaaaaaaaaaa\nhint: list them with `bluegreen releases blue`/);
});

t.test('what used to crash or break later now exits 2 naming the variable', async (t) => {
  const dir = workdir(t);
  writeFileSync(path.join(dir, 'a-file'), '');
  const malformed = await runCli(dir, ['history'], { BLUE_HOST: 'ssh://deploy@h/srv/%zz', GREEN_HOST: 'ssh://deploy@g', BLUEGREEN_DATA_DIR: 'a-file' });
  t.equal(malformed.code, 2);
  t.match(malformed.stderr, /error: bad configuration:\n {2}- BLUE_HOST="ssh:\/\/deploy@h\/srv\/%zz": expected ssh:\/\/user@host\[:port\]\[\/app\/root\] or file:\/\/\/app\/root \(% must start an escape/);
  const dataDir = await runCli(dir, ['user', 'add', 'alice'], { BLUEGREEN_DATA_DIR: 'a-file' });
  t.equal(dataDir.code, 2);
  t.match(dataDir.stderr, /- BLUEGREEN_DATA_DIR: the data dir \S+\/a-file cannot be a directory: \S+\/a-file is not a directory/);
  mkdirSync(path.join(dir, 'sub'));
  mkdirSync(path.join(dir, 'sub', '.env'));
  const envDir = await runCli(path.join(dir, 'sub'), ['history']);
  t.equal(envDir.code, 2);
  t.match(envDir.stderr, /- \S+\/sub\/\.env cannot be read \(EISDIR\)/);
});

t.test('serve and activate check their files before starting: exit 2, every problem at once', async (t) => {
  const dir = workdir(t);
  writeFileSync(path.join(dir, 'cert.pem'), 'not a certificate\n');
  const env = {
    BLUE_HOST: 'ssh://deploy@127.0.0.2:2222',
    GREEN_HOST: 'ssh://deploy@127.0.0.3:2222',
    BLUEGREEN_TLS_CERT: 'cert.pem',
    BLUEGREEN_TLS_KEY: 'missing.key',
    BLUEGREEN_LISTEN: '127.0.0.1:0',
    BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0',
  };
  const serve = await runCli(dir, ['serve'], env);
  t.equal(serve.code, 2);
  t.match(serve.stderr, /- BLUEGREEN_SSH_KEY: the deploy key \S+ does not exist: create it with `bluegreen init`/);
  t.match(serve.stderr, /- BLUEGREEN_KNOWN_HOSTS: the known_hosts file \S+ does not exist: every ssh:\/\/ host key is checked against it\. Record them with `bluegreen provision blue --host-key SHA256:…`/);
  t.match(serve.stderr, /ssh-keyscan -p 2222 127\.0\.0\.2 >> /);
  t.match(serve.stderr, /- BLUEGREEN_TLS_CERT: the TLS certificate \S+cert\.pem is not a PEM certificate/);
  t.match(serve.stderr, /- BLUEGREEN_TLS_KEY: the TLS private key \S+missing\.key does not exist/);
  const activate = await runCli(dir, ['activate', 'blue', '20990101000000-aaaaaaaaaaaa'], env);
  t.equal(activate.code, 2);
  t.match(activate.stderr, /- BLUEGREEN_KNOWN_HOSTS: the known_hosts file/);
  t.notMatch(activate.stderr, /TLS/, 'activate serves nothing: TLS files are not its business');
  const history = await runCli(dir, ['history'], env);
  t.equal(history.code, 0, 'history needs none of them');
  const provision = await runCli(dir, ['provision', 'blue'], { ...env, BLUEGREEN_ADMIN_KEY: 'no-admin-key' });
  t.equal(provision.code, 2);
  t.match(provision.stderr, /- BLUEGREEN_ADMIN_KEY: the administrator key \S+no-admin-key does not exist/);
});
