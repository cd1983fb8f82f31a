/**
 * The git endpoint: smart HTTP(S) for `$DATA/repos/blue.git` and `green.git`, served by node-git-server
 * behind our own request handler, which checks every request's credentials (node-git-server itself only
 * authenticates `info/refs`, so an unauthenticated receive-pack POST would otherwise push) and lets nothing
 * but the two repositories' smart-HTTP paths through.
 *
 * A push runs git-receive-pack, whose pre-receive hook hands it to the deploy engine over the engine socket;
 * the engine learns who pushed from the receive-pack pid recorded here. Every git process a request runs is
 * looked after (git-children.ts): ended with its hook when the client goes away, and when the server stops.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { Git, HttpDuplex } from 'node-git-server';
import { ensureRepos, reposDir } from '../adapters/git/repos.js';
import { listenOn } from '../adapters/http/listen.js';
import { createUsersReader, USER_NAME_PATTERN, verifyUser } from '../adapters/state/users.js';
import type { Config } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { mayPush, pushRefusal } from '../core/roles.js';
import { basicCredentials } from './basic-auth.js';
import { startEngineSocket } from './engine-socket.js';
import type { PushHandler } from '../deploy/push-handler.js';
import { createGitChildren } from './git-children.js';
import { loggable } from './log-text.js';
import type { WebDoor } from './web/web-door.js';
import { waitUntil } from '../adapters/http/sleep.js';

export interface GitServerOptions {
  config: Config;
  handler: PushHandler;
  log: (line: string) => void;
  /** The status page and its API, answering their own paths on the same address. */
  web?: WebDoor;
}

export interface CloseOptions {
  /** How long requests under way (pushes and their deploys, fetches) get to finish; 0 (the default) ends them at once. */
  graceMs?: number;
  /** Ends the grace period early. */
  hurry?: AbortSignal;
}

export interface GitServer {
  /** e.g. `http://127.0.0.1:7000` (no trailing slash); repositories are `${url}/blue.git` and `${url}/green.git`. */
  url: string;
  /** Tells the engine who runs this git-receive-pack (another door's push: git over SSH). */
  trackPusher(child: ChildProcess, user: string): void;
  /**
   * Stops accepting connections, lets the requests under way finish for up to `graceMs`, then ends the git
   * processes still running and closes the engine socket, once `otherDoor` (closing too) is closed.
   */
  close(options?: CloseOptions, otherDoor?: Promise<void>): Promise<void>;
}

export function engineSocketPath(dataDir: string): string {
  return path.join(dataDir, 'run', 'engine.sock');
}

// The only paths that reach node-git-server (raw, before any decoding or normalisation): smart HTTP only.
// (Its dumb-protocol `/repo.git/HEAD` handler is broken in 1.0.0 and no smart client needs it.)
const ALLOWED_PATH = /^\/(blue|green)\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/;

/**
 * node-git-server wraps each request in an HttpDuplex that re-emits the request's and response's `error`
 * events on itself, where nobody listens before the push/fetch event: a client that hangs up mid-request
 * would crash the process. Errors nobody listens for are sent to the owning server's log instead.
 */
const orphanErrorLogs = new WeakMap<http.IncomingMessage, (line: string) => void>();
let duplexPatched = false;
function patchDuplexErrors(): void {
  if (duplexPatched) return;
  duplexPatched = true;
  const prototype = HttpDuplex.prototype as unknown as { emit: (event: string | symbol, ...args: unknown[]) => boolean };
  const emit = prototype.emit;
  prototype.emit = function (this: HttpDuplex, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && this.listenerCount('error') === 0) {
      const error = args[0];
      orphanErrorLogs.get(this.req)?.(`git: request error: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    return emit.call(this, event, ...args);
  };
}

function readTlsFile(file: string, variable: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new UserError(`cannot read ${variable} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      exitCode: 2,
      hint: `set ${variable} to a readable PEM file`,
    });
  }
}

