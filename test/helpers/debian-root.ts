/**
 * Test harness: a throwaway Debian bookworm machine for provisioning tests — a fresh copy of the cached
 * pristine root (scripts/prepare-debian-root.sh) with its own sshd on a loopback address, reached over SSH
 * as root with a key made for this run.
 *
 *   const root = await startDebianRoot({ address: '127.0.0.4' }, t);   // t.teardown(stop) is registered
 *   // root.dir, root.sshPort, root.adminKeyPath, root.fingerprint, root.run([...]), root.path('/etc/...')
 *
 * The copy is an overlay on the pristine root (a plain `cp -a` where overlayfs is not available), with
 * /proc and /dev mounted. It shares the host's network: servers in it listen on loopback addresses of the
 * host. apt downloads are kept between runs in $BLUEGREEN_TEST_CACHE/apt-archives. stop() kills every
 * process whose root is the copy, unmounts and removes it; it is idempotent and runs on failure too.
 * Needs root.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint } from '../../src/adapters/ssh/known-hosts.js';
import { canConnect, freePort, sleep } from './sshd.js';

export const CACHE_DIR = process.env.BLUEGREEN_TEST_CACHE || '/var/cache/bluegreen-test';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface DebianRootOptions {
  /** Loopback address sshd listens on, e.g. '127.0.0.4'. */
  address: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DebianRoot {
  /** The machine's `/`, on this host. */
  dir: string;
  address: string;
  sshPort: number;
  /** The sshd host key blob and its `SHA256:` fingerprint. */
  hostKeyBlob: Buffer;
  fingerprint: string;
  /** A private key (on this host, outside the root) authorized for root in the machine. */
  adminKeyPath: string;
  adminPublicKey: string;
  /** This host's path for a path inside the machine. */
  path(inside: string): string;
  /** Runs argv inside the machine (chroot), as root. */
  run(argv: readonly string[], options?: { input?: string }): RunResult;
  /** A free TCP port on the machine's address. */
  freePort(): Promise<number>;
  /** Restarts sshd, optionally with a new host key. */
  restartSshd(options?: { newHostKey?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

interface Teardownable {
  teardown(fn: () => unknown): void;
}

/** Builds the pristine root if needed (fast when cached) and returns its path. */
export function preparePristineRoot(): string {
  const result = spawnSync('sh', [path.join(REPO, 'scripts/prepare-debian-root.sh')], {
    encoding: 'utf8',
    env: { ...process.env, BLUEGREEN_TEST_CACHE: CACHE_DIR },
  });
  if (result.status !== 0) {
    throw new Error(`scripts/prepare-debian-root.sh failed (${result.status}): ${result.stderr.trim().split('\n').slice(-5).join('\n')}`);
  }
  return result.stdout.trim().split('\n').pop()!;
}

export { freePort as freePortOn };

function isMountpoint(dir: string): boolean {
  const target = path.resolve(dir);
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') === target);
}

/** Pids of processes whose root directory is `dir` (or below it). */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let root: string;
    try {
      root = readlinkSync(`/proc/${entry}/root`);
    } catch {
      continue;
    }
    if (root === dir || root.startsWith(`${dir}/`)) pids.push(Number(entry));
  }
  return pids;
}

function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

/** Copies new .deb files from `from` to `to`, each through a temp name so parallel runs never see half a file. */
function syncDebs(from: string, to: string): void {
  if (!existsSync(from)) return;
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (!name.endsWith('.deb') || existsSync(path.join(to, name))) continue;
    const temp = path.join(to, `.${name}.${process.pid}.tmp`);
    try {
      copyFileSync(path.join(from, name), temp);
      renameSync(temp, path.join(to, name));
    } catch {
      rmSync(temp, { force: true });
    }
  }
}

