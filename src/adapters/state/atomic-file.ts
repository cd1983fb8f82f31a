import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

/** A temp file beside `file` (same directory, so a rename or link of it is atomic), holding `content`. */
function tempBeside(file: string, content: string | Buffer, mode: number): string {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(temp, content, { mode, flag: 'wx' });
  // The mode given at creation is masked by the umask; this one is not.
  fs.chmodSync(temp, mode);
  return temp;
}

/** Replaces `file` whole: a reader finds the old content or the new, never a part. */
export function writeFileAtomic(file: string, content: string | Buffer, mode: number): void {
  const temp = tempBeside(file, content, mode);
  try {
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * Creates `file` whole, only if there is none (a hard link of a finished temp file, which fails if the name is
 * taken): of processes racing to create it, one wins and the others find it complete. False if it existed.
 */
export function createFileAtomic(file: string, content: string | Buffer, mode: number): boolean {
  const temp = tempBeside(file, content, mode);
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}
