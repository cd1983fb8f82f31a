import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { parseDiskUsage } from '../../src/core/disk-full.js';
import {
  type Argv,
  SESSION,
  type SessionInput,
  activateCommand,
  deploySessionCommand,
  discardCommand,
  diskUsageCommand,
  inspectCommand,
  parseInspect,
  revertCommand,
} from '../../src/core/remote-commands.js';

const R1 = '20261123000001-aaaaaaaaaaaa';
const R2 = '20261123000002-bbbbbbbbbbbb';
const R3 = '20261123000003-cccccccccccc';
const STAGING = `releases/.staging-${R3}`;
const REV1 = '1'.repeat(40);
const REV3 = '3'.repeat(40);

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
    spareRevision: undefined,
    text: state.text,
  });
  t.notOk(state.text.endsWith('\n'), 'the text is kept as the shell compares it, without the trailing newline');
  t.same(parseInspect('approot missing\n'), {
    appRootExists: false,
    writable: false,
    current: undefined,
    currentRevision: undefined,
    releases: [],
    spareRevision: undefined,
    text: 'approot missing',
  });
  t.equal(parseInspect(`approot present\nspare ${'d'.repeat(40)}\n`).spareRevision, 'd'.repeat(40));
  t.equal(parseInspect(`approot present\ncopy ${'e'.repeat(40)}\n`).copyRevision, 'e'.repeat(40), 'a ready copy of the tree, by revision');
  t.equal(parseInspect('approot present\ncopy \n').copyRevision, undefined);
  t.equal(parseInspect('approot present\nspare main\n').spareRevision, undefined, 'a spare of no known revision is not used');
  const foreign = parseInspect('approot present\nwritable yes\ncurrent /somewhere/else\nrevision ' + 'c'.repeat(40));
  t.equal(foreign.current, undefined, 'a current that points outside releases/ is not ours');
  t.equal(foreign.currentRevision, undefined);
});

t.test('commands refuse values that are not release ids or shas', async (t) => {
  t.throws(() => activateCommand('/a', '../../etc'));
  const session = sessionInput('/a', { expectedState: '' });
  t.ok(deploySessionCommand(session));
  t.throws(() => deploySessionCommand({ ...session, prune: ['-rf'] }), { message: 'bad release -rf' });
  t.throws(() => deploySessionCommand({ ...session, source: { kind: 'copy', release: '..' } }), { message: 'bad release ..' });
  t.throws(() => deploySessionCommand({ ...session, revision: 'main' }), { message: `bad release ${R3} or revision main` });
  t.throws(() => deploySessionCommand({ ...session, stagingDir: 'releases/../x' }), { message: 'bad staging directory releases/../x' });
  const readyCopy = { copy: 'link' as const, shared: [], readyCopy: true };
  t.throws(() => deploySessionCommand({ ...session, source: { kind: 'tree' }, owned: readyCopy }), { message: 'only a real copy of an updated tree can be made ready' });
  t.throws(() => deploySessionCommand({ ...session, owned: { ...readyCopy, copy: 'real' } }), { message: 'only a real copy of an updated tree can be made ready' });
  t.throws(() => discardCommand('/a', 'releases/../..'), { message: 'bad staging directory releases/../..' });
  t.throws(() => discardCommand('/a', 'current'));
  t.throws(() => revertCommand('/a', '..', R1));
  t.throws(() => revertCommand('/a', R2, '../etc'));
  t.same(activateCommand('/a b', '20261123000001-aaaaaaaaaaaa').slice(0, 2), ['sh', '-c']);
  t.same(activateCommand('/a b', '20261123000001-aaaaaaaaaaaa').slice(-2), ['/a b', '20261123000001-aaaaaaaaaaaa'], 'values travel as arguments');
});

/** The host's state as the server would have read it. */
const stateOf = (root: string) => parseInspect(run(inspectCommand(root)).stdout).text;

/** The inputs of a deploy session of R3 (REV3) from nothing, on the host as it is now, with `overrides`. */
function sessionInput(root: string, overrides: Partial<SessionInput> = {}): SessionInput {
  return {
    appRoot: root,
    stagingDir: STAGING,
    source: { kind: 'empty' },
    removal: { removalBytes: 0, directoryBytes: 0, sentBytes: 0 },
    withTar: false,
    release: R3,
    revision: REV3,
    expectedState: overrides.expectedState ?? stateOf(root),
    prune: [],
    ...overrides,
  };
}

