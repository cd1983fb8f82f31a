/**
 * Application hooks and shared paths, through the deploy engine, on a colour of two real OpenSSH hosts
 * (127.0.0.2 and 127.0.0.3, logging in as the unprivileged deploy user). One pair of hosts for the whole file;
 * each subtest deploys into app roots of its own.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { RevisionReader } from '../../src/adapters/git/revisions.js';
import { readHistory } from '../../src/adapters/state/history.js';
import { readSchemaVersion, writeSchemaVersion } from '../../src/adapters/state/schema-version.js';
import { SshTransport } from '../../src/adapters/ssh/ssh-transport.js';
import type { Colour } from '../../src/core/colour.js';
import type { Config } from '../../src/core/config.js';
import { UserError } from '../../src/core/errors.js';
import { createDeployEngine } from '../../src/deploy/deploy-engine.js';
import { PosixReleasesTarget } from '../../src/deploy/targets/posix-releases.js';
import { startTwoHosts } from '../helpers/bluegreen.js';
import { WorkRepo } from '../helpers/git-repo.js';
import { commitAndSettle } from '../helpers/settle.js';
import { ensureTestUser } from '../helpers/sshd.js';

const user = ensureTestUser();
const hosts = await startTwoHosts(t);
const hostsDir = mkdtempSync('/tmp/bluegreen-hooks-');
chownSync(hostsDir, user.uid, user.gid);
t.teardown(() => execFileSync('rm', ['-rf', hostsDir]));
let serial = 0;

/** Every file under `dir` (links not followed) with its content and mode. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, entry);
    const stat = statSync(full, { throwIfNoEntry: false });
    out[entry] = stat?.isFile() ? `${stat.mode.toString(8)} ${readFileSync(full, 'utf8')}` : 'other';
  }
  return out;
}

const HOOK = (body: string) => `#!/bin/sh\nset -e\n${body}\n`;

function setup(t: Test, options: { shared?: string[]; timeoutSeconds?: number } = {}) {
  const roots = ['one', 'two'].map((name) => {
    const root = path.join(hostsDir, `${++serial}-${name}`);
    mkdirSync(root);
    chownSync(root, user.uid, user.gid);
    return root;
  }) as [string, string];
  const work = new WorkRepo();
  const dataDir = mkdtempSync('/tmp/bluegreen-hooks-data-');
  t.teardown(() => {
    work.cleanup();
    execFileSync('rm', ['-rf', dataDir]);
  });
  const targets = [hosts.blue, hosts.green].map(
    (sshd, i) =>
      new PosixReleasesTarget(
        new SshTransport({ host: sshd.host, port: sshd.port, user: user.name, privateKey: readFileSync(hosts.keyPath), knownHostsPath: hosts.knownHostsPath }),
        roots[i] as string,
        'blue',
      ),
  );
  t.teardown(() => Promise.all(targets.map((target) => target.close())));
  const labels = targets.map((target) => target.label);
  const config = {
    dataDir,
    lockWaitMs: 1000,
    parallel: 10,
    keepReleases: 5,
    sharedPaths: options.shared ?? [],
    hookTimeoutSeconds: options.timeoutSeconds ?? 60,
    hosts: { blue: [], green: [] },
  } as unknown as Config;
  let live: Colour | undefined;
  const lines: { at: number; line: string }[] = [];
  const say = (line: string) => lines.push({ at: Date.now(), line });
  const engine = createDeployEngine({ config: () => config, targets: () => targets, liveColour: async () => live, log: say });
  const deploy = async (revision: string, extra: { forceSchema?: boolean } = {}) => {
    const prepared = await engine.prepare({ colour: 'blue', revision, by: 'alice', reader: new RevisionReader(path.join(work.dir, '.git')), say, forceLive: true, ...extra });
    await commitAndSettle(prepared, say);
    await engine.idle();
    return prepared.release;
  };
  const current = (i: 0 | 1) => readlinkSync(path.join(roots[i], 'current'));
  const text = () => lines.map((l) => l.line).join('\n');
  return { roots, work, labels, deploy, lines, text, current, dataDir, setLive: (c: Colour | undefined) => void (live = c) };
}

t.test('build, migrate and restart run where and when they should, with the documented environment; older releases never change', async (t) => {
  const { roots, work, labels, deploy, lines, text, current } = setup(t);
  work.write('index.html', 'tracked\n');
  work.write('gone.txt', 'removed by v3\n');
  work.write(
    '.bluegreen/hooks/build',
    HOOK(
      [
        'echo "building in $(pwd)"',
        'echo "before the pause"',
        'sleep 1',
        'echo "after the pause" >&2',
        'echo built >> index.html', // appends to a tracked file in place
        'echo "$BLUEGREEN_REVISION" >> generated.txt', // rewrites what an earlier build made, if it were carried over
        'env | grep ^BLUEGREEN_ | sort > build-env.txt',
      ].join('\n'),
    ),
    0o755,
  );
  work.write('.bluegreen/hooks/migrate', HOOK('echo "migrated $BLUEGREEN_REVISION" >> "$BLUEGREEN_APP_ROOT/migrations.log"'), 0o755);
  work.write('.bluegreen/hooks/restart', HOOK('echo "restart $(pwd -P) current=$(readlink "$BLUEGREEN_APP_ROOT/current")" >> "$BLUEGREEN_APP_ROOT/restarts.log"'), 0o755);
  const v1 = work.commit('v1');
  const r1 = await deploy(v1);
  const firstDir = path.join(roots[0], 'releases', r1);
  const before = snapshot(firstDir);

  work.write('index.html', 'tracked v2\n');
  const v2 = work.commit('v2');
  const r2 = await deploy(v2);
  for (const i of [0, 1] as const) {
    t.equal(current(i), `releases/${r2}`);
    const release = path.join(roots[i], 'current');
    t.equal(readFileSync(path.join(release, 'index.html'), 'utf8'), 'tracked v2\nbuilt\n', 'the build saw exactly the commit');
    t.equal(readFileSync(path.join(release, 'generated.txt'), 'utf8'), `${v2}\n`, 'nothing an earlier build made was carried over');
    t.match(readFileSync(path.join(roots[i], 'restarts.log'), 'utf8'), `restart ${roots[i]}/releases/${r2} current=releases/${r2}`, 'restart ran in the new release after the switch');
  }
  t.same(snapshot(firstDir), before, 'the previous release is byte-identical');
  t.equal(readFileSync(path.join(roots[0], 'migrations.log'), 'utf8'), `migrated ${v1}\nmigrated ${v2}\n`, 'migrate ran once per deploy, on the first host');
  t.notOk(existsSync(path.join(roots[1], 'migrations.log')), 'and not on the second');
  const env = readFileSync(path.join(roots[1], 'current', 'build-env.txt'), 'utf8');
  for (const line of [
    'BLUEGREEN_COLOUR=blue',
    `BLUEGREEN_REVISION=${v2}`,
    `BLUEGREEN_RELEASE=${r2}`,
    `BLUEGREEN_RELEASE_DIR=${roots[1]}/releases/${r2}`,
    `BLUEGREEN_PREVIOUS_RELEASE_DIR=${roots[1]}/releases/${r1}`,
    `BLUEGREEN_APP_ROOT=${roots[1]}`,
    `BLUEGREEN_SHARED_DIR=${roots[1]}/shared`,
    `BLUEGREEN_HOST=${labels[1]}`,
    'BLUEGREEN_PUSHER=alice',
    'BLUEGREEN_LIVE=false',
  ]) {
    t.ok(env.split('\n').includes(line), line);
  }
  // Live and in order: the line printed before the pause arrived a second before the one after it.
  const at = (line: string) => lines.find((l) => l.line === line)?.at ?? NaN;
  const beforePause = at(`[${labels[0]}] build: before the pause`);
  const afterPause = at(`[${labels[0]}] build: after the pause`);
  t.ok(afterPause - beforePause >= 800, `"before the pause" arrived ${afterPause - beforePause} ms before "after the pause"`);
  t.match(text(), new RegExp(`\\[${(labels[1] ?? "").replace(/[.[\]]/g, '\\$&')}\\] build: building in ${roots[1]}/releases/\\.staging-`));

  // A one-file change: the release is the copy of the tree made after the last deploy, given that change.
  const second = snapshot(path.join(roots[0], 'releases', r2));
  work.write('other.txt', 'v3\n');
  work.git('rm', '-q', 'gone.txt');
  const v3 = work.commit('v3');
  t.equal(readFileSync(path.join(roots[0], 'releases', '.copy', 'REVISION'), 'utf8'), `${v2}\n`, 'a copy of the tree was made ready after the deploy');
  const copied = statSync(path.join(roots[0], 'releases', '.copy', '.bluegreen', 'hooks', 'migrate')).ino;
  const r3 = await deploy(v3);
  t.equal(statSync(path.join(roots[0], 'releases', r3, '.bluegreen', 'hooks', 'migrate')).ino, copied, 'the ready copy became the release');
  for (const i of [0, 1] as const) {
    const release = path.join(roots[i], 'releases', r3);
    t.equal(readFileSync(path.join(release, 'index.html'), 'utf8'), 'tracked v2\nbuilt\n', 'the build again saw exactly the commit');
    t.equal(readFileSync(path.join(release, 'other.txt'), 'utf8'), 'v3\n');
    t.equal(readFileSync(path.join(release, 'generated.txt'), 'utf8'), `${v3}\n`);
    t.equal(readFileSync(path.join(release, 'REVISION'), 'utf8'), `${v3}\n`);
    t.notOk(existsSync(path.join(release, 'gone.txt')), 'a removed file is gone');
    t.equal(readFileSync(path.join(roots[i], 'releases', '.copy', 'index.html'), 'utf8'), 'tracked v2\n', 'the next copy is of the commit, not of a build');
  }
  t.same(snapshot(path.join(roots[0], 'releases', r2)), second, 'the release before it is byte-identical');
});

t.test('a failing build on one host: no host switches, and the refusal quotes its last lines', async (t) => {
  const { roots, work, deploy, current } = setup(t);
  work.write('index.html', 'v1');
  const r1 = await deploy(work.commit('v1'));
  work.write('.bluegreen/hooks/build', HOOK('echo "compiling"\ncase $BLUEGREEN_APP_ROOT in *-two) echo "error: out of cheese"; exit 3;; esac'), 0o755);
  work.write('.bluegreen/hooks/restart', 'not executable', 0o644);
  const error = await deploy(work.commit('v2')).catch((e: unknown) => e);
  t.ok(error instanceof UserError);
  t.match((error as Error).message, /preparing the release failed on 1 of 2 hosts of blue; no host was switched/);
  t.match((error as Error).message, /the build hook failed \(exit code 3\); its last lines:\n\s+compiling\n\s+error: out of cheese/);
  t.equal((error as UserError).hint, 'fix .bluegreen/hooks/build (it runs in the release directory, as the deploy user) and push again');
  for (const i of [0, 1] as const) {
    t.equal(current(i), `releases/${r1}`, 'still on the previous release');
    t.same(readdirSync(path.join(roots[i], 'releases')).filter((e) => e.startsWith('.staging')), [], 'nothing staged left');
  }
});

t.test('a failing restart on one host: every host goes back to its previous release and restarts there', async (t) => {
  const { roots, work, deploy, current, text } = setup(t);
  const restart = HOOK('echo "restart $BLUEGREEN_REVISION" >> "$BLUEGREEN_APP_ROOT/restarts.log"\n[ ! -e fail-restart ] || case $BLUEGREEN_APP_ROOT in *-two) exit 4;; esac');
  work.write('.bluegreen/hooks/restart', restart, 0o755).write('.bluegreen/hooks/migrate', 'x', 0o644);
  const v1 = work.commit('v1');
  const r1 = await deploy(v1);
  t.match(text(), /migrate: skipped: \.bluegreen\/hooks\/migrate is not executable/);
  t.match(text(), /build: skipped: the commit has no \.bluegreen\/hooks\/build/);
  work.write('fail-restart', '');
  const v2 = work.commit('v2');
  const error = await deploy(v2).catch((e: unknown) => e);
  t.match((error as Error).message, /the restart hook failed \(exit code 4\)/);
  for (const i of [0, 1] as const) {
    t.equal(current(i), `releases/${r1}`, 'back on the previous release');
    t.equal(readFileSync(path.join(roots[i], 'restarts.log'), 'utf8'), `restart ${v1}\nrestart ${v2}\nrestart ${v1}\n`, 'restarted in the new release, then in the previous one again');
  }
});

t.test('a hook past BLUEGREEN_HOOK_TIMEOUT is killed with its children, and the deploy fails saying so', async (t) => {
  const { roots, work, deploy, current } = setup(t, { timeoutSeconds: 1 });
  const marker = `hook-timeout-${process.pid}-${serial}`;
  work.write('.bluegreen/hooks/build', HOOK(`echo "starting"\nsh -c 'sleep 300; : ${marker}' &\nsh -c 'trap "" TERM; sleep 301; : ${marker}' &\nsleep 302`), 0o755);
  const error = await deploy(work.commit('slow')).catch((e: unknown) => e);
  t.match((error as Error).message, /the build hook took longer than BLUEGREEN_HOOK_TIMEOUT \(1 s\) and was killed with its children/);
  t.equal((error as UserError).hint, 'make .bluegreen/hooks/build finish sooner, or raise BLUEGREEN_HOOK_TIMEOUT');
  t.throws(() => execFileSync('pgrep', ['-u', user.name, '-f', marker]), 'no process of the hook is left on the host');
  t.throws(() => current(0), 'nothing switched');
  t.same(readdirSync(path.join(roots[0], 'releases')).filter((e) => !e.startsWith('.tree')), [], 'nothing staged left');
});

t.test('shared paths: a missing file fails naming it; directories are created and seeded, and outlive releases', async (t) => {
  const { roots, work, deploy, text, current } = setup(t, { shared: ['.env', 'public/uploads/'] });
  work.write('public/uploads/seed.txt', 'seed').write('.env', 'FROM_GIT=1').write('index.html', 'v1');
  const v1 = work.commit('v1');
  const error = await deploy(v1).catch((e: unknown) => e);
  t.match((error as Error).message, /the shared file \.env \(BLUEGREEN_SHARED_PATHS\) is missing on the host/);
  t.match((error as UserError).hint ?? '', `create ${roots[0]}/shared/.env on the host`);
  t.throws(() => current(0), 'nothing switched');
  for (const root of roots) {
    writeFileSync(path.join(root, 'shared', '.env'), 'SECRET=1');
    chownSync(path.join(root, 'shared', '.env'), user.uid, user.gid);
  }
  await deploy(v1);
  t.match(text(), /shared: created shared\/public\/uploads from the release/);
  t.match(text(), /shared: \.env from the commit is replaced by the link to shared\/\.env/);
  for (const root of roots) {
    t.equal(readFileSync(path.join(root, 'current', '.env'), 'utf8'), 'SECRET=1');
    t.equal(readFileSync(path.join(root, 'current', 'public/uploads/seed.txt'), 'utf8'), 'seed');
    writeFileSync(path.join(root, 'shared', 'public/uploads/upload.jpg'), 'uploaded');
  }
  work.write('index.html', 'v2');
  await deploy(work.commit('v2'));
  for (const root of roots) {
    t.equal(readFileSync(path.join(root, 'current', 'public/uploads/upload.jpg'), 'utf8'), 'uploaded', 'the upload outlived the release');
    t.equal(readFileSync(path.join(root, 'current', 'index.html'), 'utf8'), 'v2');
    t.equal(readFileSync(path.join(root, 'shared', '.env'), 'utf8'), 'SECRET=1', 'the shared .env intact');
  }
});

t.test('the schema guard refuses a migration the live colour cannot work with, before any hook runs; force overrides, on record', async (t) => {
  const { roots, work, deploy, dataDir, setLive } = setup(t);
  // green is live and serves a release that works with schema 1 only.
  const green = new WorkRepo();
  t.teardown(() => green.cleanup());
  green.write('.bluegreen/schema', 'compatible=1-1\n');
  const greenRevision = green.commit('green');
  execFileSync('git', ['clone', '-q', '--bare', green.dir, path.join(dataDir, 'repos', 'green.git')]);
  writeFileSync(
    path.join(dataDir, 'history.jsonl'),
    `${JSON.stringify({ type: 'deploy', at: new Date().toISOString(), colour: 'green', revision: greenRevision, release: 'r', by: 'x', outcome: 'deployed', durationMs: 1 })}\n`,
  );
  writeSchemaVersion(dataDir, { version: 1, colour: 'green', revision: greenRevision, at: new Date().toISOString() });
  setLive('green');
  work.write('.bluegreen/schema', '# expand\ncompatible=1-2\nmigrates-to=2\n');
  work.write('.bluegreen/hooks/build', HOOK('echo built >> "$BLUEGREEN_APP_ROOT/ran.log"'), 0o755);
  work.write('.bluegreen/hooks/migrate', HOOK('echo migrated >> "$BLUEGREEN_APP_ROOT/ran.log"'), 0o755);
  const v1 = work.commit('v1');
  const error = await deploy(v1).catch((e: unknown) => e);
  t.match((error as Error).message, new RegExp(`refused by the schema guard: ${v1.slice(0, 12)} migrates the database to version 2 \\(now 1\\), but the live colour green serves ${greenRevision.slice(0, 12)}, which works with versions 1-1 only; nothing ran`));
  t.match((error as UserError).hint ?? '', /-o force-schema/);
  t.notOk(existsSync(path.join(roots[0], 'ran.log')), 'no hook ran');
  await deploy(v1, { forceSchema: true });
  t.equal(readFileSync(path.join(roots[0], 'ran.log'), 'utf8'), 'built\nmigrated\n');
  t.equal(readSchemaVersion(dataDir)?.version, 2, 'the database version is recorded after the migration');
  const record = (await readHistory(dataDir))[0];
  t.equal(record?.type === 'deploy' ? record.note : undefined, 'schema guard overridden (force)');
});
