import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { createFileAtomic, writeFileAtomic } from '../state/atomic-file.js';

/**
 * Makes an ed25519 key pair at `keyPath` (private 0600, OpenSSH format; `.pub` beside it) unless one exists.
 * Safe against another process doing the same at once: one private key wins, and its `.pub` is written after.
 */
export function ensureKeyPair(keyPath: string, comment: string): { created: boolean } {
  if (fs.existsSync(keyPath)) return { created: false };
  fs.mkdirSync(path.dirname(keyPath), { recursive: true, mode: 0o700 });
  const pair = generateKeyPair(comment);
  if (!createFileAtomic(keyPath, pair.private, 0o600)) return { created: false };
  writeFileAtomic(`${keyPath}.pub`, `${pair.public}\n`, 0o644);
  return { created: true };
}

/**
 * An ed25519 key pair in OpenSSH format. ssh2 1.17 now and then (about 1 in 300) writes a key whose public half
 * lost a leading zero byte, which nothing can parse: such a pair is thrown away and another made.
 */
export function generateKeyPair(comment: string): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    const parsed = ssh2.utils.parseKey(pair.private);
    if (!(parsed instanceof Error) && !Array.isArray(parsed) && parsed.isPrivateKey()) return pair;
    if (attempt >= 50) throw new Error(`could not make an ed25519 key pair that parses: ${parsed instanceof Error ? parsed.message : 'not a private key'}`);
  }
}
