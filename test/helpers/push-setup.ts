/**
 * A served bluegreen with two real SSH hosts and a work repository whose `blue` and `green` remotes point at
 * it as alice: what the end-to-end push tests start from.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { cleanEnv, runCli, startServe, startTwoHosts } from './bluegreen.js';
import { WorkRepo } from './git-repo.js';

const execFileAsync = promisify(execFile);

export interface PushResult {
  code: number;
  output: string;
}

/** `git push REMOTE ARGS` in the work repository, never throwing. */
export async function push(work: WorkRepo, remote: string, ...args: string[]): Promise<PushResult> {
  try {
    const { stdout, stderr } = await execFileAsync('git', ['push', remote, ...args], { cwd: work.dir, env: cleanEnv() });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

export async function setupPush(t: Test, extraEnv: Record<string, string> = {}) {
  const hosts = await startTwoHosts(t);
  const env = { ...hosts.env, ...extraEnv };
  const added = await runCli(hosts.dir, ['user', 'add', 'alice'], env);
  t.equal(added.code, 0, added.stderr);
  const token = added.stdout.split('\n')[1] ?? '';
  const server = await startServe(hosts.dir, env, t);
  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  const base = new URL(server.gitUrl);
  for (const colour of ['blue', 'green']) {
    work.git('remote', 'add', colour, `${base.protocol}//alice:${token}@${base.host}/${colour}.git`);
  }
  const current = (colour: 'blue' | 'green', file = '') => path.join(hosts.appRoots[colour], 'current', file);
  const repoDir = (colour: string) => path.join(hosts.dataDir, 'repos', `${colour}.git`);
  const branchOf = async (colour: string, ref = 'refs/heads/main') =>
    (await execFileAsync('git', ['--git-dir', repoDir(colour), 'rev-parse', '--verify', '-q', ref], { env: cleanEnv() }).catch(() => ({ stdout: '' }))).stdout.trim();
  return { hosts, env, token, server, work, current, branchOf, repoDir };
}
