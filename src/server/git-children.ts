/**
 * The git processes the git endpoint runs for its requests (git-receive-pack and its pre-receive hook,
 * git-upload-pack, the ref advertisements): each one's error output drained to the log, bounded, so a chatty
 * child never blocks on a full pipe; each one ended, with all its descendants, when the client of its request
 * goes away before the answer is complete (as git over SSH ends when the connection drops); all of them ended
 * when the server stops.
 *
 * The children share the server's process group, so a process tree is found through /proc (Linux, like the
 * hook) and every process in it signalled: SIGTERM first, the processes below git-receive-pack before it,
 * which lets it remove its quarantine; then SIGKILL for whatever is left after KILL_AFTER_MS. A quarantine that
 * git-receive-pack had no time to remove (killed, or slow under load) is removed once the tree is gone: found
 * by the GIT_QUARANTINE_PATH git gives its unpack and hook processes, so no other push's quarantine is touched.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { isQuarantine } from '../adapters/git/repos.js';
import { waitUntil } from '../adapters/http/sleep.js';
import { loggable } from './log-text.js';

/** How long a process gets to end after SIGTERM before it is killed. */
export const KILL_AFTER_MS = 2000;
/** How much of one child's error output reaches the log; the rest is counted. */
const MAX_STDERR_LOGGED = 4096;

interface Proc {
  pid: number;
  /** Start time (clock ticks since boot), to never signal a process that reused the pid. */
  start: string | undefined;
}

function stat(pid: number): { ppid: number; start: string } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) state ppid ... starttime(22nd)": comm may hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** `root` and all its descendants now (just `root` where there is no /proc). */
function processTree(root: number): Proc[] {
  const children = new Map<number, Proc[]>();
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    // no /proc
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const info = stat(pid);
    if (!info) continue;
    const siblings = children.get(info.ppid) ?? [];
    siblings.push({ pid, start: info.start });
    children.set(info.ppid, siblings);
  }
  const tree: Proc[] = [{ pid: root, start: stat(root)?.start }];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!.pid) ?? []));
  return tree;
}

