import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';

t.setTimeout(60_000);
import type { Config } from '../../src/core/config.js';
import { watchConfig } from '../../src/server/config-watcher.js';

type Report = { config?: Config; error?: string };

/** A watcher on a scratch directory's .env; `next()` resolves with the next thing it reports. */
async function watching(t: Test, initial: string | undefined, baseEnv: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, '.env');
  if (initial !== undefined) writeFileSync(file, initial);
  const reports: Report[] = [];
  const waiting: ((report: Report) => void)[] = [];
  const report = (value: Report) => {
    const resolve = waiting.shift();
    if (resolve) resolve(value);
    else reports.push(value);
  };
  const watcher = watchConfig({ baseEnv, cwd: dir, needs: [], onChange: (config) => report({ config }), onError: (error) => report({ error }) });
  t.teardown(() => watcher.close());
  await new Promise((r) => setTimeout(r, 300)); // let the watcher settle
  const next = () => {
    const queued = reports.shift();
    return queued ? Promise.resolve(queued) : new Promise<Report>((resolve) => waiting.push(resolve));
  };
  /** Waits for reports until one has keepReleases `n` (transient states of a multi-step edit may come first). */
  const until = async (n: number): Promise<Report> => {
    for (;;) {
      const r = await next();
      if (r.config?.keepReleases === n) return r;
    }
  };
  return { dir, file, next, until };
}

t.test('an edited .env is applied; a bad edit is reported; the real environment wins over .env', async (t) => {
  const w = await watching(t, 'BLUEGREEN_KEEP_RELEASES=5\n', { BLUEGREEN_HEALTH_PATH: '/from-environment' });
  writeFileSync(w.file, 'BLUEGREEN_KEEP_RELEASES=9\nBLUEGREEN_HEALTH_PATH=/from-file\n');
  const applied = await w.next();
  t.equal(applied.config?.keepReleases, 9);
  t.equal(applied.config?.healthPath, '/from-environment', 'the real environment wins over .env');

  writeFileSync(w.file, 'BLUEGREEN_KEEP_RELEASES=lots\n');
  const refused = await w.next();
  t.equal(refused.config, undefined);
  t.match(refused.error, /BLUEGREEN_KEEP_RELEASES="lots": expected a whole number/);
});

t.test('the file is followed however it is replaced', async (t) => {
  const w = await watching(t, 'BLUEGREEN_KEEP_RELEASES=5\n');

  // An editor's save: write a temporary file, rename it over .env; then append to the new file.
  writeFileSync(path.join(w.dir, '.env.tmp'), 'BLUEGREEN_KEEP_RELEASES=6\n');
  renameSync(path.join(w.dir, '.env.tmp'), w.file);
  t.equal((await w.until(6)).config?.keepReleases, 6, 'renamed over');
  await new Promise((r) => setTimeout(r, 200));
  appendFileSync(w.file, 'BLUEGREEN_KEEP_RELEASES=7\n'.replace('BLUEGREEN_KEEP_RELEASES=7', 'BLUEGREEN_LOCK_WAIT=7\nBLUEGREEN_KEEP_RELEASES=7'));
  // dotenv keeps the first of two assignments: the append changes the lock wait, not the releases.
  const appended = await w.next();
  t.equal(appended.config?.lockWaitMs, 7000, 'an append after the rename is seen');

  // Delete, then make it again.
  unlinkSync(w.file);
  const deleted = await w.next();
  t.equal(deleted.config?.keepReleases, 5, 'a missing .env counts as empty');
  await new Promise((r) => setTimeout(r, 200));
  writeFileSync(w.file, 'BLUEGREEN_KEEP_RELEASES=8\n');
  t.equal((await w.until(8)).config?.keepReleases, 8, 're-created');

  // Truncate, then append.
  truncateSync(w.file, 0);
  await new Promise((r) => setTimeout(r, 50));
  appendFileSync(w.file, 'BLUEGREEN_KEEP_RELEASES=9\n');
  t.equal((await w.until(9)).config?.keepReleases, 9, 'truncated then appended');

  // And after all that, a plain edit still counts.
  await new Promise((r) => setTimeout(r, 200));
  writeFileSync(w.file, 'BLUEGREEN_KEEP_RELEASES=10\n');
  t.equal((await w.until(10)).config?.keepReleases, 10, 'still watching');
});

t.test('other files in the directory are ignored; a .env that cannot be read is reported', async (t) => {
  const w = await watching(t, undefined);
  writeFileSync(path.join(w.dir, 'notes.txt'), 'BLUEGREEN_KEEP_RELEASES=lots\n');
  writeFileSync(path.join(w.dir, '.env.example'), 'BLUEGREEN_KEEP_RELEASES=lots\n');
  mkdirSync(w.file);
  const report = await w.next();
  t.match(report.error, /^ {2}- .*\.env cannot be read \(EISDIR\)$/);
});

t.test('a slow reload is not overtaken: edits apply one at a time, in order, the last edit last', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, '.env');
  writeFileSync(file, 'BLUEGREEN_KEEP_RELEASES=5\n');
  const applied: number[] = [];
  let busy = 0;
  let overlapped = false;
  const watcher = watchConfig({
    baseEnv: {},
    cwd: dir,
    needs: [],
    onChange: async (config) => {
      if (++busy > 1) overlapped = true;
      await new Promise((r) => setTimeout(r, 400)); // e.g. closing a provider's connections
      applied.push(config.keepReleases);
      busy--;
    },
    onError: (error) => t.fail(error),
  });
  t.teardown(() => watcher.close());
  await new Promise((r) => setTimeout(r, 300));
  writeFileSync(path.join(dir, '.env.tmp'), 'BLUEGREEN_KEEP_RELEASES=6\n');
  renameSync(path.join(dir, '.env.tmp'), file);
  await new Promise((r) => setTimeout(r, 250)); // the first reload is under way
  writeFileSync(file, 'BLUEGREEN_KEEP_RELEASES=7\n');
  const deadline = Date.now() + 10_000;
  while (applied.at(-1) !== 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 600)); // nothing stale lands after it
  t.equal(applied.at(-1), 7, `applied in order: ${applied.join(', ')}`);
  t.notOk(overlapped, 'one reload at a time');
});
