import { mkdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { type Colour, isColour } from '../../core/colour.js';
import { UserError } from '../../core/errors.js';
import { processAlive } from '../process/process-alive.js';
import { sleep } from '../http/sleep.js';
import { createFileAtomic } from './atomic-file.js';

/** What can be locked: a colour (deploys, flips, activations) or the users file (`bluegreen user add/remove`). */
export type LockName = Colour | 'users';

/** Who holds a lock: written into the lock file, shown to whoever waits. */
export interface LockHolder {
  pid: number;
  holder: string;
  purpose: string;
  since: string;
}

export interface Lock {
  release(): Promise<void>;
}

const lockPath = (dataDir: string, name: LockName) => path.join(dataDir, 'locks', `${name}.lock`);


/** The current holder of a colour's lock, or undefined; a lock whose process is gone does not count. */
export async function readLock(dataDir: string, colour: Colour): Promise<LockHolder | undefined> {
  const holder = await readHolder(lockPath(dataDir, colour));
  return typeof holder === 'string' ? undefined : holder;
}

/** A lock file's live holder; 'free' when there is no file, 'stale' when its process is gone or it is unreadable. */
async function readHolder(file: string): Promise<LockHolder | 'free' | 'stale'> {
  try {
    const holder = JSON.parse(await readFile(file, 'utf8')) as LockHolder;
    return processAlive(holder.pid) ? holder : 'stale';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'free' : 'stale';
  }
}

/**
 * Takes a lock — the per-colour one that deploys and flips share, or the users file's — waiting up to
 * `waitMs` for another holder. A lock file left by a process that died (killed server, killed hook) is taken over.
 */
export async function acquireLock(
  dataDir: string,
  name: LockName,
  me: { holder: string; purpose: string },
  options: { waitMs: number; pollMs?: number; onWait?: (holder: LockHolder) => void },
): Promise<Lock> {
  const file = lockPath(dataDir, name);
  await mkdir(path.dirname(file), { recursive: true });
  const deadline = Date.now() + options.waitMs;
  let told = false;
  for (;;) {
    // Created whole or not at all: whoever finds the lock file finds it complete, never empty (an empty one
    // would look stale).
    const record: LockHolder = { pid: process.pid, ...me, since: new Date().toISOString() };
    if (createFileAtomic(file, JSON.stringify(record), 0o600)) {
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await unlink(file).catch(() => {});
        },
      };
    }
    const holder = await readHolder(file);
    if (holder === 'free') continue; // released meanwhile: try again, removing nothing (it may be someone's new lock)
    if (holder === 'stale') {
      // Its process is gone, or the file is damaged: remove it and try again.
      await unlink(file).catch(() => {});
      continue;
    }
    if (!told) {
      options.onWait?.(holder);
      told = true;
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        `${name} is busy: ${holder.purpose} by ${holder.holder} since ${holder.since}; gave up after ${Math.round(options.waitMs / 1000)} s`,
        { hint: isColour(name) ? 'try again when it is done (`bluegreen status` shows locks)' : 'try again when it is done' },
      );
    }
    await sleep(options.pollMs ?? 200);
  }
}
