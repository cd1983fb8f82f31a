import { PassThrough, type Readable } from 'node:stream';
import yazl from 'yazl';
import { SYMLINK_MODE, SUBMODULE_MODE, type TreeEntry } from '../../core/tree-changes.js';
import { drained } from '../streams/drained.js';
import { type GitPlace, catFile, commitTime } from './cat-file.js';

/**
 * A zip of `revision`'s tree plus `extra` files (REVISION), as App Service's zip deploy takes it, streamed
 * like blobTar: one `git cat-file --batch` feeds the files in order, each entry's content pulled as the zip's
 * reader takes it (backpressure), so a large tree is never held in memory. The same batch serves the symlinks'
 * targets first. Entries are stamped with the commit's time.
 */
export function blobZip(
  git: GitPlace,
  revision: string,
  tree: readonly TreeEntry[],
  extra: ReadonlyArray<{ path: string; content: Buffer }>,
): Readable {
  const zip = new yazl.ZipFile();
  const replaced = new Set(extra.map((file) => file.path));
  const links = tree.filter((entry) => entry.mode === SYMLINK_MODE && !replaced.has(entry.path));
  const files = tree.filter((entry) => entry.mode !== SYMLINK_MODE && entry.mode !== SUBMODULE_MODE && !replaced.has(entry.path));
  const objects = catFile(git, [revision, ...links.map((entry) => entry.blob), ...files.map((entry) => entry.blob)]);
  const output = new PassThrough();
  const fail = (error: unknown) => {
    objects.close();
    output.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const fill = async () => {
    const mtime = await commitTime(objects, revision);
    for (const entry of links) zip.addBuffer(await objects.readObject(entry.blob, 'blob'), entry.path, { mtime, mode: 0o120777, compress: false });
    for (const entry of files) {
      const mode = Number.parseInt(entry.mode, 8) & 0o111 ? 0o100755 : 0o100644;
      zip.addReadStreamLazy(entry.path, { mtime, mode }, (callback) => {
        const content = new PassThrough();
        callback(null, content);
        objects
          .header(entry.blob, 'blob')
          .then((size) => objects.body(size, (chunk) => (content.write(chunk) ? undefined : drained(content))))
          .then(() => content.end(), fail);
      });
    }
    for (const file of extra) zip.addBuffer(file.content, file.path, { mtime, mode: 0o100644 });
    zip.end();
  };
  zip.on('error', fail);
  // Ended, or dropped by its reader (an answer before the whole body was taken): git stops either way.
  output.on('close', () => objects.close());
  zip.outputStream.pipe(output);
  fill().catch(fail);
  return output;
}
