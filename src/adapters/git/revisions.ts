import { execFile, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { ReleaseEntry } from '../../core/symlinks.js';
import { SYMLINK_MODE, type TreeChange, type TreeEntry, parseLsTree, parseRawDiff } from '../../core/tree-changes.js';
import { childEnv } from '../process/child-env.js';
import { blobTar } from './blob-tar.js';
import { blobZip } from './blob-zip.js';
import { catFile } from './cat-file.js';

const execFileAsync = promisify(execFile);

/**
 * Reads revisions from a bare repository, including objects still in a push's quarantine. We spawn git
 * ourselves rather than through simple-git: it strips the GIT_* variables that point at the quarantine and
 * decodes output as UTF-8, which corrupts archives.
 */
export class RevisionReader {
  private readonly env: NodeJS.ProcessEnv;
  /** Answers about commits named by sha, which never change: the hosts of a colour mostly ask the same. */
  private readonly answers = new Map<string, Promise<unknown>>();

  constructor(
    readonly repoDir: string,
    objectEnv: Record<string, string> = {},
  ) {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(childEnv())) if (!key.startsWith('GIT_')) env[key] = value;
    this.env = { ...env, ...objectEnv, GIT_DIR: repoDir };
  }

  private async git(args: string[], maxBuffer = 256 * 1024 * 1024): Promise<string> {
    const { stdout } = await execFileAsync('git', args, { env: this.env, cwd: this.repoDir, maxBuffer, encoding: 'utf8' });
    return stdout;
  }

  async commitExists(revision: string): Promise<boolean> {
    try {
      await this.git(['cat-file', '-e', `${revision}^{commit}`]);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether `ancestor` is in `revision`'s history (both known to this repository; an unknown one is not). */
  async isAncestor(ancestor: string, revision: string): Promise<boolean> {
    try {
      await this.git(['merge-base', '--is-ancestor', ancestor, revision]);
      return true;
    } catch {
      return false;
    }
  }

  async resolve(ref: string): Promise<string | undefined> {
    try {
      return (await this.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** `work`'s answer, computed once per key when every revision it names is a full sha. */
  private once<T>(key: string, revisions: readonly string[], work: () => Promise<T>): Promise<T> {
    if (!revisions.every((r) => /^[0-9a-f]{40}$/.test(r))) return work();
    let answer = this.answers.get(key) as Promise<T> | undefined;
    if (!answer) {
      answer = work();
      this.answers.set(key, answer);
      // A failure is not remembered: the next caller asks git again.
      answer.catch(() => this.answers.delete(key));
    }
    return answer;
  }

  /** The changes from `from` to `to`, or undefined when git does not know `from` (a release from elsewhere). */
  diff(from: string, to: string): Promise<TreeChange[] | undefined> {
    return this.once(`diff ${from} ${to}`, [from, to], () => this.diffNow(from, to));
  }

  private async diffNow(from: string, to: string): Promise<TreeChange[] | undefined> {
    try {
      return parseRawDiff(await this.git(['diff', '--raw', '-z', '--no-renames', '--no-abbrev', '--no-ext-diff', from, to, '--']));
    } catch (error) {
      // Asked only on failure: the usual deploy pays for one git process, not two.
      if (!(await this.commitExists(from))) return undefined;
      throw error;
    }
  }

  /** The type of each object (`commit`, `tag`, `tree`, `blob`; `missing` when absent), in one git process. */
  async objectTypes(ids: readonly string[]): Promise<Map<string, string>> {
    const types = new Map<string, string>();
    if (ids.length === 0) return types;
    const child = spawn('git', ['cat-file', '--batch-check=%(objectname) %(objecttype)'], { cwd: this.repoDir, env: this.env, stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin.on('error', () => {});
    child.stdin.end(ids.map((id) => `${id}\n`).join(''));
    let output = '';
    for await (const chunk of child.stdout) output += String(chunk);
    for (const line of output.split('\n')) {
      const [id, type] = line.split(' ');
      if (id && type) types.set(id, type);
    }
    return types;
  }

  /** The revision's files, or with `mode` only those of that mode. */
  listTree(revision: string, mode?: string): Promise<TreeEntry[]> {
    return this.once(`ls-tree ${revision} ${mode ?? ''}`, [revision], async () => parseLsTree(await this.git(['ls-tree', '-r', '-z', '--full-tree', revision]), mode));
  }

  /** The revision's files under `dir` (e.g. `.bluegreen`), in one small `git ls-tree`. */
  listUnder(revision: string, dir: string): Promise<TreeEntry[]> {
    return this.once(`ls-tree ${revision} -- ${dir}`, [revision], async () => parseLsTree(await this.git(['ls-tree', '-r', '-z', '--full-tree', revision, '--', dir])));
  }

  /** Contents of small blobs (symlink targets), by blob id. */
  async readBlobs(blobs: readonly string[]): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    if (blobs.length === 0) return result;
    const objects = catFile({ cwd: this.repoDir, env: this.env }, blobs);
    try {
      for (const blob of blobs) result.set(blob, (await objects.readObject(blob, 'blob')).toString('utf8'));
    } finally {
      objects.close();
    }
    return result;
  }

  /**
   * The symlinks of `revision`, with their targets: one `git ls-tree` (none when the caller passes `tree`, the
   * revision's listing) and one blob batch for the links alone, however many files the tree has.
   */
  async symlinks(revision: string, tree?: readonly TreeEntry[]): Promise<ReleaseEntry[]> {
    const links = tree ? tree.filter((entry) => entry.mode === SYMLINK_MODE) : await this.listTree(revision, SYMLINK_MODE);
    const targets = await this.readBlobs(links.map((link) => link.blob));
    return links.map((link) => ({ path: link.path, mode: link.mode, target: targets.get(link.blob) ?? '' }));
  }

  /** A zip of `revision`'s whole tree plus `extra` files (see blobZip). */
  async zip(revision: string, extra: ReadonlyArray<{ path: string; content: Buffer }>): Promise<Readable> {
    return blobZip({ cwd: this.repoDir, env: this.env }, revision, await this.listTree(revision), extra);
  }

  /** A tar stream of `entries`, files of `revision`'s tree (see blobTar). */
  tar(revision: string, entries: readonly TreeEntry[]): Readable {
    return blobTar({ cwd: this.repoDir, env: this.env }, revision, entries);
  }
}
