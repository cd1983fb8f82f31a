import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { BIN, cleanEnv, requireBuild, type RunningServe, runCli, startServe } from '../helpers/bluegreen.js';
import { WorkRepo } from '../helpers/git-repo.js';
import { serverChildren, waitUntil } from '../helpers/processes.js';

requireBuild();

t.test('the embedded default: first user, remotes, two local hosts, router; a push deploys; .env reloads live', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-embedded-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Any free ports, so tests can run side by side; everything else is the embedded default.
  const env = {
    BLUEGREEN_LISTEN: '127.0.0.1:0',
    BLUE_URL: 'http://127.0.0.1:0/',
    GREEN_URL: 'http://127.0.0.1:0/',
    BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0',
  };
  const server = await startServe(dir, env, t);
  // The banner arrives in pieces: read it once it is all there.
  await server.waitFor(/git remote add green ssh:\/\/\S+\n/);
  await server.waitFor(/green host: \S+/);
  const out = server.output();
  t.match(out, /\(embedded default: two local hosts, local router\)/);
  const token = /created user admin; token \(shown only now\): (\S+)/.exec(out)?.[1] ?? '';
  t.match(token, /^[A-Za-z0-9_-]{43}$/);
  const remote = /git remote add blue (\S+)/.exec(out)?.[1] ?? '';
  t.equal(remote, `${server.gitUrl.replace('://', `://admin:${token}@`)}/blue.git`);
  const sshLine = /git over SSH on (ssh:\/\/git@127\.0\.0\.1:\d+) \(host key (SHA256:\S+)\)/.exec(out);
  t.ok(sshLine, 'git over SSH and its host key fingerprint');
  t.equal(sshLine?.[2], execFileSync('ssh-keygen', ['-lf', path.join(dir, '.bluegreen', 'ssh_host_ed25519_key.pub')], { encoding: 'utf8' }).split(' ')[1]);
  const status = await runCli(dir, ['status'], env);
  t.match(status.stdout, `\ngit over SSH host key: ${sshLine?.[2]}\n`, 'status shows the fingerprint');
  t.match(out, `or over SSH, with a key from \`bluegreen user key add NAME FILE.pub\`:\n  git remote add blue ${sshLine?.[1]}/blue.git\n  git remote add green ${sshLine?.[1]}/green.git\n`);
  const blueUrl = /blue host: (\S+)/.exec(out)?.[1] ?? '';
  const greenUrl = /green host: (\S+)/.exec(out)?.[1] ?? '';
  const empty = await fetch(greenUrl);
  t.equal(empty.status, 503);
  t.equal(await empty.text(), 'nothing is deployed to green yet: git push green main\n');
  t.match(out, /production \(local router\): http:\/\/127\.0\.0\.1:\d+/);

  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  work.write('index.html', '<h1>embedded</h1>');
  const sha = work.commit();
  work.git('remote', 'add', 'blue', remote);
  execFileSync('git', ['push', '-q', 'blue', 'main'], { cwd: work.dir, env: cleanEnv() });
  t.equal(await (await fetch(blueUrl)).text(), '<h1>embedded</h1>');
  t.equal((await (await fetch(`${blueUrl}REVISION`)).text()).trim(), sha);
  t.equal(readFileSync(path.join(dir, '.bluegreen', 'hosts', 'blue', 'current', 'index.html'), 'utf8'), '<h1>embedded</h1>');

  writeFileSync(path.join(dir, '.env'), 'BLUEGREEN_KEEP_RELEASES=lots\n');
  await server.waitFor(/\.env changed but is not valid; the last good configuration stays in force:\n {2}- BLUEGREEN_KEEP_RELEASES="lots"/);
  writeFileSync(path.join(dir, '.env'), 'BLUEGREEN_KEEP_RELEASES=3\n');
  await server.waitFor(/configuration reloaded from \.env/);
  t.equal(await server.stop(), 0);
});

/**
 * Runs `bluegreen serve` expecting it to fail at startup (killed after `limitMs`); `ms` is how long it took to
 * exit after it printed its error (its start-up time on a busy machine says nothing).
 */
