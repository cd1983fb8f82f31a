import { execFile, spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { type TreeChange, type TreeEntry, parseLsTree, parseRawDiff } from '../../core/tree-changes.js';

const execFileAsync = promisify(execFile);

/**
 * Reads revisions from a bare repository, including objects still in a push's quarantine. We spawn git
 * ourselves rather than through simple-git: it strips the GIT_* variables that point at the quarantine and
 * decodes output as UTF-8, which corrupts archives.
 */
export class RevisionReader {
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly repoDir: string,
    objectEnv: Record<string, string> = {},
  ) {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
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

  async resolve(ref: string): Promise<string | undefined> {
    try {
      return (await this.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  async diff(from: string, to: string): Promise<TreeChange[]> {
    return parseRawDiff(await this.git(['diff', '--raw', '-z', '--no-renames', '--no-abbrev', '--no-ext-diff', from, to, '--']));
  }

  async listTree(revision: string): Promise<TreeEntry[]> {
    return parseLsTree(await this.git(['ls-tree', '-r', '-z', '--full-tree', revision]));
  }

  /** Contents of small blobs (symlink targets), by blob id. */
  async readBlobs(blobs: readonly string[]): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    if (blobs.length === 0) return result;
    const child = spawn('git', ['cat-file', '--batch'], { env: this.env, cwd: this.repoDir, stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(blobs.map((b) => `${b}\n`).join(''));
    const chunks: Buffer[] = [];
    for await (const chunk of child.stdout) chunks.push(chunk as Buffer);
    const out = Buffer.concat(chunks);
    let at = 0;
    for (const blob of blobs) {
      const eol = out.indexOf(0x0a, at);
      const header = out.subarray(at, eol).toString('utf8').split(' ');
      const size = Number(header[2]);
      if (header[1] !== 'blob' || !Number.isFinite(size)) throw new Error(`git cat-file: unexpected ${header.join(' ')}`);
      result.set(blob, out.subarray(eol + 1, eol + 1 + size).toString('utf8'));
      at = eol + 1 + size + 1;
    }
    return result;
  }

  /**
   * A tar stream of `revision`'s tree, or of just `paths` in it. Large path lists are split over several
   * `git archive` runs whose archives follow each other in the stream (the receiver reads with
   * --ignore-zeros).
   */
  archive(revision: string, paths: readonly string[] | 'all'): Readable {
    const output = new PassThrough();
    const batches = paths === 'all' ? [[]] : splitByLength(paths, 64 * 1024);
    const run = async (): Promise<void> => {
      for (const batch of batches) {
        if (paths !== 'all' && batch.length === 0) continue;
        const args = ['--literal-pathspecs', 'archive', '--format=tar', revision, '--', ...batch];
        const child = spawn('git', args, { env: this.env, cwd: this.repoDir, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.stdout.pipe(output, { end: false });
        const code = await new Promise<number | null>((resolve, reject) => {
          child.on('error', reject);
          child.on('close', resolve);
        });
        if (code !== 0) throw new Error(`git archive failed: ${stderr.trim()}`);
      }
    };
    run().then(
      () => output.end(),
      (error: unknown) => output.destroy(error instanceof Error ? error : new Error(String(error))),
    );
    return output;
  }
}

function splitByLength(paths: readonly string[], maxBytes: number): string[][] {
  const batches: string[][] = [[]];
  let size = 0;
  for (const p of paths) {
    const length = Buffer.byteLength(p) + 1;
    if (size + length > maxBytes && (batches.at(-1)?.length ?? 0) > 0) {
      batches.push([]);
      size = 0;
    }
    batches.at(-1)?.push(p);
    size += length;
  }
  return batches;
}
