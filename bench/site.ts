/**
 * Generated sites: a git working repository with N files of S bytes (random base64 text, so neither git's
 * zlib nor anything else gets to cheat much), 100 files per directory, committed on main.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv } from '../test/helpers/bluegreen.js';

export interface SiteSpec {
  files: number;
  /** Bytes per file. */
  size: number;
  /** Random binary bytes (incompressible) instead of base64 text. */
  binary?: boolean;
}

export interface Site {
  dir: string;
  spec: SiteSpec;
  git(...args: string[]): string;
  /** Path (relative to the repo) of file number `i`. */
  file(i: number): string;
  /** Rewrites one file with new content of the same size; returns its path. */
  touch(i?: number): string;
  /** Commits everything; returns the sha. */
  commit(message: string): string;
  cleanup(): void;
}

function content(spec: SiteSpec): Buffer {
  if (spec.binary) return randomBytes(spec.size);
  return Buffer.from(randomBytes(Math.ceil((spec.size * 3) / 4)).toString('base64').slice(0, spec.size));
}

function filePath(i: number): string {
  const dir = String(Math.floor(i / 100)).padStart(4, '0');
  return path.join('site', `d${dir}`, `page-${String(i).padStart(6, '0')}.html`);
}

export function makeSite(spec: SiteSpec, label = 'site'): Site {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bluegreen-bench-${label}-`));
  const env = cleanEnv({ GIT_AUTHOR_DATE: '2025-01-01T00:00:00Z' });
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'bench@example.test');
  git('config', 'user.name', 'Bench');
  git('config', 'gc.auto', '0');
  if (spec.binary) git('config', 'core.compression', '1'); // incompressible anyway; don't spend minutes on it
  for (let i = 0; i < spec.files; i++) {
    const file = path.join(dir, filePath(i));
    if (i % 100 === 0) mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content(spec));
  }
  writeFileSync(path.join(dir, 'index.html'), '<h1>bench</h1>\n');
  const site: Site = {
    dir,
    spec,
    git,
    file: filePath,
    touch(i = 0) {
      const rel = filePath(i);
      writeFileSync(path.join(dir, rel), content(spec));
      return rel;
    },
    commit(message) {
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD').trim();
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  site.commit('initial');
  return site;
}

/** Adds `.bluegreen/hooks/build` that does nothing (what a hook costs by itself), and commits. */
export function addEmptyBuildHook(site: Site): void {
  const hook = path.join(site.dir, '.bluegreen', 'hooks', 'build');
  mkdirSync(path.dirname(hook), { recursive: true });
  writeFileSync(hook, '#!/bin/sh\nexit 0\n');
  chmodSync(hook, 0o755);
  site.commit('an empty build hook');
}