/** The certificate and key, checked: each a PEM of the right kind, and the key the certificate's own. */
function loadTls(files: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  const cert = readTlsFile(files.cert, 'BLUEGREEN_TLS_CERT');
  const key = readTlsFile(files.key, 'BLUEGREEN_TLS_KEY');
  const isCertificate = () => {
    try {
      new X509Certificate(cert);
      return cert.includes('-----BEGIN CERTIFICATE-----');
    } catch {
      return false;
    }
  };
  if (!isCertificate()) {
    throw new UserError(`BLUEGREEN_TLS_CERT ${files.cert} is not a PEM certificate`, {
      exitCode: 2,
      hint: 'set BLUEGREEN_TLS_CERT to the server certificate in PEM form (-----BEGIN CERTIFICATE-----), with its chain if any',
    });
  }
  try {
    createPrivateKey(key);
  } catch {
    throw new UserError(`BLUEGREEN_TLS_KEY ${files.key} is not a PEM private key without a passphrase`, {
      exitCode: 2,
      hint: 'set BLUEGREEN_TLS_KEY to the certificate\'s private key in PEM form (-----BEGIN PRIVATE KEY-----), not encrypted',
    });
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new UserError(`BLUEGREEN_TLS_KEY ${files.key} is not the private key of BLUEGREEN_TLS_CERT ${files.cert} (${(error as Error).message})`, {
      exitCode: 2,
      hint: 'set BLUEGREEN_TLS_CERT and BLUEGREEN_TLS_KEY to a certificate and its own key',
    });
  }
  return { cert, key };
}

const UNROUTED_REASON = 'bluegreen accepts only branches and tags';

