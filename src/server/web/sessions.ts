/**
 * Signed-in sessions of the status page: random ids kept in this process's memory only (a restart signs
 * everyone out), each for one user, ending `ttlMs` after sign-in.
 */
import { randomBytes } from 'node:crypto';

export interface Session {
  id: string;
  user: string;
  /** ms since the epoch. */
  expires: number;
}

export type SessionLookup = { session: Session } | { problem: 'expired' | 'unknown' };

export interface Sessions {
  create(user: string): Session;
  find(id: string): SessionLookup;
  end(id: string): void;
}

/** Twelve hours: a working day, then sign in again. */
export const SESSION_TTL_MS = 12 * 60 * 60_000;
/** Expired sessions are remembered this long, to tell "expired" from "not a session". */
const REMEMBER_EXPIRED_MS = 24 * 60 * 60_000;
/** A cap on sessions kept, so endless sign-ins cannot fill the memory: the oldest go first. */
const MAX_SESSIONS = 10_000;

export function createSessions(options: { ttlMs?: number; now?: () => number } = {}): Sessions {
  const ttlMs = options.ttlMs ?? SESSION_TTL_MS;
  const now = options.now ?? Date.now;
  const sessions = new Map<string, Session>();
  const sweep = () => {
    const t = now();
    for (const [id, session] of sessions) if (session.expires + REMEMBER_EXPIRED_MS <= t) sessions.delete(id);
    while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
  };
  return {
    create(user) {
      sweep();
      const session = { id: randomBytes(32).toString('base64url'), user, expires: now() + ttlMs };
      sessions.set(session.id, session);
      return session;
    },
    find(id) {
      const session = sessions.get(id);
      if (!session) return { problem: 'unknown' };
      if (session.expires <= now()) return { problem: 'expired' };
      return { session };
    },
    end(id) {
      sessions.delete(id);
    },
  };
}
