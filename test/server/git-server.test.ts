/**
 * The git endpoint with real git clients over HTTP(S), the real git hooks and engine socket, and a push handler
 * written here (not the deploy engine).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { addUser, removeUser, setUserRole } from '../../src/adapters/state/users.js';
import { parseConfig } from '../../src/core/config.js';
import { UserError } from '../../src/core/errors.js';
import type { PushHandler, PushRequest } from '../../src/deploy/push-handler.js';
import { type GitServer, startGitServer } from '../../src/server/git-server.js';
import { cleanGitEnv, WorkRepo } from '../helpers/git-repo.js';
import { serverChildren, waitUntil } from '../helpers/processes.js';

const execFileAsync = promisify(execFile);

interface Setup {
  dataDir: string;
  token: string;
  server: GitServer;
  /** Every hook call, in order. */
  requests: PushRequest[];
  /** The pre-receive calls: one per push that reached the hooks. */
  pushes(): Extract<PushRequest['call'], { hook: 'pre-receive' }>[];
  logs: string[];
  remote(colour?: string, user?: string, token?: string): string;
  repo(colour: string): string;
  ref(colour: string, ref?: string): string;
}

async function setup(t: Test, handler?: PushHandler, env: Record<string, string> = {}): Promise<Setup> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bg-gs-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const token = await addUser(dataDir, 'alice');
  const { config, errors } = parseConfig({ BLUEGREEN_DATA_DIR: dataDir, BLUEGREEN_LISTEN: '127.0.0.1:0', ...env }, dataDir);
  t.same(errors, []);
  const requests: PushRequest[] = [];
  const logs: string[] = [];
  const server = await startGitServer({
    config: config!,
    handler: async (request, say, interrupted) => {
      requests.push(request);
      if (handler) await handler(request, say, interrupted);
      else if (request.call.hook === 'pre-receive') say(`accepted ${request.call.updates.map((u) => `${u.ref} ${u.newrev.slice(0, 12)}`).join(', ')} from ${request.pusher}`);
    },
    log: (line) => logs.push(line),
  });
  t.teardown(() => server.close());
  const repo = (colour: string) => path.join(dataDir, 'repos', `${colour}.git`);
  return {
    dataDir,
    token,
    server,
    requests,
    pushes: () => requests.flatMap((r) => (r.call.hook === 'pre-receive' ? [r.call] : [])),
    logs,
    remote: (colour = 'blue', user = 'alice', secret = token) => {
      const url = new URL(server.url);
      return `${url.protocol}//${user}:${secret}@${url.host}/${colour}.git`;
    },
    repo,
    ref: (colour, ref = 'refs/heads/main') => {
      try {
        return execFileSync('git', ['--git-dir', repo(colour), 'rev-parse', '--verify', '-q', ref], { encoding: 'utf8', env: cleanGitEnv() }).trim();
      } catch {
        return '';
      }
    },
  };
}

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A git client's environment: without the engine socket the server put in this process's environment, so a
 * client still finishing is never taken for one of the server's git processes (serverChildren looks for it).
 */
function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = cleanGitEnv({ GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '', ...extra });
  delete env.BLUEGREEN_ENGINE_SOCKET;
  return env;
}