function pktLine(data: Buffer | string): Buffer {
  const body = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

/** The ref update commands (and capabilities) at the start of a receive-pack request body. */
function parseCommands(chunk: Buffer): { refs: string[]; capabilities: string[] } {
  const refs: string[] = [];
  let capabilities: string[] = [];
  let at = 0;
  while (at + 4 <= chunk.length) {
    const length = Number.parseInt(chunk.subarray(at, at + 4).toString('latin1'), 16);
    if (!Number.isFinite(length) || length === 0 || length < 4 || at + length > chunk.length) break;
    const line = chunk.subarray(at + 4, at + length).toString('utf8');
    const [command = '', caps] = line.replace(/\n$/, '').split('\0');
    if (caps !== undefined) capabilities = caps.split(' ');
    const ref = command.split(' ')[2];
    if (ref) refs.push(ref);
    at += length;
  }
  return { refs, capabilities };
}

/** Answers a receive-pack request with every ref refused, as git-receive-pack would report it. */
function refuseUnroutedPush(req: http.IncomingMessage, res: http.ServerResponse, chunk: Buffer): void {
  const { refs, capabilities } = parseCommands(chunk);
  req.unpipe();
  req.resume();
  req.once('end', () => {
    if (res.headersSent) return;
    if (refs.length === 0 || !(capabilities.includes('report-status') || capabilities.includes('report-status-v2'))) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${UNROUTED_REASON}\n`);
      return;
    }
    const report = Buffer.concat([pktLine('unpack ok\n'), ...refs.map((ref) => pktLine(`ng ${ref} ${UNROUTED_REASON}\n`)), Buffer.from('0000')]);
    const sideband = capabilities.includes('side-band-64k') || capabilities.includes('side-band');
    const body = sideband
      ? Buffer.concat([pktLine(Buffer.concat([Buffer.from([1]), report])), Buffer.from('0000')])
      : report;
    res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result', 'cache-control': 'no-cache' }).end(body);
  });
}

/**
 * Starts the git endpoint on `config.listen` (HTTPS when `config.tls` is set), creating the two bare
 * repositories and their hooks if needed, and the engine socket the hooks talk to.
 */
export async function startGitServer({ config, handler, log, web }: GitServerOptions): Promise<GitServer> {
  patchDuplexErrors();
  const reposRoot = reposDir(config.dataDir);
  ensureRepos(config.dataDir);
  const tls = config.tls ? loadTls(config.tls) : undefined;

  const readUsers = createUsersReader(config.dataDir, (error) =>
    log(`users file changed but cannot be used; the last good users stay in force: ${error instanceof Error ? error.message : String(error)}`),
  );
  readUsers();

  /** Authenticated user per request, and per running git-receive-pack (what the hook reports as its ppid). */
  const requestUser = new WeakMap<http.IncomingMessage, string>();
  const receivePackUser = new Map<number, string>();
  const trackPusher = (child: ChildProcess, user: string) => {
    const pid = child.pid;
    if (pid === undefined) return;
    receivePackUser.set(pid, user);
    child.once('exit', () => receivePackUser.delete(pid));
  };

  const socketPath = engineSocketPath(config.dataDir);
  const engine = await startEngineSocket(socketPath, (pid) => receivePackUser.get(pid), handler, { log, reposDir: reposRoot });

  const children = createGitChildren(log);
  const git = new Git(reposRoot, { autoCreate: false });
  const routed = new WeakSet<object>();
  const onReceive = (action: HttpDuplex) => {
    // One push of several refs emits the event once per ref, on the same action.
    if (routed.has(action)) return;
    routed.add(action);
    routed.add(action.req);
    action.on('error', (error: Error) => log(`git: receive-pack error: ${error.message}`));
    const user = requestUser.get(action.req);
    if (user === undefined) {
      action.reject(401, 'authentication required\n');
      return;
    }
    action.once('service', (child: ChildProcess) => {
      children.adopt(child, action.res, 'git-receive-pack');
      trackPusher(child, user);
    });
    action.accept();
  };
  git.on('push', onReceive);
  // Never refuse a `tag`: a large push's 4-byte probe POST is reported as one.
  git.on('tag', onReceive);
  git.on('fetch', (action: HttpDuplex) => {
    action.on('error', (error: Error) => log(`git: upload-pack error: ${error.message}`));
    action.once('service', (child: ChildProcess) => children.adopt(child, action.res, 'git-upload-pack'));
    action.accept();
  });
  git.on('error', (error: Error) => log(`git: ${error.message}`));

  /** `GET info/refs?service=...`, as node-git-server answers it, but with the git process looked after. */
  const advertiseRefs = (res: http.ServerResponse, repoDir: string, service: 'upload-pack' | 'receive-pack') => {
    res.writeHead(200, {
      'content-type': `application/x-git-${service}-advertisement`,
      expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
      pragma: 'no-cache',
      'cache-control': 'no-cache, max-age=0, must-revalidate',
    });
    res.write(Buffer.concat([pktLine(`# service=git-${service}\n`), Buffer.from('0000')]));
    const child = spawn(`git-${service}`, ['--stateless-rpc', '--advertise-refs', repoDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', (error) => {
      log(`git: cannot run git-${service}: ${error.message}`);
      res.destroy();
    });
    children.adopt(child, res, `git-${service} --advertise-refs`);
    child.stdout.pipe(res);
  };

  /** The responses not yet complete. */
  const active = new Set<http.ServerResponse>();

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    // The page's paths (never a repository's) go to the page, which authenticates in its own way.
    if (web?.handles((req.url ?? '').split('?')[0] ?? '')) {
      web.handle(req, res);
      return;
    }
    active.add(res);
    res.once('close', () => active.delete(res));
    orphanErrorLogs.set(req, log);
    req.on('error', () => {});
    res.on('error', () => {});
    res.setHeader('connection', 'close');
    const deny = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(body);
    };

    const given = basicCredentials(req.headers.authorization);
    if (!given) {
      deny(401, 'authentication required: use http[s]://NAME:TOKEN@host/blue.git (see `bluegreen user add`)\n', {
        'www-authenticate': 'Basic realm="bluegreen"',
      });
      return;
    }
    const users = readUsers();
    if (!USER_NAME_PATTERN.test(given.name) || !verifyUser(users, given.name, given.token)) {
      // The name field may hold a token typed in the wrong place: only a known user's name is repeated.
      const who = users.has(given.name) ? `the user ${given.name}` : 'an unknown user name';
      log(`git: refused ${req.method} ${loggable(req.url ?? '')} from ${req.socket.remoteAddress}: wrong token for ${who}`);
      deny(401, 'wrong user name or token\n', { 'www-authenticate': 'Basic realm="bluegreen"' });
      return;
    }
    requestUser.set(req, given.name);

    const raw = req.url ?? '';
    const query = raw.indexOf('?');
    const pathname = query < 0 ? raw : raw.slice(0, query);
    const match = ALLOWED_PATH.exec(pathname);
    // POST bodies go to git as they are; node-git-server matches the raw URL, so no query may ride along.
    if (!match || (req.method === 'POST' && query >= 0)) {
      deny(404, 'not found: the repositories are /blue.git and /green.git\n');
      return;
    }
    const service = new URLSearchParams(query < 0 ? '' : raw.slice(query + 1)).get('service');
    const role = users.get(given.name)?.role ?? 'viewer';
    if ((match[2] === 'git-receive-pack' || service === 'git-receive-pack') && !mayPush(role)) {
      log(`git: refused a push by ${given.name}: a ${role}`);
      deny(403, `${pushRefusal(given.name, role)}\n`);
      return;
    }
    if (match[2] === 'info/refs' && req.method === 'GET' && (service === 'git-upload-pack' || service === 'git-receive-pack')) {
      advertiseRefs(res, path.join(reposRoot, `${match[1]}.git`), service === 'git-upload-pack' ? 'upload-pack' : 'receive-pack');
      return;
    }
    if (match[2] === 'git-receive-pack' && req.method === 'POST' && req.headers['content-encoding'] === undefined) {
      // node-git-server recognises a push only by a refs/heads/ or refs/tags/ update in the body's first
      // chunk, and otherwise never answers: refuse such pushes ourselves, in git's own terms.
      req.once('data', (chunk: Buffer) => {
        setImmediate(() => {
          if (!routed.has(req) && !res.headersSent) refuseUnroutedPush(req, res, chunk);
        });
      });
    }
    try {
      git.handle(req, res);
    } catch (error) {
      log(`git: ${req.method} ${pathname} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) deny(500, 'internal error\n');
      else res.destroy();
    }
  };

  // A big pack on a slow link may take longer than node's default 5 minutes to arrive (headers still time out).
  const serverOptions = { requestTimeout: 0 };
  const server = tls
    ? https.createServer({ ...serverOptions, cert: tls.cert, key: tls.key }, onRequest)
    : http.createServer(serverOptions, onRequest);
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  const previousSocketEnv = process.env.BLUEGREEN_ENGINE_SOCKET;
  const restoreSocketEnv = () => {
    if (process.env.BLUEGREEN_ENGINE_SOCKET !== socketPath) return;
    if (previousSocketEnv === undefined) delete process.env.BLUEGREEN_ENGINE_SOCKET;
    else process.env.BLUEGREEN_ENGINE_SOCKET = previousSocketEnv;
  };
  // git-receive-pack and its hook inherit this (the hook falls back to $DATA/run/engine.sock without it).
  process.env.BLUEGREEN_ENGINE_SOCKET = socketPath;
  try {
    await listenOn(server, config.listen, { variable: 'BLUEGREEN_LISTEN', form: 'host:port' });
  } catch (error) {
    await engine.close();
    restoreSocketEnv();
    throw error;
  }
  server.on('error', (error) => log(`git: server error: ${error.message}`));

  const address = server.address() as net.AddressInfo;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  let closing: Promise<void> | undefined;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${address.port}`,
    trackPusher,
    close({ graceMs = 0, hurry }: CloseOptions = {}, otherDoor?: Promise<void>) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        if (active.size > 0 && graceMs > 0 && !hurry?.aborted) {
          log(`git: waiting up to ${Math.round(graceMs / 1000)} s for ${active.size} request(s) under way (pushes, deploys, fetches)`);
          await waitUntil(() => active.size === 0 && children.size === 0, graceMs, hurry, 50);
        }
        if (children.size > 0) log(`git: ending ${children.size} git process(es) still running`);
        await children.endAll();
        for (const socket of sockets) socket.destroy();
        await closed;
        await otherDoor;
        await engine.close();
        restoreSocketEnv();
      })();
      return closing;
    },
  };
}
