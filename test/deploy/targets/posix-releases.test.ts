/**
 * The releases-layout deploy target on its own, against a host directory on this machine (the local transport
 * runs the same host commands as SSH does): inspect, prepare, then commit and revert, or discard; activate;
 * the work that runs after a deploy. The engine around it is tested in test/deploy/deploy-engine.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { RevisionReader } from '../../../src/adapters/git/revisions.js';
import { LocalTransport } from '../../../src/adapters/transport/local-transport.js';
import { freshReleaseId } from '../../../src/core/deploy-plan.js';
import { PosixReleasesTarget } from '../../../src/deploy/targets/posix-releases.js';
import type { PreparedRelease } from '../../../src/deploy/targets/target.js';
import { WorkRepo } from '../../helpers/git-repo.js';

function setup(t: Test, appRootName = 'app') {
  const work = new WorkRepo();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-posix-'));
  t.teardown(() => {
    work.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const appRoot = path.join(dir, appRootName);
  const target = new PosixReleasesTarget(new LocalTransport(), appRoot, 'blue');
  t.teardown(() => target.close());
  const reader = new RevisionReader(path.join(work.dir, '.git'));
  const lines: string[] = [];
  let clock = Date.parse('2026-11-23T10:00:00Z');
  /** Inspects, then prepares `revision` as the engine would (nothing switched yet). */
  const prepare = async (revision: string, keepReleases = 5): Promise<PreparedRelease> => {
    const state = await target.inspect();
    const release = freshReleaseId(new Date((clock += 60_000)), revision, state.releases);
    return target.prepare({ colour: 'blue', revision, release, state, reader, keepReleases, say: (line) => lines.push(line) });
  };
  /** Prepares, commits and finishes a deploy of `revision`; resolves once its after-work is done. */
  const deploy = async (revision: string, keepReleases = 5): Promise<PreparedRelease> => {
    const prepared = await prepare(revision, keepReleases);
    await prepared.commit();
    prepared.finish((line) => lines.push(`log: ${line}`));
    await target.idle();
    return prepared;
  };
  const releases = () => readdirSync(path.join(appRoot, 'releases')).sort();
  const current = () => readlinkSync(path.join(appRoot, 'current'));
  return { work, dir, appRoot, target, lines, prepare, deploy, releases, current };
}

t.test('inspect: nothing on a new host; the releases and what current serves after a deploy', async (t) => {
  const { work, target, deploy } = setup(t);
  t.same(await target.inspect(), { releases: [], current: undefined, currentRevision: undefined });
  work.write('index.html', 'v1');
  const v1 = work.commit();
  const first = await deploy(v1);
  t.same(await target.inspect(), { releases: [first.release], current: first.release, currentRevision: v1 });
  t.equal(target.label, 'this machine');
});

t.test('prepare stages the release without switching; commit switches current to it', async (t) => {
  const { work, appRoot, lines, prepare, releases, current } = setup(t);
  work.write('index.html', 'v1').write('app.js', 'js');
  const v1 = work.commit();
  const prepared = await prepare(v1);
  t.equal(prepared.base, undefined);
  t.same(prepared.counts, { added: 2, changed: 0, removed: 0 });
  t.ok(prepared.bytesSent > 0);
  t.notOk(existsSync(path.join(appRoot, 'current')), 'nothing is served before commit');
  t.same(releases(), [`.staging-${prepared.release}`], 'only the staging copy');
  t.same(lines, ['files: 2 (full deploy)', lines[1]]);
  t.match(lines[1], /^sent \d+(\.\d+)? (B|KiB) in \d+\.\d+ s$/);

  await prepared.commit();
  t.equal(current(), `releases/${prepared.release}`);
  t.equal(readFileSync(path.join(appRoot, 'current', 'REVISION'), 'utf8'), `${v1}\n`);
  t.same(releases(), [prepared.release], 'the staging copy became the release');
  t.match(lines.at(-1), new RegExp(`^current -> releases/${prepared.release} \\(switched in \\d+\\.\\d+ s\\)$`));
  t.same(Object.keys(prepared.phases).sort(), ['diff', 'send', 'switch']);
});

t.test('an incremental prepare says what changed since its base', async (t) => {
  const { work, lines, deploy, prepare } = setup(t);
  work.write('a.txt', 'a').write('b.txt', 'b').write('dir/c.txt', 'c');
  const first = await deploy(work.commit());
  work.write('a.txt', 'changed').write('new.txt', 'new').remove('dir');
  const prepared = await prepare(work.commit());
  t.equal(prepared.base, first.release);
  t.same(prepared.counts, { added: 1, changed: 1, removed: 1 });
  t.ok(lines.includes(`files: 1 added, 1 changed, 1 removed since ${first.release}`));
});

t.test('a current release that is not from this repository: a full deploy, and it says why', async (t) => {
  const { work, appRoot, lines, prepare } = setup(t);
  const foreign = '20261101000000-0123456789ab';
  mkdirSync(path.join(appRoot, 'releases', foreign), { recursive: true });
  writeFileSync(path.join(appRoot, 'releases', foreign, 'REVISION'), `0123456789ab${'0'.repeat(28)}\n`);
  symlinkSync(`releases/${foreign}`, path.join(appRoot, 'current'));
  work.write('index.html', 'x');
  const prepared = await prepare(work.commit());
  t.equal(prepared.base, undefined);
  t.same(prepared.counts, { added: 1, changed: 0, removed: 0 });
  t.ok(lines.includes('files: 1 (full deploy: the current release is not from this repository)'), lines.join('\n'));
});

