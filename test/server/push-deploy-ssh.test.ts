/**
 * End to end over SSH: real `git push` with the real OpenSSH client to the real `bluegreen serve`, deploying to
 * real OpenSSH hosts. The same engine, lock and history as a push over HTTP. One server for all the subtests.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { cleanEnv, requireBuild, runCli } from '../helpers/bluegreen.js';
import { push, setupPush } from '../helpers/push-setup.js';

requireBuild();

t.test('one served bluegreen, pushed to over SSH', async (t) => {
  const { hosts, env, server, work, current } = await setupPush(t);
  const key = path.join(hosts.dir, 'alice_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  // Given to alice while the server runs.
  const added = await runCli(hosts.dir, ['user', 'key', 'add', 'alice', `${key}.pub`], env);
  t.equal(added.code, 0, added.stderr);
  const sshUrl = /git over SSH on (\S+) \(host key (\S+)\)/.exec(server.output());
  const port = new URL((sshUrl?.[1] ?? '').replace(/^ssh:/, 'http:')).port;
  const knownHosts = path.join(hosts.dir, 'git_known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(path.join(hosts.dataDir, 'ssh_host_ed25519_key.pub'), 'utf8')}`);
  const sshCommand = `ssh -F /dev/null -i ${key} -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o UserKnownHostsFile=${knownHosts}`;
  for (const colour of ['blue', 'green']) work.git('remote', 'add', `${colour}-ssh`, `${sshUrl?.[1]}/${colour}.git`);
  work.git('config', 'core.sshCommand', sshCommand);

  await t.test('a push over SSH deploys, with progress, recorded as by its pusher', async (t) => {
    work.write('index.html', 'over ssh');
    const sha = work.commit('over ssh');
    const pushed = await push(work, 'blue-ssh', 'main');
    t.equal(pushed.code, 0, pushed.output);
    t.match(pushed.output, new RegExp(`remote: deployed ${sha.slice(0, 12)} to blue in \\d+\\.\\d+ s`));
    t.equal(readFileSync(current('blue', 'REVISION'), 'utf8'), `${sha}\n`);
    const history = await runCli(hosts.dir, ['history'], env);
    t.match(history.stdout, new RegExp(`deploy    blue   ${sha.slice(0, 12)}  by alice, `));
  });

  await t.test('a failed deploy over SSH rejects the push with a non-zero exit', async (t) => {
    chmodSync(hosts.appRoots.green, 0o555);
    t.teardown(() => chmodSync(hosts.appRoots.green, 0o755));
    work.write('index.html', 'doomed');
    work.commit('doomed');
    const pushed = await push(work, 'green-ssh', 'main');
    t.not(pushed.code, 0);
    t.match(pushed.output, /remote: error: cannot deploy to green \(bluegreen-test@127\.0\.0\.3:\d+\): the app root .* is not writable by the deploy user/);
    t.match(pushed.output, /\[remote rejected\] main -> main/);
    t.notOk(existsSync(current('green')), 'green serves nothing');
  });

  await t.test('a client killed mid-push leaves no lock: the engine stops before the switch', async (t) => {
    const first = readFileSync(current('blue', 'REVISION'), 'utf8');
    for (let i = 0; i < 3000; i++) work.write(`a/${i}.txt`, `${i}`.repeat(200));
    work.commit('big');
    const lockFile = path.join(hosts.dataDir, 'locks', 'blue.lock');
    // Its own process group, to cut the client (git and ssh) as a whole.
    const client = spawn('git', ['push', 'blue-ssh', 'main'], { cwd: work.dir, env: cleanEnv(), detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => client.on('exit', resolve));
    while (!existsSync(lockFile) && client.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    t.equal(client.exitCode, null, 'the push took the lock');
    process.kill(-client.pid!, 'SIGKILL');
    await exited;
    while (existsSync(lockFile)) await new Promise((r) => setTimeout(r, 20));
    t.equal(readFileSync(current('blue', 'REVISION'), 'utf8'), first, 'current was not switched');
    work.git('rm', '-rq', 'a');
    work.commit('small again');
    const again = await push(work, 'blue-ssh', 'main');
    t.equal(again.code, 0, `the next push goes through: ${again.output}`);
  });
});
