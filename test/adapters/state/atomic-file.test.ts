import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createFileAtomic, writeFileAtomic } from '../../../src/adapters/state/atomic-file.js';

t.test('writeFileAtomic replaces a file whole, with its mode, and leaves no temp file', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-atomic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'state.json');
  writeFileSync(file, 'old');
  writeFileAtomic(file, 'new', 0o600);
  t.equal(readFileSync(file, 'utf8'), 'new');
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.same(readdirSync(dir), ['state.json']);
  t.throws(() => writeFileAtomic(path.join(dir, 'missing', 'x'), 'x', 0o644), { code: 'ENOENT' });
});

t.test('createFileAtomic creates only where nothing is, and the one that exists is kept', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-atomic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'key');
  t.equal(createFileAtomic(file, 'first', 0o600), true);
  t.equal(createFileAtomic(file, 'second', 0o600), false);
  t.equal(readFileSync(file, 'utf8'), 'first');
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.same(readdirSync(dir), ['key'], 'no temp file left either way');
});
