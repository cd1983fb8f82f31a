/**
 * blobTar and catFile against a real repository; the archives are unpacked with the system's GNU tar, as on
 * a host.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { blobTar } from '../../../src/adapters/git/blob-tar.js';
import { catFile } from '../../../src/adapters/git/cat-file.js';
import { RevisionReader } from '../../../src/adapters/git/revisions.js';
import { cleanGitEnv, WorkRepo } from '../../helpers/git-repo.js';
import { descendants } from '../../helpers/sshd.js';

function repo(t: Test): WorkRepo {
  const work = new WorkRepo('bg-blobtar-');
  t.teardown(() => work.cleanup());
  return work;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Unpacks `archive` with GNU tar into a fresh directory. */
function untar(t: Test, archive: Buffer): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-untar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const result = spawnSync('tar', ['-x', '--no-same-owner', '-f', '-', '-C', dir], { input: archive });
  if (result.status !== 0) throw new Error(`tar -x: ${result.stderr.toString()}`);
  return dir;
}

const place = (work: WorkRepo) => ({ cwd: work.dir, env: cleanGitEnv() });

t.test('the files asked for, byte for byte, with exec bits, symlinks and the commit time', async (t) => {
  const work = repo(t);
  const big = randomBytes(6 * 1024 * 1024 + 17);
  const longName = `${'deep/'.repeat(25)}${'n'.repeat(90)}.txt`;
  work
    .write('index.html', '<h1>hi</h1>\n')
    .write('bin/run', '#!/bin/sh\necho run\n', 0o755)
    .write('empty', '')
    .write('-dash "quoted" ünï cödé.txt', 'odd name\n')
    .write(longName, 'long path\n')
    .write('big.bin', big)
    .write('untouched.txt', 'not asked for\n')
    .symlink('link', 'bin/run');
  const revision = work.commit();
  const commitTime = Number(work.git('show', '-s', '--format=%ct', revision).trim());
  const tree = new RevisionReader(path.join(work.dir, '.git')).listTree(revision);
  const entries = (await tree).filter((e) => e.path !== 'untouched.txt');

  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const dir = untar(t, await collect(blobTar(place(work), revision, entries)));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(warnings, [], 'waiting for the reader many times leaks no listeners');
  t.equal(readFileSync(path.join(dir, 'index.html'), 'utf8'), '<h1>hi</h1>\n');
  t.equal(lstatSync(path.join(dir, 'bin/run')).mode & 0o111, 0o111, 'executable stays executable');
  t.equal(lstatSync(path.join(dir, 'index.html')).mode & 0o111, 0, 'a plain file is not executable');
  t.equal(readFileSync(path.join(dir, 'empty'), 'utf8'), '');
  t.equal(readFileSync(path.join(dir, '-dash "quoted" ünï cödé.txt'), 'utf8'), 'odd name\n');
  t.equal(readFileSync(path.join(dir, longName), 'utf8'), 'long path\n', 'a path longer than ustar allows');
  t.ok(readFileSync(path.join(dir, 'big.bin')).equals(big), 'a 6 MiB file arrives intact');
  t.equal(readlinkSync(path.join(dir, 'link')), 'bin/run', 'a symlink stays a symlink');
  t.throws(() => lstatSync(path.join(dir, 'untouched.txt')), { code: 'ENOENT' }, 'only the entries asked for');
  t.equal(Math.round(lstatSync(path.join(dir, 'index.html')).mtimeMs / 1000), commitTime, "stamped with the commit's time");
});

t.test('no entries: an empty archive', async (t) => {
  const work = repo(t);
  const revision = work.write('a', 'a').commit();
  const archive = await collect(blobTar(place(work), revision, []));
  t.equal(execFileSync('tar', ['-t', '-f', '-'], { input: archive, encoding: 'utf8' }), '');
});

t.test('an object git does not have fails the stream, naming it', async (t) => {
  const work = repo(t);
  const revision = work.write('a', 'a').commit();
  const missing = 'f'.repeat(40);
  await t.rejects(collect(blobTar(place(work), revision, [{ path: 'a', mode: '100644', blob: missing }])), {
    message: `git cat-file: expected blob ${missing}, got "${missing} missing"`,
  });
});

t.test('git that cannot start fails the stream with the reason', async (t) => {
  const work = repo(t);
  const revision = work.write('a', 'a').commit();
  const nowhere = { cwd: path.join(work.dir, 'no-such-dir'), env: cleanGitEnv() };
  await t.rejects(collect(blobTar(nowhere, revision, [])), { message: /^git cat-file ended early: spawn git ENOENT/ });
});

t.test('a consumer that stops early stops git', async (t) => {
  const work = repo(t);
  const revision = work.write('big.bin', randomBytes(8 * 1024 * 1024)).commit();
  const entries = await new RevisionReader(path.join(work.dir, '.git')).listTree(revision);
  const catFiles = () => descendants(process.pid).filter((pid) => readCmdline(pid).includes('cat-file'));
  const stream = blobTar(place(work), revision, entries);
  for await (const _chunk of stream) {
    t.equal(catFiles().length, 1, 'git cat-file is running');
    break; // destroys the stream
  }
  t.ok(stream.destroyed);
  const deadline = Date.now() + 5000;
  while (catFiles().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(catFiles(), [], 'and then it is gone');
});

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

t.test('catFile reads objects in the order asked', async (t) => {
  const work = repo(t);
  const revision = work.write('a', 'first').write('b', 'second').commit();
  const [a, b] = (await new RevisionReader(path.join(work.dir, '.git')).listTree(revision)).map((e) => e.blob);
  const objects = catFile(place(work), [a ?? '', b ?? '']);
  t.teardown(() => objects.close());
  t.equal((await objects.readObject(a ?? '', 'blob')).toString(), 'first');
  await t.rejects(objects.readObject(b ?? '', 'commit'), { message: `git cat-file: expected commit ${b}, got "${b} blob 6"` });
});

t.test('RevisionReader.readBlobs returns symlink targets by blob id', async (t) => {
  const work = repo(t);
  const revision = work.symlink('l1', 'target one').symlink('l2', '../up').commit();
  const reader = new RevisionReader(path.join(work.dir, '.git'));
  const tree = await reader.listTree(revision);
  const targets = await reader.readBlobs(tree.map((e) => e.blob));
  t.same([...targets.values()], ['target one', '../up']);
  t.same(await reader.readBlobs([]), new Map());
});
