import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../core/errors.js';
import { DEFAULT_ROLE, ROLES, type Role, isRole } from '../../core/roles.js';
import { type PublicKey, parsePublicKey } from '../ssh/public-key.js';
import { acquireLock } from './locks.js';
import { writeFileAtomic } from './atomic-file.js';

/** What users.json keeps per user: never the token itself. */
export interface StoredUser {
  name: string;
  /** ISO 8601, UTC. */
  created: string;
  /** base64url, 16 random bytes. */
  salt: string;
  /** base64url HMAC-SHA256(key = salt, message = token). */
  hash: string;
  role: Role;
  /** SSH public keys; each belongs to this user only. */
  keys: PublicKey[];
}

/** The users file, parsed: name → record. */
export type Users = ReadonlyMap<string, StoredUser>;

export const USER_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

const LIST_HINT = 'see the existing users with `bluegreen user list`';

export function usersFilePath(dataDir: string): string {
  return path.join(dataDir, 'users.json');
}

// A token is 256 random bits, so guessing it is hopeless however fast the hash is: a slow password KDF buys
// nothing here, and a per-user salt with HMAC-SHA256 is enough to keep the file useless to whoever reads it.
function hashToken(salt: string, token: string): Buffer {
  return createHmac('sha256', Buffer.from(salt, 'base64url')).update(token, 'utf8').digest();
}

function checkName(name: string): void {
  if (!USER_NAME_PATTERN.test(name)) {
    throw new UserError(
      `bad user name ${JSON.stringify(name)}: expected a lowercase letter followed by up to 31 lowercase letters, digits, _ or -`,
      { exitCode: 2, hint: 'for example `bluegreen user add alice`' },
    );
  }
}

const recordKeys = ['created', 'salt', 'hash'] as const;

function checkRole(role: string): Role {
  if (!isRole(role)) {
    throw new UserError(`bad role ${JSON.stringify(role)}: expected ${ROLES.join(', ')}`, {
      exitCode: 2,
      hint: 'viewer fetches and clones; deployer also pushes (the default); operator also flips and rolls back',
    });
  }
  return role;
}

/** The user holding the key with this wire form, and the key. */
export function findKeyOwner(users: Users, blob: Buffer): { user: StoredUser; key: PublicKey } | undefined {
  for (const user of users.values()) {
    const key = user.keys.find((k) => k.blob.equals(blob));
    if (key) return { user, key };
  }
  return undefined;
}

/** Parses the text of users.json; throws a UserError naming the file and the problem. */
export function parseUsers(text: string, file: string): Users {
  const bad = (why: string) =>
    new UserError(`the users file ${file} is not valid: ${why}`, {
      hint: 'fix or remove the file, then add users again with `bluegreen user add NAME`',
    });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw bad(error instanceof Error ? error.message : String(error));
  }
  const users = (data as { users?: unknown } | null)?.users;
  if (typeof data !== 'object' || data === null || typeof users !== 'object' || users === null || Array.isArray(users)) {
    throw bad('expected {"users": {NAME: {...}}}');
  }
  const result = new Map<string, StoredUser>();
  for (const [name, value] of Object.entries(users)) {
    const record = value as Record<string, unknown> | null;
    if (!USER_NAME_PATTERN.test(name) || typeof record !== 'object' || record === null || !recordKeys.every((k) => typeof record[k] === 'string')) {
      throw bad(`bad entry for user ${JSON.stringify(name)}`);
    }
    // Users from before roles and keys are deployers without keys.
    const role = record.role ?? DEFAULT_ROLE;
    if (!isRole(role)) throw bad(`bad role for user ${JSON.stringify(name)}`);
    const lines = record.keys ?? [];
    const keys = Array.isArray(lines) ? lines.map((line) => (typeof line === 'string' ? parsePublicKey(line) : undefined)) : [undefined];
    if (!keys.every((key) => key !== undefined)) throw bad(`bad SSH key for user ${JSON.stringify(name)}`);
    result.set(name, { name, created: record.created as string, salt: record.salt as string, hash: record.hash as string, role, keys: keys as PublicKey[] });
  }
  return result;
}

/** Reads users.json; a missing file means no users. */
export function loadUsers(dataDir: string): Users {
  const file = usersFilePath(dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  return parseUsers(text, file);
}

function saveUsers(dataDir: string, users: Users): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = usersFilePath(dataDir);
  const body: Record<string, Record<string, unknown>> = {};
  for (const user of [...users.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    body[user.name] = { created: user.created, salt: user.salt, hash: user.hash, role: user.role, keys: user.keys.map((k) => k.line) };
  }
  writeFileAtomic(file, `${JSON.stringify({ users: body }, null, 2)}\n`, 0o600);
}

/** How long a `user add`/`user remove` waits for another one to finish: each holds the lock for milliseconds. */
const USERS_LOCK_WAIT_MS = 10_000;

function whoAmI(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `pid ${process.pid}`;
  }
}

/**
 * Runs a read-modify-write of users.json under the users lock, so two `bluegreen user add` at once cannot
 * lose one of the users (each would otherwise save the file it read, without the other's user).
 */
