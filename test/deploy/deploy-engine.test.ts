import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { RevisionReader } from '../../src/adapters/git/revisions.js';
import { LocalTransport } from '../../src/adapters/transport/local-transport.js';
import { SESSION, activateCommand } from '../../src/core/remote-commands.js';
import type { Config } from '../../src/core/config.js';
import { createDeployEngine } from '../../src/deploy/deploy-engine.js';
import { PosixReleasesTarget } from '../../src/deploy/targets/posix-releases.js';
import { WorkRepo } from '../helpers/git-repo.js';
import { commitAndSettle } from '../helpers/settle.js';

/** The revision a release directory holds. */
const revisionIn = (dir: string) => readFileSync(path.join(dir, 'REVISION'), 'utf8').trim();

// The deploy engine against a host directory on this machine (the `file://` transport runs the same host
// commands as SSH does, without the network). The SSH path is covered end to end in test/server/ and
// test/deploy/push-handler.test.ts.

function setup(t: Test) {
  const work = new WorkRepo();
  const appRoot = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-host-'));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-data-'));
  t.teardown(() => {
    work.cleanup();
    rmSync(appRoot, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  const lines: string[] = [];
  let clock = Date.parse('2026-11-23T10:00:00Z');
  // What the target runs on the host, by kind: the host's state read, or a deploy session.
  const execs: string[] = [];
  let onExecHook: (argv: readonly string[]) => void = () => {};
  const transport = new LocalTransport();
  const exec = transport.exec.bind(transport);
  transport.exec = (argv, options) => {
    const script = argv[2] ?? '';
    execs.push(script.includes(`echo "${SESSION.staged}"`) ? 'session' : script.startsWith('host_state()') ? 'inspect' : 'other');
    onExecHook(argv);
    return exec(argv, options);
  };
  const onExec = (hook: (argv: readonly string[]) => void) => {
    onExecHook = hook;
  };
  const target = new PosixReleasesTarget(transport, appRoot, 'blue');
  const deploy = async (revision: string, keepReleases = 5) => {
    // The fields of the configuration the engine reads.
    const config = { dataDir, lockWaitMs: 1000, parallel: 10, keepReleases, sharedPaths: [], hookTimeoutSeconds: 900, hosts: { blue: [{ kind: 'file', appRoot, url: '' }], green: [] } } as unknown as Config;
    const engine = createDeployEngine({ config: () => config, targets: () => [target], liveColour: async () => undefined, log: (line) => lines.push(line), now: () => new Date((clock += 60_000)) });
    const say = (line: string) => lines.push(line);
    const prepared = await engine.prepare({ colour: 'blue', revision, by: 'test', reader: new RevisionReader(path.join(work.dir, '.git')), say, forceLive: false });
    await commitAndSettle(prepared, say);
    say(prepared.summary());
    await engine.idle();
    const host = prepared.hosts[0];
    return { plan: { release: prepared.release, counts: host?.counts, base: host?.base }, bytesSent: host?.bytesSent ?? 0 };
  };
  const current = (file = '') => path.join(appRoot, 'current', file);
  return { work, appRoot, lines, deploy, current, execs, onExec };
}

t.test('first deploy puts the tree into a release and points current at it', async (t) => {
  const { work, appRoot, lines, deploy, current } = setup(t);
  work.write('index.html', '<h1>hi</h1>').write('bin/run.sh', '#!/bin/sh\necho run\n', 0o755);
  work.write('odd names/ünïcode file.txt', 'u').write('-leading-dash', 'd').write(`it's "quoted".txt`, 'q');
  work.symlink('docs/home.html', '../index.html');
  const sha = work.commit();
  const result = await deploy(sha);

  t.equal(readFileSync(current('index.html'), 'utf8'), '<h1>hi</h1>');
  t.equal(readFileSync(current('REVISION'), 'utf8'), `${sha}\n`);
  t.ok(statSync(current('bin/run.sh')).mode & 0o100, 'executable bit kept');
  t.notOk(statSync(current('index.html')).mode & 0o100);
  t.equal(readFileSync(current('odd names/ünïcode file.txt'), 'utf8'), 'u');
  t.equal(readFileSync(current('-leading-dash'), 'utf8'), 'd');
  t.equal(readFileSync(current(`it's "quoted".txt`), 'utf8'), 'q');
  t.equal(readlinkSync(current('docs/home.html')), '../index.html');
  t.match(readlinkSync(path.join(appRoot, 'current')), /^releases\/20261123100100-[0-9a-f]{12}$/);
  t.ok(lstatSync(path.join(appRoot, 'current')).isSymbolicLink());
  t.same(result.plan.counts, { added: 6, changed: 0, removed: 0 });
  t.match(lines.at(-1), new RegExp(`^deployed ${sha.slice(0, 12)} to blue in \\d+\\.\\d+ s$`));
  t.same(readdirSync(path.join(appRoot, 'releases')).sort(), ['.spare', result.plan.release], 'no staging left, the spare for the next deploy made');
});

t.test('a later deploy sends only what changed and never touches older releases', async (t) => {
  const { work, appRoot, deploy, current } = setup(t);
  for (let i = 0; i < 200; i++) work.write(`pages/page-${i}.html`, `page ${i} `.repeat(200));
  work.write('gone/away.txt', 'bye').write('become-link', 'file').write('script.sh', 'echo', 0o644);
  const first = await deploy(work.commit());
  const firstDir = path.join(appRoot, 'releases', first.plan.release);
  const before = snapshot(firstDir);

  work.write('pages/page-1.html', 'changed').write('new.txt', 'new').remove('gone');
  work.symlink('become-link', 'new.txt');
  chmodSync(path.join(work.dir, 'script.sh'), 0o755);
  const second = await deploy(work.commit());
  t.same(second.plan.counts, { added: 1, changed: 3, removed: 1 });
  t.ok(second.bytesSent < first.bytesSent / 20, `sent ${second.bytesSent} bytes, the full tree took ${first.bytesSent}`);
  t.equal(readFileSync(current('pages/page-1.html'), 'utf8'), 'changed');
  t.equal(readFileSync(current('pages/page-2.html'), 'utf8'), 'page 2 '.repeat(200));
  t.equal(readlinkSync(current('become-link')), 'new.txt');
  t.ok(statSync(current('script.sh')).mode & 0o100, 'mode change deployed');
  t.throws(() => statSync(current('gone')), 'emptied directory removed');

  work.write('pages/page-2.html', 'changed again');
  await deploy(work.commit());
  t.same(snapshot(firstDir), before, 'the first release is byte-for-byte and mode-for-mode as it was');
});

t.test("a host changed behind the server's back is read again, and the deploy builds on what it holds", async (t) => {
  const { work, appRoot, lines, deploy, current, execs } = setup(t);
  work.write('index.html', 'v1').write('keep.txt', 'kept');
  const v1 = await deploy(work.commit());
  work.write('index.html', 'v2');
  const v2 = await deploy(work.commit());
  t.equal(revisionIn(path.join(appRoot, 'releases', '.spare')), readFileSync(current('REVISION'), 'utf8').trim(), 'the spare is at v2');
  t.same(execs.splice(0), ['inspect', 'session', 'session'], 'the host was read once; each deploy was one session');
  // Someone points current back at v1 (not through this server): the server's idea of the host is stale.
  const activated = await new LocalTransport().exec(activateCommand(appRoot, v1.plan.release));
  t.equal(activated.code, 0, activated.stderr);
  work.write('other.txt', 'v3');
  const v3sha = work.commit();
  const v3 = await deploy(v3sha);
  t.same(execs.splice(0), ['session', 'inspect', 'session'], 'the session refused the changed host; it was read again');
  t.equal(v3.plan.base, v1.plan.release, 'the counts are from what the host served');
  t.same(v3.plan.counts, { added: 1, changed: 1, removed: 0 });
  t.equal(readFileSync(current('index.html'), 'utf8'), 'v2', 'v3 has the tree of v3');
  t.equal(readFileSync(current('other.txt'), 'utf8'), 'v3');
  t.equal(readFileSync(current('keep.txt'), 'utf8'), 'kept');
  t.equal(readFileSync(path.join(appRoot, 'releases', v2.plan.release, 'index.html'), 'utf8'), 'v2', 'older releases never change');
  t.equal(revisionIn(path.join(appRoot, 'releases', '.spare')), v3sha);
  t.notOk(lines.some((l) => /changed while/.test(l)), "the retry is not the pusher's business");
});

t.test('a host that changes again while it is read: the deploy fails naming it, nothing switched', async (t) => {
  const { work, appRoot, deploy, current, execs, onExec } = setup(t);
  work.write('index.html', 'v1');
  await deploy(work.commit());
  // Every session finds the host changed: someone keeps adding releases.
  let n = 0;
  onExec((argv) => {
    if (argv.join(' ').includes('host_state "$root"')) mkdirSync(path.join(appRoot, 'releases', `2026112300000${n++}-eeeeeeeeeeee`));
  });
  work.write('index.html', 'v2');
  await t.rejects(deploy(work.commit()), { message: /this machine changed while this deploy read it \(another deploy or an activate ran at the same time\); no host was switched/ });
  t.equal(readFileSync(current('index.html'), 'utf8'), 'v1');
  t.same(execs.splice(0), ['inspect', 'session', 'session', 'inspect', 'session']);
});

t.test('old releases are pruned but current and its predecessor are kept; the oldest pruned one is recycled', async (t) => {
  const { work, appRoot, deploy, current, execs } = setup(t);
  const ids: string[] = [];
  const shas: string[] = [];
  for (let i = 0; i < 4; i++) {
    work.write('index.html', `v${i}`).write(`file-${i}.txt`, `${i}`);
    shas.push(work.commit());
    ids.push((await deploy(shas[i] as string, 2)).plan.release);
  }
  t.same(readdirSync(path.join(appRoot, 'releases')).sort(), ['.spare', ...ids.slice(-2)], 'kept: current and its predecessor, and the spare');
  t.equal(revisionIn(path.join(appRoot, 'releases', '.spare')), shas[1], 'the release pruned last is the next spare');
  t.same(readdirSync(current()).sort(), ['REVISION', 'file-0.txt', 'file-1.txt', 'file-2.txt', 'file-3.txt', 'index.html'], 'built from a recycled release, the tree is exactly v3');
  t.equal(readFileSync(current('index.html'), 'utf8'), 'v3');
  t.same(execs, ['inspect', 'session', 'session', 'session', 'session'], 'one session per deploy');
});

t.test('redeploying an older commit makes a new release of it', async (t) => {
  const { work, deploy, current } = setup(t);
  work.write('index.html', 'one');
  const one = work.commit();
  await deploy(one);
  work.write('index.html', 'two');
  await deploy(work.commit());
  const again = await deploy(one);
  t.equal(readFileSync(current('index.html'), 'utf8'), 'one');
  t.equal(readFileSync(current('REVISION'), 'utf8'), `${one}\n`);
  t.same(again.plan.counts, { added: 0, changed: 1, removed: 0 });
});

t.test('a symlink that points outside the release is refused, naming it', async (t) => {
  const { work, appRoot, deploy } = setup(t);
  work.write('index.html', 'x').symlink('assets/passwd', '../../etc/passwd');
  await t.rejects(deploy(work.commit()), { message: /the symlink "assets\/passwd" points outside the release \(-> "\.\.\/\.\.\/etc\/passwd"\)/ });
  work.symlink('assets/passwd', '/etc/passwd');
  await t.rejects(deploy(work.commit()), { message: /"assets\/passwd" points outside/ });
  t.throws(() => readdirSync(path.join(appRoot, 'releases')), 'nothing was staged');
});

t.test('an incremental deploy checks every link of the new tree, the unchanged ones included', async (t) => {
  const { work, appRoot, deploy, current } = setup(t);
  // `b` stays inside while `a` is a directory...
  work.write('index.html', 'x').write('a/a/index.html', 'deep').symlink('b', 'a/a/../../index.html');
  await deploy(work.commit());
  t.equal(readFileSync(current('b'), 'utf8'), 'x');
  const before = readlinkSync(path.join(appRoot, 'current'));
  // ...and escapes once `a` becomes a link to the root, though `b` is not in the diff.
  work.remove('a').symlink('a', '.');
  await t.rejects(deploy(work.commit()), {
    message: 'refused: the symlink "b" points outside the release (-> "a/a/../../index.html"): through "b" -> "a/a/../../index.html", "a" -> "." it resolves to "../../index.html" (relative to the release root)',
  });
  t.equal(readlinkSync(path.join(appRoot, 'current')), before, 'current did not move');

  // A new link escaping through one deployed earlier.
  work.remove('a').write('a/a/index.html', 'deep').remove('b').symlink('root', '.');
  await deploy(work.commit());
  const deployed = readlinkSync(path.join(appRoot, 'current'));
  work.symlink('passwd', 'root/root/root/root/root/root/root/../../../../../../../etc/passwd');
  await t.rejects(deploy(work.commit()), { message: /^refused: the symlink "passwd" points outside the release .*: through "passwd" -> .*, "root" -> "\." it resolves to "(\.\.\/){7}etc\/passwd"/ });
  t.equal(readlinkSync(path.join(appRoot, 'current')), deployed, 'current did not move');
});

t.test('a full disk fails the deploy with that cause and leaves current as it was', async (t) => {
  const { work, appRoot, deploy } = setup(t);
  // A real full file system: a 256 KiB tmpfs mounted over the app root (tests run as root, as CI does).
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', appRoot]);
  t.teardown(() => execFileSync('umount', ['-l', appRoot]));
  work.write('index.html', 'small');
  const sha = work.commit();
  await deploy(sha);
  const before = readlinkSync(path.join(appRoot, 'current'));
  work.write('big.bin', Buffer.alloc(1024 * 1024, 7));
  await t.rejects(deploy(work.commit()), { message: /^sending files failed on blue \(this machine\): the disk is full/ });
  t.equal(readlinkSync(path.join(appRoot, 'current')), before);
});

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const file = path.join(dir, rel, name);
      const stat = lstatSync(file);
      const key = path.join(rel, name);
      if (stat.isDirectory()) walk(key);
      else if (stat.isSymbolicLink()) out[key] = `link:${readlinkSync(file)}`;
      else out[key] = `${stat.mode.toString(8)}:${readFileSync(file, 'base64')}`;
    }
  };
  walk('');
  return out;
}
