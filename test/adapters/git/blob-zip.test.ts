/** blobZip against a real repository; the zips are unpacked with the system's unzip, as Kudu would. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { RevisionReader } from '../../../src/adapters/git/revisions.js';
import { WorkRepo } from '../../helpers/git-repo.js';
import { descendants } from '../../helpers/sshd.js';

const work = new WorkRepo('bg-blobzip-');
t.teardown(() => work.cleanup());
const big = randomBytes(3 * 1024 * 1024 + 5);
const revision = work
  .write('index.html', '<h1>hi</h1>\n')
  .write('bin/run', '#!/bin/sh\necho run\n', 0o755)
  .write('big.bin', big)
  .write('REVISION', 'stale\n')
  .write('ünï cödé.txt', 'odd name\n')
  .symlink('latest', 'bin/run')
  .commit('tree');
const reader = new RevisionReader(path.join(work.dir, '.git'));
const extra = [{ path: 'REVISION', content: Buffer.from(`${revision}\n`) }];

t.test('the whole tree and REVISION, byte for byte, with exec bits and symlinks', async (t) => {
  const chunks: Buffer[] = [];
  for await (const chunk of await reader.zip(revision, extra)) chunks.push(chunk as Buffer);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-unzip-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'deploy.zip'), Buffer.concat(chunks));
  execFileSync('unzip', ['-q', path.join(dir, 'deploy.zip'), '-d', path.join(dir, 'out')]);
  const out = (file: string) => path.join(dir, 'out', file);
  t.equal(readFileSync(out('index.html'), 'utf8'), '<h1>hi</h1>\n');
  t.ok(readFileSync(out('big.bin')).equals(big));
  t.equal(readFileSync(out('ünï cödé.txt'), 'utf8'), 'odd name\n');
  t.equal(readFileSync(out('REVISION'), 'utf8'), `${revision}\n`, "the tree's own REVISION is replaced");
  t.equal(lstatSync(out('bin/run')).mode & 0o777, 0o755);
  t.equal(lstatSync(out('index.html')).mode & 0o777, 0o644);
  t.equal(readlinkSync(out('latest')), 'bin/run');
  const entries = execFileSync('unzip', ['-Z1', path.join(dir, 'deploy.zip')], { encoding: 'utf8' }).split('\n').filter(Boolean);
  t.equal(entries.filter((e) => e === 'REVISION').length, 1);
});

t.test('a reader that stops early stops git too', async (t) => {
  const cmdline = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  };
  const catFiles = () => descendants(process.pid).filter((pid) => cmdline(pid).includes('cat-file'));
  const stream = await reader.zip(revision, extra);
  for await (const _chunk of stream) {
    t.equal(catFiles().length, 1, 'git cat-file is running');
    break; // destroys the stream
  }
  const deadline = Date.now() + 5000;
  while (catFiles().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(catFiles(), [], 'git cat-file is gone');
});
