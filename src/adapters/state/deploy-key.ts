import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';

/** Creates an ed25519 key pair (private 0600, OpenSSH format) unless one exists; returns the public line. */
export async function ensureDeployKey(keyPath: string): Promise<{ publicKey: string; created: boolean }> {
  if (existsSync(keyPath)) {
    return { publicKey: (await readFile(`${keyPath}.pub`, 'utf8').catch(() => '')).trim(), created: false };
  }
  await mkdir(path.dirname(keyPath), { recursive: true, mode: 0o700 });
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'bluegreen-deploy' });
  await writeFile(keyPath, pair.private, { mode: 0o600, flag: 'wx' });
  await writeFile(`${keyPath}.pub`, `${pair.public}\n`, { mode: 0o644 });
  return { publicKey: pair.public, created: true };
}
