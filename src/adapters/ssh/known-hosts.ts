/**
 * Pure functions over OpenSSH's known_hosts format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
 *
 * A line is `[marker] hostnames keytype base64-key [comment]`:
 * - hostnames: comma-separated patterns (`*`, `?` wildcards, `!` negation), matched case-insensitively
 *   against `host`, or `[host]:port` when the port is not 22; or one hashed name `|1|salt|hmac` where
 *   hmac = HMAC-SHA1(key = salt, data = that host string), both base64.
 * - marker `@revoked`: that key is never trusted for the matching hosts. `@cert-authority`: ignored here
 *   (we do not do host certificates).
 * Blank lines and `#` comments are skipped, as are lines that do not parse.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type HostKeyCheck = { status: 'trusted' } | { status: 'unknown' } | { status: 'changed' | 'revoked' };

interface Entry {
  marker: '' | '@revoked' | '@cert-authority';
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise; lower-cased. */
export function hostKeyName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** The key type (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ...) named inside an SSH public key blob. */
export function keyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) throw new Error('not an SSH public key blob: too short');
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > keyBlob.length) {
    throw new Error('not an SSH public key blob: bad key type field');
  }
  const type = keyBlob.subarray(4, 4 + length).toString('latin1');
  if (!/^[\x21-\x7e]+$/.test(type)) throw new Error('not an SSH public key blob: bad key type field');
  return type;
}

/** OpenSSH's fingerprint, as `ssh-keygen -lf` prints it: `SHA256:` + unpadded base64 of the blob's SHA-256. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The known_hosts line that trusts `keyBlob` for host:port (no trailing newline). */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  return `${hostKeyName(host, port)} ${keyType(keyBlob)} ${keyBlob.toString('base64')}`;
}

/** Checks the key a host offered against known_hosts text. `revoked` wins over `trusted`. */
export function checkHostKey(knownHostsText: string, host: string, port: number, keyBlob: Buffer): HostKeyCheck {
  const name = hostKeyName(host, port);
  let hostHasKeys = false;
  let trusted = false;
  for (const entry of parseKnownHosts(knownHostsText)) {
    if (entry.marker === '@cert-authority') continue;
    if (!hostsMatch(entry.hosts, name)) continue;
    const sameKey = entry.key.equals(keyBlob);
    if (entry.marker === '@revoked') {
      if (sameKey) return { status: 'revoked' };
      continue;
    }
    hostHasKeys = true;
    if (sameKey) trusted = true;
  }
  if (trusted) return { status: 'trusted' };
  return hostHasKeys ? { status: 'changed' } : { status: 'unknown' };
}

/**
 * Key types known_hosts trusts for host:port (revoked and CA lines excluded), in file order. The client
 * should offer these host key algorithms first, as OpenSSH does, so a host with several host keys shows the
 * one we know instead of looking "changed".
 */
export function knownKeyTypes(knownHostsText: string, host: string, port: number): string[] {
  const name = hostKeyName(host, port);
  const types: string[] = [];
  for (const entry of parseKnownHosts(knownHostsText)) {
    if (entry.marker !== '' || !hostsMatch(entry.hosts, name)) continue;
    if (!types.includes(entry.keyType)) types.push(entry.keyType);
  }
  return types;
}

function parseKnownHosts(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: Entry['marker'] = '';
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift()!;
      if (m !== '@revoked' && m !== '@cert-authority') continue; // unknown marker: OpenSSH skips the line
      marker = m;
    }
    const [hosts, type, base64] = fields;
    if (hosts === undefined || type === undefined || base64 === undefined) continue;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) continue;
    const key = Buffer.from(base64, 'base64');
    try {
      if (keyType(key) !== type) continue;
    } catch {
      continue;
    }
    entries.push({ marker, hosts, keyType: type, key });
  }
  return entries;
}

/** OpenSSH's match_hostname over a hostnames field: a negated match excludes, else any positive match includes. */
function hostsMatch(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatch(field, name);
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern === '') continue;
    const negated = pattern.startsWith('!');
    const body = (negated ? pattern.slice(1) : pattern).toLowerCase();
    if (wildcardMatch(body, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function hashedMatch(field: string, name: string): boolean {
  const parts = field.split('|'); // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1' || parts[2] === undefined || parts[3] === undefined) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const expected = Buffer.from(parts[3], 'base64');
  if (salt.length === 0 || expected.length !== 20) return false;
  const actual = createHmac('sha1', salt).update(name).digest();
  return timingSafeEqual(actual, expected);
}

/** `*` matches any run of characters, `?` exactly one; everything else literally. */
function wildcardMatch(pattern: string, text: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === text;
  let p = 0;
  let s = 0;
  let star = -1;
  let mark = 0;
  while (s < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[s])) {
      p++;
      s++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = s;
    } else if (star !== -1) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
