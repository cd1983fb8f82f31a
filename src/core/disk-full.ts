import { UserError } from './errors.js';
import { formatBytes } from './format.js';
import { isReleaseId } from './release-id.js';

/** What `diskUsageCommand` found: the filesystem's size and use, and what each entry of releases/ adds. */
export interface DiskUsage {
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  entries: { name: string; bytes: number }[];
}

export function parseDiskUsage(stdout: string): DiskUsage {
  const usage: DiskUsage = { totalBytes: 0, usedBytes: 0, availableBytes: 0, entries: [] };
  for (const line of stdout.split('\n')) {
    const [kind, a, b, c] = line.trim().split(/\s+/);
    if (kind === 'filesystem') {
      usage.totalBytes = Number(a) * 1024;
      usage.usedBytes = Number(b) * 1024;
      usage.availableBytes = Number(c) * 1024;
    } else if (kind === 'entry' && b !== undefined) usage.entries.push({ name: b, bytes: Number(a) * 1024 });
  }
  return usage;
}

/**
 * The error for a deploy that found the host's disk full, saying what fills it: bluegreen's releases (then the
 * fix is keeping fewer) or something else on the filesystem (then it is not ours to delete).
 */
export function diskFullError(step: string, where: string, appRoot: string, usage: DiskUsage, keepReleases: number): UserError {
  const releases = usage.entries.filter((e) => isReleaseId(e.name));
  const releaseBytes = releases.reduce((sum, e) => sum + e.bytes, 0);
  const otherBytes = Math.max(0, usage.usedBytes - usage.entries.reduce((sum, e) => sum + e.bytes, 0));
  const largest = [...releases].sort((a, b) => b.bytes - a.bytes)[0];
  const filesystem = `${formatBytes(usage.usedBytes)} of ${formatBytes(usage.totalBytes)} used, ${formatBytes(usage.availableBytes)} free`;
  const ours = `${releases.length} release${releases.length === 1 ? '' : 's'} in ${appRoot}/releases take${releases.length === 1 ? 's' : ''} ${formatBytes(releaseBytes)}${largest ? ` (the largest, ${largest.name}, ${formatBytes(largest.bytes)})` : ''}`;
  const message = `${step} failed on ${where}: the disk is full (${filesystem}); ${ours}, everything else on that filesystem ${formatBytes(otherBytes)}; this deploy's partial copy was removed`;
  // Measured after the partial copy was removed: a disk mostly free again means this release alone does not fit.
  const hint =
    usage.availableBytes >= usage.totalBytes / 2
      ? `this release does not fit in the ${formatBytes(usage.availableBytes)} free on that filesystem: grow the disk, or make the release smaller`
      : releaseBytes >= otherBytes
      ? `keep fewer releases (BLUEGREEN_KEEP_RELEASES is ${keepReleases}) or delete old ones under ${appRoot}/releases, or grow the disk`
      : `free space outside bluegreen's releases (${formatBytes(otherBytes)} of the filesystem is other data: logs, caches, other apps), or grow the disk`;
  return new UserError(message, { hint });
}
