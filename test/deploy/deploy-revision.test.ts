/**
 * `bluegreen deploy COLOUR [REVISION]`, end to end: the real program against real OpenSSH hosts, next to a real
 * `bluegreen serve` that the pushes go through. Blue starts as one host (127.0.0.2); a second (127.0.0.4) is
 * added to BLUE_HOST for the commands that deploy to both.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { updateMain } from '../../src/adapters/git/update-main.js';
import { readHistory } from '../../src/adapters/state/history.js';
import { routerStateFile, writeRouterState } from '../../src/adapters/providers/local/router.js';
import type { DeployRecord } from '../../src/adapters/state/history.js';
import { BIN, type CliResult, cleanEnv, requireBuild, runCli } from '../helpers/bluegreen.js';
import { push, setupPush } from '../helpers/push-setup.js';
import { ensureTestUser, startSshd } from '../helpers/sshd.js';

requireBuild();

/** A served blue of one host with v1 then v2 pushed, and the environment of a blue of two hosts. */
async function setup(t: Test) {
  const s = await setupPush(t);
  const user = ensureTestUser();
  const extra = await startSshd({ address: '127.0.0.4', user: user.name }, t);
  appendFileSync(extra.authorizedKeysPath, `${s.hosts.blue.clientPublicKey}\n`);
  appendFileSync(s.hosts.knownHostsPath, readFileSync(extra.knownHostsPath, 'utf8'));
  const hostsDir = mkdtempSync('/tmp/bluegreen-deploy-');
  t.teardown(() => rmSync(hostsDir, { recursive: true, force: true }));
  const second = path.join(hostsDir, 'blue two');
  mkdirSync(second, { recursive: true });
  chownSync(hostsDir, user.uid, user.gid);
  chownSync(second, user.uid, user.gid);
  const roots = [s.hosts.appRoots.blue, second];
  const env = { ...s.env, SUDO_USER: 'carol' };
  const twoHosts = { ...env, BLUE_HOST: `${s.env.BLUE_HOST},ssh://${user.name}@127.0.0.4:${extra.port}${encodeURI(second)}` };

  s.work.write('index.html', 'v1');
  const v1 = s.work.commit('v1');
  t.equal((await push(s.work, 'blue', 'main')).code, 0);
  s.work.write('index.html', 'v2').write('about.html', 'about');
  const v2 = s.work.commit('v2');
  t.equal((await push(s.work, 'blue', 'main')).code, 0);

  const deploy = (args: string[], withEnv: Record<string, string> = twoHosts) => runCli(s.hosts.dir, ['deploy', ...args], withEnv);
  const serving = (root: string) => ({ release: readlinkSync(path.join(root, 'current')), revision: readFileSync(path.join(root, 'current', 'REVISION'), 'utf8').trim() });
  const deploys = async () => (await readHistory(s.hosts.dataDir)).filter((r): r is DeployRecord => r.type === 'deploy');
  return { ...s, env, twoHosts, roots, v1, v2, deploy, serving, deploys };
}

t.test('a host added to the colour gets the full release, and an older revision moves main back', async (t) => {
  const { roots, v1, v2, deploy, serving, deploys, branchOf, work } = await setup(t);
  const [first = '', added = ''] = roots;
  const pushed = serving(first);

  const again = await deploy(['blue']);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stderr, new RegExp(`^deploying ${v2.slice(0, 12)} to blue on 2 hosts$`, 'm'));
  t.match(again.stderr, /^\[bluegreen-test@127\.0\.0\.2:\d+\] files: 0 added, 0 changed, 0 removed since \d{14}-[0-9a-f]{12}$/m, 'the host that has it: incremental, empty');
  t.match(again.stderr, /^\[bluegreen-test@127\.0\.0\.4:\d+\] files: 2 \(full deploy\)$/m, 'the new host: full');
  t.notMatch(again.stderr, /main on blue/, 'main already named it');
  t.match(again.stdout, new RegExp(`^deployed ${v2.slice(0, 12)} to blue \\(2 hosts\\) in \\d+\\.\\d+ s\\n$`));
  t.same(serving(added), serving(first), 'the same release on both hosts');
  t.equal(serving(added).revision, v2);
  t.not(serving(first).release, pushed.release, 'a new release');
  t.equal(readFileSync(path.join(added, 'current', 'about.html'), 'utf8'), 'about');
  t.equal(await branchOf('blue'), v2);

  const back = await deploy(['blue', v1.slice(0, 12)]);
  t.equal(back.code, 0, back.stderr);
  t.match(back.stderr, new RegExp(`^deploying ${v1.slice(0, 12)} to blue on 2 hosts$`, 'm'));
  t.match(back.stderr, new RegExp(`^main on blue: ${v2.slice(0, 12)} -> ${v1.slice(0, 12)}$`, 'm'));
  t.match(back.stdout, new RegExp(`^deployed ${v1.slice(0, 12)} to blue \\(2 hosts\\)`));
  t.same(serving(added), serving(first), 'the same release on both hosts');
  t.equal(serving(first).revision, v1);
  t.equal(readFileSync(path.join(added, 'current', 'index.html'), 'utf8'), 'v1');
  t.equal(await branchOf('blue'), v1, 'main names what the hosts serve');

  const records = (await deploys()).slice(0, 2);
  t.same(
    records.map((r) => ({ revision: r.revision, release: r.release, outcome: r.outcome, by: r.by, hosts: r.hosts?.length })),
    [
      { revision: v1, release: serving(first).release.replace('releases/', ''), outcome: 'deployed', by: 'carol', hosts: 2 },
      { revision: v2, release: records[1]?.release ?? '', outcome: 'deployed', by: 'carol', hosts: 2 },
    ],
    'history records each deploy, by the login name, with its hosts',
  );
  t.match(records[1]?.hosts, [/127\.0\.0\.2/, /127\.0\.0\.4/]);

  // The server's main moved with the deploy: a push on top of what it now names is an ordinary one.
  work.write('index.html', 'v3');
  const v3 = work.commit('v3');
  const next = await push(work, 'blue', 'main');
  t.equal(next.code, 0, next.output);
  t.equal(await branchOf('blue'), v3);
});

