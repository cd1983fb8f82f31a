/**
 * A fingerprint of a directory tree: every entry's type, mode, owner and content (sha1) or link target, so
 * two snapshots compare equal exactly when nothing was created, removed or changed.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export function snapshot(root: string, exclude: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const skip = new Set(exclude.map((p) => path.join(root, p)));
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (skip.has(full)) continue;
      const st = lstatSync(full);
      const rel = path.relative(root, full);
      const head = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.set(rel, `link ${head} -> ${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.set(rel, `dir ${head}`);
        walk(full);
      } else if (st.isFile()) out.set(rel, `file ${head} ${createHash('sha1').update(readFileSync(full)).digest('hex')}`);
      else out.set(rel, `other ${head}`);
    }
  };
  walk(root);
  return out;
}

/** Human-readable differences (at most `limit`). */
export function diffSnapshots(before: Map<string, string>, after: Map<string, string>, limit = 20): string[] {
  const diffs: string[] = [];
  for (const [key, value] of before) {
    const now = after.get(key);
    if (now === undefined) diffs.push(`removed ${key}`);
    else if (now !== value) diffs.push(`changed ${key}: ${value} => ${now}`);
  }
  for (const key of after.keys()) if (!before.has(key)) diffs.push(`added ${key}`);
  return diffs.slice(0, limit);
}