async function git(cwd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<GitResult> {
  try {
    const { stdout, stderr } = await execFileAsync('git', args, { cwd, env: gitEnv(extraEnv), maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
  }
}

function workRepo(t: Test): WorkRepo {
  const work = new WorkRepo('bg-gs-work-');
  t.teardown(() => work.cleanup());
  return work;
}

/** One raw HTTP request with an unnormalised path. */
function raw(
  server: GitServer,
  method: string,
  requestPath: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: requestPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const basic = (user: string, token: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` });

/** Starts a raw receive-pack POST of `body` with its full length announced, sending only `sent` bytes of it. */
function partialPost(server: GitServer, token: string, body: Buffer, sent: number): http.ClientRequest {
  const url = new URL(server.url);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path: '/blue.git/git-receive-pack',
    headers: { 'content-type': 'application/x-git-receive-pack-request', 'content-length': String(body.length), ...basic('alice', token) },
  });
  req.on('error', () => {});
  req.write(body.subarray(0, sent));
  return req;
}

const describeChildren = (dataDir: string) => () => `git processes left: ${JSON.stringify(serverChildren(dataDir))}`;

function objectCount(repoDir: string): number {
  const out = execFileSync('git', ['--git-dir', repoDir, 'count-objects', '-v'], { encoding: 'utf8', env: cleanGitEnv() });
  const count = Number(/^count: (\d+)/m.exec(out)?.[1]);
  const inPack = Number(/^in-pack: (\d+)/m.exec(out)?.[1]);
  return count + inPack;
}

t.test('push, clone and fetch with a valid token; the handler gets each hook call of the push with its pusher', async (t) => {
  const s = await setup(t, async (request, say) => {
    const { call } = request;
    say(`${call.hook}${call.hook === 'reference-transaction' ? ` ${call.state}` : ''}: ${call.updates.map((u) => `${u.ref} ${u.newrev.slice(0, 12)}`).join(', ')} from ${request.pusher}`);
  });
  const work = workRepo(t);
  work.write('index.html', '<h1>v1</h1>');
  const v1 = work.commit('v1');
  const pushed = await git(work.dir, ['push', s.remote('blue'), 'main']);
  t.equal(pushed.code, 0, pushed.stderr);
  t.match(pushed.stderr, `remote: pre-receive: refs/heads/main ${v1.slice(0, 12)} from alice`);
  t.match(pushed.stderr, `remote: post-receive: refs/heads/main ${v1.slice(0, 12)} from alice`, "post-receive's lines reach the pusher too");
  t.equal(s.ref('blue'), v1);
  t.equal(s.ref('green'), '', 'the other colour is untouched');
  const main1 = [{ oldrev: '0'.repeat(40), newrev: v1, ref: 'refs/heads/main' }];
  t.same(
    s.requests.map((r) => r.call),
    [
      { hook: 'pre-receive', updates: main1, pushOptions: [], gitEnv: s.pushes()[0]?.gitEnv },
      { hook: 'reference-transaction', state: 'prepared', updates: main1 },
      { hook: 'reference-transaction', state: 'committed', updates: main1 },
      { hook: 'post-receive', updates: main1 },
    ],
    'pre-receive, the transaction of main prepared then committed, post-receive',
  );
  for (const request of s.requests) {
    t.equal(request.colour, 'blue');
    t.equal(request.pusher, 'alice');
    t.equal(request.repoDir, s.repo('blue'));
  }
  t.equal(new Set(s.requests.map((r) => r.receivePackPid)).size, 1, 'every hook call of the push names the same git-receive-pack');
  t.ok(s.pushes()[0]?.gitEnv.GIT_QUARANTINE_PATH?.startsWith(path.join(s.repo('blue'), 'objects')), 'the quarantine is passed on');

  const cloneDir = mkdtempSync(path.join(os.tmpdir(), 'bg-gs-clone-'));
  t.teardown(() => rmSync(cloneDir, { recursive: true, force: true }));
  const cloned = await git(cloneDir, ['clone', '-q', s.remote('blue'), 'c']);
  t.equal(cloned.code, 0, cloned.stderr);
  t.equal((await git(path.join(cloneDir, 'c'), ['rev-parse', 'HEAD'])).stdout.trim(), v1, 'default branch main is checked out');
  t.equal(s.requests.length, 4, 'a clone calls no hook');

  work.write('index.html', '<h1>v2</h1>');
  const v2 = work.commit('v2');
  t.equal((await git(work.dir, ['push', s.remote('blue'), 'main'])).code, 0);
  const fetched = await git(path.join(cloneDir, 'c'), ['fetch', '-q', 'origin']);
  t.equal(fetched.code, 0, fetched.stderr);
  t.equal((await git(path.join(cloneDir, 'c'), ['rev-parse', 'origin/main'])).stdout.trim(), v2);
  t.same(s.pushes()[1]?.updates, [{ oldrev: v1, newrev: v2, ref: 'refs/heads/main' }]);
  t.not(s.requests[4]?.receivePackPid, s.requests[0]?.receivePackPid, 'another push, another git-receive-pack');

  const before = s.requests.length;
  const green = await git(work.dir, ['push', s.remote('green'), 'main', 'main:refs/heads/other']);
  t.equal(green.code, 0, green.stderr);
  const calls = s.requests.slice(before);
  t.same(calls.map((r) => r.colour), ['green', 'green', 'green', 'green']);
  t.same(s.pushes()[2]?.updates.map((u) => u.ref).sort(), ['refs/heads/main', 'refs/heads/other'], 'one pre-receive call for all refs');
  t.same(
    calls.filter((r) => r.call.hook === 'reference-transaction').map((r) => r.call.updates.map((u) => u.ref)),
    [['refs/heads/main'], ['refs/heads/main']],
    'the transaction calls only for main',
  );
  t.same(calls.at(-1)?.call.updates.map((u) => u.ref).sort(), ['refs/heads/main', 'refs/heads/other'], 'post-receive: every ref git updated');
});

t.test('no credentials or wrong ones: 401 on every request, and nothing reaches git', async (t) => {
  const s = await setup(t);
  const infoRefs = '/blue.git/info/refs?service=git-receive-pack';
  const none = await raw(s.server, 'GET', infoRefs);
  t.equal(none.status, 401);
  t.equal(none.headers['www-authenticate'], 'Basic realm="bluegreen"');
  t.match(none.body, /^authentication required: use http\[s\]:\/\/NAME:TOKEN@host\/blue\.git/);
  const wrong = await raw(s.server, 'GET', infoRefs, basic('alice', 'not-the-token'));
  t.equal(wrong.status, 401);
  t.equal(wrong.body, 'wrong user name or token\n');
  t.equal((await raw(s.server, 'GET', infoRefs, basic('bob', s.token))).status, 401, 'another name with a valid token');
  t.equal((await raw(s.server, 'GET', infoRefs, basic('Alice!', s.token))).status, 401, 'an impossible name');
  t.equal((await raw(s.server, 'GET', infoRefs, { authorization: 'Bearer xyz' })).status, 401, 'not Basic');
  t.equal((await raw(s.server, 'GET', infoRefs, { authorization: `Basic ${Buffer.from('alice').toString('base64')}` })).status, 401, 'no colon');
  for (const [method, p] of [
    ['GET', '/blue.git/info/refs?service=git-upload-pack'],
    ['GET', '/blue.git/HEAD'],
    ['POST', '/blue.git/git-upload-pack'],
    ['HEAD', '/blue.git/info/refs'],
    ['GET', '/other.git/info/refs?service=git-upload-pack'],
  ] as const) {
    t.equal((await raw(s.server, method, p)).status, 401, `${method} ${p}`);
  }
  t.ok(s.logs.some((l) => /^git: refused GET \/blue\.git\/info\/refs\?service=git-receive-pack from 127\.0\.0\.1: wrong token for the user alice$/.test(l)), 'failures are logged');
  t.ok(s.logs.some((l) => /: wrong token for an unknown user name$/.test(l)), 'a name that is no user is not repeated');
  t.notOk(s.logs.some((l) => /bob|Alice!/.test(l)));

  const work = workRepo(t);
  work.commit('v1');
  const pushed = await git(work.dir, ['push', s.remote('blue', 'alice', 'wrong'), 'main']);
  t.not(pushed.code, 0);
  t.match(pushed.stderr, /Authentication failed/);
  const cloned = await git(work.dir, ['ls-remote', s.remote('blue', 'alice', 'wrong')]);
  t.not(cloned.code, 0);
  t.equal(s.ref('blue'), '');
  t.equal(s.requests.length, 0);
});

/** A receive-pack request body, as git sends it: the ref update command, a flush, and a pack. */
function receivePackBody(work: WorkRepo, newrev: string): Buffer {
  const command = `${'0'.repeat(40)} ${newrev} refs/heads/main\0 report-status side-band-64k agent=test\n`;
  const pktLine = (line: string) => `${(Buffer.byteLength(line) + 4).toString(16).padStart(4, '0')}${line}`;
  const pack = execFileSync('git', ['pack-objects', '--stdout', '--revs', '-q'], { cwd: work.dir, input: `${newrev}\n`, env: cleanGitEnv(), maxBuffer: 64 << 20 });
  return Buffer.concat([Buffer.from(pktLine(command) + '0000'), pack]);
}

t.test('a raw receive-pack POST without credentials is refused before git sees it', async (t) => {
  const s = await setup(t);
  const work = workRepo(t);
  work.write('a.txt', 'a');
  const sha = work.commit('v1');
  const body = receivePackBody(work, sha);
  const headers = { 'content-type': 'application/x-git-receive-pack-request' };

  const refused = await raw(s.server, 'POST', '/blue.git/git-receive-pack', headers, body);
  t.equal(refused.status, 401);
  t.equal(refused.headers['www-authenticate'], 'Basic realm="bluegreen"');
  const wrong = await raw(s.server, 'POST', '/blue.git/git-receive-pack', { ...headers, ...basic('alice', 'nope') }, body);
  t.equal(wrong.status, 401);
  t.equal(s.ref('blue'), '', 'the ref is unchanged');
  t.equal(objectCount(s.repo('blue')), 0, 'no objects were stored');
  t.same(readdirSync(path.join(s.repo('blue'), 'objects')).sort(), ['info', 'pack'], 'not even a quarantine');
  t.equal(s.requests.length, 0);

  // The same body with credentials is a working push: the refusal above was about the credentials alone.
  const accepted = await raw(s.server, 'POST', '/blue.git/git-receive-pack', { ...headers, ...basic('alice', s.token) }, body);
  t.equal(accepted.status, 200);
  t.match(accepted.body, 'unpack ok');
  t.equal(s.ref('blue'), sha);
  t.equal(s.requests[0]?.pusher, 'alice');
  t.equal(s.pushes().length, 1);
});

t.test('only blue.git and green.git exist: other paths answer 404 and create nothing', async (t) => {
  const s = await setup(t);
  const auth = basic('alice', s.token);
  const before = readdirSync(path.join(s.dataDir, 'repos')).sort();
  t.same(before, ['blue.git', 'green.git']);
  const paths: Array<[string, string]> = [
    ['GET', '/other.git/info/refs?service=git-upload-pack'],
    ['GET', '/other.git/info/refs?service=git-receive-pack'],
    ['POST', '/other.git/git-receive-pack'],
    ['GET', '/other.git/HEAD'],
    ['GET', '/blue/info/refs?service=git-upload-pack'],
    ['GET', '/repos/blue.git/info/refs?service=git-upload-pack'],
    ['GET', '/blue.git/../green.git/info/refs?service=git-upload-pack'],
    ['GET', '/blue.git/../../users.json'],
    ['GET', '/../users.json'],
    ['GET', '/%2e%2e/users.json'],
    ['GET', '/blue.git/%2e%2e/%2e%2e/users.json'],
    ['GET', '/blue.git/HEAD'],
    ['GET', '/blue.git/config'],
    ['GET', '/blue.git/hooks/pre-receive'],
    ['GET', '/blue.git/objects/info/packs'],
    ['POST', '/blue.git/../other.git/git-receive-pack'],
    ['POST', '/blue.git/git-receive-pack?/../../other.git/git-receive-pack'],
    ['GET', '//blue.git/info/refs?service=git-upload-pack'],
    ['GET', '/blue.git/info/refs/../../../green.git/HEAD'],
  ];
  for (const [method, p] of paths) {
    const res = await raw(s.server, method, p, auth, method === 'POST' ? Buffer.from('0000') : undefined);
    t.equal(res.status, 404, `${method} ${p}`);
    t.equal(res.body, 'not found: the repositories are /blue.git and /green.git\n');
  }
  t.same(readdirSync(path.join(s.dataDir, 'repos')).sort(), before, 'no repository was created');
  t.notOk(existsSync(path.join(s.dataDir, 'other.git')));
  const badService = await raw(s.server, 'GET', '/blue.git/info/refs?service=git-shell', auth);
  t.equal(badService.status, 405, "node-git-server's own refusal of other services still applies");
});

t.test("the handler's lines reach the pusher as they are said", async (t) => {
  let seen!: () => void;
  const firstLineSeen = new Promise<void>((resolve) => (seen = resolve));
  const s = await setup(t, async (_request, say) => {
    say('step one');
    // Only goes on once the pusher has shown the first line: buffered output would hang here.
    await firstLineSeen;
    say('step two\nstep three');
  });
  const work = workRepo(t);
  work.commit('v1');
  const child = spawn('git', ['push', '--progress', s.remote('blue'), 'main'], { cwd: work.dir, env: gitEnv() });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (/remote: step one/.test(stderr)) seen();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 0, stderr);
  t.match(stderr, /remote: step one\s*\n(.*\n)*remote: step two\s*\nremote: step three/);
});

t.test('a handler that refuses with a UserError rejects the push and shows why', async (t) => {
  const s = await setup(t, async (_request, say) => {
    say('checking');
    throw new UserError('blue is live: deploying to it needs `git push -o force-live`', { hint: 'or deploy to green' });
  });
  const work = workRepo(t);
  work.commit('v1');
  const pushed = await git(work.dir, ['push', s.remote('blue'), 'main']);
  t.not(pushed.code, 0);
  t.match(pushed.stderr, /remote: checking\s*\nremote: error: blue is live: deploying to it needs `git push -o force-live`\s*\nremote: hint: or deploy to green/);
  t.match(pushed.stderr, /\[remote rejected\] main -> main \(pre-receive hook declined\)/);
  t.equal(s.ref('blue'), '', 'the ref is unchanged');
  t.equal(objectCount(s.repo('blue')), 0, 'the quarantined objects are dropped');
  t.same(s.requests.map((r) => r.call.hook), ['pre-receive'], 'no other hook runs for a refused push');
});

t.test('a refusal in reference-transaction prepared makes git drop the update of main', async (t) => {
  const s = await setup(t, async (request, say) => {
    if (request.call.hook === 'pre-receive') say('prepared');
    if (request.call.hook === 'reference-transaction' && request.call.state === 'prepared') throw new UserError('the hosts could not switch');
  });
  const work = workRepo(t);
  const v1 = work.commit('v1');
  const pushed = await git(work.dir, ['push', s.remote('blue'), 'main']);
  t.not(pushed.code, 0, 'the push fails');
  t.match(pushed.stderr, 'remote: prepared');
  // git-receive-pack dies when the hook refuses ("fatal: ref updates aborted by hook"): the pusher sees the connection
  // end, and the reason is in the server log (that hook's output never reaches an HTTP pusher).
  t.match(pushed.stderr, 'fatal: the remote end hung up unexpectedly');
  t.ok(s.logs.includes('engine: blue push by alice refused: the hosts could not switch'), 'the reason is logged');
  t.ok(s.logs.some((l) => /^git: .*fatal: ref updates aborted by hook/.test(l)), "git's own account is logged");
  t.equal(s.ref('blue'), '', 'main did not move');
  t.same(
    s.requests.map((r) => (r.call.hook === 'reference-transaction' ? `${r.call.hook} ${r.call.state}` : r.call.hook)),
    ['pre-receive', 'reference-transaction prepared', 'reference-transaction aborted'],
    'git tells the engine the transaction was aborted, and runs no post-receive for it',
  );
  t.same(s.requests.at(-1)?.call.updates, [{ oldrev: '0'.repeat(40), newrev: v1, ref: 'refs/heads/main' }]);
});

t.test('a handler that fails unexpectedly: a generic line for the pusher, the details in the log', async (t) => {
  const s = await setup(t, async () => {
    throw new Error('ECONNRESET while talking to 10.0.0.7');
  });
  const work = workRepo(t);
  work.commit('v1');
  const pushed = await git(work.dir, ['push', s.remote('blue'), 'main']);
  t.not(pushed.code, 0);
  t.match(pushed.stderr, 'remote: error: the deploy failed because of an internal error (details are in the server log); nothing was changed by this push');
  t.notMatch(pushed.stderr, /ECONNRESET|10\.0\.0\.7/);
  t.ok(s.logs.some((l) => l.includes('ECONNRESET while talking to 10.0.0.7') && l.includes('by alice')));
  t.equal(s.ref('blue'), '');
});

t.test('push options arrive', async (t) => {
  const s = await setup(t);
  const work = workRepo(t);
  work.commit('v1');
  const pushed = await git(work.dir, ['push', '-o', 'force-live', '-o', 'note=two words', s.remote('green'), 'main']);
  t.equal(pushed.code, 0, pushed.stderr);
  t.same(s.pushes()[0]?.pushOptions, ['force-live', 'note=two words']);
});

t.test('a push larger than 1 MiB (git sends a probe POST first) works', async (t) => {
  const s = await setup(t);
  const work = workRepo(t);
  work.write('big.bin', randomBytes(3 << 20));
  const sha = work.commit('big');
  const pushed = await git(work.dir, ['push', s.remote('blue'), 'main'], { GIT_TRACE_CURL: '1', GIT_TRACE_CURL_NO_DATA: '1' });
  t.equal(pushed.code, 0, pushed.stderr.slice(-2000));
  t.equal((pushed.stderr.match(/=> Send header: POST \/blue\.git\/git-receive-pack/g) ?? []).length >= 2, true, 'a probe, then the pack');
  t.equal(s.ref('blue'), sha);
  t.equal(s.pushes().length, 1, 'the probe is not a push');
});

t.test('a user added while the server runs can push; a removed one cannot', async (t) => {
  const s = await setup(t);
  const work = workRepo(t);
  work.commit('v1');
  const bobToken = await addUser(s.dataDir, 'bob');
  const bobPush = await git(work.dir, ['push', s.remote('blue', 'bob', bobToken), 'main']);
  t.equal(bobPush.code, 0, bobPush.stderr);
  t.equal(s.requests[0]?.pusher, 'bob');

  await removeUser(s.dataDir, 'bob');
  work.commit('v2');
  const refused = await git(work.dir, ['push', s.remote('blue', 'bob', bobToken), 'main']);
  t.not(refused.code, 0);
  t.match(refused.stderr, /Authentication failed/);

  // A broken users file is reported; the last good users stay in force.
  writeFileSync(path.join(s.dataDir, 'users.json'), '{ broken');
  const alicePush = await git(work.dir, ['push', s.remote('blue'), 'main']);
  t.equal(alicePush.code, 0, alicePush.stderr);
  t.ok(s.logs.some((l) => /^users file changed but cannot be used; the last good users stay in force: the users file .* is not valid/.test(l)));
});

t.test("a viewer clones but cannot push: 403 naming the role needed, on info/refs already; a role change applies at once", async (t) => {
  const s = await setup(t);
  const work = workRepo(t);
  work.commit('v1');
  t.equal((await git(work.dir, ['push', s.remote('blue'), 'main'])).code, 0);
  const veraToken = await addUser(s.dataDir, 'vera', { role: 'viewer' });
  const auth = { authorization: `Basic ${Buffer.from(`vera:${veraToken}`).toString('base64')}` };
  const refusal = 'vera is a viewer: pushing needs the deployer role (or operator); an administrator can run `bluegreen user role vera deployer`\n';
  const advert = await raw(s.server, 'GET', '/blue.git/info/refs?service=git-receive-pack', auth);
  t.equal(advert.status, 403);
  t.equal(advert.body, refusal);
  const post = await raw(s.server, 'POST', '/blue.git/git-receive-pack', { ...auth, 'content-type': 'application/x-git-receive-pack-request' }, Buffer.from('0000'));
  t.equal(post.status, 403, 'the POST too, should a client skip info/refs');
  t.equal(post.body, refusal);
  const clone = path.join(work.dir, '..', `clone-${randomBytes(4).toString('hex')}`);
  t.teardown(() => rmSync(clone, { recursive: true, force: true }));
  const cloned = await git(os.tmpdir(), ['clone', s.remote('blue', 'vera', veraToken), clone]);
  t.equal(cloned.code, 0, cloned.stderr);
  work.commit('v2');
  const pushed = await git(work.dir, ['push', s.remote('blue', 'vera', veraToken), 'main']);
  t.not(pushed.code, 0);
  t.match(pushed.stderr, /403/);
  t.equal(s.pushes().length, 1, "the viewer's push never reached the hooks");
  await setUserRole(s.dataDir, 'vera', 'deployer');
  const promoted = await git(work.dir, ['push', s.remote('blue', 'vera', veraToken), 'main']);
  t.equal(promoted.code, 0, promoted.stderr);
  t.equal(s.pushes()[1]?.updates[0]?.ref, 'refs/heads/main');
});

t.test('HTTPS with a self-signed certificate', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-gs-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
    stdio: 'ignore',
  });
  const s = await setup(t, undefined, { BLUEGREEN_TLS_CERT: cert, BLUEGREEN_TLS_KEY: key });
  t.match(s.server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const work = workRepo(t);
  const sha = work.commit('v1');
  const untrusted = await git(work.dir, ['push', s.remote('blue'), 'main']);
  t.not(untrusted.code, 0, 'the certificate is not trusted by default');
  const pushed = await git(work.dir, ['push', s.remote('blue'), 'main'], { GIT_SSL_CAINFO: cert });
  t.equal(pushed.code, 0, pushed.stderr);
  t.match(pushed.stderr, /remote: accepted refs\/heads\/main/);
  t.equal(s.ref('blue'), sha);
  const insecure = await git(work.dir, ['-c', 'http.sslVerify=false', 'ls-remote', s.remote('blue')]);
  t.match(insecure.stdout, `${sha}\trefs/heads/main`);
  const plain = await git(work.dir, ['ls-remote', s.remote('blue').replace('https:', 'http:')]);
  t.not(plain.code, 0, 'no plain HTTP on the HTTPS port');
});

t.test('a client that hangs up in the middle of a request does not take the server down', async (t) => {
  const s = await setup(t);
  const url = new URL(s.server.url);
  const auth = basic('alice', s.token).authorization;
  // Before any of the body (nobody listens to node-git-server's request yet), and after the first bytes.
  for (const body of ['', '0000']) {
    const errorsBefore = s.logs.filter((l) => l.startsWith('git: ')).length;
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /blue.git/git-receive-pack HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n`,
        );
      });
      // "100 Continue" means the server is handling the request: then send what there is, and hang up.
      socket.once('data', () => {
        socket.write(body, () => socket.destroy());
      });
      socket.on('close', () => resolve());
    });
    while (s.logs.filter((l) => l.startsWith('git: ')).length === errorsBefore) await new Promise((r) => setTimeout(r, 10));
  }
  t.ok(s.logs.some((l) => /^git: request error: aborted$/.test(l)), 'the orphan error is logged');
  const work = workRepo(t);
  const sha = work.commit('v1');
  const pushed = await git(work.dir, ['push', s.remote('blue'), 'main']);
  t.equal(pushed.code, 0, pushed.stderr);
  t.equal(s.ref('blue'), sha);
});

