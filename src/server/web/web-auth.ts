/**
 * Who a status-page request comes from: a session cookie (the page) or Basic auth with a token (scripts), the
 * role read afresh from the users file on every request; failed sign-ins slowed down per client address; and
 * the cross-site check for requests that change something.
 */
import type http from 'node:http';
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import { type Users, verifyUser } from '../../adapters/state/users.js';
import type { Role } from '../../core/roles.js';
import { type FailedSignIns, afterFailure, signInWait } from '../../core/sign-in-throttle.js';
import { basicCredentials } from '../basic-auth.js';
import type { Session, Sessions } from './sessions.js';

export const SESSION_COOKIE = 'bluegreen_session';

export interface Who {
  user: string;
  role: Role;
  /** The session, when signed in through the page (Basic auth has none). */
  session: Session | undefined;
}

/** A refusal to answer, in words: the status code, the message and the hint naming the fix. */
export interface Refusal {
  status: number;
  message: string;
  hint?: string;
  headers?: Record<string, string>;
}

export const SIGN_IN_HINT = 'sign in at /login, or send a user name and token with Basic auth (curl -u NAME:TOKEN)';
export const WRONG_TOKEN = 'wrong user name or token';

/** Failed sign-ins (page and Basic auth alike) by client address: after a few, each costs a longer wait. */
export interface SignInThrottle {
  /** A refusal while the address must wait, else undefined. */
  check(address: string): Refusal | undefined;
  failed(address: string): void;
  succeeded(address: string): void;
}

/** Addresses remembered at most, so a flood of them cannot fill the memory: the oldest go first. */
const MAX_ADDRESSES = 10_000;

export function createSignInThrottle(now: () => number): SignInThrottle {
  const records = new Map<string, FailedSignIns>();
  return {
    check(address) {
      const wait = signInWait(records.get(address), now());
      if (wait === 0) return undefined;
      const seconds = Math.ceil(wait / 1000);
      return {
        status: 429,
        message: `too many failed sign-ins from this address: try again in ${seconds} s`,
        hint: 'check the user name and token (`bluegreen user list` names the users; a lost token needs a new user)',
        headers: { 'retry-after': String(seconds) },
      };
    },
    failed(address) {
      const record = afterFailure(records.get(address), now());
      records.delete(address);
      records.set(address, record);
      if (records.size > MAX_ADDRESSES) records.delete(records.keys().next().value as string);
    },
    succeeded(address) {
      records.delete(address);
    },
  };
}

export function clientAddress(req: http.IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Checks a user name and token (throttled); the user on success. */
export function signIn(users: Users, throttle: SignInThrottle, address: string, name: string, token: string): { who: Who } | { refusal: Refusal } {
  const slow = throttle.check(address);
  if (slow) return { refusal: slow };
  const user = users.get(name);
  if (!user || !verifyUser(users, name, token)) {
    throttle.failed(address);
    return { refusal: { status: 401, message: WRONG_TOKEN, hint: SIGN_IN_HINT } };
  }
  throttle.succeeded(address);
  return { who: { user: name, role: user.role, session: undefined } };
}

export function sessionId(req: http.IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  return header ? parseCookies(header)[SESSION_COOKIE] : undefined;
}

/** The user of an /api/ request: Basic auth if the request carries it, else the session cookie. */
export function authenticate(req: http.IncomingMessage, users: Users, sessions: Sessions, throttle: SignInThrottle): { who: Who } | { refusal: Refusal } {
  if (req.headers.authorization !== undefined) {
    const given = basicCredentials(req.headers.authorization);
    if (!given) return { refusal: { status: 401, message: 'the Authorization header is not Basic auth with a user name and token', hint: SIGN_IN_HINT } };
    return signIn(users, throttle, clientAddress(req), given.name, given.token);
  }
  const id = sessionId(req);
  if (id === undefined) return { refusal: { status: 401, message: 'sign in first', hint: SIGN_IN_HINT } };
  return sessionUser(id, users, sessions);
}

/** The session's user, as the users file says now (a removed user's sessions end). */
export function sessionUser(id: string, users: Users, sessions: Sessions): { who: Who } | { refusal: Refusal } {
  const found = sessions.find(id);
  if ('problem' in found) {
    const message =
      found.problem === 'expired' ? 'your session expired: sign in again' : 'your session is not valid (signed out, or the server restarted): sign in again';
    return { refusal: { status: 401, message, hint: 'sign in at /login' } };
  }
  const user = users.get(found.session.user);
  if (!user) return { refusal: { status: 401, message: `the user ${found.session.user} no longer exists`, hint: 'sign in as another user at /login' } };
  return { who: { user: user.name, role: user.role, session: found.session } };
}

export function sessionCookie(session: Session, secure: boolean, now: number): string {
  return serializeCookie(SESSION_COOKIE, session.id, {
    httpOnly: true,
    sameSite: 'strict',
    secure,
    path: '/',
    maxAge: Math.max(0, Math.floor((session.expires - now) / 1000)),
  });
}

export function clearedSessionCookie(secure: boolean): string {
  return serializeCookie(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: 0 });
}

/**
 * Why a request that changes something looks forged from another site, or undefined. Browsers send
 * `Sec-Fetch-Site` and `Origin` with such requests; a script (curl) sends neither and is let through, as it
 * cannot be made to run by another site. The session cookie is SameSite=Strict besides.
 */
export function crossSiteProblem(req: http.IncomingMessage, secure: boolean): Refusal | undefined {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  const ownOrigin = `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
  const why =
    site !== undefined && site !== 'same-origin' ? `Sec-Fetch-Site: ${site}` : origin !== undefined && origin !== ownOrigin ? `Origin: ${origin}` : undefined;
  if (!why) return undefined;
  return {
    status: 403,
    message: `refused: a cross-site request (${why})`,
    hint: `changes are made from the status page itself (${ownOrigin}/), or by a script with Basic auth`,
  };
}
