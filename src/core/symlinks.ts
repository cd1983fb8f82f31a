import path from 'node:path';

/**
 * Whether a symlink at `linkPath` (relative to the release root) pointing at `target` stays inside the
 * release. Absolute targets and targets that climb above the root escape.
 */
export function symlinkStaysInside(linkPath: string, target: string): boolean {
  if (target === '' || target.includes('\0') || path.posix.isAbsolute(target)) return false;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  return resolved !== '..' && !resolved.startsWith('../');
}