t.test('discard, before commit, removes what prepare made and leaves current alone', async (t) => {
  const { work, appRoot, deploy, prepare, releases, current } = setup(t);
  work.write('index.html', 'v1');
  const first = await deploy(work.commit());
  work.write('index.html', 'v2');
  const prepared = await prepare(work.commit());
  t.ok(releases().includes(`.staging-${prepared.release}`));
  await prepared.discard();
  t.equal(current(), `releases/${first.release}`);
  t.same(releases(), [first.release], 'the staging copy is gone (the prepared next copy was used for it)');
  t.equal(readFileSync(path.join(appRoot, 'current', 'index.html'), 'utf8'), 'v1');
  rmSync(appRoot, { recursive: true, force: true });
  await t.resolves(prepared.discard(), 'discard never throws, even with nothing left to remove');
});

t.test('revert, after commit, puts current back and removes the release', async (t) => {
  const { work, appRoot, lines, deploy, prepare, releases, current } = setup(t);
  work.write('index.html', 'v1');
  const first = await deploy(work.commit());
  work.write('index.html', 'v2');
  const second = await prepare(work.commit());
  await second.commit();
  t.equal(readFileSync(path.join(appRoot, 'current', 'index.html'), 'utf8'), 'v2');
  await second.revert();
  t.equal(current(), `releases/${first.release}`);
  t.equal(readFileSync(path.join(appRoot, 'current', 'index.html'), 'utf8'), 'v1');
  t.same(releases(), [first.release]);
  t.equal(lines.at(-1), `current -> releases/${first.release} again (switched back)`);
});

t.test('revert of a first deploy: no current at all', async (t) => {
  const { work, appRoot, lines, prepare, releases } = setup(t);
  work.write('index.html', 'v1');
  const prepared = await prepare(work.commit());
  await prepared.commit();
  await prepared.revert();
  t.equal(lstatSync(path.join(appRoot, 'current'), { throwIfNoEntry: false }), undefined);
  t.same(releases(), []);
  t.equal(lines.at(-1), 'current -> nothing again (switched back)');
});

t.test('activate points current at a release the host holds, and refuses one it does not', async (t) => {
  const { work, target, deploy, current } = setup(t);
  work.write('index.html', 'v1');
  const first = await deploy(work.commit());
  work.write('index.html', 'v2');
  await deploy(work.commit());
  await target.activate(first.release);
  t.equal(current(), `releases/${first.release}`);
  const missing = '20200101000000-aaaaaaaaaaaa';
  await t.rejects(target.activate(missing), {
    name: 'UserError',
    message: `activating ${missing} failed on blue (this machine): release ${missing} does not exist`,
  });
  t.equal(current(), `releases/${first.release}`, 'current did not move');
});

t.test('finish makes the spare, prunes beyond keepReleases (recycling one as the spare), and the next inspect waits for it', async (t) => {
  const { work, target, lines, prepare, releases } = setup(t);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    work.write('index.html', `v${i}`);
    const prepared = await prepare(work.commit(), 2);
    await prepared.commit();
    prepared.finish((line) => lines.push(`log: ${line}`));
    ids.push(prepared.release);
    // No idle here: the next prepare's inspect waits for the spare it will use.
  }
  await target.idle();
  t.same(releases(), ['.spare', ...ids.slice(-2)]);
  t.same(lines.filter((l) => l.startsWith('log: ')), [], 'nothing failed after the deploys');
});

t.test('a failure after a deploy is logged, not thrown', async (t) => {
  const { work, appRoot, target, lines, prepare } = setup(t);
  work.write('index.html', 'v1');
  const prepared = await prepare(work.commit());
  await prepared.commit();
  rmSync(path.join(appRoot, 'releases'), { recursive: true, force: true });
  prepared.finish((line) => lines.push(`log: ${line}`));
  await target.idle();
  t.match(lines.filter((l) => l.startsWith('log: ')), [/^log: after the deploy to blue \(this machine\): tidying up failed on blue \(this machine\): .*releases/]);
  t.same((await target.inspect()).releases, [], 'the host is read again: the target no longer claims to know it');
});

t.test('a stage that fails removes its staging copy and names the step and the host', async (t) => {
  const { work, dir, prepare } = setup(t, 'file-not-dir');
  writeFileSync(path.join(dir, 'file-not-dir'), 'a file where the app root should be');
  work.write('index.html', 'v1');
  await t.rejects(prepare(work.commit()), { name: 'UserError', message: /^sending files failed on blue \(this machine\): .*Not a directory/ });
});

t.test('an app root the deploy user cannot write to is refused before anything is sent', async (t) => {
  const { work, appRoot, target, prepare } = setup(t);
  mkdirSync(appRoot, { recursive: true });
  // Read-only for root too: a read-only file system.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', appRoot]);
  t.teardown(() => execFileSync('umount', ['-l', appRoot]));
  work.write('index.html', 'v1');
  await t.rejects(prepare(work.commit()), {
    name: 'UserError',
    message: `cannot deploy to blue (this machine): the app root ${appRoot} is not writable by the deploy user`,
    hint: 'give the deploy user the app root: `bluegreen provision blue`',
  });
  t.same((await target.inspect()).releases, []);
});
