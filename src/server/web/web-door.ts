/**
 * The status page and its API, on the git server's HTTP(S) address (git's own paths never come here):
 *
 *   GET  /               the page (signed in; else to /login)
 *   GET  /login, POST /login, POST /logout
 *   GET  /assets/...     the page's files
 *   GET  /api/session    who is signed in, and what they may do
 *   GET  /api/status     `bluegreen status --json`
 *   GET  /api/history    `bluegreen history --json` (?limit=N, default 20)
 *   GET  /api/events     Server-Sent Events: deploy and flip progress, state changes
 *   POST /api/flip       {"colour": "green"} (operators); {"colour", "dryRun": true} answers the plan only
 *   POST /api/rollback   (operators; {"dryRun": true} likewise)
 *
 * Every /api/ path takes the session cookie or Basic auth with a token. Only authenticates, parses and
 * answers: the status reader, the history and the flip runner do the work.
 */
import type http from 'node:http';
import type { HistoryRecord } from '../../adapters/state/history.js';
import type { Users } from '../../adapters/state/users.js';
import { isColour } from '../../core/colour.js';
import { UserError } from '../../core/errors.js';
import { flipRefusal, mayFlip } from '../../core/roles.js';
import type { FlipRequest, FlipRunner } from '../../flip/flip-runner.js';
import type { Activity } from '../../status/activity.js';
import type { Status } from '../../status/read-status.js';
import type { PageAssets } from './assets.js';
import { createEventStreams } from './event-stream.js';
import { type Sessions, createSessions } from './sessions.js';
import {
  type Refusal,
  type Who,
  authenticate,
  clearedSessionCookie,
  clientAddress,
  createSignInThrottle,
  crossSiteProblem,
  sessionCookie,
  sessionId,
  sessionUser,
  signIn,
} from './web-auth.js';

export interface WebDoorDeps {
  users: () => Users;
  status: () => Promise<Status>;
  history: () => Promise<HistoryRecord[]>;
  flips: FlipRunner;
  activity: Activity;
  assets: PageAssets;
  /** Served over TLS: the session cookie is Secure. */
  secure: boolean;
  log: (line: string) => void;
  /** For tests: the clock sessions and sign-in waits are measured on, and their lengths. */
  now?: () => number;
  sessionTtlMs?: number;
  heartbeatMs?: number;
}