function unmountAll(mounts: readonly string[]): void {
  for (const mount of [...mounts].reverse()) {
    const r = spawnSync('umount', [mount], { encoding: 'utf8' });
    if (r.status !== 0 && isMountpoint(mount)) spawnSync('umount', ['-l', mount]);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Cleans up after test processes that died without their teardown (killed): their processes, mounts, files. */
async function reapStaleRuns(): Promise<void> {
  const runs = path.join(CACHE_DIR, 'runs');
  if (!existsSync(runs)) return;
  for (const name of readdirSync(runs)) {
    const owner = Number(name.split('-')[1]);
    if (!Number.isInteger(owner) || owner <= 0 || pidAlive(owner)) continue;
    const dir = path.join(runs, name, 'root');
    for (let round = 0; round < 20; round++) {
      const pids = processesIn(dir);
      if (pids.length === 0) break;
      killAll(pids, round < 5 ? 'SIGTERM' : 'SIGKILL');
      await sleep(100);
    }
    unmountAll([dir, path.join(dir, 'proc'), path.join(dir, 'dev')].filter(isMountpoint));
    if (![dir, path.join(dir, 'proc'), path.join(dir, 'dev')].some(isMountpoint)) rmSync(path.join(runs, name), { recursive: true, force: true });
  }
}

export async function startDebianRoot(options: DebianRootOptions, t?: Teardownable): Promise<DebianRoot> {
  const pristine = preparePristineRoot();
  await reapStaleRuns();
  const runDir = path.join(CACHE_DIR, 'runs', `${Date.now()}-${process.pid}-${randomBytes(3).toString('hex')}`);
  const dir = path.join(runDir, 'root');
  const keysDir = path.join(runDir, 'keys');
  mkdirSync(dir, { recursive: true });
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });

  let sshd: ChildProcess | undefined;
  let sshdLog = '';
  let stopped = false;
  const mounts: string[] = [];

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (sshd && sshd.exitCode === null) sshd.kill('SIGTERM');
    // Everything started inside the machine: sshd and its sessions, apache/nginx (daemonized), apt...
    for (let round = 0; round < 50; round++) {
      const pids = processesIn(dir);
      if (pids.length === 0) break;
      killAll(pids, round < 10 ? 'SIGTERM' : 'SIGKILL');
      await sleep(100);
    }
    try {
      syncDebs(path.join(dir, 'var/cache/apt/archives'), path.join(CACHE_DIR, 'apt-archives'));
    } catch {
      // a cache is a cache
    }
    unmountAll(mounts);
    if (!mounts.some((m) => isMountpoint(m))) rmSync(runDir, { recursive: true, force: true });
  };
  t?.teardown(stop);

  try {
    // A fresh copy of the pristine root.
    const upper = path.join(runDir, 'upper');
    const work = path.join(runDir, 'work');
    mkdirSync(upper);
    mkdirSync(work);
    const overlay = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${pristine},upperdir=${upper},workdir=${work}`, dir], {
      encoding: 'utf8',
    });
    if (overlay.status === 0) mounts.push(dir);
    else execFileSync('cp', ['-a', `${pristine}/.`, dir]);

    execFileSync('mount', ['-t', 'proc', 'proc', path.join(dir, 'proc')]);
    mounts.push(path.join(dir, 'proc'));
    execFileSync('mount', ['--bind', '/dev', path.join(dir, 'dev')]);
    mounts.push(path.join(dir, 'dev'));

    if (existsSync('/etc/resolv.conf')) writeFileSync(path.join(dir, 'etc/resolv.conf'), readFileSync('/etc/resolv.conf'));
    const cachedDebs = path.join(CACHE_DIR, 'apt-archives');
    if (existsSync(cachedDebs)) {
      for (const name of readdirSync(cachedDebs)) {
        if (name.endsWith('.deb')) copyFileSync(path.join(cachedDebs, name), path.join(dir, 'var/cache/apt/archives', name));
      }
    }

    // The admin key: authorized for root inside the machine.
    const adminKeyPath = path.join(keysDir, 'admin_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bluegreen-test-admin', '-f', adminKeyPath]);
    const adminPublicKey = readFileSync(`${adminKeyPath}.pub`, 'utf8').trim();
    mkdirSync(path.join(dir, 'root/.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'root/.ssh/authorized_keys'), `${adminPublicKey}\n`, { mode: 0o600 });
    mkdirSync(path.join(dir, 'run/sshd'), { recursive: true, mode: 0o755 });

    const run = (argv: readonly string[], runOptions: { input?: string } = {}): RunResult => {
      const r = spawnSync('chroot', [dir, ...argv], { encoding: 'utf8', input: runOptions.input ?? '' });
      return { code: r.status ?? 255, stdout: r.stdout, stderr: r.stderr };
    };
    const must = (argv: readonly string[]): string => {
      const r = run(argv);
      if (r.code !== 0) throw new Error(`in the test root: ${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    };

    let hostKeyBlob = Buffer.alloc(0);
    const newHostKey = (): void => {
      rmSync(path.join(dir, 'etc/ssh/ssh_host_ed25519_key'), { force: true });
      rmSync(path.join(dir, 'etc/ssh/ssh_host_ed25519_key.pub'), { force: true });
      must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/etc/ssh/ssh_host_ed25519_key']);
      const [, blob] = readFileSync(path.join(dir, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/);
      hostKeyBlob = Buffer.from(blob ?? '', 'base64');
    };
    newHostKey();

    const sshPort = await freePort(options.address);
    const startSshd = async (): Promise<void> => {
      sshd = spawn(
        'chroot',
        [
          dir,
          '/usr/sbin/sshd', '-D', '-e',
          '-o', `ListenAddress=${options.address}:${sshPort}`,
          '-o', 'HostKey=/etc/ssh/ssh_host_ed25519_key',
          '-o', 'PidFile=none',
          '-o', 'UseDNS=no',
          '-o', 'LogLevel=ERROR',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      sshd.stderr?.on('data', (chunk: Buffer) => {
        sshdLog += chunk.toString('utf8');
      });
      for (let i = 0; i < 400; i++) {
        if (await canConnect(options.address, sshPort)) return;
        if (sshd.exitCode !== null) break;
        await sleep(50);
      }
      throw new Error(`sshd in the test root did not start on ${options.address}:${sshPort}: ${sshdLog}`);
    };
    await startSshd();

    const handle: DebianRoot = {
      dir,
      address: options.address,
      sshPort,
      get hostKeyBlob() {
        return hostKeyBlob;
      },
      get fingerprint() {
        return fingerprint(hostKeyBlob);
      },
      adminKeyPath,
      adminPublicKey,
      path: (inside: string) => path.join(dir, inside),
      run,
      freePort: () => freePort(options.address),
      restartSshd: async (restartOptions = {}) => {
        const old = sshd;
        if (old && old.exitCode === null) {
          await new Promise<void>((resolve) => {
            old.once('exit', () => resolve());
            old.kill('SIGTERM');
          });
        }
        if (restartOptions.newHostKey) newHostKey();
        for (let i = 0; i < 100 && (await canConnect(options.address, sshPort)); i++) await sleep(50);
        await startSshd();
      },
      stop,
    };
    return handle;
  } catch (error) {
    await stop();
    throw error;
  }
}
