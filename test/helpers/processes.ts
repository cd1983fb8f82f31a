/** Finding the processes a server under test started, through /proc (as root, every process is readable). */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The processes (other than this one) whose environment holds `BLUEGREEN_ENGINE_SOCKET` for `dataDir`: every
 * git process a server on that data directory ran, and their children (the hook), even once reparented.
 */
export function serverChildren(dataDir: string): Array<{ pid: number; command: string }> {
  const entry = `BLUEGREEN_ENGINE_SOCKET=${path.join(dataDir, 'run', 'engine.sock')}`;
  const found: Array<{ pid: number; command: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (!environ.includes(entry)) continue;
      const status = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (/^\d+ \(.*\) Z /.test(status)) continue; // a zombie has ended; only its exit status waits to be read
      found.push({ pid: Number(name), command: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

/** Polls until `check` holds, or throws with `describe()` after `timeoutMs`. */
export async function waitUntil(check: () => boolean, describe: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
