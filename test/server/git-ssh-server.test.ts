/**
 * Git over SSH with the real OpenSSH client and real git, the real hooks and engine socket (the HTTP door's),
 * and a push handler written here. One server for all the subtests: each uses its own user or repository.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { readPublicKeyFile } from '../../src/adapters/ssh/public-key.js';
import { addUser, removeUserKey } from '../../src/adapters/state/users.js';
import { parseConfig } from '../../src/core/config.js';
import { UserError } from '../../src/core/errors.js';
import type { PushHandler, PushRequest } from '../../src/deploy/push-handler.js';
import { startGitServer } from '../../src/server/git-server.js';
import { startGitSshServer } from '../../src/server/git-ssh-server.js';
import { cleanGitEnv, WorkRepo } from '../helpers/git-repo.js';
import { serverChildren, waitUntil } from '../helpers/processes.js';

const execFileAsync = promisify(execFile);

const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-ssh-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const dataDir = path.join(dir, 'data');

/** A key pair made by ssh-keygen: `${dir}/NAME` and `${dir}/NAME.pub`. */
function keygen(name: string): string {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return file;
}
const keys = { alice: keygen('alice'), vera: keygen('vera'), bob: keygen('bob'), carol: keygen('carol'), mallory: keygen('mallory') };
await addUser(dataDir, 'alice', { key: readPublicKeyFile(`${keys.alice}.pub`) });
await addUser(dataDir, 'vera', { role: 'viewer', key: readPublicKeyFile(`${keys.vera}.pub`) });
await addUser(dataDir, 'bob', { key: readPublicKeyFile(`${keys.bob}.pub`) });
await addUser(dataDir, 'carol', { key: readPublicKeyFile(`${keys.carol}.pub`) });

const requests: PushRequest[] = [];
const logs: string[] = [];
/** What the handler does; each subtest that cares sets it. */
let behaviour: PushHandler | undefined;
const { config, errors } = parseConfig({ BLUEGREEN_DATA_DIR: dataDir, BLUEGREEN_LISTEN: '127.0.0.1:0', BLUEGREEN_SSH_LISTEN: '127.0.0.1:0' }, dir);
t.same(errors, []);
const log = (line: string) => logs.push(line);
const http = await startGitServer({
  config: config!,
  handler: async (request, say, interrupted) => {
    requests.push(request);
    if (behaviour) await behaviour(request, say, interrupted);
    else if (request.call.hook === 'pre-receive') say(`accepted ${request.call.updates.map((u) => u.ref).join(', ')} from ${request.pusher}`);
  },
  log,
});
const ssh = await startGitSshServer({ config: config!, listen: config!.sshListen!, log, trackPusher: http.trackPusher });
t.teardown(() => http.close({}, ssh.close()));