function serveFails(cwd: string, env: Record<string, string>, limitMs = 20_000): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'serve'], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let errorAt = Number.NaN;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (Number.isNaN(errorAt) && stderr.includes('error: ')) errorAt = Date.now();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - errorAt });
    });
  });
}

/** A port something else listens on, for as long as the test runs. */
async function busyPort(t: Test): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

t.test('startup errors end serve at once with exit 2, naming the variable and the fix', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'not.pem'), 'not a certificate\n');
  const busy = await busyPort(t);
  // The embedded default: its two hosts and the router start before the git server.
  const embedded = { BLUEGREEN_LISTEN: '127.0.0.1:0', BLUE_URL: 'http://127.0.0.1:0/', GREEN_URL: 'http://127.0.0.1:0/', BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0' };
  const cases: Array<[string, Record<string, string>, string, string]> = [
    [
      'a TLS file that is missing',
      { BLUEGREEN_TLS_CERT: 'missing.pem', BLUEGREEN_TLS_KEY: 'not.pem' },
      `  - BLUEGREEN_TLS_CERT: the TLS certificate ${path.join(dir, 'missing.pem')} does not exist: set BLUEGREEN_TLS_CERT to a readable PEM file`,
      'hint: fix the variables above in the environment or in .env (see `bluegreen init`)',
    ],
    [
      'a TLS file that is not PEM',
      { BLUEGREEN_TLS_CERT: 'not.pem', BLUEGREEN_TLS_KEY: 'not.pem' },
      `  - BLUEGREEN_TLS_CERT: the TLS certificate ${path.join(dir, 'not.pem')} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`,
      'hint: fix the variables above in the environment or in .env (see `bluegreen init`)',
    ],
    [
      'the git address in use',
      { BLUEGREEN_LISTEN: `127.0.0.1:${busy}` },
      `error: cannot listen on 127.0.0.1:${busy} (BLUEGREEN_LISTEN): the address is in use`,
      'hint: stop whatever uses it, or set BLUEGREEN_LISTEN to another host:port',
    ],
    [
      'the git address not on this machine',
      { BLUEGREEN_LISTEN: '192.0.2.1:7000' },
      'error: cannot listen on 192.0.2.1:7000 (BLUEGREEN_LISTEN): the address is not one of this machine',
      'hint: set BLUEGREEN_LISTEN to an address of this machine (127.0.0.1 for this machine only, 0.0.0.0 for all its addresses)',
    ],
    [
      'the git-over-SSH address in use',
      { BLUEGREEN_SSH_LISTEN: `127.0.0.1:${busy}` },
      `error: cannot listen on 127.0.0.1:${busy} (BLUEGREEN_SSH_LISTEN): the address is in use`,
      'hint: stop whatever uses it, or set BLUEGREEN_SSH_LISTEN to another host:port (or off)',
    ],
    [
      'the router address in use',
      { BLUEGREEN_ROUTER_LISTEN: `127.0.0.1:${busy}` },
      `error: cannot listen on 127.0.0.1:${busy} (BLUEGREEN_ROUTER_LISTEN): the address is in use`,
      'hint: stop whatever uses it, or set BLUEGREEN_ROUTER_LISTEN to another host:port',
    ],
    [
      "the green host's address in use",
      { GREEN_URL: `http://127.0.0.1:${busy}/` },
      `error: cannot listen on 127.0.0.1:${busy} (GREEN_URL): the address is in use`,
      "hint: stop whatever uses it, or set GREEN_URL to another http://127.0.0.1:PORT/ (the green host's address)",
    ],
    [
      'a data directory too deep for the engine socket',
      { BLUEGREEN_DATA_DIR: path.join(dir, 'd'.repeat(100)) },
      `error: cannot create the engine socket ${path.join(dir, 'd'.repeat(100), 'run', 'engine.sock')}: the path is longer than a unix socket allows (107 bytes)`,
      'hint: use a shorter BLUEGREEN_DATA_DIR',
    ],
  ];
  for (const [what, env, message, hint] of cases) {
    const result = await serveFails(dir, { ...embedded, ...env });
    t.equal(result.code, 2, `${what}: exit 2\n${result.stderr}`);
    t.ok(result.ms < 2000, `${what}: exits by itself at once (${result.ms} ms after the error)`);
    t.ok(result.stderr.split('\n').includes(message), `${what}: ${message}\n${result.stderr}`);
    t.ok(result.stderr.split('\n').some((line) => line.startsWith(hint)), `${what}: ${hint}`);
  }
  t.notOk(existsSync(path.join(dir, '.bluegreen', 'users.json')), 'no first user was made whose token nobody saw');
});

