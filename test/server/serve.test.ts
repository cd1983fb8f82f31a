import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cleanEnv, requireBuild, startServe } from '../helpers/bluegreen.js';
import { WorkRepo } from '../helpers/git-repo.js';

requireBuild();

t.test('the embedded default: first user, remotes, two local hosts, router; a push deploys; .env reloads live', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-embedded-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Any free ports, so tests can run side by side; everything else is the embedded default.
  const env = {
    BLUEGREEN_LISTEN: '127.0.0.1:0',
    BLUE_URL: 'http://127.0.0.1:0/',
    GREEN_URL: 'http://127.0.0.1:0/',
    BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0',
  };
  const server = await startServe(dir, env, t);
  const out = server.output();
  t.match(out, /\(embedded default: two local hosts, local router\)/);
  const token = /created user admin; token \(shown only now\): (\S+)/.exec(out)?.[1] ?? '';
  t.match(token, /^[A-Za-z0-9_-]{43}$/);
  const remote = /git remote add blue (\S+)/.exec(out)?.[1] ?? '';
  t.equal(remote, `${server.gitUrl.replace('://', `://admin:${token}@`)}/blue.git`);
  const blueUrl = /blue host: (\S+)/.exec(out)?.[1] ?? '';
  const greenUrl = /green host: (\S+)/.exec(out)?.[1] ?? '';
  const empty = await fetch(greenUrl);
  t.equal(empty.status, 503);
  t.equal(await empty.text(), 'nothing is deployed to green yet: git push green main\n');
  t.match(out, /production \(local router\): http:\/\/127\.0\.0\.1:\d+/);

  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  work.write('index.html', '<h1>embedded</h1>');
  const sha = work.commit();
  work.git('remote', 'add', 'blue', remote);
  execFileSync('git', ['push', '-q', 'blue', 'main'], { cwd: work.dir, env: cleanEnv() });
  t.equal(await (await fetch(blueUrl)).text(), '<h1>embedded</h1>');
  t.equal((await (await fetch(`${blueUrl}REVISION`)).text()).trim(), sha);
  t.equal(readFileSync(path.join(dir, '.bluegreen', 'hosts', 'blue', 'current', 'index.html'), 'utf8'), '<h1>embedded</h1>');

  writeFileSync(path.join(dir, '.env'), 'BLUEGREEN_KEEP_RELEASES=lots\n');
  await server.waitFor(/\.env changed but is not valid; the last good configuration stays in force:\n {2}- BLUEGREEN_KEEP_RELEASES="lots"/);
  writeFileSync(path.join(dir, '.env'), 'BLUEGREEN_KEEP_RELEASES=3\n');
  await server.waitFor(/configuration reloaded from \.env/);
  t.equal(await server.stop(), 0);
});