/** A deploy session of R3 (REV3) with these inputs; `control` follows the stdin lists and tar. */
function session(root: string, overrides: Partial<SessionInput>, stdin: Buffer[], control: string) {
  const argv = deploySessionCommand(sessionInput(root, overrides));
  return run(argv, Buffer.concat([...stdin, Buffer.from(control)]));
}

t.test('a session builds on a hard-linked copy: removals (then emptied directories), the tar, switch, tidy', async (t) => {
  const root = appRoot(t);
  const base = path.join(root, 'releases', R1);
  for (const file of ['keep.txt', 'a/keep.txt', 'a/b/gone.txt', 'c/d/gone.txt', '-dash', 'odd\nname.txt']) write(path.join(base, file), file);
  write(path.join(base, 'REVISION'), `${REV1}\n`);
  symlinkSync(`releases/${R1}`, path.join(root, 'current'));
  // The tar: what is sent (GNU tar pads to whole records, as the deploy session does).
  const source = appRoot(t);
  write(path.join(source, 'new/file.txt'), 'new');
  write(path.join(source, 'keep.txt'), 'replaced');
  const tar = execFileSync('tar', ['-c', '-C', source, 'new/file.txt', 'keep.txt']);

  const files = ['a/b/gone.txt', 'c/d/gone.txt', '-dash', 'odd\nname.txt'];
  const removedFiles = nul(files);
  const removedDirectories = nul(['a/b', 'c/d', 'a', 'c']);
  const result = session(
    root,
    { source: { kind: 'copy', release: R1 }, removal: { removalBytes: removedFiles.length, directoryBytes: removedDirectories.length, sentBytes: 0 }, withTar: true },
    [removedFiles, removedDirectories, tar],
    'switch\nfinish\n',
  );
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  t.same(lines.slice(0, 3), [SESSION.staged, SESSION.switched, SESSION.state], 'the control lines were left for the session, not eaten by tar');
  const release = path.join(root, 'releases', R3);
  t.equal(readlinkSync(path.join(root, 'current')), `releases/${R3}`);
  t.equal(readFileSync(path.join(release, 'REVISION'), 'utf8'), `${REV3}\n`);
  t.equal(readFileSync(path.join(release, 'a/keep.txt'), 'utf8'), 'a/keep.txt');
  t.equal(statSync(path.join(release, 'a/keep.txt')).ino, statSync(path.join(base, 'a/keep.txt')).ino, 'unchanged files are hard links');
  for (const file of files) t.notOk(existsSync(path.join(release, file)), `${JSON.stringify(file)} removed`);
  t.notOk(existsSync(path.join(release, 'a/b')), 'an emptied directory is removed');
  t.notOk(existsSync(path.join(release, 'c')), 'so is its emptied parent');
  t.ok(existsSync(path.join(release, 'a')), 'a directory with files left stays');
  t.equal(readFileSync(path.join(release, 'new/file.txt'), 'utf8'), 'new');
  t.equal(readFileSync(path.join(release, 'keep.txt'), 'utf8'), 'replaced');
  t.equal(readFileSync(path.join(base, 'keep.txt'), 'utf8'), 'keep.txt', 'the base release is not written through the link');
  t.equal(readFileSync(path.join(base, 'a/b/gone.txt'), 'utf8'), 'a/b/gone.txt', 'nor are its files removed');
  t.equal(readFileSync(path.join(base, 'REVISION'), 'utf8'), `${REV1}\n`, 'nor its REVISION');
  t.same(readdirSync(path.join(root, 'releases')).sort(), ['.spare', R1, R3], 'with nothing to prune, the spare is a copy of the new release');
  t.equal(statSync(path.join(root, 'releases/.spare/keep.txt')).ino, statSync(path.join(release, 'keep.txt')).ino);
  t.equal(lines.slice(3).join('\n').trim(), stateOf(root), 'the state printed is the host as it is now');
  t.equal(parseInspect(lines.slice(3).join('\n')).spareRevision, REV3);
});

