/** Users' SSH public keys: one OpenSSH line each (`ssh-ed25519 AAAA… comment`), read and fingerprinted. */
import fs from 'node:fs';
import ssh2 from 'ssh2';
import { UserError } from '../../core/errors.js';
import { fingerprint } from './known-hosts.js';

export interface PublicKey {
  /** `TYPE BASE64`, without the comment: what is stored and compared. */
  line: string;
  /** The wire form the client offers. */
  blob: Buffer;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** Verifies `signature` over `data` with this key. */
  verify(data: Buffer, signature: Buffer, hashAlgo: string | undefined): boolean;
}

/** One public key line, or undefined when it is not one ssh2 can use. */
export function parsePublicKey(text: string): PublicKey | undefined {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 2 || !/^[A-Za-z0-9+/]+={0,2}$/.test(fields[1]!)) return undefined;
  const line = `${fields[0]} ${fields[1]}`;
  const parsed = ssh2.utils.parseKey(line);
  if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey()) return undefined;
  const blob = parsed.getPublicSSH();
  return {
    line,
    blob,
    fingerprint: fingerprint(blob),
    verify: (data, signature, hashAlgo) => parsed.verify(data, signature, hashAlgo) === true,
  };
}

/** The one public key in `file` (blank lines and `#` comments aside). */
export function readPublicKeyFile(file: string): PublicKey {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read the SSH public key ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      exitCode: 2,
      hint: 'give the path of the user\'s public key, e.g. ~/.ssh/id_ed25519.pub',
    });
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const key = lines.length === 1 ? parsePublicKey(lines[0]!) : undefined;
  if (!key) {
    throw new UserError(`${file} is not one SSH public key (expected one line like "ssh-ed25519 AAAA… comment")`, {
      exitCode: 2,
      hint: 'give the .pub file (never the private key), one key per file: ed25519, ecdsa or rsa',
    });
  }
  return key;
}
