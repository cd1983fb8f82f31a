/**
 * Runs the real `bluegreen` program (the compiled dist/bin/bluegreen.js, as users run it) in a scratch
 * working directory: one-shot commands, and `serve` as a long-running child whose output is collected; and the
 * compiled modules, for child processes that need a piece of it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/package-root.js';
import { type SshdHandle, type StartSshdOptions, ensureTestUser, startSshd } from './sshd.js';

// From test/helpers/ or, compiled for the benchmark, dist/test/helpers/.
export const BIN = path.join(packageRoot(), 'dist/bin/bluegreen.js');

export interface Teardownable {
  teardown(fn: () => unknown): void;
}

/** Throws unless `npm run build` has produced the program (npm test builds first). */
export function requireBuild(): void {
  if (!existsSync(BIN)) throw new Error('dist/bin/bluegreen.js is missing: run `npm run build` (npm test does)');
}

/**
 * A `file:` URL of the compiled module for `source` (e.g. `src/adapters/state/users.ts`), for a child process
 * started with plain `node`: a child with the tests' TypeScript loader spends a second or more of CPU compiling
 * before it does anything. Throws unless the build is there and newer than every source file.
 */
export function compiledModule(source: string): string {
  const root = packageRoot();
  const compiled = path.join(root, 'dist', source.replace(/\.ts$/, '.js'));
  if (!existsSync(compiled)) throw new Error(`${path.relative(root, compiled)} is missing: run \`npm run build\` (npm test does)`);
  const built = statSync(compiled).mtimeMs;
  const stale = (readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' }) as string[]).find(
    (file) => file.endsWith('.ts') && statSync(path.join(root, 'src', file)).mtimeMs > built,
  );
  if (stale !== undefined) throw new Error(`src/${stale} is newer than ${path.relative(root, compiled)}: run \`npm run build\``);
  return pathToFileURL(compiled).href;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bluegreen ARGS` in `cwd` with `env` on top of a clean environment. */
export function runCli(cwd: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** The test runner's environment without anything bluegreen or git reads, so tests see only what they set. */
export function cleanEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(GIT_|BLUEGREEN_|BLUE_|GREEN_|DIGITALOCEAN_|AZURE_|SSH_AUTH_SOCK$|TAP)/.test(key)) continue;
    base[key] = value;
  }
  // Git over SSH on any free port unless a test says otherwise: tests run side by side, never on the default port.
  return { ...base, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', BLUEGREEN_SSH_LISTEN: '127.0.0.1:0', ...env };
}

export interface RunningServe {
  child: ChildProcess;
  gitUrl: string;
  output(): string;
  /** Waits until the server's combined output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `bluegreen serve` and waits for it to say where it listens. */
export async function startServe(cwd: string, env: Record<string, string>, t?: Teardownable): Promise<RunningServe> {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      if (child.exitCode !== null) throw new Error(`bluegreen serve exited (${child.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in:\n${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  await waitFor(/git server on (https?:\/\/\S+)/);
  const gitUrl = /git server on (https?:\/\/\S+)/.exec(output)?.[1] ?? '';
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  t?.teardown(() => stop());
  return { child, gitUrl, output: () => output, waitFor, stop };
}

export interface TwoHosts {
  blue: SshdHandle;
  green: SshdHandle;
  /** The deploy key (blue's client key, authorized on both hosts). */
  keyPath: string;
  /** known_hosts with both hosts. */
  knownHostsPath: string;
  /** App roots on the hosts (writable by the deploy user). */
  appRoots: { blue: string; green: string };
  /** Environment for `bluegreen` deploying to the two hosts as the unprivileged deploy user. */
  env: Record<string, string>;
  /** BLUEGREEN_DATA_DIR in `env`. */
  dataDir: string;
  dir: string;
}

/**
 * Two real sshd hosts on 127.0.0.2 and 127.0.0.3, logging in as the unprivileged `bluegreen-test`.
 * `sshd.logLevel` 'VERBOSE' makes each host log every session it starts and closes (the benchmark counts them).
 */
export async function startTwoHosts(t: Teardownable, sshd: Pick<StartSshdOptions, 'logLevel'> = {}): Promise<TwoHosts> {
  const user = ensureTestUser();
  const blue = await startSshd({ address: '127.0.0.2', user: user.name, ...sshd }, t);
  const green = await startSshd({ address: '127.0.0.3', user: user.name, ...sshd }, t);
  appendFileSync(green.authorizedKeysPath, `${blue.clientPublicKey}\n`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const knownHostsPath = path.join(dir, 'known_hosts');
  writeFileSync(knownHostsPath, readFileSync(blue.knownHostsPath, 'utf8') + readFileSync(green.knownHostsPath, 'utf8'));
  // The hosts' app roots, owned by the deploy user, in a directory it can reach.
  const hostsDir = mkdtempSync(path.join('/tmp', 'bluegreen-hosts-'));
  chmodSync(hostsDir, 0o755);
  t.teardown(() => rmSync(hostsDir, { recursive: true, force: true }));
  const appRoots = { blue: path.join(hostsDir, 'blue app'), green: path.join(hostsDir, 'green app') };
  for (const appRoot of Object.values(appRoots)) {
    mkdirSync(appRoot, { recursive: true });
    chownSync(appRoot, user.uid, user.gid);
  }
  const dataDir = path.join(dir, 'data');
  const env = {
    BLUEGREEN_DATA_DIR: dataDir,
    BLUEGREEN_LISTEN: '127.0.0.1:0',
    BLUE_HOST: `ssh://${user.name}@127.0.0.2:${blue.port}${encodeURI(appRoots.blue)}`,
    GREEN_HOST: `ssh://${user.name}@127.0.0.3:${green.port}${encodeURI(appRoots.green)}`,
    BLUEGREEN_SSH_KEY: blue.clientKeyPath,
    BLUEGREEN_KNOWN_HOSTS: knownHostsPath,
    BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0',
  };
  return { blue, green, keyPath: blue.clientKeyPath, knownHostsPath, appRoots, env, dataDir, dir };
}
