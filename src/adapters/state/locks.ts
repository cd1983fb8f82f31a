import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Colour } from '../../core/colour.js';
import { UserError } from '../../core/errors.js';

/** Who holds a colour's lock: written into the lock file, shown to whoever waits. */
export interface LockHolder {
  pid: number;
  holder: string;
  purpose: string;
  since: string;
}

export interface Lock {
  release(): Promise<void>;
}

const lockPath = (dataDir: string, colour: Colour) => path.join(dataDir, 'locks', `${colour}.lock`);

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The current holder of a colour's lock, or undefined; a lock whose process is gone does not count. */
export async function readLock(dataDir: string, colour: Colour): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(lockPath(dataDir, colour), 'utf8')) as LockHolder;
    return processAlive(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the per-colour lock that deploys and flips share, waiting up to `waitMs` for another holder.
 * A lock file left by a process that died (killed server, killed hook) is taken over.
 */
export async function acquireLock(
  dataDir: string,
  colour: Colour,
  me: { holder: string; purpose: string },
  options: { waitMs: number; pollMs?: number; onWait?: (holder: LockHolder) => void },
): Promise<Lock> {
  const file = lockPath(dataDir, colour);
  await mkdir(path.dirname(file), { recursive: true });
  const deadline = Date.now() + options.waitMs;
  let told = false;
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o600);
      const record: LockHolder = { pid: process.pid, ...me, since: new Date().toISOString() };
      await handle.writeFile(JSON.stringify(record));
      await handle.close();
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await unlink(file).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLock(dataDir, colour);
    if (!holder) {
      // Stale (its process is gone) or half-written: remove it and try again.
      await unlink(file).catch(() => {});
      continue;
    }
    if (!told) {
      options.onWait?.(holder);
      told = true;
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        `${colour} is busy: ${holder.purpose} by ${holder.holder} since ${holder.since}; gave up after ${Math.round(options.waitMs / 1000)} s`,
        { hint: 'try again when it is done (`bluegreen status` shows locks)' },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
}
