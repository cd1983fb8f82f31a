/**
 * Colours of several hosts, end to end: real `git push` to the real `bluegreen serve`, two real OpenSSH hosts in
 * blue (127.0.0.2 and 127.0.0.4). Prepared on every host, switched together, or on none.
 */
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { requireBuild, runCli, startServe, startTwoHosts } from '../helpers/bluegreen.js';
import { WorkRepo } from '../helpers/git-repo.js';
import { push } from '../helpers/push-setup.js';
import { ensureTestUser, startSshd } from '../helpers/sshd.js';

requireBuild();

async function fleet(t: Test) {
  const hosts = await startTwoHosts(t);
  const user = ensureTestUser();
  const extra = await startSshd({ address: '127.0.0.4', user: user.name }, t);
  appendFileSync(extra.authorizedKeysPath, `${hosts.blue.clientPublicKey}\n`);
  appendFileSync(hosts.knownHostsPath, readFileSync(extra.knownHostsPath, 'utf8'));
  const hostsDir = mkdtempSync('/tmp/bluegreen-fleet-');
  t.teardown(() => rmSync(hostsDir, { recursive: true, force: true }));
  const second = path.join(hostsDir, 'blue two');
  mkdirSync(second, { recursive: true });
  chownSync(hostsDir, user.uid, user.gid);
  chownSync(second, user.uid, user.gid);
  const roots = [hosts.appRoots.blue, second];
  const env = { ...hosts.env, BLUE_HOST: `${hosts.env.BLUE_HOST},ssh://${user.name}@127.0.0.4:${extra.port}${encodeURI(second)}` };
  const added = await runCli(hosts.dir, ['user', 'add', 'alice'], env);
  const token = added.stdout.split('\n')[1] ?? '';
  const server = await startServe(hosts.dir, env, t);
  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  work.git('remote', 'add', 'blue', `http://alice:${token}@${new URL(server.gitUrl).host}/blue.git`);
  return { hosts, extra, roots, env, server, work };
}

t.test('a push prepares on every host of the colour, then switches all to one release', async (t) => {
  const { hosts, roots, work } = await fleet(t);
  work.write('index.html', 'v1');
  const v1 = work.commit('v1');
  const result = await push(work, 'blue', 'main');
  t.equal(result.code, 0, result.output);
  t.match(result.output, /remote: deploying [0-9a-f]{12} to blue on 2 hosts/);
  t.match(result.output, /remote: \[bluegreen-test@127\.0\.0\.2:\d+\] files: 1 \(full deploy\)/);
  t.match(result.output, /remote: \[bluegreen-test@127\.0\.0\.4:\d+\] files: 1 \(full deploy\)/);
  t.match(result.output, new RegExp(`remote: deployed ${v1.slice(0, 12)} to blue \\(2 hosts\\) in \\d+\\.\\d+ s`));
  const releases = roots.map((root) => readlinkSync(path.join(root, 'current')));
  t.equal(releases[0], releases[1], 'the same release id on every host');
  for (const root of roots) t.equal(readFileSync(path.join(root, 'current', 'REVISION'), 'utf8'), `${v1}\n`);
  const record = JSON.parse(readFileSync(path.join(hosts.dataDir, 'history.jsonl'), 'utf8').split('\n').filter(Boolean).at(-1) ?? '{}') as { hosts?: string[] };
  t.equal(record.hosts?.length, 2, 'history names both hosts');
});

t.test('one host down: no host switches, and the refusal names it', async (t) => {
  const { roots, work, extra } = await fleet(t);
  work.write('index.html', 'v1');
  const v1 = work.commit('v1');
  t.equal((await push(work, 'blue', 'main')).code, 0);
  await extra.stop();
  work.write('index.html', 'v2');
  work.commit('v2');
  const result = await push(work, 'blue', 'main');
  t.not(result.code, 0);
  // The server usually knows both hosts from the last push and finds the dead one when it starts preparing
  // there; if the host died before the last deploy's tidying reported its state, it is found on reading it.
  t.match(
    result.output,
    /remote: error: (preparing the release failed on 1 of 2 hosts of blue; no host was switched|reading the host failed on 1 of 2 hosts of blue; nothing was deployed):\s+remote:\s+bluegreen-test@127\.0\.0\.4:\d+: cannot reach/,
  );
  t.equal(readFileSync(path.join(roots[0] ?? '', 'current', 'index.html'), 'utf8'), 'v1', 'the host that was up did not switch');
  t.equal(readFileSync(path.join(roots[0] ?? '', 'current', 'REVISION'), 'utf8'), `${v1}\n`);
});

t.test('one host down before the server first reads it: nothing is deployed, and the refusal names it', async (t) => {
  const { roots, work, extra } = await fleet(t);
  await extra.stop();
  work.write('index.html', 'v1');
  work.commit('v1');
  const result = await push(work, 'blue', 'main');
  t.not(result.code, 0);
  t.match(result.output, /remote: error: reading the host failed on 1 of 2 hosts of blue; nothing was deployed:\s+remote:\s+bluegreen-test@127\.0\.0\.4:\d+: cannot reach/);
  t.notOk(existsSync(path.join(roots[0] ?? '', 'current')), 'the host that was up got nothing');
});

t.test('a switch failing on one host puts the others back on their previous release', async (t) => {
  const { hosts, roots, work } = await fleet(t);
  work.write('index.html', 'v1');
  const v1 = work.commit('v1');
  t.equal((await push(work, 'blue', 'main')).code, 0);
  const before = readlinkSync(path.join(roots[0] ?? '', 'current'));
  // On the second host, a file stands where the new release must go: preparing works, switching cannot.
  work.write('index.html', 'v2');
  const v2 = work.commit('v2');
  const user = ensureTestUser();
  const now = Date.now();
  for (let s = -5; s < 120; s++) {
    const id = `${new Date(now + s * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${v2.slice(0, 12)}`;
    const file = path.join(roots[1] ?? '', 'releases', id);
    writeFileSync(file, 'in the way');
    chownSync(file, user.uid, user.gid);
  }
  const result = await push(work, 'blue', 'main');
  t.not(result.code, 0, result.output);
  // Over HTTP the switch's refusal reaches the pusher only as a failed push (git's receive-pack dies there);
  // history and the server log say why.
  t.match(result.output, /remote: ready on blue; switching as git updates main/);
  const history = readFileSync(path.join(hosts.dataDir, 'history.jsonl'), 'utf8');
  t.match(history, /switching current failed on 1 of 2 hosts of blue; the hosts that switched went back; nothing was deployed:\\n  bluegreen-test@127\.0\.0\.4:\d+: /);
  t.equal(readlinkSync(path.join(roots[0] ?? '', 'current')), before, 'the host that switched went back');
  t.equal(readFileSync(path.join(roots[0] ?? '', 'current', 'REVISION'), 'utf8'), `${v1}\n`);
  t.notOk(existsSync(path.join(roots[0] ?? '', 'releases', readlinkSync(path.join(roots[0] ?? '', 'current')).replace('releases/', ''), 'nothing')));
});