t.test('a push of a ref other than a branch or tag is refused in git terms, not left hanging', async (t) => {
  const s = await setup(t);
  const work = workRepo(t);
  work.commit('v1');
  const pushed = await git(work.dir, ['push', s.remote('blue'), 'main:refs/notes/x']);
  t.not(pushed.code, 0);
  t.match(pushed.stderr, '! [remote rejected] main -> refs/notes/x (bluegreen accepts only branches and tags)');
  t.equal(s.ref('blue', 'refs/notes/x'), '');
  t.equal(s.requests.length, 0);
  // Without report-status there is nothing to report into: a plain HTTP refusal.
  const command = `${'0'.repeat(40)} ${'a'.repeat(40)} refs/notes/x\n`;
  const body = Buffer.from(`${(command.length + 4).toString(16).padStart(4, '0')}${command}0000`);
  const bare = await raw(s.server, 'POST', '/blue.git/git-receive-pack', basic('alice', s.token), body);
  t.equal(bare.status, 400);
  t.equal(bare.body, 'bluegreen accepts only branches and tags\n');
  // An old client: report-status without side-band gets the plain report.
  const old = `${'0'.repeat(40)} ${'a'.repeat(40)} refs/notes/x\0 report-status\n`;
  const plain = await raw(s.server, 'POST', '/blue.git/git-receive-pack', basic('alice', s.token), Buffer.from(`${(old.length + 4).toString(16).padStart(4, '0')}${old}0000`));
  t.equal(plain.status, 200);
  t.equal(plain.body, '000eunpack ok\n003dng refs/notes/x bluegreen accepts only branches and tags\n0000');
  const ok = await git(work.dir, ['push', s.remote('blue'), 'main']);
  t.equal(ok.code, 0, 'the server still serves pushes');
});