/** The quarantine directories named in these processes' environments. */
function quarantinesOf(procs: readonly Proc[]): string[] {
  const found: string[] = [];
  for (const proc of procs) {
    let environ = '';
    try {
      environ = fs.readFileSync(`/proc/${proc.pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    const entry = environ.split('\0').find((e) => e.startsWith('GIT_QUARANTINE_PATH='));
    const dir = entry?.slice('GIT_QUARANTINE_PATH='.length);
    if (dir && isQuarantine(dir)) found.push(dir);
  }
  return found;
}

function signal(procs: readonly Proc[], name: NodeJS.Signals): void {
  for (const proc of procs) {
    if (proc.start !== undefined && stat(proc.pid)?.start !== proc.start) continue;
    try {
      process.kill(proc.pid, name);
    } catch {
      // already gone
    }
  }
}

function alive(procs: readonly Proc[]): Proc[] {
  return procs.filter((proc) => proc.start !== undefined && stat(proc.pid)?.start === proc.start);
}

/**
 * Ends `child` and every process below it; resolves when they are gone and their quarantine with them. The
 * processes below go first: a git-receive-pack whose unpack or hook dies cleans up after itself (its
 * quarantine) and exits, where one signalled together with them may leave the quarantine to an unpack still
 * writing into it.
 */
export async function endProcessTree(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  const root = child.pid;
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  const exited = new Promise<void>((resolve) => {
    if (ended()) resolve();
    else child.once('exit', () => resolve());
  });
  const below = processTree(root).slice(1);
  const quarantines = new Set(quarantinesOf(below));
  signal(below, 'SIGTERM');
  await waitUntil(() => alive(below).length === 0, KILL_AFTER_MS / 2);
  const tree = ended() ? below : processTree(root);
  for (const dir of quarantinesOf(tree)) quarantines.add(dir);
  signal(tree, 'SIGTERM');
  await waitUntil(() => ended() && alive(tree).length === 0, KILL_AFTER_MS);
  signal(alive([...below, ...tree]), 'SIGKILL');
  if (!ended()) child.kill('SIGKILL');
  await exited;
  await waitUntil(() => alive([...below, ...tree]).length === 0, KILL_AFTER_MS);
  for (const dir of quarantines) fs.rmSync(dir, { recursive: true, force: true });
}

/** Copies a child's error output to the log a line at a time, up to MAX_STDERR_LOGGED characters. */
function drainStderr(child: ChildProcess, name: string, log: (line: string) => void): void {
  const stderr = child.stderr;
  if (!stderr) return;
  stderr.setEncoding('utf8');
  let partial = '';
  let logged = 0;
  let unlogged = 0;
  // Counted in characters of the lines, without their line ends.
  const line = (text: string) => {
    if (text === '') return;
    if (logged >= MAX_STDERR_LOGGED) {
      unlogged += text.length;
      return;
    }
    logged += text.length;
    log(`git: ${name}: ${loggable(text)}`);
  };
  stderr.on('data', (chunk: string) => {
    const lines = (partial + chunk).split(/\r?\n|\r/);
    partial = lines.pop() ?? '';
    for (const text of lines) line(text);
    // A "line" that never ends is still bounded.
    if (partial.length > MAX_STDERR_LOGGED) {
      line(partial);
      partial = '';
    }
  });
  stderr.on('end', () => {
    line(partial);
    if (unlogged > 0) log(`git: ${name}: ${unlogged} more characters of error output not logged`);
  });
  stderr.on('error', () => {});
}

/** Where a git process's answer goes: an HTTP response, or an SSH channel (complete once it is ended). */
export interface Answer {
  readonly writableFinished: boolean;
  readonly closed: boolean;
  once(event: 'close', listener: () => void): unknown;
}

export interface GitChildren {
  /**
   * Looks after a git process run for the request answered by `res`: drains its error output and ends it
   * (with its descendants) if the client goes away before the answer is complete.
   */
  adopt(child: ChildProcess, res: Answer, name: string): void;
  /** How many are running. */
  readonly size: number;
  /** Ends every one still running (with its descendants); resolves when they are gone. */
  endAll(): Promise<void>;
}

const FLUSH_PACKET = '0000';

/**
 * git-receive-pack dies (`fatal: ref updates aborted by hook`) when the reference-transaction hook refuses an
 * update, without the flush packet that ends its side-band output; an HTTP client then waits forever for the
 * rest. The response ends only once the exit status is known, and after a failure with that flush packet:
 * the client then reports the missing ref status and fails.
 */
function endWithFlushOnFailure(child: ChildProcess, res: http.ServerResponse): void {
  const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
  res.end = ((...args: unknown[]) => {
    const finish = () => {
      if (child.exitCode !== 0 && !res.writableEnded && !res.destroyed) res.write(FLUSH_PACKET);
      end(...args);
    };
    if (child.exitCode !== null || child.signalCode !== null) finish();
    else child.once('exit', finish);
    return res;
  }) as typeof res.end;
}

export function createGitChildren(log: (line: string) => void): GitChildren {
  const running = new Set<ChildProcess>();
  return {
    adopt(child, res, name) {
      running.add(child);
      child.once('close', () => running.delete(child));
      // Without an exit event (the spawn failed) there is nothing to wait for.
      child.once('error', () => running.delete(child));
      // Writing a request body to a child that has ended would otherwise be an unhandled EPIPE.
      child.stdin?.on('error', () => {});
      child.stdout?.on('error', () => {});
      drainStderr(child, name, log);
      if (name === 'git-receive-pack' && res instanceof http.ServerResponse) endWithFlushOnFailure(child, res);
      const hungUp = () => {
        if (res.writableFinished || child.exitCode !== null || child.signalCode !== null) return;
        log(`git: the client went away before ${name} finished; ending it`);
        void endProcessTree(child);
      };
      if (res.closed) hungUp();
      else res.once('close', hungUp);
    },
    get size() {
      return running.size;
    },
    async endAll() {
      await Promise.all([...running].map((child) => endProcessTree(child)));
    },
  };
}
