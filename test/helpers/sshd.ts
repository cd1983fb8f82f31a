/**
 * Test harness: a real OpenSSH `sshd -D -e -f <config>` for one test host on a loopback address.
 *
 *   const sshd = await startSshd({ address: '127.0.0.2' }, t);   // t.teardown(stop) is registered
 *   // sshd.host, sshd.port, sshd.user, sshd.clientKeyPath, sshd.knownHostsPath, ...
 *
 * Everything lives in a fresh temp dir (host key, client key, authorized_keys, known_hosts, pid file,
 * sshd_config) that stop() removes. sshd's stderr (its log, `-e`) is captured and readable with log().
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD_PATH = '/usr/sbin/sshd';

/** Throws a clear error when OpenSSH's server is not installed. */
export function sshdAvailable(): void {
  if (!existsSync(SSHD_PATH)) {
    throw new Error('sshd not found: run `bash scripts/install-test-deps.sh`');
  }
}

export interface StartSshdOptions {
  /** Loopback address to listen on, e.g. '127.0.0.2'. Default '127.0.0.1'. */
  address?: string;
  /** The login user (AllowUsers); the client key is authorized for it. Default: the current user. */
  user?: string;
  /** sshd LogLevel; use 'INFO' to see "Accepted publickey for ..." lines in log(). Default 'ERROR'. */
  logLevel?: 'QUIET' | 'FATAL' | 'ERROR' | 'INFO' | 'VERBOSE' | 'DEBUG' | 'DEBUG1' | 'DEBUG2' | 'DEBUG3';
  /** Extra sshd_config lines, appended last. */
  extraConfig?: string[];
  /** Listen on this port (several hosts on one port, each on its own address); default a free one. */
  port?: number;
}

export interface RestartOptions {
  /** Generate a new host key before starting again (the old known_hosts entry then no longer matches). */
  newHostKey?: boolean;
}