t.test('a push straight into the bare repository, bypassing the server, is refused by the hook', async (t) => {
  const s = await setup(t);
  const work = workRepo(t);
  work.commit('v1');
  const pushed = await git(work.dir, ['push', s.repo('blue'), 'main']);
  t.not(pushed.code, 0);
  t.match(pushed.stderr, "remote: bluegreen: this push did not come through the deploy server's git endpoint, so it cannot deploy (push to http[s]://NAME:TOKEN@server/blue.git); the push was not accepted");
  t.equal(s.ref('blue'), '');
  t.equal(s.requests.length, 0);
});

t.test('startup errors: address in use, unreadable certificate', async (t) => {
  const s = await setup(t);
  const port = new URL(s.server.url).port;
  const other = mkdtempSync(path.join(os.tmpdir(), 'bg-gs-'));
  t.teardown(() => rmSync(other, { recursive: true, force: true }));
  const busy = parseConfig({ BLUEGREEN_DATA_DIR: other, BLUEGREEN_LISTEN: `127.0.0.1:${port}` }, other).config!;
  await t.rejects(startGitServer({ config: busy, handler: async () => {}, log: () => {} }), {
    name: 'UserError',
    message: `cannot listen on 127.0.0.1:${port} (BLUEGREEN_LISTEN): the address is in use`,
    hint: 'stop whatever uses it, or set BLUEGREEN_LISTEN to another host:port',
  });
  t.equal(process.env.BLUEGREEN_ENGINE_SOCKET, path.join(s.dataDir, 'run', 'engine.sock'), 'the running server keeps its engine socket');
  t.notOk(existsSync(path.join(other, 'run', 'engine.sock')), 'the failed start cleaned up its engine socket');

  const tls = parseConfig(
    { BLUEGREEN_DATA_DIR: other, BLUEGREEN_LISTEN: '127.0.0.1:0', BLUEGREEN_TLS_CERT: 'missing-cert.pem', BLUEGREEN_TLS_KEY: 'missing-key.pem' },
    other,
  ).config!;
  await t.rejects(startGitServer({ config: tls, handler: async () => {}, log: () => {} }), {
    name: 'UserError',
    message: `cannot read BLUEGREEN_TLS_CERT ${path.join(other, 'missing-cert.pem')}: ENOENT`,
    hint: 'set BLUEGREEN_TLS_CERT to a readable PEM file',
  });
});

