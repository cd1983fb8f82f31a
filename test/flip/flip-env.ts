/**
 * The world a flip test runs in: two real sshd hosts (127.0.0.2 blue, 127.0.0.3 green) deployed to by the
 * real `bluegreen serve` over git pushes, each host's `current` served over HTTP on 127.0.0.1 (the
 * project's static host behind a thin front that can be told to answer the health path with 500), and
 * helpers to push, run the CLI, and read what the tools wrote.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { startStaticHost } from '../../src/server/static-host.js';
import { type CliResult, type RunningServe, type TwoHosts, BIN, cleanEnv, requireBuild, runCli, startServe, startTwoHosts } from '../helpers/bluegreen.js';
import { WorkRepo } from '../helpers/git-repo.js';
import { freePort } from '../helpers/sshd.js';

const execFileAsync = promisify(execFile);
const FLIP_BIN = path.join(path.dirname(BIN), 'flip.js');

export type Colour = 'blue' | 'green';
export const COLOURS: Colour[] = ['blue', 'green'];
export const HEALTH_PATH = '/health.txt';

/** A colour's web server as the verification sees it. */
export interface HostHttp {
  port: number;
  url: string;
  /** When true, the health path answers 500 (everything else is still served). */
  unhealthy: boolean;
  /** Called on every request to the health path; the answer waits for the promise it returns, if any. */
  onHealth: (() => void | Promise<void>) | undefined;
}

/** Serves `appRoot/current` (startStaticHost) behind a front on 127.0.0.1 whose health path can be made to fail. */
async function serveHost(t: Test, appRoot: string, colour: Colour): Promise<HostHttp> {
  const inner = await startStaticHost(appRoot, { host: '127.0.0.1', port: 0 }, colour);
  const innerUrl = new URL(inner.url);
  const host: HostHttp = { port: 0, url: '', unhealthy: false, onHealth: undefined };
  const front = http.createServer(async (req, res) => {
    if (req.url === HEALTH_PATH) {
      await host.onHealth?.();
      if (host.unhealthy) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('broken\n');
        return;
      }
    }
    const upstream = http.request(
      { host: innerUrl.hostname, port: innerUrl.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  host.port = (front.address() as AddressInfo).port;
  host.url = `http://127.0.0.1:${host.port}/`;
  t.teardown(async () => {
    await new Promise<void>((resolve) => {
      front.close(() => resolve());
      front.closeAllConnections();
    });
    await inner.close();
  });
  return host;
}

export interface PushResult {
  code: number;
  output: string;
}

export interface FlipWorld {
  hosts: TwoHosts;
  dir: string;
  env: Record<string, string>;
  dataDir: string;
  appRoots: Record<Colour, string>;
  http: Record<Colour, HostHttp>;
  server: RunningServe;
  work: WorkRepo;
  /** Commits a page naming `label` and pushes main to `colour` (with `git push` options); returns the sha and the push. */
  deploy(colour: Colour, label: string, ...pushOptions: string[]): Promise<{ sha: string; push: PushResult }>;
  push(colour: Colour, ...args: string[]): Promise<PushResult>;
  /** Runs `bluegreen ARGS` with the world's environment (plus `extra`); every output is kept for secret checks. */
  cli(args: string[], extra?: Record<string, string>): Promise<CliResult>;
  /** Runs the second bin, `flip ARGS` (dist/bin/flip.js), like `cli`. */
  flipBin(args: string[]): Promise<CliResult>;
  /** Runs `bluegreen ARGS` on a terminal (a pty from script(1)), typing `input`; output is the terminal's. */
  cliOnTerminal(args: string[], input: string): Promise<{ code: number; output: string }>;
  /** Everything any CLI run printed so far. */
  outputs: string[];
  historyText(): string;
  history(): any[];
  /** main of a colour's repository on the server, or '' */
  branchOf(colour: Colour): Promise<string>;
}

/** Sets up the hosts, the server (with `providerEnv` on top) and a work repository with both remotes. */
export async function startFlipWorld(t: Test, providerEnv: Record<string, string> = {}): Promise<FlipWorld> {
  requireBuild();
  const hosts = await startTwoHosts(t);
  const httpHosts = { blue: await serveHost(t, hosts.appRoots.blue, 'blue'), green: await serveHost(t, hosts.appRoots.green, 'green') };
  const env: Record<string, string> = {
    ...hosts.env,
    BLUE_URL: httpHosts.blue.url,
    GREEN_URL: httpHosts.green.url,
    BLUEGREEN_HEALTH_PATH: HEALTH_PATH,
    BLUEGREEN_VERIFY_TIMEOUT: '3',
    BLUEGREEN_LOCK_WAIT: '60',
    ...providerEnv,
  };
  const added = await runCli(hosts.dir, ['user', 'add', 'alice'], env);
  if (added.code !== 0) throw new Error(`user add failed: ${added.stderr}`);
  const token = added.stdout.split('\n')[1] ?? '';
  const server = await startServe(hosts.dir, env);
  let stopping = false;
  server.child.on('exit', (code, signal) => {
    if (!stopping) t.comment(`bluegreen serve exited unexpectedly (${code ?? signal}); its output:\n${server.output()}`);
  });
  t.teardown(async () => {
    stopping = true;
    await server.stop();
  });
  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  const base = new URL(server.gitUrl);
  for (const colour of COLOURS) work.git('remote', 'add', colour, `${base.protocol}//alice:${token}@${base.host}/${colour}.git`);

  const outputs: string[] = [];
  const push = async (colour: Colour, ...args: string[]): Promise<PushResult> => {
    try {
      const { stdout, stderr } = await execFileAsync('git', ['push', ...args, colour, 'main'], { cwd: work.dir, env: cleanEnv() });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, output: e.stdout + e.stderr };
    }
  };
  const historyFile = path.join(env.BLUEGREEN_DATA_DIR!, 'history.jsonl');
  const historyText = () => (existsSync(historyFile) ? readFileSync(historyFile, 'utf8') : '');
  return {
    hosts,
    dir: hosts.dir,
    env,
    dataDir: env.BLUEGREEN_DATA_DIR!,
    appRoots: hosts.appRoots,
    http: httpHosts,
    server,
    work,
    push,
    async deploy(colour, label, ...pushOptions) {
      work.write('index.html', `<h1>${label}</h1>\n`).write(HEALTH_PATH.slice(1), 'ok\n');
      const sha = work.commit(label);
      const result = await push(colour, ...pushOptions.flatMap((o) => ['-o', o]));
      return { sha, push: result };
    },
    async cli(args, extra = {}) {
      const result = await runCli(hosts.dir, args, { ...env, ...extra });
      outputs.push(result.stdout, result.stderr);
      return result;
    },
    async flipBin(args) {
      const result = await new Promise<CliResult>((resolve, reject) => {
        execFile(process.execPath, [FLIP_BIN, ...args], { cwd: hosts.dir, env: cleanEnv(env) }, (error, stdout, stderr) => {
          if (error && typeof error.code !== 'number') return reject(error);
          resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
        });
      });
      outputs.push(result.stdout, result.stderr);
      return result;
    },
    async cliOnTerminal(args, input) {
      const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;
      const command = ['exec', process.execPath, BIN, ...args].map(quote).join(' ');
      const result = await new Promise<{ code: number; output: string }>((resolve, reject) => {
        const child = execFile('script', ['-qec', command, '/dev/null'], { cwd: hosts.dir, env: cleanEnv({ ...env, SHELL: '/bin/sh' }) }, (error, stdout) => {
          if (error && typeof error.code !== 'number') return reject(error);
          resolve({ code: typeof error?.code === 'number' ? error.code : 0, output: stdout.replace(/\r\n/g, '\n') });
        });
        child.stdin?.end(input);
      });
      outputs.push(result.output);
      return result;
    },
    outputs,
    historyText,
    history: () =>
      historyText()
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line))
        .reverse(),
    branchOf: async (colour) =>
      (
        await execFileAsync('git', ['--git-dir', path.join(env.BLUEGREEN_DATA_DIR!, 'repos', `${colour}.git`), 'rev-parse', '--verify', '-q', 'refs/heads/main'], {
          env: cleanEnv(),
        }).catch(() => ({ stdout: '' }))
      ).stdout.trim(),
  };
}