t.test('the live colour is refused without --force-live', async (t) => {
  const { hosts, env, roots, v1, v2, deploy, serving, branchOf } = await setup(t);
  const [first = ''] = roots;
  await writeRouterState(routerStateFile(hosts.dataDir), 'blue');
  const before = serving(first);

  const refused = await deploy(['blue', v1], env);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^error: refused: blue is live, it serves production traffic\nhint: deploy to green and flip, or deploy to the live colour anyway with `bluegreen deploy blue --force-live`\n$/);
  t.equal(refused.stdout, '');
  t.same(serving(first), before, 'nothing deployed');
  t.equal(await branchOf('blue'), v2);

  const forced = await deploy(['blue', v1, '--force-live'], env);
  t.equal(forced.code, 0, forced.stderr);
  t.match(forced.stderr, /^force-live: deploying to blue, which serves production traffic$/m);
  t.equal(serving(first).revision, v1);
  t.equal(await branchOf('blue'), v1);
});

t.test('an unknown revision, a colour never pushed to, a bad colour', async (t) => {
  const { env, deploys, deploy } = await setup(t);
  const recorded = (await deploys()).length;

  const unknown = await deploy(['blue', 'nope'], env);
  t.equal(unknown.code, 1);
  t.equal(
    unknown.stderr,
    'error: unknown revision "nope": blue\'s repository has no such branch, tag or commit\n' +
      'hint: push it to blue first: `git push blue nope` stores a branch or tag there without deploying it (for a commit, push a branch that holds it)\n',
  );

  const option = await deploy(['blue', '--', '--output=/tmp/x'], env);
  t.equal(option.code, 1, 'a revision that looks like an option is no revision');
  t.match(option.stderr, /^error: unknown revision "--output=\/tmp\/x": blue's repository/);

  const never = await deploy(['green'], env);
  t.equal(never.code, 1);
  t.equal(
    never.stderr,
    'error: unknown revision "main": green\'s repository has no such branch, tag or commit\nhint: nothing was pushed to green yet: `git push green main` deploys it\n',
  );

  const colour = await deploy(['purple'], env);
  t.equal(colour.code, 2);
  t.match(colour.stderr, /^error: "purple" is not a colour: expected blue or green$/m);
  t.equal((await deploys()).length, recorded, 'none of them is a deploy');
});

/** `bluegreen ARGS` as a child whose error output can be watched while it runs. */
function startCli(cwd: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  const waitFor = async (pattern: RegExp) => {
    const deadline = Date.now() + 15_000;
    while (!pattern.test(stderr)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${pattern} in:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { done, waitFor };
}

t.test('main moving while the deploy waits for the lock: nothing is deployed', async (t) => {
  const { hosts, env, roots, v1, v2, serving, deploys, branchOf, repoDir } = await setup(t);
  const lock = path.join(hosts.dataDir, 'locks', 'blue.lock');
  writeFileSync(lock, JSON.stringify({ pid: process.pid, holder: 'dave', purpose: 'deploy', since: new Date().toISOString() }));
  const cli = startCli(hosts.dir, ['deploy', 'blue'], env);
  await cli.waitFor(/^waiting: blue is busy with a deploy by dave since /m);
  // What dave's deploy did while this one waited.
  await updateMain(repoDir('blue'), v1, v2);
  rmSync(lock);
  const result = await cli.done;
  t.equal(result.code, 1, result.stderr);
  t.match(
    result.stderr,
    new RegExp(
      `^error: refused: main on blue moved to ${v1.slice(0, 12)} while this deploy waited; nothing was deployed\\nhint: see \`bluegreen history\`, then run \`bluegreen deploy blue\` again if it is still wanted\\n$`,
      'm',
    ),
  );
  t.equal(await branchOf('blue'), v1);
  t.not(serving(roots[0] ?? '').revision, v2, 'v2, which was asked for, is not served');
  t.match((await deploys())[0], { outcome: 'failed', revision: v2, error: /^refused: main on blue moved/ });
});

t.test('main that cannot be moved: the hosts go back', async (t) => {
  const { env, roots, v1, v2, deploy, serving, deploys, branchOf, repoDir } = await setup(t);
  const before = serving(roots[0] ?? '');
  // git's own lock on main, as a git process holding it would leave.
  const mainLock = path.join(repoDir('blue'), 'refs', 'heads', 'main.lock');
  writeFileSync(mainLock, '');
  t.teardown(() => rmSync(mainLock, { force: true }));

  const result = await deploy(['blue', v1], env);
  t.equal(result.code, 1);
  t.match(result.stderr, /^current -> releases\/\d{14}-[0-9a-f]{12} \(switched in /m, 'the host switched');
  t.match(result.stderr, /^current -> releases\/\d{14}-[0-9a-f]{12} again \(switched back\)$/m, 'then back');
  t.match(result.stderr, new RegExp(`^error: could not move main on blue to ${v1.slice(0, 12)} \\(.*main\\.lock.*\\); the hosts were switched back$`, 'm'));
  t.same(serving(roots[0] ?? ''), before, 'the host serves what it served');
  t.equal(await branchOf('blue'), v2);
  t.match((await deploys())[0], { outcome: 'failed', revision: v1, error: /^could not move main on blue/ });
});