t.test('close() stops the git endpoint and the engine socket', async (t) => {
  const s = await setup(t);
  const socket = path.join(s.dataDir, 'run', 'engine.sock');
  t.ok(existsSync(socket));
  await s.server.close();
  await s.server.close();
  t.notOk(existsSync(socket));
  await t.rejects(raw(s.server, 'GET', '/blue.git/HEAD'), { code: 'ECONNREFUSED' });
});

t.test('a client that hangs up in the middle of its upload: git-receive-pack ends and leaves nothing behind', async (t) => {
  const s = await setup(t);
  const work = workRepo(t);
  work.write('big.bin', randomBytes(1 << 20));
  const sha = work.commit('big');
  const body = receivePackBody(work, sha);
  const req = partialPost(s.server, s.token, body, body.length >> 1);
  await waitUntil(() => serverChildren(s.dataDir).some((p) => /git-receive-pack/.test(p.command)), () => 'git-receive-pack never started');
  req.destroy();
  await waitUntil(() => serverChildren(s.dataDir).length === 0, describeChildren(s.dataDir), 5000);
  t.pass('no git process is left');
  t.ok(s.logs.includes('git: the client went away before git-receive-pack finished; ending it'));
  // git-receive-pack removes its quarantine, or, if it was killed first, the server does once it is gone.
  const objects = () => readdirSync(path.join(s.repo('blue'), 'objects')).sort();
  await waitUntil(() => objects().join() === 'info,pack', () => `objects/ still holds ${objects().join(', ')}`, 5000);
  t.pass('no quarantine is left');
  t.equal(s.ref('blue'), '');
  t.equal(s.requests.length, 0);
  const pushed = await git(work.dir, ['push', s.remote('blue'), 'main']);
  t.equal(pushed.code, 0, pushed.stderr);
  t.equal(s.ref('blue'), sha);
});

