/**
 * SSH execs counted where they run: each bench host's sshd logs (LogLevel VERBOSE) "Starting session: …" for
 * every exec, shell or subsystem a client opens, and "Accepted publickey …" for every connection. Counting
 * those lines measures what really ran on the hosts, whatever the deploy engine's code looks like; the bench
 * makes sure nothing else talks to the counted hosts inside a counted window. (sshd's "Close session" line is
 * often lost, when the session's process ends before the monitor writes it: work still running on a host is
 * seen as a process under its sshd instead.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SshdHandle } from '../test/helpers/sshd.js';
import { safeRead } from './proc.js';

/** One deploy on one host. */
export interface ExecCount {
  /** Sessions started while the push ran (from its start until it returned). */
  onClock: number;
  /** Sessions started after the push returned, until the host was quiet (none for pushes back to back: the next push starts at once). */
  after?: number;
  /** SSH connections opened in the whole window (0 when the server's connection was warm). */
  connections: number;
}

/** Where each host's log stood at one moment. */
export type LogMark = readonly number[];

const STARTED = /Starting session: /g;
const ACCEPTED = /Accepted \S+ for /g;

const count = (text: string, re: RegExp) => text.match(re)?.length ?? 0;

export class HostSessions {
  /** The hosts' log marks when `quiet` last found them quiet. */
  #quietAt: string | undefined;

  constructor(readonly hosts: readonly SshdHandle[]) {
    for (const host of hosts) {
      const config = readFileSync(path.join(host.dir, 'sshd_config'), 'utf8');
      if (!/^LogLevel (VERBOSE|DEBUG)/m.test(config)) throw new Error(`sshd on ${host.host}:${host.port} does not log sessions: start it with logLevel 'VERBOSE'`);
    }
  }

  mark(): LogMark {
    return this.hosts.map((host) => host.log().length);
  }

  /** Per host: sessions started and connections accepted since `mark` (up to `until`, default now). */
  since(mark: LogMark, until: LogMark = this.mark()): { sessions: number[]; connections: number[] } {
    const slices = this.hosts.map((host, i) => host.log().slice(mark[i] ?? 0, until[i]));
    return { sessions: slices.map((s) => count(s, STARTED)), connections: slices.map((s) => count(s, ACCEPTED)) };
  }

  /** Whether a command runs on some host now: a process under its sshd other than sshd's own. */
  busy(): boolean {
    return this.hosts.some((host) => host.connectionPids().some((pid) => (safeRead(`/proc/${pid}/comm`) ?? 'sshd').trim() !== 'sshd'));
  }

  /**
   * Resolves once no command runs on any host and no host has logged anything for `quietMs`: the work the
   * server does after answering a push is over.
   */
  async quiet(quietMs = 400, timeoutMs = 600_000): Promise<void> {
    const started = Date.now();
    let last = this.mark().join(',');
    if (last === this.#quietAt) return; // nothing has happened on the hosts since they were last found quiet
    let since = Date.now();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = this.mark().join(',');
      if (now !== last) {
        last = now;
        since = Date.now();
        continue;
      }
      const silent = Date.now() - since;
      if (silent >= quietMs && !this.busy()) {
        this.#quietAt = now;
        return;
      }
      if (Date.now() - started > timeoutMs) throw new Error(`the hosts did not go quiet within ${timeoutMs / 1000} s`);
    }
  }

  /**
   * Runs `push`, then waits for the hosts to go quiet: per host, the sessions started on the push's clock
   * and after it. Nothing else may use these hosts meanwhile.
   */
  async count<T>(push: () => Promise<T>): Promise<{ value: T; execs: ExecCount[] }> {
    const before = this.mark();
    const value = await push();
    const returned = this.mark();
    await this.quiet();
    const onClock = this.since(before, returned);
    const after = this.since(returned);
    const whole = this.since(before);
    return {
      value,
      execs: this.hosts.map((_, i) => ({ onClock: onClock.sessions[i] ?? 0, after: after.sessions[i] ?? 0, connections: whole.connections[i] ?? 0 })),
    };
  }
}
