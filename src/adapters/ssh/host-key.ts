/** The git-over-SSH door's host key: `$DATA/ssh_host_ed25519_key` (0600), made on first start. */
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { UserError } from '../../core/errors.js';
import { ensureKeyPair } from './key-pair.js';
import { fingerprint } from './known-hosts.js';
import { parsePublicKey } from './public-key.js';

export interface HostKey {
  privateKey: string;
  /** The public key line, for known_hosts. */
  publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -lf` and a connecting client print it. */
  fingerprint: string;
}

export function hostKeyPath(dataDir: string): string {
  return path.join(dataDir, 'ssh_host_ed25519_key');
}

/** Reads the host key, creating it first if there is none. */
export function ensureHostKey(dataDir: string): HostKey {
  const file = hostKeyPath(dataDir);
  ensureKeyPair(file, 'bluegreen git server');
  return readHostKey(file);
}

function readHostKey(file: string): HostKey {
  const privateKey = fs.readFileSync(file, 'utf8');
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey()) {
    throw new UserError(`the SSH host key ${file} is not a private key without a passphrase`, {
      hint: 'remove it (and its .pub) and start again to make a new one; clients will then have to trust the new key',
    });
  }
  const blob = parsed.getPublicSSH();
  return { privateKey, publicKey: `${parsed.type} ${blob.toString('base64')}`, fingerprint: fingerprint(blob) };
}

/** The host key's fingerprint from its .pub, or null before `serve` has made it. */
export function hostKeyFingerprint(dataDir: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(`${hostKeyPath(dataDir)}.pub`, 'utf8');
  } catch {
    return null;
  }
  return parsePublicKey(text)?.fingerprint ?? null;
}
