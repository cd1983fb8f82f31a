import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { SYMLINK_MODE, type TreeEntry } from '../../core/tree-changes.js';
import { drained } from '../streams/drained.js';
import { type GitPlace, catFile, commitTime } from './cat-file.js';

/**
 * A tar stream of `entries` (files of `revision`'s tree), read straight from git's object store by one
 * `git cat-file --batch` and stamped with the commit's time. The work follows the number of files sent, not
 * the size of the tree: `git archive REV -- PATH` walks the whole tree (200 ms for one file among 50,000).
 * Contents stream through with backpressure, so a large file is never held in memory.
 */
export function blobTar(git: GitPlace, revision: string, entries: readonly TreeEntry[]): Readable {
  const pack = tar.pack();
  const objects = catFile(git, [revision, ...entries.map((e) => e.blob)]);
  const fill = async () => {
    const mtime = await commitTime(objects, revision);
    for (const entry of entries) {
      if (entry.mode === SYMLINK_MODE) {
        const target = (await objects.readObject(entry.blob, 'blob')).toString('utf8');
        await writeEntry(pack, { name: entry.path, type: 'symlink', linkname: target, mtime });
        continue;
      }
      const size = await objects.header(entry.blob, 'blob');
      const mode = Number.parseInt(entry.mode, 8) & 0o111 ? 0o755 : 0o644;
      const sink = pack.entry({ name: entry.path, type: 'file', size, mode, mtime });
      const done = new Promise<void>((resolve, reject) => {
        sink.once('finish', resolve);
        sink.once('error', reject);
        sink.once('close', () => reject(new Error('the archive was closed while it was being written')));
      });
      done.catch(() => {}); // awaited below; a failure meanwhile must not count as unhandled
      // Backpressure: wait for the archive's reader when the entry's buffer is full (or the archive is gone).
      await objects.body(size, (chunk) => (sink.write(chunk) ? undefined : drained(sink)));
      sink.end();
      await done;
    }
    pack.finalize();
  };
  fill().catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))));
  pack.on('close', () => objects.close());
  return Readable.from(pack);
}

function writeEntry(pack: tar.Pack, header: tar.Headers): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (error) => (error ? reject(error) : resolve())));
}
