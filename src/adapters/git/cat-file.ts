import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** Where and how to run git so that it sees the pushed objects (quarantine included). */
export interface GitPlace {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface CatFile {
  /** The next object's size, checking it is the one asked for and of the expected type. */
  header(id: string, type: 'blob' | 'commit'): Promise<number>;
  /** Hands the next `size` bytes to `sink` as they arrive (awaiting it: backpressure), then skips the newline after the object. */
  body(size: number, sink: (chunk: Buffer) => Promise<unknown> | undefined): Promise<void>;
  /** A whole (small) object. */
  readObject(id: string, type: 'blob' | 'commit'): Promise<Buffer>;
  /** Stops git if it is still running. */
  close(): void;
}

/** The commit's committer time (the next object of `objects` must be the commit), which archives stamp entries with. */
export async function commitTime(objects: CatFile, revision: string): Promise<Date> {
  const commit = (await objects.readObject(revision, 'commit')).toString('utf8');
  return new Date(Number(/^committer .* (\d+) [+-]\d{4}$/m.exec(commit)?.[1] ?? 0) * 1000);
}

/**
 * One `git cat-file --batch` asked for `ids` in order; its output (`<oid> <type> <size>\n<content>\n` per
 * object) is read object by object, in the same order.
 */
export function catFile(git: GitPlace, ids: readonly string[]): CatFile {
  const child = spawn('git', ['cat-file', '--batch'], { cwd: git.cwd, env: git.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let spawnError: Error | undefined;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('error', (error) => (spawnError = error));
  child.stdin.on('error', () => {}); // git exiting early shows as its output ending
  child.stdin.end(ids.map((id) => `${id}\n`).join(''));
  const chunks = (child.stdout as Readable)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buffer: Buffer = Buffer.alloc(0);

  const more = async (): Promise<void> => {
    const next = await chunks.next();
    if (next.done) {
      const why = spawnError?.message ?? stderr.trim();
      throw new Error(`git cat-file ended early${why ? `: ${why}` : ''}`);
    }
    buffer = buffer.length === 0 ? next.value : Buffer.concat([buffer, next.value]);
  };

  const reader: CatFile = {
    async header(id, type) {
      let eol: number;
      while ((eol = buffer.indexOf(0x0a)) < 0) await more();
      const line = buffer.subarray(0, eol).toString('utf8');
      buffer = buffer.subarray(eol + 1);
      const [oid, kind, size] = line.split(' ');
      if (oid !== id || kind !== type || !/^\d+$/.test(size ?? '')) {
        throw new Error(`git cat-file: expected ${type} ${id}, got ${JSON.stringify(line)}`);
      }
      return Number(size);
    },
    async body(size, sink) {
      let left = size;
      while (left > 0) {
        if (buffer.length === 0) await more();
        const chunk = buffer.subarray(0, Math.min(left, buffer.length));
        buffer = buffer.subarray(chunk.length);
        left -= chunk.length;
        await sink(chunk);
      }
      if (buffer.length === 0) await more();
      buffer = buffer.subarray(1);
    },
    async readObject(id, type) {
      const parts: Buffer[] = [];
      await reader.body(await reader.header(id, type), (chunk) => void parts.push(chunk));
      return Buffer.concat(parts);
    },
    close() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
  return reader;
}
