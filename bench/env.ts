/**
 * The benchmark's world: the tests' two loopback OpenSSH hosts (logging every session, so the bench counts
 * the execs a deploy runs), more hosts for a colour of several, a running `bluegreen serve` deploying to them,
 * and the OpenSSH client command lines the alternatives (rsync, git archive | ssh tar, classic push) use.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, chownSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, type TwoHosts, cleanEnv, startTwoHosts } from '../test/helpers/bluegreen.js';
import { type SshdHandle, ensureTestUser, startSshd } from '../test/helpers/sshd.js';
import { HostSessions } from './host-sessions.js';
import { q, run } from './proc.js';
import { packageRoot } from '../src/package-root.js';

export const ROOT = packageRoot();

/** Cleanups, run last-registered first. */
export class Teardown {
  #fns: (() => unknown)[] = [];
  teardown(fn: () => unknown): void {
    this.#fns.push(fn);
  }
  async run(): Promise<void> {
    while (this.#fns.length > 0) {
      const fn = this.#fns.pop() as () => unknown;
      try {
        await fn();
      } catch (error) {
        console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

export interface Bench {
  hosts: TwoHosts;
  /** The SSH sessions blue's host runs (our server's execs, and the alternatives' sessions when they run). */
  blueSessions: HostSessions;
  user: string;
  uid: number;
  gid: number;
  /** A directory owned by the deploy user on the hosts' filesystem, for the alternatives' targets. */
  scratch: string;
  /** `ssh ...` argv prefix (without the destination) for the blue host, for the OpenSSH client. */
  sshArgs: string[];
  /** The same as one shell string (for rsync -e and GIT_SSH_COMMAND). */
  sshCommand: string;
  /** `user@127.0.0.2` */
  dest: string;
  blueUrl: string;
  /** Runs a shell command on blue over ssh. */
  remote(script: string): Promise<void>;
  /** A fresh empty directory under scratch, owned by the deploy user. */
  freshDir(label: string): string;
}

export async function startBench(t: Teardown): Promise<Bench> {
  const hosts = await startTwoHosts(t, { logLevel: 'VERBOSE' });
  const user = ensureTestUser();
  const scratch = mkdtempSync(path.join('/tmp', 'bluegreen-bench-hosts-'));
  chmodSync(scratch, 0o755);
  chownSync(scratch, user.uid, user.gid);
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const sshArgs = [
    '-F', '/dev/null',
    '-i', hosts.keyPath,
    '-p', String(hosts.blue.port),
    '-o', `UserKnownHostsFile=${hosts.knownHostsPath}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
  ];
  const sshCommand = ['ssh', ...sshArgs].map(q).join(' ');
  const dest = `${user.name}@127.0.0.2`;
  let counter = 0;
  return {
    hosts,
    blueSessions: new HostSessions([hosts.blue]),
    user: user.name,
    uid: user.uid,
    gid: user.gid,
    scratch,
    sshArgs,
    sshCommand,
    dest,
    blueUrl: `ssh://${dest}:${hosts.blue.port}`,
    async remote(script) {
      await run('ssh', [...sshArgs, dest, script]);
    },
    freshDir(label) {
      return ownedDir(scratch, `${label}-${++counter}`, user);
    },
  };
}

/**
 * Empties an app root. The server tidies a host after each push (it prepares the next copy), so wait for
 * the host to be quiet: a copy still being written makes removal fail with ENOTEMPTY.
 */
export async function emptyDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export interface Server {
  child: ChildProcess;
  pid: number;
  dataDir: string;
  /** `http://bench:TOKEN@127.0.0.1:PORT` */
  base: string;
  output(): string;
  stop(): Promise<void>;
  /** Forgets main and every object in blue.git, so the next push is a first push (untimed reset). */
  resetRepo(colour?: 'blue' | 'green'): Promise<void>;
}

/** `bluegreen user add bench` then `bluegreen serve` with `env` (a fresh data dir unless env says otherwise). */
export async function startServer(cwd: string, env: Record<string, string>, t: Teardown): Promise<Server> {
  const add = await run(process.execPath, [BIN, 'user', 'add', 'bench'], { cwd, env: cleanEnv(env) });
  const token = add.stdout.split('\n')[1]?.trim() ?? '';
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  let match: RegExpExecArray | null;
  while (!(match = /git server on (https?:\/\/\S+)/.exec(output))) {
    if (child.exitCode !== null) throw new Error(`bluegreen serve exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`bluegreen serve did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const url = new URL(match[1] as string);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  t.teardown(stop);
  const dataDir = env.BLUEGREEN_DATA_DIR as string;
  return {
    child,
    pid: child.pid as number,
    dataDir,
    base: `${url.protocol}//bench:${token}@${url.host}`,
    output: () => output,
    stop,
    async resetRepo(colour = 'blue') {
      const repo = path.join(dataDir, 'repos', `${colour}.git`);
      // A server that has not made its repositories yet has nothing to reset.
      if (!existsSync(repo)) return;
      // Behind the server's back: its reference-transaction hook refuses updates that did not come through it.
      await run('git', ['--git-dir', repo, '-c', 'core.hooksPath=/dev/null', 'update-ref', '-d', 'refs/heads/main'], { env: cleanEnv() });
      const objects = path.join(repo, 'objects');
      for (const entry of readdirSync(objects)) {
        if (/^[0-9a-f]{2}$/.test(entry)) rmSync(path.join(objects, entry), { recursive: true, force: true });
      }
      for (const entry of readdirSync(path.join(objects, 'pack'))) rmSync(path.join(objects, 'pack', entry), { force: true });
    },
  };
}

export { cleanEnv, q };

export interface Fleet {
  /** blue's host (127.0.0.2), then hosts on 127.0.0.4, 127.0.0.5, … (127.0.0.3 is green's). */
  hosts: SshdHandle[];
  /** known_hosts with every host of the fleet and green's. */
  knownHostsPath: string;
}

/** `count` loopback OpenSSH hosts for a colour of several: blue's, then new ones that trust the deploy key. */
export async function startFleet(bench: Bench, t: Teardown, count: number): Promise<Fleet> {
  const { hosts } = bench;
  const fleet = [hosts.blue];
  const knownHostsPath = path.join(hosts.dir, 'fleet_known_hosts');
  writeFileSync(knownHostsPath, readFileSync(hosts.knownHostsPath, 'utf8'));
  for (let i = 1; i < count; i++) {
    const host = await startSshd({ address: `127.0.0.${i + 3}`, user: bench.user, logLevel: 'VERBOSE' }, t);
    appendFileSync(host.authorizedKeysPath, `${hosts.blue.clientPublicKey}\n`);
    appendFileSync(knownHostsPath, readFileSync(host.knownHostsPath, 'utf8'));
    fleet.push(host);
  }
  return { hosts: fleet, knownHostsPath };
}

/** A new directory under `parent` owned by the deploy user (an app root on the loopback hosts). */
export function ownedDir(parent: string, name: string, owner: { uid: number; gid: number }): string {
  const dir = path.join(parent, name);
  mkdirSync(dir, { recursive: true });
  chownSync(dir, owner.uid, owner.gid);
  return dir;
}
