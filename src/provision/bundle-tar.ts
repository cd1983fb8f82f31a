/**
 * The provisioning bundle's members (core's `bundleEntries`) as the tar bytes `tar -x -f -` unpacks on the
 * host, written by tar-stream. Owned by root, dated 1970-01-01, so the same bundle always gives the same bytes.
 */
import { pack, type Headers } from 'tar-stream';
import type { BundleEntry } from '../core/provision-plan.js';

const MTIME = new Date(0);

export async function bundleTar(entries: readonly BundleEntry[]): Promise<Buffer> {
  const archive = pack();
  for (const entry of entries) {
    const header: Headers = { name: entry.path, mode: entry.mode, mtime: MTIME, uid: 0, gid: 0, uname: 'root', gname: 'root' };
    if (entry.type === 'directory') archive.entry({ ...header, type: 'directory' });
    else archive.entry({ ...header, type: 'file' }, typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : entry.content);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk);
  return Buffer.concat(chunks);
}