async function changeUsers<T>(dataDir: string, change: (users: Map<string, StoredUser>) => T): Promise<T> {
  // Before the lock makes $DATA/locks: the data directory keeps its private mode.
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(dataDir, 'users', { holder: whoAmI(), purpose: 'user change' }, { waitMs: USERS_LOCK_WAIT_MS, pollMs: 20 });
  try {
    const users = new Map(loadUsers(dataDir));
    const result = change(users);
    saveUsers(dataDir, users);
    return result;
  } finally {
    await lock.release();
  }
}

/** Refuses a key some user already has: the key says who pushes, so it belongs to one user. */
function checkKeyFree(users: Users, key: PublicKey): void {
  const owner = findKeyOwner(users, key.blob);
  if (owner) {
    throw new UserError(`the SSH key ${key.fingerprint} already belongs to the user ${owner.user.name}`, {
      hint: 'a key says who pushes, so it belongs to one user: give each person their own key',
    });
  }
}

function existing(users: Map<string, StoredUser>, name: string): StoredUser {
  const user = users.get(name);
  if (!user) throw new UserError(`there is no user ${JSON.stringify(name)}`, { hint: LIST_HINT });
  return user;
}

/**
 * Adds a user (role `deployer` unless given, with an SSH key if given) and returns their new push token. The
 * token is shown this once: only its hash is kept.
 */
export async function addUser(dataDir: string, name: string, options: { role?: string; key?: PublicKey } = {}): Promise<string> {
  checkName(name);
  const role = checkRole(options.role ?? DEFAULT_ROLE);
  return changeUsers(dataDir, (users) => {
    if (users.has(name)) {
      throw new UserError(`user ${JSON.stringify(name)} already exists`, {
        hint: `to give them a new token, run \`bluegreen user remove ${name}\` and add them again; ${LIST_HINT}`,
      });
    }
    if (options.key) checkKeyFree(users, options.key);
    const token = randomBytes(32).toString('base64url');
    const salt = randomBytes(16).toString('base64url');
    const keys = options.key ? [options.key] : [];
    users.set(name, { name, created: new Date().toISOString(), salt, hash: hashToken(salt, token).toString('base64url'), role, keys });
    return token;
  });
}

export async function addUserKey(dataDir: string, name: string, key: PublicKey): Promise<void> {
  await changeUsers(dataDir, (users) => {
    const user = existing(users, name);
    checkKeyFree(users, key);
    users.set(name, { ...user, keys: [...user.keys, key] });
  });
}

export async function removeUserKey(dataDir: string, name: string, keyFingerprint: string): Promise<void> {
  await changeUsers(dataDir, (users) => {
    const user = existing(users, name);
    const keys = user.keys.filter((k) => k.fingerprint !== keyFingerprint);
    if (keys.length === user.keys.length) {
      const theirs = user.keys.map((k) => k.fingerprint).join(', ') || 'none';
      throw new UserError(`the user ${name} has no SSH key ${keyFingerprint}`, {
        hint: `their keys: ${theirs} (\`bluegreen user list\` shows them; \`ssh-keygen -lf FILE.pub\` prints a key's fingerprint)`,
      });
    }
    users.set(name, { ...user, keys });
  });
}

export async function setUserRole(dataDir: string, name: string, role: string): Promise<void> {
  const checked = checkRole(role);
  await changeUsers(dataDir, (users) => {
    users.set(name, { ...existing(users, name), role: checked });
  });
}

export function listUsers(dataDir: string): { name: string; created: string; role: Role; keys: string[] }[] {
  return [...loadUsers(dataDir).values()]
    .map(({ name, created, role, keys }) => ({ name, created, role, keys: keys.map((k) => k.fingerprint) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function removeUser(dataDir: string, name: string): Promise<void> {
  await changeUsers(dataDir, (users) => {
    existing(users, name);
    users.delete(name);
  });
}

const DUMMY: StoredUser = { name: '', created: '', salt: 'AAAAAAAAAAAAAAAAAAAAAA', hash: 'A'.repeat(43), role: 'viewer', keys: [] };

/** True when `token` is `name`'s token. Takes the same time for unknown names, wrong tokens and right ones. */
export function verifyUser(users: Users, name: string, token: string): boolean {
  const known = users.get(name);
  const record = known ?? DUMMY;
  const actual = hashToken(record.salt, token);
  const expected = Buffer.from(record.hash, 'base64url');
  const equal = expected.length === actual.length && timingSafeEqual(expected, actual);
  return known !== undefined && equal;
}

/**
 * A users reader for a long-running server: each call re-reads users.json if it changed (inode, size or
 * mtime), so `bluegreen user add` takes effect without a restart. If the file becomes invalid, `onError` is
 * told once per change and the last good users stay in force.
 */
export function createUsersReader(dataDir: string, onError: (error: unknown) => void): () => Users {
  const file = usersFilePath(dataDir);
  let signature = '';
  let current: Users = new Map();
  return () => {
    let next: string;
    try {
      const stat = fs.statSync(file, { bigint: true });
      next = `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        onError(error);
        return current;
      }
      next = 'missing';
    }
    if (next === signature) return current;
    signature = next;
    try {
      current = loadUsers(dataDir);
    } catch (error) {
      onError(error);
    }
    return current;
  };
}
