import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { ensureRepos, hookScriptPath, PERL, preReceiveScript, repoPath } from '../../../src/adapters/git/repos.js';
import { cleanGitEnv, WorkRepo } from '../../helpers/git-repo.js';

function dataDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-repos-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const gitIn = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: cleanGitEnv() }).trim();

t.test('hookScriptPath is the hook of this install, and perl can compile it', async (t) => {
  const script = hookScriptPath();
  t.ok(path.isAbsolute(script));
  t.equal(script, path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../hooks/pre-receive.pl'));
  t.doesNotThrow(() => execFileSync(PERL, ['-c', script], { stdio: 'pipe' }), 'perl -c: syntax OK');
});

t.test('ensureRepos refuses a hook command whose program is missing', async (t) => {
  const dir = dataDir(t);
  t.throws(() => ensureRepos(dir, ['/nonexistent/perl', hookScriptPath()]), {
    name: 'UserError',
    message: 'cannot install the git hook: /nonexistent/perl does not exist',
    hint: 'install perl (apt-get install perl-base)',
  });
});

t.test('ensureRepos creates exactly blue.git and green.git, bare, on main, with their hook', async (t) => {
  const dir = dataDir(t);
  const dirs = ensureRepos(dir);
  t.same(dirs, { blue: repoPath(dir, 'blue'), green: repoPath(dir, 'green') });
  t.same(readdirSync(path.join(dir, 'repos')).sort(), ['blue.git', 'green.git']);
  for (const repo of Object.values(dirs)) {
    t.equal(gitIn(repo, 'rev-parse', '--is-bare-repository'), 'true');
    t.equal(gitIn(repo, 'symbolic-ref', 'HEAD'), 'refs/heads/main');
    t.equal(gitIn(repo, 'config', 'receive.advertisePushOptions'), 'true');
    t.equal(gitIn(repo, 'config', 'receive.fsckObjects'), 'true');
    const hook = path.join(repo, 'hooks', 'pre-receive');
    t.equal(statSync(hook).mode & 0o777, 0o755);
    t.equal(readFileSync(hook, 'utf8'), preReceiveScript([PERL, hookScriptPath()]));
    t.match(readFileSync(hook, 'utf8'), /^#!\/bin\/sh\n(#.*\n)*exec '\/usr\/bin\/perl' '\/.*\/hooks\/pre-receive\.pl'\n$/);
  }
});

t.test('ensureRepos again: keeps the history, rewrites the hook', async (t) => {
  const dir = dataDir(t);
  ensureRepos(dir);
  const work = new WorkRepo('bg-repos-work-');
  t.teardown(() => work.cleanup());
  const sha = work.commit('v1');
  // No hook command that would need a server: a hook that accepts.
  ensureRepos(dir, ['/bin/true']);
  work.git('push', '-q', repoPath(dir, 'blue'), 'main');
  const hook = path.join(repoPath(dir, 'blue'), 'hooks', 'pre-receive');
  writeFileSync(hook, '#!/bin/sh\nexit 1\n');
  ensureRepos(dir, ['/bin/true']);
  t.equal(readFileSync(hook, 'utf8'), preReceiveScript(['/bin/true']), 'rewritten at every start');
  t.equal(gitIn(repoPath(dir, 'blue'), 'rev-parse', 'main'), sha, 'the pushed history is kept');
  t.same(readdirSync(path.join(repoPath(dir, 'blue'), 'hooks')).filter((f) => f.endsWith('.tmp')), []);
});

t.test('the hook script execs its command with every argument intact, replacing the shell', async (t) => {
  const dir = dataDir(t);
  const program = "console.log(JSON.stringify({ pid: process.pid, args: process.argv.slice(1) }))";
  ensureRepos(dir, [process.execPath, '-e', program, "it's", 'two words', '$HOME', '`id`']);
  const hook = path.join(repoPath(dir, 'green'), 'hooks', 'pre-receive');
  const child = spawn(hook, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  const seen = JSON.parse(out) as { pid: number; args: string[] };
  t.same(seen.args, ["it's", 'two words', '$HOME', '`id`']);
  t.equal(seen.pid, child.pid, 'exec: the program is the process git started, so its parent is git');
});

t.test('pushed trees with .git or .. entries are refused (receive.fsckObjects)', async (t) => {
  const dir = dataDir(t);
  ensureRepos(dir, ['/bin/true']);
  const work = new WorkRepo('bg-repos-work-');
  t.teardown(() => work.cleanup());
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: work.dir, input: 'x', encoding: 'utf8', env: cleanGitEnv() }).trim();
  const inner = execFileSync('git', ['mktree'], { cwd: work.dir, input: `100644 blob ${blob}\tconfig\n`, encoding: 'utf8', env: cleanGitEnv() }).trim();
  for (const name of ['.git', '..', '.GIT']) {
    const tree = execFileSync('git', ['mktree'], { cwd: work.dir, input: `040000 tree ${inner}\t${name}\n`, encoding: 'utf8', env: cleanGitEnv() }).trim();
    const commit = work.git('commit-tree', tree, '-m', `evil ${name}`).trim();
    let stderr = '';
    try {
      execFileSync('git', ['push', repoPath(dir, 'blue'), `${commit}:refs/heads/main`], { cwd: work.dir, env: cleanGitEnv(), stdio: 'pipe' });
    } catch (error) {
      stderr = String((error as { stderr: Buffer }).stderr);
    }
    t.match(stderr, /remote: error: object [0-9a-f]{40}: has(Dotgit|Dotdot): contains '(\.git|\.\.)'[\s\S]*\(unpacker error\)/, name);
    t.equal(
      execFileSync('git', ['--git-dir', repoPath(dir, 'blue'), 'for-each-ref'], { encoding: 'utf8', env: cleanGitEnv() }),
      '',
      `no ref was created for ${name}`,
    );
  }
});