export interface SshdHandle {
  host: string;
  port: number;
  user: string;
  /** The server's private host key (ed25519). */
  hostKeyPath: string;
  /** The host key's OpenSSH public key line, e.g. `ssh-ed25519 AAAA...` (no comment). Updated by restart({newHostKey}). */
  hostPublicKey: string;
  /** A private ed25519 client key (OpenSSH format, no passphrase) authorized for `user`. */
  clientKeyPath: string;
  /** Its public key line. */
  clientPublicKey: string;
  /** The authorized_keys file sshd reads for every user; append lines to authorize more keys. */
  authorizedKeysPath: string;
  /** A known_hosts file with one correct `[host]:port ssh-ed25519 ...` entry. Rewritten by restart({newHostKey}). */
  knownHostsPath: string;
  /** The temp dir holding all of the above. */
  dir: string;
  /** Everything sshd has logged so far (its stderr, all starts). */
  log(): string;
  /** The listening sshd's pid (undefined while stopped). */
  pid(): number | undefined;
  /** Pids of the processes serving current connections (sshd's descendants: session sshd's, shells, commands). */
  connectionPids(): number[];
  /** Kill sshd and all its connections, then start it again on the same port. */
  restart(options?: RestartOptions): Promise<void>;
  /** Kill sshd and all its connections, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Anything with tap's `teardown` (a tap `Test`). */
export interface Teardownable {
  teardown(fn: () => unknown): void;
}

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * Creates the local user `name` (useradd -m -s /bin/sh) if missing, and makes sure its account is not
 * "locked" (a `!` password makes sshd refuse even key logins when UsePAM is off). Idempotent. Needs root.
 */
export function ensureTestUser(name = 'bluegreen-test'): TestUser {
  if (lookupUser(name) === undefined) {
    try {
      execFileSync('useradd', ['-m', '-s', '/bin/sh', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      // Another test process may have created it at the same moment.
      if (lookupUser(name) === undefined) throw error;
    }
  }
  const shadow = safeRead('/etc/shadow');
  const entry = shadow?.split('\n').find((line) => line.startsWith(`${name}:`));
  if (entry !== undefined && (entry.split(':')[1] ?? '').startsWith('!')) {
    execFileSync('usermod', ['-p', '*', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const user = lookupUser(name);
  if (user === undefined) throw new Error(`could not create test user ${name}`);
  return user;
}

function lookupUser(name: string): TestUser | undefined {
  const passwd = readFileSync('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 7) {
      return { name, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? '' };
    }
  }
  return undefined;
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function keygen(path: string, comment: string): string {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const [type, blob] = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/);
  return `${type} ${blob}`;
}

/** A port nothing listens on at `address` now. */
export async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const info = server.address();
      const port = typeof info === 'object' && info !== null ? info.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pids of every descendant of `pid` (sshd's per-connection children call setsid, so process groups don't help). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = safeRead(`/proc/${entry}/stat`);
    if (stat === undefined) continue;
    // pid (comm) state ppid ... — comm may contain spaces and parens; parse after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    for (const child of children.get(next) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export async function startSshd(options: StartSshdOptions = {}, t?: Teardownable): Promise<SshdHandle> {
  sshdAvailable();
  const host = options.address ?? '127.0.0.1';
  const user = options.user ?? userInfo().username;
  const logLevel = options.logLevel ?? 'ERROR';

  // Privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = mkdtempSync(join(tmpdir(), 'bluegreen-sshd-'));
  // The login user (maybe not root) must be able to read authorized_keys: sshd reads it with the user's uid.
  chmodSync(dir, 0o755);
  const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
  const clientKeyPath = join(dir, 'client_ed25519');
  const authorizedKeysPath = join(dir, 'authorized_keys');
  const knownHostsPath = join(dir, 'known_hosts');
  const configPath = join(dir, 'sshd_config');
  const pidPath = join(dir, 'sshd.pid');

  let hostPublicKey = keygen(hostKeyPath, 'bluegreen-test-host');
  const clientPublicKey = keygen(clientKeyPath, 'bluegreen-test-client');
  writeFileSync(authorizedKeysPath, `${clientPublicKey}\n`, { mode: 0o644 });
  chmodSync(authorizedKeysPath, 0o644);

  let logText = '';
  let child: ChildProcess | undefined;
  let port = 0;
  let stopped = false;

  const writeConfig = () => {
    const lines = [
      `ListenAddress ${host}:${port}`,
      `HostKey ${hostKeyPath}`,
      `PidFile ${pidPath}`,
      `AuthorizedKeysFile ${authorizedKeysPath}`,
      'StrictModes no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      `LogLevel ${logLevel}`,
      'Subsystem sftp internal-sftp',
      // bash run by sshd reads ~/.bashrc when SHLVL < 2 (Debian's SSH_SOURCE_BASHRC): a login user's own
      // .bashrc (pyenv, nvm, ...) would then run before every command, seconds each on a busy machine. The
      // test hosts stand for servers, not for whoever runs the tests; SHLVL=1 makes bash skip it.
      'SetEnv SHLVL=1',
      ...(options.extraConfig ?? []),
    ];
    writeFileSync(configPath, `${lines.join('\n')}\n`);
  };

  const writeKnownHosts = () => {
    writeFileSync(knownHostsPath, `[${host}]:${port} ${hostPublicKey}\n`);
  };

  /** Starts sshd on `port`; resolves true once it accepts connections, false if it exited (e.g. bind failed). */
  const launch = async (): Promise<boolean> => {
    writeConfig();
    const proc = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    proc.once('error', (error) => {
      exited = true;
      logText += `spawn error: ${error.message}\n`;
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      logText += chunk.toString('utf8');
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (exited) return false;
      if (await canConnect(host, port)) {
        if (!exited) return true;
        return false;
      }
      await sleep(20);
    }
    await killTree();
    throw new Error(`sshd did not start listening on ${host}:${port} within 10 s; its log:\n${logText}`);
  };

  const killTree = async () => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.pid === undefined) return;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // Connections first (their processes are our sshd's descendants), then the listener.
    for (const pid of descendants(proc.pid)) killQuietly(pid, 'SIGKILL');
    killQuietly(proc.pid, 'SIGKILL');
    await exited;
  };

  const startOnFreePort = async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      port = await freePort(host);
      if (await launch()) return;
    }
    throw new Error(`sshd could not bind a port on ${host} after 10 attempts; its log:\n${logText}`);
  };

  const startOnSamePort = async () => {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (await launch()) return;
      await sleep(50);
    }
    throw new Error(`sshd could not bind ${host}:${port} again; its log:\n${logText}`);
  };

  try {
    if (options.port === undefined) await startOnFreePort();
    else {
      port = options.port;
      if (!(await launch())) throw new Error(`sshd could not bind ${host}:${port}; its log:\n${logText}`);
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  writeKnownHosts();

  const handle: SshdHandle = {
    host,
    port,
    user,
    hostKeyPath,
    hostPublicKey,
    clientKeyPath,
    clientPublicKey,
    authorizedKeysPath,
    knownHostsPath,
    dir,
    log: () => logText,
    pid: () => child?.pid,
    connectionPids: () => (child?.pid === undefined ? [] : descendants(child.pid)),
    async restart(restartOptions: RestartOptions = {}) {
      if (stopped) throw new Error('sshd harness: restart() after stop()');
      await killTree();
      if (restartOptions.newHostKey === true) {
        hostPublicKey = keygen(hostKeyPath, 'bluegreen-test-host');
        handle.hostPublicKey = hostPublicKey;
        writeKnownHosts();
      }
      await startOnSamePort();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await killTree();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  t?.teardown(() => handle.stop());
  return handle;
}