export interface WebDoor {
  /** True for the paths this door answers (everything else stays git's). */
  handles(pathname: string): boolean;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Ends the event streams. */
  close(): void;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  // Not no-referrer: with it, browsers send `Origin: null` on the page's own form posts.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/** Bodies larger than this are refused: a sign-in or a flip request is a few dozen bytes. */
const MAX_BODY_BYTES = 4096;
const HISTORY_DEFAULT_LIMIT = 20;
const API_PATHS = ['/api/session', '/api/status', '/api/history', '/api/events', '/api/flip', '/api/rollback'];

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function createWebDoor(deps: WebDoorDeps): WebDoor {
  const now = deps.now ?? Date.now;
  const sessions: Sessions = createSessions({ ttlMs: deps.sessionTtlMs, now });
  const throttle = createSignInThrottle(now);
  const streams = createEventStreams(deps.activity, { heartbeatMs: deps.heartbeatMs, headers: SECURITY_HEADERS });
  const { assets, secure } = deps;

  // Pages opened together (and every page after each change) share one reading of the hosts.
  let statusRead: Promise<Status> | undefined;
  const readStatus = () => {
    statusRead ??= deps.status().finally(() => {
      statusRead = undefined;
    });
    return statusRead;
  };

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(`${JSON.stringify(body, null, 2)}\n`);
  };
  const refuse = (res: http.ServerResponse, refusal: Refusal) =>
    json(res, refusal.status, { error: refusal.message, ...(refusal.hint ? { hint: refusal.hint } : {}) }, refusal.headers);
  const html = (res: http.ServerResponse, status: number, body: Buffer, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': assets.csp,
      ...headers,
    });
    res.end(body);
  };
  const redirect = (res: http.ServerResponse, location: string, headers: Record<string, string> = {}) => {
    res.writeHead(303, { ...SECURITY_HEADERS, location, 'cache-control': 'no-store', ...headers });
    res.end();
  };
  const methodNotAllowed = (res: http.ServerResponse, method: string | undefined, pathname: string, allowed: string) =>
    refuse(res, { status: 405, message: `${method} is not allowed on ${pathname}`, hint: `use ${allowed}`, headers: { allow: allowed } });

  /** The page's user from the cookie, or undefined (the page then goes to /login). */
  const pageUser = (req: http.IncomingMessage): Who | undefined => {
    const id = sessionId(req);
    if (id === undefined) return undefined;
    const found = sessionUser(id, deps.users(), sessions);
    return 'who' in found ? found.who : undefined;
  };

  async function login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const forged = crossSiteProblem(req, secure);
    if (forged) return html(res, forged.status, assets.login(forged.message));
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
      return html(res, 415, assets.login('sign in with the form on this page'));
    }
    const form = new URLSearchParams(await readBody(req));
    const result = signIn(deps.users(), throttle, clientAddress(req), form.get('name') ?? '', form.get('token') ?? '');
    if ('refusal' in result) {
      deps.log(`page: refused a sign-in from ${clientAddress(req)}: ${result.refusal.message}`);
      return html(res, result.refusal.status, assets.login(result.refusal.message), result.refusal.headers);
    }
    const session = sessions.create(result.who.user);
    redirect(res, '/', { 'set-cookie': sessionCookie(session, secure, now()) });
  }

  async function flip(req: http.IncomingMessage, res: http.ServerResponse, who: Who, pathname: '/api/flip' | '/api/rollback'): Promise<void> {
    if (!mayFlip(who.role)) return refuse(res, { status: 403, message: flipRefusal(who.user, who.role) });
    const text = await readBody(req);
    let body: Record<string, unknown> = {};
    if (text.trim() !== '' || pathname === '/api/flip') {
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        return refuse(res, { status: 415, message: 'expected a JSON body (content-type: application/json)', hint: `for example: {"colour": "green"}` });
      }
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Record<string, unknown>;
      } catch {
        return refuse(res, { status: 400, message: 'the body is not a JSON object', hint: `for example: {"colour": "green"}` });
      }
    }
    const dryRun = body.dryRun === true;
    let request: FlipRequest;
    if (pathname === '/api/rollback') request = { operation: 'rollback', dryRun };
    else {
      const colour = body.colour;
      if (typeof colour !== 'string' || !isColour(colour)) {
        return refuse(res, { status: 400, message: `bad colour ${JSON.stringify(colour ?? null)}: expected "blue" or "green"`, hint: `for example: {"colour": "green"}` });
      }
      request = { operation: 'flip', colour, dryRun };
    }
    try {
      const started = await deps.flips.start(request, who.user);
      if (!dryRun) deps.log(`page: ${who.user} started a ${started.operation} to ${started.colour}`);
      json(res, dryRun ? 200 : 202, { ...started, dryRun });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      refuse(res, { status: 409, message: error.message, hint: error.hint });
    }
  }

  async function api(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, query: URLSearchParams): Promise<void> {
    if (!API_PATHS.includes(pathname)) {
      return refuse(res, { status: 404, message: `no such API path: ${pathname}`, hint: `the API is ${API_PATHS.join(', ')}` });
    }
    const changes = pathname === '/api/flip' || pathname === '/api/rollback';
    if ((req.method === 'POST') !== changes) return methodNotAllowed(res, req.method, pathname, changes ? 'POST' : 'GET');
    const auth = authenticate(req, deps.users(), sessions, throttle);
    if ('refusal' in auth) return refuse(res, auth.refusal);
    const { who } = auth;
    if (changes) {
      const forged = crossSiteProblem(req, secure);
      if (forged) {
        deps.log(`page: refused a ${pathname} by ${who.user}: ${forged.message}`);
        return refuse(res, forged);
      }
      return flip(req, res, who, pathname as '/api/flip' | '/api/rollback');
    }
    switch (pathname) {
      case '/api/session':
        return json(res, 200, { user: who.user, role: who.role, mayFlip: mayFlip(who.role), expires: who.session ? new Date(who.session.expires).toISOString() : null });
      case '/api/status':
        return json(res, 200, await readStatus());
      case '/api/history': {
        const limit = query.get('limit') ?? String(HISTORY_DEFAULT_LIMIT);
        if (!/^\d+$/.test(limit) || Number(limit) < 1) {
          return refuse(res, { status: 400, message: `limit ${JSON.stringify(limit)}: expected a positive whole number`, hint: '/api/history?limit=50' });
        }
        return json(res, 200, (await deps.history()).slice(0, Number(limit)));
      }
      case '/api/events':
        return streams.open(req, res, () => {
          const again = who.session ? sessionUser(who.session.id, deps.users(), sessions) : deps.users().has(who.user) ? undefined : { refusal: { message: `the user ${who.user} no longer exists` } };
          return again && 'refusal' in again ? again.refusal.message : undefined;
        });
    }
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://page');
    const { pathname } = url;
    if (pathname === '/api' || pathname.startsWith('/api/')) return api(req, res, pathname, url.searchParams);
    if (pathname === '/login') {
      if (req.method === 'POST') return login(req, res);
      if (req.method !== 'GET') return methodNotAllowed(res, req.method, pathname, 'GET, POST');
      return pageUser(req) ? redirect(res, '/') : html(res, 200, assets.login(''));
    }
    if (pathname === '/logout') {
      if (req.method !== 'POST') return methodNotAllowed(res, req.method, pathname, 'POST');
      const forged = crossSiteProblem(req, secure);
      if (forged) return refuse(res, forged);
      const id = sessionId(req);
      if (id !== undefined) sessions.end(id);
      return redirect(res, '/login', { 'set-cookie': clearedSessionCookie(secure) });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, req.method, pathname, 'GET');
    if (pathname === '/') return pageUser(req) ? html(res, 200, assets.index.body) : redirect(res, '/login');
    const file = assets.files.get(pathname === '/favicon.ico' ? '/assets/favicon.svg' : pathname);
    if (!file) return refuse(res, { status: 404, message: `not found: ${pathname}`, hint: 'the status page is at /' });
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, { ...SECURITY_HEADERS, etag: file.etag });
      res.end();
      return;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.type, etag: file.etag, 'cache-control': 'no-cache', 'content-length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  return {
    handles: (pathname) =>
      pathname === '/' || pathname === '/login' || pathname === '/logout' || pathname === '/favicon.ico' || pathname === '/api' || pathname.startsWith('/api/') || pathname.startsWith('/assets/'),
    handle(req, res) {
      req.on('error', () => {});
      res.on('error', () => {});
      route(req, res).catch((error: unknown) => {
        if (error instanceof BodyTooLarge) {
          if (!res.headersSent) refuse(res, { status: 413, message: `the request body is larger than ${MAX_BODY_BYTES} bytes` });
          return;
        }
        deps.log(`page: ${req.method} ${req.url?.split('?')[0]} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        if (!res.headersSent) refuse(res, { status: 500, message: 'internal error (see the server log)' });
        else res.destroy();
      });
    },
    close: () => streams.closeAll(),
  };
}