t.test('a pusher who hangs up while the hook runs: git-receive-pack and the hook end, the handler is told', async (t) => {
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  let reason: unknown;
  const s = await setup(t, async (_request, say, interrupted) => {
    say('deploying');
    started();
    await new Promise((resolve) => interrupted.addEventListener('abort', resolve));
    reason = interrupted.reason;
  });
  const work = workRepo(t);
  work.commit('v1');
  // Its own process group, to cut the client (git and git-remote-http) as a whole.
  const client = spawn('git', ['push', s.remote('blue'), 'main'], { cwd: work.dir, env: gitEnv(), detached: true, stdio: 'ignore' });
  const clientExited = new Promise((resolve) => client.on('exit', resolve));
  await handlerStarted;
  const during = serverChildren(s.dataDir).map((p) => p.command);
  t.ok(during.some((c) => /^git-receive-pack --stateless-rpc /.test(c)), 'git-receive-pack runs');
  t.ok(during.some((c) => /pre-receive/.test(c)), 'its hook runs');
  process.kill(-client.pid!, 'SIGKILL');
  await clientExited;
  await waitUntil(() => serverChildren(s.dataDir).length === 0, describeChildren(s.dataDir), 5000);
  t.pass('no git process is left');
  await waitUntil(() => reason !== undefined, () => 'the handler was never told');
  t.match(reason, { message: 'the push was interrupted (the pusher disconnected)' });
  t.equal(s.ref('blue'), '');
});

