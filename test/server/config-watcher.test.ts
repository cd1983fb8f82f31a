import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Config } from '../../src/core/config.js';
import { watchConfig } from '../../src/server/config-watcher.js';

/** Resolves with the next thing the watcher reports. */
function nextReport(reports: ((value: { config?: Config; error?: string }) => void)[]) {
  return new Promise<{ config?: Config; error?: string }>((resolve) => reports.push(resolve));
}

t.test('an edited .env is applied; a bad edit is reported and the last good configuration stays', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, '.env'), 'BLUEGREEN_KEEP_RELEASES=5\n');
  const waiting: ((value: { config?: Config; error?: string }) => void)[] = [];
  const report = (value: { config?: Config; error?: string }) => waiting.shift()?.(value);
  const watcher = watchConfig({
    baseEnv: { BLUEGREEN_HEALTH_PATH: '/from-environment' },
    cwd: dir,
    onChange: (config) => report({ config }),
    onError: (error) => report({ error }),
  });
  t.teardown(() => watcher.close());
  await new Promise((r) => setTimeout(r, 300)); // let the watcher settle

  let next = nextReport(waiting);
  writeFileSync(path.join(dir, '.env'), 'BLUEGREEN_KEEP_RELEASES=9\nBLUEGREEN_HEALTH_PATH=/from-file\n');
  const applied = await next;
  t.equal(applied.config?.keepReleases, 9);
  t.equal(applied.config?.healthPath, '/from-environment', 'the real environment wins over .env');

  next = nextReport(waiting);
  writeFileSync(path.join(dir, '.env'), 'BLUEGREEN_KEEP_RELEASES=lots\n');
  const refused = await next;
  t.equal(refused.config, undefined);
  t.match(refused.error, /BLUEGREEN_KEEP_RELEASES="lots": expected a whole number/);
});
