import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cleanEnv, requireBuild, runCli, startServe } from '../helpers/bluegreen.js';
import { WorkRepo } from '../helpers/git-repo.js';

requireBuild();

t.test('a running server never changes where deploys go on a reload: refused whole, loudly; the rest applies', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-reload-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const envFile = path.join(dir, '.env');
  const hostsEnv = [
    `BLUE_HOST=file://${dir}/blue`,
    `GREEN_HOST=file://${dir}/green`,
    'BLUE_URL=http://127.0.0.1:0/',
    'GREEN_URL=http://127.0.0.1:0/',
    'BLUEGREEN_LISTEN=127.0.0.1:0',
    'BLUEGREEN_ROUTER_LISTEN=127.0.0.1:0',
  ].join('\n');
  writeFileSync(envFile, `${hostsEnv}\n`);
  const base = { BLUEGREEN_DATA_DIR: path.join(dir, 'data') };
  const token = (await runCli(dir, ['user', 'add', 'alice'], base)).stdout.split('\n')[1] ?? '';
  const server = await startServe(dir, base, t);

  await new Promise((r) => setTimeout(r, 500)); // the watcher starts after the server says where it listens
  // Emptied: the embedded default would deploy to directories under the data dir. Refused.
  truncateSync(envFile, 0);
  await server.waitFor(/WARNING: \.env now changes BLUEGREEN_LISTEN, BLUE_HOST, GREEN_HOST, BLUE_URL, GREEN_URL, BLUEGREEN_ROUTER_LISTEN, which decide where deploys and traffic go: restart `bluegreen serve` to use them\. Until then NOTHING from \.env is applied/);
  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  work.write('index.html', 'still blue');
  work.commit();
  work.git('remote', 'add', 'blue', `${server.gitUrl.replace('://', `://alice:${token}@`)}/blue.git`);
  execFileSync('git', ['push', '-q', 'blue', 'main'], { cwd: work.dir, env: cleanEnv() });
  t.equal(readFileSync(path.join(dir, 'blue', 'current', 'index.html'), 'utf8'), 'still blue', 'the push went to the configured host');
  t.notOk(existsSync(path.join(dir, 'data', 'hosts')), 'not to the embedded default');

  // A harmless change together with one that needs a restart: none of it applies.
  writeFileSync(envFile, `${hostsEnv}\nBLUEGREEN_KEEP_RELEASES=3\nBLUEGREEN_APP_ROOT=/srv/other\n`);
  await server.waitFor(/WARNING: \.env now changes BLUEGREEN_APP_ROOT, .*\(not even BLUEGREEN_KEEP_RELEASES\): the whole last good configuration stays in force/);

  // Back to the same hosts, replaced by rename, with the harmless change: applied.
  writeFileSync(`${envFile}.new`, `${hostsEnv}\nBLUEGREEN_KEEP_RELEASES=3\n`);
  renameSync(`${envFile}.new`, envFile);
  await server.waitFor(/configuration reloaded from \.env \(changed: BLUEGREEN_KEEP_RELEASES\)/);
  await new Promise((r) => setTimeout(r, 300));
  writeFileSync(envFile, `${hostsEnv}\nBLUEGREEN_KEEP_RELEASES=3\n`);
  await server.waitFor(/\.env re-read: no change/);
  t.equal(await server.stop(), 0);
});