const port = new URL(ssh.url.replace(/^ssh:/, 'http:')).port;
const knownHosts = path.join(dir, 'known_hosts');
const hostKeyFile = path.join(dataDir, 'ssh_host_ed25519_key');
writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(`${hostKeyFile}.pub`, 'utf8')}`);

/** The ssh command git runs: only this key, only this known_hosts, nothing from the machine's ssh config. */
function sshCommand(key: string): string {
  return `ssh -F /dev/null -i ${key} -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes`;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A client's environment: without the engine socket the server put in this process's environment, so a client
 * is never taken for one of the server's git processes (serverChildren looks for it).
 */
function clientEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const childEnv = cleanGitEnv({ GIT_TERMINAL_PROMPT: '0', ...env });
  delete childEnv.BLUEGREEN_ENGINE_SOCKET;
  return childEnv;
}

async function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { cwd, env: clientEnv(env) });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const git = (cwd: string, key: string, ...args: string[]) => run('git', args, cwd, { GIT_SSH_COMMAND: sshCommand(key) });
/** `ssh git@server COMMAND` as a user types it (no command: a shell). */
const sshExec = (key: string, ...command: string[]) =>
  run('sh', ['-c', `${sshCommand(key)} -T -p ${port} git@127.0.0.1 "$@" </dev/null`, 'ssh', ...command], dir);
const remote = (colour: string) => `${ssh.url}/${colour}.git`;
const pushes = () => requests.flatMap((r) => (r.call.hook === 'pre-receive' ? [r] : []));

function work(): WorkRepo {
  const repo = new WorkRepo('bg-ssh-work-');
  t.teardown(() => repo.cleanup());
  return repo;
}

t.test('the host key: made on first start, private, and what a client sees', async (t) => {
  t.equal(statSync(hostKeyFile).mode & 0o777, 0o600);
  t.match(ssh.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  t.equal(execFileSync('ssh-keygen', ['-lf', `${hostKeyFile}.pub`], { encoding: 'utf8' }).split(' ')[1], ssh.fingerprint);
});

t.test('push, push options, progress and pusher; clone and fetch', async (t) => {
  const repo = work();
  const sha = repo.commit('v1');
  const pushed = await git(repo.dir, keys.alice, 'push', '-o', 'note=two words', remote('blue'), 'main');
  t.equal(pushed.code, 0, pushed.stderr);
  t.match(pushed.stderr, 'remote: accepted refs/heads/main from alice');
  const push = pushes().at(-1)!;
  t.equal(push.pusher, 'alice', 'history says "by alice"');
  t.same(push.call.hook === 'pre-receive' && push.call.pushOptions, ['note=two words']);
  t.equal(execFileSync('git', ['--git-dir', path.join(dataDir, 'repos', 'blue.git'), 'rev-parse', 'main'], { encoding: 'utf8' }).trim(), sha);

  const clone = path.join(dir, 'clone');
  const cloned = await git(dir, keys.vera, 'clone', remote('blue'), clone);
  t.equal(cloned.code, 0, cloned.stderr);
  t.equal(execFileSync('git', ['-C', clone, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(), sha, 'a viewer clones');
  const v2 = repo.commit('v2');
  t.equal((await git(repo.dir, keys.alice, 'push', remote('blue'), 'main')).code, 0);
  const fetched = await git(clone, keys.vera, 'pull', '-q', '--ff-only');
  t.equal(fetched.code, 0, fetched.stderr);
  t.equal(execFileSync('git', ['-C', clone, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(), v2);
  const v1 = await git(dir, keys.alice, '-c', 'protocol.version=1', 'ls-remote', remote('blue'));
  t.match(v1.stdout, v2, 'protocol v1 too');
});

t.test('a refused deploy rejects the push: the reason shown, a non-zero exit', async (t) => {
  behaviour = async (request) => {
    if (request.call.hook === 'pre-receive') throw new UserError('the deploy failed on purpose');
  };
  t.teardown(() => (behaviour = undefined));
  const repo = work();
  repo.commit('doomed');
  const pushed = await git(repo.dir, keys.alice, 'push', remote('green'), 'main');
  t.not(pushed.code, 0);
  t.match(pushed.stderr, 'remote: error: the deploy failed on purpose');
  t.match(pushed.stderr, /\[remote rejected\] main -> main/);
  t.equal((await git(dir, keys.alice, 'ls-remote', remote('green'))).stdout, '', 'green has no main');
});

t.test("a viewer's push is refused naming the role it needs, before git runs", async (t) => {
  const before = requests.length;
  const repo = work();
  repo.commit('by a viewer');
  const pushed = await git(repo.dir, keys.vera, 'push', remote('green'), 'main');
  t.not(pushed.code, 0);
  t.match(pushed.stderr, 'bluegreen: vera is a viewer: pushing needs the deployer role (or operator); an administrator can run `bluegreen user role vera deployer`\n');
  t.equal(requests.length, before);
});

t.test('keys: an unknown key, and a key removed while the server runs, get nothing', async (t) => {
  const unknown = await git(dir, keys.mallory, 'ls-remote', remote('blue'));
  t.equal(unknown.code, 128);
  t.match(unknown.stderr, 'Permission denied (publickey)');

  t.equal((await git(dir, keys.bob, 'ls-remote', remote('blue'))).code, 0);
  await removeUserKey(dataDir, 'bob', readPublicKeyFile(`${keys.bob}.pub`).fingerprint);
  const removed = await git(dir, keys.bob, 'ls-remote', remote('blue'));
  t.equal(removed.code, 128);
  t.match(removed.stderr, 'Permission denied (publickey)');
});

t.test('a connection that outlives its key (a multiplexed client) can run nothing more', async (t) => {
  const socket = path.join(dir, 'cm');
  const master = spawn('sh', ['-c', `exec ${sshCommand(keys.carol)} -o ControlMaster=yes -o ControlPath=${socket} -N -p ${port} git@127.0.0.1`], { stdio: 'ignore', env: clientEnv() });
  const masterExited = new Promise((resolve) => master.on('exit', resolve));
  t.teardown(async () => {
    master.kill();
    await masterExited;
  });
  await waitUntil(() => existsSync(socket), () => 'the master connection never came up');
  const multiplexed = (command: string) =>
    run('sh', ['-c', `${sshCommand(keys.carol)} -o ControlMaster=no -o ControlPath=${socket} -p ${port} git@127.0.0.1 "$1" </dev/null`, 'ssh', command], dir);
  t.match((await multiplexed("git-upload-pack 'blue.git'")).stdout, /refs\/heads\/main/, 'a session over the shared connection');
  await removeUserKey(dataDir, 'carol', readPublicKeyFile(`${keys.carol}.pub`).fingerprint);
  const after = await multiplexed("git-upload-pack 'blue.git'");
  t.equal(after.code, 1);
  t.equal(after.stderr, 'bluegreen: this SSH key is no longer accepted\n');
  t.equal(after.stdout, '');
});

t.test("another user's public key offered without its private key gets nothing", async (t) => {
  // The client offers alice's public key (k.pub) but can only sign with mallory's private key (k).
  const forged = path.join(dir, 'forged');
  copyFileSync(keys.mallory, forged);
  copyFileSync(`${keys.alice}.pub`, `${forged}.pub`);
  const result = await git(dir, forged, 'ls-remote', remote('blue'));
  t.equal(result.code, 128);
  t.match(result.stderr, 'Permission denied (publickey)');
  t.equal(result.stdout, '');
});

t.test('only git-receive-pack and git-upload-pack of /blue.git and /green.git are served', async (t) => {
  const notServed = 'bluegreen: only git push and fetch are served here (git-receive-pack or git-upload-pack of /blue.git or /green.git)\n';
  const noRepo = (name: string) => `bluegreen: there is no repository ${JSON.stringify(name)} here: the repositories are /blue.git and /green.git\n`;
  const cases: Array<[string, string]> = [
    ["git-upload-pack '/purple.git'", noRepo('/purple.git')],
    ["git-upload-pack '../x'", noRepo('../x')],
    ["git-receive-pack '/blue.git/../green.git'", noRepo('/blue.git/../green.git')],
    ["git-upload-pack '/blue.git/'", noRepo('/blue.git/')],
    ["git-upload-pack 'blue'", noRepo('blue')],
    ["git-upload-pack '/bl'\\''ue.git'", noRepo("/bl'ue.git")],
    ["git-upload-pack '/blue.git'; touch /tmp/bluegreen-pwned", notServed],
    ["git-upload-pack '/blue.git' '/green.git'", notServed],
    ["git-upload-pack '/blue.git", notServed],
    ['git-upload-pack "/blue.git"', notServed],
    ['git-upload-pack $(id)', notServed],
    ["git-upload-archive '/blue.git'", notServed],
    ["git upload-pack '/blue.git'", notServed],
    ['ls -la', notServed],
  ];
  for (const [command, message] of cases) {
    const result = await sshExec(keys.alice, command);
    t.equal(result.code, 1, command);
    t.equal(result.stderr, message, command);
  }
  t.notOk(existsSync('/tmp/bluegreen-pwned'));
  // Quoted as git quotes it, with or without the leading slash, the command is served.
  const served = await sshExec(keys.alice, "git-upload-pack 'blue.git'");
  t.match(served.stdout, /refs\/heads\/main/);
});

t.test('a shell is refused with a greeting that names the user; so are a PTY and forwarding', async (t) => {
  const shell = await sshExec(keys.alice);
  t.equal(shell.code, 1);
  t.equal(shell.stderr, `bluegreen: hello alice (deployer); there is no shell here: use git with ${ssh.url}/blue.git or /green.git\n`);
  const pty = await run('sh', ['-c', `${sshCommand(keys.alice)} -tt -p ${port} git@127.0.0.1 "git-upload-pack 'blue.git'" </dev/null`], dir);
  t.match(pty.stderr, 'PTY allocation request failed');
  const forward = await run('sh', ['-c', `${sshCommand(keys.alice)} -o ExitOnForwardFailure=yes -W 127.0.0.1:22 -p ${port} git@127.0.0.1 </dev/null`], dir);
  t.not(forward.code, 0);
  t.match(forward.stderr, /open failed|administratively prohibited/);
});

t.test('a client killed mid-push: git-receive-pack and its hook end, the handler is told, nothing is left', async (t) => {
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  let reason: unknown;
  behaviour = async (request, say, interrupted) => {
    if (request.call.hook !== 'pre-receive') return;
    say('deploying');
    started();
    await new Promise((resolve) => interrupted.addEventListener('abort', resolve));
    reason = interrupted.reason;
  };
  const repo = work();
  repo.commit('interrupted');
  const env = clientEnv({ GIT_SSH_COMMAND: sshCommand(keys.alice) });
  // Its own process group, to cut the client (git and ssh) as a whole.
  const client = spawn('git', ['push', remote('green'), 'main'], { cwd: repo.dir, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let clientError = '';
  client.stderr.on('data', (chunk: Buffer) => (clientError += chunk.toString()));
  const clientExited = new Promise((resolve) => client.on('exit', resolve));
  await Promise.race([handlerStarted, clientExited]);
  t.equal(client.exitCode, null, `the push is under way: ${clientError}`);
  t.ok(serverChildren(dataDir).some((p) => /^git-receive-pack /.test(p.command)), 'git-receive-pack runs');
  process.kill(-client.pid!, 'SIGKILL');
  await clientExited;
  await waitUntil(() => serverChildren(dataDir).length === 0, () => JSON.stringify(serverChildren(dataDir)), 5000);
  await waitUntil(() => reason !== undefined, () => 'the handler was never told');
  t.match(reason, { message: 'the push was interrupted (the pusher disconnected)' });
  // The quarantine goes once the process tree is gone.
  const quarantines = () => readdirSync(path.join(dataDir, 'repos', 'green.git', 'objects')).filter((n) => n.startsWith('tmp_objdir'));
  await waitUntil(() => quarantines().length === 0, () => `a quarantine is left: ${quarantines().join(', ')}`, 5000);
  behaviour = undefined;
  const again = await git(repo.dir, keys.alice, 'push', remote('green'), 'main');
  t.equal(again.code, 0, `the next push goes through: ${again.stderr}`);
});
