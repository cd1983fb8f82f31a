import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { COLOURS, type Colour } from '../../core/colour.js';
import { UserError } from '../../core/errors.js';
import { packageRoot } from '../../package-root.js';
import { childEnv } from '../process/child-env.js';
import { writeFileAtomic } from '../state/atomic-file.js';

/** `$DATA/repos`: holds exactly blue.git and green.git. */
export function reposDir(dataDir: string): string {
  return path.join(dataDir, 'repos');
}

export function repoPath(dataDir: string, colour: Colour): string {
  return path.join(reposDir(dataDir), `${colour}.git`);
}

/** The hook program of this install, hooks/git-hook.pl (this module runs from src/ or from dist/src/). */
export function hookScriptPath(): string {
  return path.join(packageRoot(), 'hooks', 'git-hook.pl');
}

/** The git hooks that hand a push to the deploy engine (see src/deploy/push-handler.ts). */
export const GIT_HOOKS = ['pre-receive', 'reference-transaction', 'post-receive'] as const;

/** The hook's interpreter: perl-base is Essential on Debian and Ubuntu, always at this path. */
export const PERL = '/usr/bin/perl';

/** Quotes one argument for /bin/sh. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * A hooks/NAME script: runs `hookCommand NAME "$@"`, by `exec` so the hook process's parent is git-receive-pack
 * itself.
 */
export function hookScript(hookCommand: readonly string[], name: (typeof GIT_HOOKS)[number]): string {
  return `#!/bin/sh\n# Written by bluegreen at every start; edits are lost.\nexec ${[...hookCommand, name].map(shellQuote).join(' ')} "$@"\n`;
}

function git(args: string[], cwd?: string): void {
  execFileSync('git', args, { cwd, env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Creates `$DATA/repos/blue.git` and `green.git` as bare repositories (default branch main) if missing, sets
 * the receive options the deploy flow relies on, and (re)writes each repository's hooks (GIT_HOOKS) to exec
 * `hookCommand` (by default perl and this install's hook). Idempotent; touches nothing else.
 */
export function ensureRepos(dataDir: string, hookCommand: readonly string[] = [PERL, hookScriptPath()]): Record<Colour, string> {
  const program = hookCommand[0] ?? '';
  if (!fs.existsSync(program)) {
    throw new UserError(`cannot install the git hook: ${program} does not exist`, { exitCode: 2, hint: 'install perl (apt-get install perl-base)' });
  }
  fs.mkdirSync(reposDir(dataDir), { recursive: true, mode: 0o700 });
  const result = {} as Record<Colour, string>;
  for (const colour of COLOURS) {
    const dir = repoPath(dataDir, colour);
    if (!fs.existsSync(path.join(dir, 'HEAD'))) {
      git(['init', '--quiet', '--bare', '--initial-branch=main', dir]);
    }
    // Push options reach the hook (GIT_PUSH_OPTION_*) only when advertised.
    git(['config', 'receive.advertisePushOptions', 'true'], dir);
    // Reject malformed objects, including trees with `..`, `.git` or other unsafe paths.
    git(['config', 'receive.fsckObjects', 'true'], dir);
    fs.mkdirSync(path.join(dir, 'hooks'), { recursive: true });
    for (const name of GIT_HOOKS) {
      const hook = path.join(dir, 'hooks', name);
      writeFileAtomic(hook, hookScript(hookCommand, name), 0o755);
    }
    result[colour] = dir;
  }
  return result;
}

/** A push's quarantine directory: `objects/tmp_objdir-incoming-*` (or the older `objects/incoming-*`). */
export function isQuarantine(dir: string): boolean {
  return QUARANTINE_NAME.test(path.basename(dir)) && path.basename(path.dirname(dir)) === 'objects';
}
const QUARANTINE_NAME = /^(tmp_objdir-)?incoming-/;

/**
 * Removes what killed pushes left in the repositories: quarantine directories (`objects/tmp_objdir-incoming-*`,
 * `objects/incoming-*`) and temporary packs. Only while no git-receive-pack runs (at start). Returns the paths.
 */
export function removePushLeftovers(dataDir: string): string[] {
  const removed: string[] = [];
  for (const colour of COLOURS) {
    const objects = path.join(repoPath(dataDir, colour), 'objects');
    const candidates = [
      ...listDir(objects).filter((n) => QUARANTINE_NAME.test(n)).map((n) => path.join(objects, n)),
      ...listDir(path.join(objects, 'pack')).filter((n) => /^tmp_(pack|idx|rev)_/.test(n)).map((n) => path.join(objects, 'pack', n)),
    ];
    for (const leftover of candidates) {
      fs.rmSync(leftover, { recursive: true, force: true });
      removed.push(leftover);
    }
  }
  return removed;
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
