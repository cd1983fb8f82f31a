import { readFile } from 'node:fs/promises';
import { ensureKeyPair } from '../ssh/key-pair.js';

/** Creates the deploy key pair (ed25519, private 0600) unless one exists; returns its public line. */
export async function ensureDeployKey(keyPath: string): Promise<{ publicKey: string; created: boolean }> {
  const { created } = ensureKeyPair(keyPath, 'bluegreen-deploy');
  return { publicKey: (await readFile(`${keyPath}.pub`, 'utf8').catch(() => '')).trim(), created };
}
