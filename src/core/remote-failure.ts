import { UserError } from './errors.js';

const DISK_FULL = /No space left on device|Disk quota exceeded|Wrote only \d+ of \d+ bytes/i;

/** Whether a host's error output (or a message quoting it) says the disk is full. */
export function isDiskFull(text: string): boolean {
  return DISK_FULL.test(text);
}

/** Turns a failed host command into one clear line naming the cause. Pure: reads only what it is given. */
export function remoteFailure(step: string, where: string, appRoot: string, result: { code: number; stderr: string }): UserError {
  const stderr = result.stderr.trim();
  // GNU tar reports a full disk as a short write ("Wrote only N of M bytes").
  if (isDiskFull(stderr)) {
    return new UserError(`${step} failed on ${where}: the disk is full (${firstLine(stderr)})`, {
      hint: `free space on the host, e.g. remove old releases under ${appRoot}/releases`,
    });
  }
  // GNU tar that may not unlink a file in a read-only directory reports the retry's EEXIST.
  if (/tar: .*: Cannot open: File exists/.test(stderr)) {
    return new UserError(`${step} failed on ${where}: a directory in the release is not writable by the deploy user (${firstLine(stderr)})`, {
      hint: `make the releases writable again on the host (chmod -R u+w ${appRoot}/releases), or run \`bluegreen provision\``,
    });
  }
  if (/Permission denied|Read-only file system|Operation not permitted/i.test(stderr)) {
    return new UserError(`${step} failed on ${where}: the app root ${appRoot} is not writable (${firstLine(stderr)})`, {
      hint: 'give the deploy user the app root: `bluegreen provision`',
    });
  }
  const detail = stderr ? firstLine(stderr) : `exit code ${result.code}`;
  return new UserError(`${step} failed on ${where}: ${detail}`);
}

function firstLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /denied|space|wrote only|read-only|not permitted|exists|error|cannot/i.test(l)) ?? lines[0] ?? '';
}