t.test("git's error output is drained to the log, bounded: a chatty push without side-band does not block", async (t) => {
  const s = await setup(t, async (_request, say) => {
    for (let i = 0; i < 2000; i++) say(`line ${i} ${'x'.repeat(100)}`);
  });
  const work = workRepo(t);
  const sha = work.commit('v1');
  // Without side-band, the hook's output goes to git-receive-pack's stderr: 200 KB of it, far over a pipe's 64 KiB.
  const command = `${'0'.repeat(40)} ${sha} refs/heads/main\0 report-status\n`;
  const pack = execFileSync('git', ['pack-objects', '--stdout', '--revs', '-q'], { cwd: work.dir, input: `${sha}\n`, env: cleanGitEnv() });
  const body = Buffer.concat([Buffer.from(`${(command.length + 4).toString(16).padStart(4, '0')}${command}0000`), pack]);
  const answer = await raw(s.server, 'POST', '/blue.git/git-receive-pack', basic('alice', s.token), body);
  t.equal(answer.status, 200);
  t.match(answer.body, 'ok refs/heads/main');
  t.equal(s.ref('blue'), sha);
  const logged = s.logs.filter((l) => l.startsWith('git: git-receive-pack: '));
  t.match(logged[0], /^git: git-receive-pack: line 0 x{100}$/);
  t.ok(logged.length > 10 && logged.length < 100, `${logged.length} lines logged`);
  t.match(logged.at(-1), /^git: git-receive-pack: \d+ more characters of error output not logged$/);
});

t.test('the log never repeats a token typed as the user name, and bounds what it repeats of a request', async (t) => {
  const s = await setup(t);
  const infoRefs = '/blue.git/info/refs?service=git-upload-pack';
  t.equal((await raw(s.server, 'GET', infoRefs, basic(s.token, ''))).status, 401);
  t.equal((await raw(s.server, 'GET', infoRefs, basic(s.token, s.token))).status, 401);
  const longName = 'n'.repeat(10_000);
  t.equal((await raw(s.server, 'GET', infoRefs, basic(longName, 'x'))).status, 401);
  const longUrl = `${infoRefs}&${'u'.repeat(10_000)}`;
  t.equal((await raw(s.server, 'GET', longUrl, basic('alice', 'x'))).status, 401);
  const log = s.logs.join('\n');
  t.notOk(log.includes(s.token), 'the token is not in the log');
  t.notOk(log.includes('n'.repeat(50)), 'the long name is not in the log');
  t.equal(s.logs.filter((l) => l.endsWith('wrong token for an unknown user name')).length, 3);
  const urlLine = s.logs.find((l) => l.includes('uuuu')) ?? '';
  t.ok(urlLine.length < 400, `the URL is logged bounded (${urlLine.length} characters)`);
  t.match(urlLine, /u… \(\d+ more characters\) from 127\.0\.0\.1: wrong token for the user alice$/);
  t.ok(s.logs.every((l) => l.length < 400), 'every line is bounded');
});