/** The embedded default on free ports, with the first user's token; a receive-pack POST stalled half-way. */
async function serveWithStalledPush(t: Test): Promise<{ server: RunningServe; dataDir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-stop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startServe(dir, { BLUEGREEN_LISTEN: '127.0.0.1:0', BLUE_URL: 'http://127.0.0.1:0/', GREEN_URL: 'http://127.0.0.1:0/', BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0' }, t);
  // The banner arrives in pieces: the token's line may come after the address's.
  await server.waitFor(/token \(shown only now\): \S+\n/);
  const token = /token \(shown only now\): (\S+)/.exec(server.output())?.[1] ?? '';
  const dataDir = path.join(dir, '.bluegreen');
  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  work.write('big.bin', randomBytes(1 << 20));
  const sha = work.commit();
  const pack = execFileSync('git', ['pack-objects', '--stdout', '--revs', '-q'], { cwd: work.dir, input: `${sha}\n`, env: cleanEnv(), maxBuffer: 64 << 20 });
  const command = `${'0'.repeat(40)} ${sha} refs/heads/main\0 report-status side-band-64k\n`;
  const body = Buffer.concat([Buffer.from(`${(command.length + 4).toString(16).padStart(4, '0')}${command}0000`), pack]);
  const url = new URL(server.gitUrl);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path: '/blue.git/git-receive-pack',
    headers: { 'content-length': String(body.length), authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` },
  });
  req.on('error', () => {});
  req.write(body.subarray(0, body.length >> 1));
  t.teardown(() => req.destroy());
  await waitUntil(() => serverChildren(dataDir).some((p) => /git-receive-pack/.test(p.command)), () => 'git-receive-pack never started');
  return { server, dataDir };
}

t.test('SIGTERM with a push under way: serve waits the grace period, then ends it and exits', async (t) => {
  const { server, dataDir } = await serveWithStalledPush(t);
  const before = Date.now();
  t.equal(await server.stop('SIGTERM'), 0);
  const ms = Date.now() - before;
  t.ok(ms >= 9000 && ms < 15_000, `exited after the 10 s grace period (${ms} ms)`);
  t.match(server.output(), 'SIGTERM: shutting down (pushes under way get up to 10 s to finish; signal again to end them now)');
  t.match(server.output(), 'git: ending 1 git process(es) still running');
  t.same(serverChildren(dataDir), [], 'no git process is left');
});

t.test('a second SIGINT ends the pushes under way at once', async (t) => {
  const { server, dataDir } = await serveWithStalledPush(t);
  const before = Date.now();
  server.child.kill('SIGINT');
  await server.waitFor(/SIGINT: shutting down/);
  const exited = server.stop('SIGINT');
  t.equal(await exited, 0);
  const ms = Date.now() - before;
  t.ok(ms < 5000, `exited in ${ms} ms`);
  t.match(server.output(), 'SIGINT again: ending the pushes under way now');
  t.same(serverChildren(dataDir), [], 'no git process is left');
});

t.test('SIGTERM with nothing under way: serve exits at once', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-stop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startServe(dir, { BLUEGREEN_LISTEN: '127.0.0.1:0', BLUE_URL: 'http://127.0.0.1:0/', GREEN_URL: 'http://127.0.0.1:0/', BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0' }, t);
  const before = Date.now();
  t.equal(await server.stop('SIGTERM'), 0);
  t.ok(Date.now() - before < 5000, `exited in ${Date.now() - before} ms`);
});
