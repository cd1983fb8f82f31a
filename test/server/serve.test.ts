import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { cleanEnv, requireBuild, type RunningServe, runCli, startServe } from '../helpers/bluegreen.js';
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
