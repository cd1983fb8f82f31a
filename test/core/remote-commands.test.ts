import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { parseDiskUsage } from '../../src/core/disk-full.js';
import {
  type Argv,
  activateCommand,
  discardCommand,
  diskUsageCommand,
  finalizeCommand,
  parseInspect,
  prepareNextCommand,
  pruneCommand,
  revertCommand,
  stageCommand,
} from '../../src/core/remote-commands.js';

const R1 = '20261123000001-aaaaaaaaaaaa';
const R2 = '20261123000002-bbbbbbbbbbbb';
const STAGING = 'releases/.staging-20261123000003-cccccccccccc';

/** An app root in a temp directory. */
function appRoot(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-rc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs a host command here, as a transport would (no local shell around it). */
function run(argv: Argv, input: Buffer | string = ''): { code: number; stdout: string; stderr: string } {
  const [command, ...args] = argv;
  const result = spawnSync(command ?? '', args, { input, encoding: 'utf8' });
  return { code: result.status ?? 255, stdout: result.stdout, stderr: result.stderr };
}

function write(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

const nul = (paths: string[]) => Buffer.from(paths.map((p) => `${p}\0`).join(''));

t.test('inspect output is parsed; junk is ignored', async (t) => {
  const state = parseInspect(
    [
      'approot present',
      'writable yes',
      'current releases/20261123000002-bbbbbbbbbbbb',
      `revision ${'b'.repeat(40)}`,
      'release 20261123000002-bbbbbbbbbbbb',
      'release 20261123000001-aaaaaaaaaaaa',
      'release .staging-x',
      'release lost+found',
      '',
    ].join('\n'),
  );
  t.same(state, {
    appRootExists: true,
    writable: true,
    current: '20261123000002-bbbbbbbbbbbb',
    currentRevision: 'b'.repeat(40),
    releases: ['20261123000001-aaaaaaaaaaaa', '20261123000002-bbbbbbbbbbbb'],
  });
  t.same(parseInspect('approot missing\n'), { appRootExists: false, writable: false, current: undefined, currentRevision: undefined, releases: [] });
  const foreign = parseInspect('approot present\nwritable yes\ncurrent /somewhere/else\nrevision ' + 'c'.repeat(40));
  t.equal(foreign.current, undefined, 'a current that points outside releases/ is not ours');
  t.equal(foreign.currentRevision, undefined);
});

t.test('commands refuse values that are not release ids or shas', async (t) => {
  t.throws(() => activateCommand('/a', '../../etc'));
  t.throws(() => pruneCommand('/a', ['-rf']));
  t.throws(() => prepareNextCommand('/a', '..'));
  t.throws(() => finalizeCommand('/a', 'releases/.staging-x', '20261123000001-aaaaaaaaaaaa', 'main'));
  t.throws(() => discardCommand('/a', 'releases/../..'), { message: 'bad staging directory releases/../..' });
  t.throws(() => discardCommand('/a', 'current'));
  t.throws(() => revertCommand('/a', '..', R1));
  t.throws(() => revertCommand('/a', R2, '../etc'));
  t.same(activateCommand('/a b', '20261123000001-aaaaaaaaaaaa').slice(0, 2), ['sh', '-c']);
  t.same(activateCommand('/a b', '20261123000001-aaaaaaaaaaaa').slice(-2), ['/a b', '20261123000001-aaaaaaaaaaaa'], 'values travel as arguments');
});

t.test('stage: a hard-linked copy of the base, removals (then emptied directories), then the tar', async (t) => {
  const root = appRoot(t);
  const base = path.join(root, 'releases', R1);
  for (const file of ['keep.txt', 'a/keep.txt', 'a/b/gone.txt', 'c/d/gone.txt', '-dash', 'odd\nname.txt']) write(path.join(base, file), file);
  // The tar: what is sent.
  const source = appRoot(t);
  write(path.join(source, 'new/file.txt'), 'new');
  write(path.join(source, 'keep.txt'), 'replaced');
  const tar = execFileSync('tar', ['-c', '-C', source, 'new/file.txt', 'keep.txt']);

  const files = ['a/b/gone.txt', 'c/d/gone.txt', '-dash', 'odd\nname.txt'];
  const directories = ['a/b', 'c/d', 'a', 'c'];
  const removedFiles = nul(files);
  const removedDirectories = nul(directories);
  const result = run(
    stageCommand(root, STAGING, R1, { removalBytes: removedFiles.length, directoryBytes: removedDirectories.length }, true),
    Buffer.concat([removedFiles, removedDirectories, tar]),
  );
  t.equal(result.code, 0, result.stderr);
  const staged = path.join(root, STAGING);
  t.equal(readFileSync(path.join(staged, 'a/keep.txt'), 'utf8'), 'a/keep.txt');
  t.equal(statSync(path.join(staged, 'a/keep.txt')).ino, statSync(path.join(base, 'a/keep.txt')).ino, 'unchanged files are hard links');
  for (const file of files) t.notOk(existsSync(path.join(staged, file)), `${JSON.stringify(file)} removed`);
  t.notOk(existsSync(path.join(staged, 'a/b')), 'an emptied directory is removed');
  t.notOk(existsSync(path.join(staged, 'c')), 'so is its emptied parent');
  t.ok(existsSync(path.join(staged, 'a')), 'a directory with files left stays');
  t.equal(readFileSync(path.join(staged, 'new/file.txt'), 'utf8'), 'new');
  t.equal(readFileSync(path.join(staged, 'keep.txt'), 'utf8'), 'replaced');
  t.equal(readFileSync(path.join(base, 'keep.txt'), 'utf8'), 'keep.txt', 'the base release is not written through the link');
  t.equal(readFileSync(path.join(base, 'a/b/gone.txt'), 'utf8'), 'a/b/gone.txt', 'nor are its files removed');
});

t.test('stage takes the copy prepared for its base, and starts empty without one', async (t) => {
  const root = appRoot(t);
  write(path.join(root, 'releases', R1, 'index.html'), 'v1');
  write(path.join(root, 'releases', `.next-${R1}`, 'index.html'), 'prepared copy');
  const fromNext = run(stageCommand(root, STAGING, R1, { removalBytes: 0, directoryBytes: 0 }, false));
  t.equal(fromNext.code, 0, fromNext.stderr);
  t.equal(readFileSync(path.join(root, STAGING, 'index.html'), 'utf8'), 'prepared copy');
  t.notOk(existsSync(path.join(root, 'releases', `.next-${R1}`)), 'the prepared copy was moved, not copied');

  const fresh = appRoot(t);
  const source = appRoot(t);
  write(path.join(source, 'index.html'), 'first');
  const first = run(stageCommand(path.join(fresh, 'app'), STAGING, undefined, { removalBytes: 0, directoryBytes: 0 }, true), execFileSync('tar', ['-c', '-C', source, 'index.html']));
  t.equal(first.code, 0, first.stderr);
  t.same(readdirSync(path.join(fresh, 'app', STAGING)), ['index.html'], 'the app root and releases/ are made; only the tar is in the release');
});

t.test('discard removes the staging directory and nothing else; a missing app root is fine', async (t) => {
  const root = appRoot(t);
  write(path.join(root, STAGING, 'x'), 'x');
  write(path.join(root, 'releases', R1, 'x'), 'x');
  const result = run(discardCommand(root, STAGING));
  t.equal(result.code, 0, result.stderr);
  t.same(readdirSync(path.join(root, 'releases')), [R1]);
  t.equal(run(discardCommand(root, STAGING)).code, 0, 'again: nothing to remove');
  t.equal(run(discardCommand(path.join(root, 'missing'), STAGING)).code, 0);
});

t.test('revert: current back to the previous release and the new one removed', async (t) => {
  const root = appRoot(t);
  for (const id of [R1, R2]) write(path.join(root, 'releases', id, 'index.html'), id);
  symlinkSync(`releases/${R2}`, path.join(root, 'current'));
  const back = run(revertCommand(root, R2, R1));
  t.equal(back.code, 0, back.stderr);
  t.equal(readlinkSync(path.join(root, 'current')), `releases/${R1}`);
  t.same(readdirSync(path.join(root, 'releases')), [R1]);
  t.same(readdirSync(root).sort(), ['current', 'releases'], 'no temporary link left');
});

t.test('revert of a first deploy: no current at all, and only if it points at that release', async (t) => {
  const root = appRoot(t);
  write(path.join(root, 'releases', R1, 'index.html'), 'x');
  symlinkSync(`releases/${R1}`, path.join(root, 'current'));
  const result = run(revertCommand(root, R1, undefined));
  t.equal(result.code, 0, result.stderr);
  t.equal(lstatSync(path.join(root, 'current'), { throwIfNoEntry: false }), undefined, 'current is gone');
  t.same(readdirSync(path.join(root, 'releases')), []);

  const other = appRoot(t);
  write(path.join(other, 'releases', R2, 'index.html'), 'x');
  symlinkSync('/somewhere/else', path.join(other, 'current'));
  t.equal(run(revertCommand(other, R2, undefined)).code, 0);
  t.equal(readlinkSync(path.join(other, 'current')), '/somewhere/else', 'a current that is not this release is left alone');
  t.same(readdirSync(path.join(other, 'releases')), []);
});

t.test('disk usage: the filesystem, then each entry of releases/, a hard-linked file counted once', async (t) => {
  const root = appRoot(t);
  write(path.join(root, 'releases', R1, 'big.bin'), 'x'.repeat(256 * 1024));
  mkdirSync(path.join(root, 'releases', R2));
  linkSync(path.join(root, 'releases', R1, 'big.bin'), path.join(root, 'releases', R2, 'big.bin'));
  write(path.join(root, STAGING, 'part.bin'), 'y'.repeat(64 * 1024));
  const result = run(diskUsageCommand(root));
  t.equal(result.code, 0, result.stderr);
  const usage = parseDiskUsage(result.stdout);
  t.ok(usage.totalBytes > 0 && usage.usedBytes > 0 && usage.availableBytes > 0, `filesystem ${JSON.stringify(usage)}`);
  t.ok(usage.totalBytes >= usage.availableBytes);
  const bytes = Object.fromEntries(usage.entries.map((e) => [e.name, e.bytes]));
  t.same(Object.keys(bytes).sort(), [path.basename(STAGING), R1, R2].sort(), 'releases and staging copies');
  t.ok((bytes[R1] ?? 0) >= 256 * 1024, `the oldest holds the shared file (${bytes[R1]})`);
  t.ok((bytes[R2] ?? Infinity) < 64 * 1024, `the later one does not count it again (${bytes[R2]})`);
  t.ok((bytes[path.basename(STAGING)] ?? 0) >= 64 * 1024);

  const bare = appRoot(t);
  const none = run(diskUsageCommand(bare));
  t.equal(none.code, 0, none.stderr);
  const nothing = parseDiskUsage(none.stdout);
  t.ok(nothing.totalBytes > 0, 'the filesystem still');
  t.same(nothing.entries, [], 'no releases/ yet: no entries');
});
