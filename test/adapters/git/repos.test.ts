import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { ensureRepos, GIT_HOOKS, hookScript, hookScriptPath, PERL, repoPath } from '../../../src/adapters/git/repos.js';
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
  t.equal(script, path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../hooks/git-hook.pl'));
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

t.test('ensureRepos creates exactly blue.git and green.git, bare, on main, with their hooks', async (t) => {
  const dir = dataDir(t);
  const dirs = ensureRepos(dir);
  t.same(dirs, { blue: repoPath(dir, 'blue'), green: repoPath(dir, 'green') });
  t.same(readdirSync(path.join(dir, 'repos')).sort(), ['blue.git', 'green.git']);
  t.same([...GIT_HOOKS].sort(), ['post-receive', 'pre-receive', 'reference-transaction']);
  for (const repo of Object.values(dirs)) {
    t.equal(gitIn(repo, 'rev-parse', '--is-bare-repository'), 'true');
    t.equal(gitIn(repo, 'symbolic-ref', 'HEAD'), 'refs/heads/main');
    t.equal(gitIn(repo, 'config', 'receive.advertisePushOptions'), 'true');
    t.equal(gitIn(repo, 'config', 'receive.fsckObjects'), 'true');
    for (const name of GIT_HOOKS) {
      const hook = path.join(repo, 'hooks', name);
      t.equal(statSync(hook).mode & 0o777, 0o755, name);
      t.equal(readFileSync(hook, 'utf8'), hookScript([PERL, hookScriptPath()], name));
      t.equal(
        readFileSync(hook, 'utf8').split('\n').at(-2),
        `exec '/usr/bin/perl' '${hookScriptPath()}' '${name}' "$@"`,
        `${name} runs the hook program with its name first`,
      );
      t.match(readFileSync(hook, 'utf8'), /^#!\/bin\/sh\n(#.*\n)*exec .*\n$/);
    }
  }
});

t.test('ensureRepos again: keeps the history, rewrites the hooks', async (t) => {
  const dir = dataDir(t);
  ensureRepos(dir);
  const work = new WorkRepo('bg-repos-work-');
  t.teardown(() => work.cleanup());
  const sha = work.commit('v1');
  // No hook command that would need a server: hooks that accept.
  ensureRepos(dir, ['/bin/true']);
  work.git('push', '-q', repoPath(dir, 'blue'), 'main');
  for (const name of GIT_HOOKS) writeFileSync(path.join(repoPath(dir, 'blue'), 'hooks', name), '#!/bin/sh\nexit 1\n');
  ensureRepos(dir, ['/bin/true']);
  for (const name of GIT_HOOKS) {
    t.equal(readFileSync(path.join(repoPath(dir, 'blue'), 'hooks', name), 'utf8'), hookScript(['/bin/true'], name), `${name} rewritten at every start`);
  }
  t.equal(gitIn(repoPath(dir, 'blue'), 'rev-parse', 'main'), sha, 'the pushed history is kept');
  t.same(readdirSync(path.join(repoPath(dir, 'blue'), 'hooks')).filter((f) => f.endsWith('.tmp')), []);
  work.commit('v2');
  t.doesNotThrow(() => work.git('push', '-q', repoPath(dir, 'blue'), 'main'), 'the rewritten hooks accept again');
});

t.test('the hook scripts exec their command with the hook name and every argument intact, replacing the shell', async (t) => {
  const dir = dataDir(t);
  const program = "console.log(JSON.stringify({ pid: process.pid, args: process.argv.slice(1) }))";
  ensureRepos(dir, [process.execPath, '-e', program, "it's", 'two words', '$HOME', '`id`']);
  const runHook = async (name: string, args: string[]) => {
    const child = spawn(path.join(repoPath(dir, 'green'), 'hooks', name), args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    return { seen: JSON.parse(out) as { pid: number; args: string[] }, pid: child.pid };
  };
  const pre = await runHook('pre-receive', []);
  t.same(pre.seen.args, ["it's", 'two words', '$HOME', '`id`', 'pre-receive']);
  t.equal(pre.seen.pid, pre.pid, 'exec: the program is the process git started, so its parent is git');
  const transaction = await runHook('reference-transaction', ['prepared']);
  t.same(transaction.seen.args, ["it's", 'two words', '$HOME', '`id`', 'reference-transaction', 'prepared'], "git's arguments follow the name");
  t.same((await runHook('post-receive', [])).seen.args.at(-1), 'post-receive');
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
