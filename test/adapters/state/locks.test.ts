import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { acquireLock, readLock } from '../../../src/adapters/state/locks.js';

function dataDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-locks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a second holder waits, is told who holds it, and gets it once released', async (t) => {
  const dir = dataDir(t);
  const first = await acquireLock(dir, 'blue', { holder: 'alice', purpose: 'deploy' }, { waitMs: 1000 });
  t.match(await readLock(dir, 'blue'), { holder: 'alice', purpose: 'deploy', pid: process.pid });
  const told: string[] = [];
  const second = acquireLock(dir, 'blue', { holder: 'bob', purpose: 'deploy' }, { waitMs: 5000, pollMs: 10, onWait: (h) => told.push(h.holder) });
  await new Promise((r) => setTimeout(r, 50));
  await first.release();
  const lock = await second;
  t.same(told, ['alice']);
  t.match(await readLock(dir, 'blue'), { holder: 'bob' });
  await lock.release();
  t.equal(await readLock(dir, 'blue'), undefined);
});

t.test('giving up names the holder', async (t) => {
  const dir = dataDir(t);
  const held = await acquireLock(dir, 'green', { holder: 'alice', purpose: 'flip' }, { waitMs: 0 });
  await t.rejects(acquireLock(dir, 'green', { holder: 'bob', purpose: 'deploy' }, { waitMs: 30, pollMs: 10 }), {
    message: /^green is busy: flip by alice since .*; gave up after 0 s$/,
  });
  await held.release();
});

t.test('a lock left by a dead process does not block', async (t) => {
  const dir = dataDir(t);
  const dead = spawnSync('true').pid ?? 999999;
  mkdirSync(path.join(dir, 'locks'));
  writeFileSync(path.join(dir, 'locks', 'blue.lock'), JSON.stringify({ pid: dead, holder: 'ghost', purpose: 'deploy', since: 'then' }));
  t.equal(await readLock(dir, 'blue'), undefined);
  const lock = await acquireLock(dir, 'blue', { holder: 'me', purpose: 'deploy' }, { waitMs: 0 });
  t.match(await readLock(dir, 'blue'), { holder: 'me' });
  await lock.release();
});

t.test('many holders at once: one at a time, never two', async (t) => {
  const dir = dataDir(t);
  let inside = 0;
  let most = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      for (let round = 0; round < 3; round++) {
        const lock = await acquireLock(dir, 'users', { holder: `h${i}`, purpose: 'test' }, { waitMs: 20_000, pollMs: 1 });
        inside++;
        most = Math.max(most, inside);
        await new Promise((resolve) => setImmediate(resolve));
        inside--;
        done++;
        await lock.release();
      }
    }),
  );
  t.equal(done, 60);
  t.equal(most, 1, 'never two holders');
  t.same(readdirSync(path.join(dir, 'locks')), [], 'no lock or temporary file is left');
});

t.test('the users lock: its own file, busy message without the colours hint', async (t) => {
  const dir = dataDir(t);
  const held = await acquireLock(dir, 'users', { holder: 'alice', purpose: 'user change' }, { waitMs: 0 });
  t.equal(await readLock(dir, 'blue'), undefined, 'not a colour lock');
  t.same(readdirSync(path.join(dir, 'locks')), ['users.lock']);
  await t.rejects(acquireLock(dir, 'users', { holder: 'bob', purpose: 'user change' }, { waitMs: 0 }), {
    name: 'UserError',
    message: /^users is busy: user change by alice since .*; gave up after 0 s$/,
    hint: 'try again when it is done',
  });
  await held.release();
});

t.test('an empty or damaged lock file is taken over', async (t) => {
  const dir = dataDir(t);
  mkdirSync(path.join(dir, 'locks'));
  writeFileSync(path.join(dir, 'locks', 'green.lock'), '');
  t.equal(await readLock(dir, 'green'), undefined);
  const lock = await acquireLock(dir, 'green', { holder: 'me', purpose: 'deploy' }, { waitMs: 0 });
  t.match(await readLock(dir, 'green'), { holder: 'me' });
  await lock.release();
});