/** GET over a fresh connection; the body, or `unreachable (...)`. */
export function getText(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
      res.on('error', (e) => resolve(`unreachable (${e.message})`));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve(`unreachable (${e.message})`));
  });
}

/** The REVISION production serves at `publicUrl`, trimmed. */
export async function publicRevision(publicUrl: string): Promise<string> {
  return (await getText(`${publicUrl.replace(/\/+$/, '')}/REVISION`)).trim();
}

export interface LocalWorld extends FlipWorld {
  /** The router inside `bluegreen serve`: production, with the `local` provider. */
  publicUrl: string;
  /** The live colour recorded in the router's state file, or undefined. */
  routerLive(): string | undefined;
}

/** A world with the `local` provider; the router listens on a port the CLI and `serve` agree on. */
export async function startLocalWorld(t: Test): Promise<LocalWorld> {
  const routerPort = await freePort('127.0.0.1');
  const world = await startFlipWorld(t, { BLUEGREEN_ROUTER_LISTEN: `127.0.0.1:${routerPort}` });
  const stateFile = path.join(world.dataDir, 'router.json');
  return {
    ...world,
    publicUrl: `http://127.0.0.1:${routerPort}/`,
    routerLive: () => (existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { live: string }).live : undefined),
  };
}

/** Asserts that no secret appears in anything the CLI printed, in history.jsonl, or in the server's log. */
export function assertNoSecrets(t: Test, world: FlipWorld, secrets: Record<string, string>): void {
  const places = { 'CLI output': world.outputs.join('\n'), 'history.jsonl': world.historyText(), 'the server log': world.server.output() };
  t.ok(world.outputs.length > 0 && places['history.jsonl'] !== '' && places['the server log'] !== '', 'there is output to search');
  for (const [name, secret] of Object.entries(secrets)) {
    for (const [where, text] of Object.entries(places)) t.notOk(text.includes(secret), `${where} never shows ${name}`);
  }
}
