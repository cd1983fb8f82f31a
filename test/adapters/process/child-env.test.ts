import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ensureRepos, repoPath } from '../../../src/adapters/git/repos.js';
import { RevisionReader } from '../../../src/adapters/git/revisions.js';
import { childEnv } from '../../../src/adapters/process/child-env.js';

const SECRETS = {
  DIGITALOCEAN_TOKEN: 'dop_v1_do-not-leak',
  AZURE_CLIENT_SECRET: 'azure-do-not-leak',
  BLUEGREEN_NOTIFY_SECRET: 'notify-do-not-leak',
  GITHUB_TOKEN: 'ghp_do-not-leak',
  DB_PASSWORD: 'db-do-not-leak',
};

t.test('childEnv drops secret variables and keeps the rest', async (t) => {
  const env = childEnv({ ...SECRETS, PATH: '/usr/bin', HOME: '/root', BLUEGREEN_DATA_DIR: '/srv/data', SSH_AUTH_SOCK: '/tmp/agent' });
  t.same(env, { PATH: '/usr/bin', HOME: '/root', BLUEGREEN_DATA_DIR: '/srv/data', SSH_AUTH_SOCK: '/tmp/agent' });
});

t.test('the git children this server spawns do not get the secrets', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-child-env-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A `git` first on PATH that records its own environment, then runs the real git.
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  const realGit = ['/usr/bin/git', '/usr/local/bin/git'].find((candidate) => existsSync(candidate))!;
  const dumps = path.join(dir, 'environments');
  writeFileSync(path.join(bin, 'git'), `#!/bin/sh\nenv >> '${dumps}'\necho ---- >> '${dumps}'\nexec ${realGit} "$@"\n`);
  chmodSync(path.join(bin, 'git'), 0o755);
  const saved = { ...process.env };
  t.teardown(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });
  Object.assign(process.env, SECRETS, { PATH: `${bin}:${process.env.PATH}` });

  const dataDir = path.join(dir, 'data');
  ensureRepos(dataDir);
  const reader = new RevisionReader(repoPath(dataDir, 'blue'));
  t.equal(await reader.resolve('main'), undefined, 'git ran (an empty repository)');

  const environments = readFileSync(dumps, 'utf8');
  t.ok(environments.split('----').length > 2, 'both ensureRepos and the revision reader spawned git');
  t.match(environments, `PATH=${bin}:`, 'the rest of the environment is passed on');
  for (const [name, value] of Object.entries(SECRETS)) {
    t.notMatch(environments, value, `${name} is not passed to git`);
  }
});
