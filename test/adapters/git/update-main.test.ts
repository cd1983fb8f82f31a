/**
 * Moving main outside a push: the repositories' reference-transaction hook lets through exactly the update
 * updateMain names, and refuses any other update of main that no push is behind (no server runs here).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { ensureRepos } from '../../../src/adapters/git/repos.js';
import { INTERNAL_UPDATE_VARIABLE, updateMain } from '../../../src/adapters/git/update-main.js';
import { ZERO_SHA } from '../../../src/core/ref-policy.js';
import { cleanGitEnv, WorkRepo } from '../../helpers/git-repo.js';

const execFileAsync = promisify(execFile);

async function setup(t: Test) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bg-update-main-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const repo = ensureRepos(dataDir).blue;
  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  work.write('index.html', 'v1');
  const v1 = work.commit('v1');
  work.write('index.html', 'v2');
  const v2 = work.commit('v2');
  // Fetched into another branch: the hook lets changes of refs other than main through.
  await execFileAsync('git', ['--git-dir', repo, 'fetch', '-q', work.dir, 'main:refs/heads/other'], { env: cleanGitEnv() });
  const main = async () =>
    (await execFileAsync('git', ['--git-dir', repo, 'rev-parse', '--verify', '-q', 'refs/heads/main'], { env: cleanGitEnv() }).catch(() => ({ stdout: '' }))).stdout.trim();
  const plainUpdate = (extraEnv: Record<string, string>, ...args: string[]) =>
    execFileAsync('git', ['--git-dir', repo, 'update-ref', 'refs/heads/main', ...args], { env: cleanGitEnv(extraEnv) }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stderr: error.stdout + error.stderr }),
    );
  return { repo, v1, v2, main, plainUpdate };
}

t.test('updateMain creates main, then moves it, through the hook', async (t) => {
  const { repo, v1, v2, main } = await setup(t);
  await updateMain(repo, v2, ZERO_SHA);
  t.equal(await main(), v2);
  await updateMain(repo, v1, v2);
  t.equal(await main(), v1, 'moved back to an older commit');
});

t.test('updateMain moves main only if it still is what the caller read', async (t) => {
  const { repo, v1, v2, main } = await setup(t);
  await updateMain(repo, v1, ZERO_SHA);
  await t.rejects(updateMain(repo, v2, v2), { message: /cannot lock ref 'refs\/heads\/main'.*expected/ });
  await t.rejects(updateMain(repo, v2, ZERO_SHA), { message: /cannot lock ref 'refs\/heads\/main'/ });
  t.equal(await main(), v1, 'main unchanged');
});

t.test('any other update of main is refused by the hook, whatever the variable says', async (t) => {
  const { repo, v1, v2, main, plainUpdate } = await setup(t);
  await updateMain(repo, v1, ZERO_SHA);

  const plain = await plainUpdate({}, v2, v1);
  t.not(plain.code, 0, 'a plain git update-ref of main');
  t.match(plain.stderr, /bluegreen: the deploy server is not running/);

  const other = await plainUpdate({ [INTERNAL_UPDATE_VARIABLE]: `${v1} ${v1} refs/heads/main` }, v2, v1);
  t.not(other.code, 0, 'the variable naming another update');
  const truthy = await plainUpdate({ [INTERNAL_UPDATE_VARIABLE]: '1' }, v2, v1);
  t.not(truthy.code, 0, 'the variable set to 1');
  t.equal(await main(), v1, 'main unchanged');

  const named = await plainUpdate({ [INTERNAL_UPDATE_VARIABLE]: `${v1} ${v2} refs/heads/main` }, v2, v1);
  t.equal(named.code, 0, named.stderr);
  t.equal(await main(), v2, 'the update the variable names goes through');
});
