/**
 * A minimal POSIX ustar writer: regular files and directories, owned by root, for sending a handful of small
 * files over one exec channel (`tar -x -f -` on the other side). Pure: bytes in, bytes out.
 */

export interface TarEntry {
  /** Relative path, `/`-separated; a directory ends with `/`. At most 100 bytes. */
  path: string;
  /** Permission bits, e.g. 0o755. */
  mode: number;
  /** File content; ignored for directories. */
  content?: Buffer | string;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 digits, then NUL.
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(entry: TarEntry, size: number, type: '0' | '5', mtime: number): Buffer {
  const name = Buffer.from(entry.path, 'utf8');
  if (name.length === 0 || name.length > 100) throw new Error(`tar: path must be 1-100 bytes: ${entry.path}`);
  if (entry.path.startsWith('/') || entry.path.split('/').includes('..')) {
    throw new Error(`tar: path must be relative without ..: ${entry.path}`);
  }
  const h = Buffer.alloc(BLOCK, 0);
  name.copy(h, 0);
  h.write(octal(entry.mode & 0o7777, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1'); // uid
  h.write(octal(0, 8), 116, 'latin1'); // gid
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(mtime, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1'); // checksum placeholder: eight spaces
  h.write(type, 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

/** The archive: each entry's header and content padded to 512 bytes, then two zero blocks. */
export function ustar(entries: readonly TarEntry[], mtime = 0): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.path.endsWith('/')) {
      parts.push(header(entry, 0, '5', mtime));
      continue;
    }
    const content = typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : (entry.content ?? Buffer.alloc(0));
    parts.push(header(entry, content.length, '0', mtime), content);
    const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}