t.test('a session builds on the spare and recycles the oldest pruned release as the next spare', async (t) => {
  const root = appRoot(t);
  for (const [id, rev] of [[R1, REV1], [R2, '2'.repeat(40)]] as const) {
    write(path.join(root, 'releases', id, 'index.html'), id);
    write(path.join(root, 'releases', id, 'REVISION'), `${rev}\n`);
  }
  write(path.join(root, 'releases', '.spare', 'index.html'), 'spare');
  write(path.join(root, 'releases', '.spare', 'REVISION'), `${REV1}\n`);
  write(path.join(root, 'releases', '.staging-20261123000000-dddddddddddd', 'x'), 'left by a killed deploy');
  symlinkSync(`releases/${R2}`, path.join(root, 'current'));
  const r1Inode = statSync(path.join(root, 'releases', R1, 'index.html')).ino;

  const result = session(root, { source: { kind: 'spare' }, prune: [R1] }, [], 'switch\nfinish\n');
  t.equal(result.code, 0, result.stderr);
  t.equal(readFileSync(path.join(root, 'releases', R3, 'index.html'), 'utf8'), 'spare', 'the release was built from the spare');
  t.same(readdirSync(path.join(root, 'releases')).sort(), ['.spare', R2, R3], 'the pruned release became the spare; leftovers are gone');
  t.equal(statSync(path.join(root, 'releases/.spare/index.html')).ino, r1Inode, 'moved, not copied');
  t.equal(parseInspect(result.stdout.split(SESSION.state)[1] ?? '').spareRevision, REV1);
});

t.test('a session refuses a host that is not as the server read it, and changes nothing', async (t) => {
  const root = appRoot(t);
  write(path.join(root, 'releases', R1, 'index.html'), 'x');
  const expectedState = stateOf(root);
  write(path.join(root, 'releases', R2, 'index.html'), 'made behind the server\'s back');
  const result = session(root, { expectedState }, [], 'switch\nfinish\n');
  t.equal(result.code, 75);
  t.equal(result.stdout.trim(), SESSION.changed);
  t.same(readdirSync(path.join(root, 'releases')).sort(), [R1, R2]);
});

t.test('a session waits while another holds the app root (one still tidying), then finds the host changed', async (t) => {
  const root = appRoot(t);
  write(path.join(root, 'releases', R1, 'index.html'), 'x');
  const expectedState = stateOf(root);
  // Another session: holds the app root until its input ends, then adds a release (as a tidying changes the host).
  const other = spawn('sh', ['-c', `exec 9<"$1"; flock 9; read -r _; mkdir "$1/releases/${R2}"`, 'sh', root], { stdio: ['pipe', 'ignore', 'inherit'] });
  t.teardown(() => other.kill());
  await new Promise((resolve) => setTimeout(resolve, 200));
  const [command, ...args] = deploySessionCommand(sessionInput(root, { expectedState }));
  const waiting = spawn(command ?? '', args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let stdout = '';
  waiting.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = new Promise<number | null>((resolve) => waiting.on('exit', resolve));
  waiting.stdin.end('switch\nfinish\n');
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(waiting.exitCode, null, 'it waits for the other session');
  t.notOk(existsSync(path.join(root, STAGING)), 'and has staged nothing');
  other.stdin.end('\n');
  t.equal(await code, 75, 'then refuses: the host is not as it was read');
  t.equal(stdout.trim(), SESSION.changed);
});

t.test('a session whose input ends before `switch` removes its staging; before `finish`, it tidies nothing', async (t) => {
  const root = appRoot(t);
  write(path.join(root, 'releases', R1, 'index.html'), 'x');
  write(path.join(root, 'releases', R1, 'REVISION'), `${REV1}\n`);
  symlinkSync(`releases/${R1}`, path.join(root, 'current'));
  const abandoned = session(root, { source: { kind: 'copy', release: R1 } }, [], '');
  t.equal(abandoned.code, 0, abandoned.stderr);
  t.equal(abandoned.stdout.trim(), SESSION.staged);
  t.same(readdirSync(path.join(root, 'releases')), [R1], 'no staging left');
  t.equal(readlinkSync(path.join(root, 'current')), `releases/${R1}`);

  const unsettled = session(root, { source: { kind: 'copy', release: R1 }, prune: [R1] }, [], 'switch\n');
  t.equal(unsettled.code, 0, unsettled.stderr);
  t.equal(readlinkSync(path.join(root, 'current')), `releases/${R3}`);
  t.same(readdirSync(path.join(root, 'releases')).sort(), [R1, R3], 'nothing pruned, no spare: the deploy may yet be reverted');
});

t.test('a first session makes the app root; only the tar is in the release', async (t) => {
  const fresh = appRoot(t);
  const source = appRoot(t);
  write(path.join(source, 'index.html'), 'first');
  const first = session(path.join(fresh, 'app'), { withTar: true }, [execFileSync('tar', ['-c', '-C', source, 'index.html'])], 'switch\n');
  t.equal(first.code, 0, first.stderr);
  t.same(readdirSync(path.join(fresh, 'app', 'releases', R3)).sort(), ['REVISION', 'index.html']);
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