t.test('close with a grace period: a push under way finishes; new connections are refused', async (t) => {
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  const s = await setup(t, async (_request, say) => {
    started();
    await new Promise((resolve) => setTimeout(resolve, 500));
    say('finished in time');
  });
  const work = workRepo(t);
  const sha = work.commit('v1');
  const pushing = git(work.dir, ['push', s.remote('blue'), 'main']);
  await handlerStarted;
  const closing = s.server.close({ graceMs: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await t.rejects(raw(s.server, 'GET', '/blue.git/info/refs?service=git-upload-pack'), { code: 'ECONNREFUSED' });
  const pushed = await pushing;
  t.equal(pushed.code, 0, pushed.stderr);
  t.match(pushed.stderr, 'remote: finished in time');
  t.equal(s.ref('blue'), sha);
  await closing;
  t.ok(s.logs.some((l) => /^git: waiting up to 10 s for 1 request\(s\) under way/.test(l)));
});

t.test('close with a grace period: what is still running after it is ended', async (t) => {
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  let aborted = false;
  const s = await setup(t, async (_request, _say, interrupted) => {
    started();
    await new Promise((resolve) => interrupted.addEventListener('abort', resolve));
    aborted = true;
  });
  const work = workRepo(t);
  work.commit('v1');
  const pushing = git(work.dir, ['push', s.remote('blue'), 'main']);
  await handlerStarted;
  const before = Date.now();
  await s.server.close({ graceMs: 300 });
  t.ok(Date.now() - before < 3000, `closed in ${Date.now() - before} ms`);
  t.same(serverChildren(s.dataDir), [], 'no git process is left');
  t.ok(s.logs.includes('git: ending 1 git process(es) still running'));
  await waitUntil(() => aborted, () => 'the handler was never told');
  t.not((await pushing).code, 0);
  t.equal(s.ref('blue'), '');
});

t.test('close with a grace period ends at once when hurried', async (t) => {
  const s = await setup(t, async (_request, _say, interrupted) => {
    await new Promise((resolve) => interrupted.addEventListener('abort', resolve));
  });
  const work = workRepo(t);
  work.commit('v1');
  const pushing = git(work.dir, ['push', s.remote('blue'), 'main']);
  await waitUntil(() => s.requests.length === 1, () => 'the push never reached the handler');
  const hurry = new AbortController();
  const before = Date.now();
  const closing = s.server.close({ graceMs: 60_000, hurry: hurry.signal });
  setTimeout(() => hurry.abort(), 200);
  await closing;
  t.ok(Date.now() - before < 3000, `closed in ${Date.now() - before} ms`);
  t.same(serverChildren(s.dataDir), [], 'no git process is left');
  t.not((await pushing).code, 0);
});

t.test('startup errors: TLS files that are not PEM, or not a pair; an address not on this machine', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-gs-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pair = (name: string) => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`), '-days', '1', '-subj', '/CN=x'], {
      stdio: 'ignore',
    });
  };
  pair('a');
  pair('b');
  writeFileSync(path.join(dir, 'text'), 'not a certificate\n');
  execFileSync('openssl', ['x509', '-in', path.join(dir, 'a.crt'), '-outform', 'DER', '-out', path.join(dir, 'a.der')]);
  const start = (env: Record<string, string>) => {
    const config = parseConfig({ BLUEGREEN_DATA_DIR: dir, BLUEGREEN_LISTEN: '127.0.0.1:0', ...env }, dir).config!;
    return startGitServer({ config, handler: async () => {}, log: () => {} });
  };
  const notCert = {
    name: 'UserError',
    exitCode: 2,
    hint: 'set BLUEGREEN_TLS_CERT to the server certificate in PEM form (-----BEGIN CERTIFICATE-----), with its chain if any',
  };
  await t.rejects(start({ BLUEGREEN_TLS_CERT: 'text', BLUEGREEN_TLS_KEY: 'a.key' }), { ...notCert, message: `BLUEGREEN_TLS_CERT ${path.join(dir, 'text')} is not a PEM certificate` });
  await t.rejects(start({ BLUEGREEN_TLS_CERT: 'a.der', BLUEGREEN_TLS_KEY: 'a.key' }), { ...notCert, message: `BLUEGREEN_TLS_CERT ${path.join(dir, 'a.der')} is not a PEM certificate` });
  await t.rejects(start({ BLUEGREEN_TLS_CERT: 'a.crt', BLUEGREEN_TLS_KEY: 'a.crt' }), {
    name: 'UserError',
    exitCode: 2,
    message: `BLUEGREEN_TLS_KEY ${path.join(dir, 'a.crt')} is not a PEM private key without a passphrase`,
    hint: "set BLUEGREEN_TLS_KEY to the certificate's private key in PEM form (-----BEGIN PRIVATE KEY-----), not encrypted",
  });
  await t.rejects(start({ BLUEGREEN_TLS_CERT: 'a.crt', BLUEGREEN_TLS_KEY: 'b.key' }), {
    name: 'UserError',
    exitCode: 2,
    message: new RegExp(`^BLUEGREEN_TLS_KEY ${path.join(dir, 'b.key')} is not the private key of BLUEGREEN_TLS_CERT ${path.join(dir, 'a.crt')} \\(.*key values mismatch\\)$`),
    hint: 'set BLUEGREEN_TLS_CERT and BLUEGREEN_TLS_KEY to a certificate and its own key',
  });
  await t.rejects(start({ BLUEGREEN_LISTEN: '192.0.2.1:7000' }), {
    name: 'UserError',
    exitCode: 2,
    message: 'cannot listen on 192.0.2.1:7000 (BLUEGREEN_LISTEN): the address is not one of this machine',
    hint: 'set BLUEGREEN_LISTEN to an address of this machine (127.0.0.1 for this machine only, 0.0.0.0 for all its addresses)',
  });
  t.notOk(existsSync(path.join(dir, 'run', 'engine.sock')), 'the failed start cleaned up its engine socket');
});
