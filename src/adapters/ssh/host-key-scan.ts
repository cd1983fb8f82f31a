/**
 * Reads the host key a server offers, without logging in: ssh2's hostVerifier captures the key and refuses
 * it, which ends the handshake before any authentication. Used where a host is first met (provision).
 */
import { Client } from 'ssh2';
import { UserError } from '../../core/errors.js';
import { fingerprint } from './known-hosts.js';
import { unreachableError } from './ssh-errors.js';

export interface ScannedHostKey {
  /** The SSH public key blob (as in known_hosts, base64-decoded). */
  keyBlob: Buffer;
  /** `SHA256:...`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

export interface ScanOptions {
  host: string;
  port: number;
  /** Give up after this long (handshake included). Default 15 s. */
  timeoutMs?: number;
}

/** Network errors that mean "nothing answers there". */
export function scanHostKey(options: ScanOptions): Promise<ScannedHostKey> {
  const { host, port } = options;
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let captured: Buffer | undefined;
    let settled = false;
    const finish = (error: (Error & { level?: string; code?: string }) | undefined): void => {
      if (settled) return;
      settled = true;
      client.end();
      if (captured) resolve({ keyBlob: captured, fingerprint: fingerprint(captured) });
      else if (error === undefined) reject(new UserError(`${host}:${port} closed the connection before offering a host key`));
      else {
        const hostPort = `${host.includes(':') ? `[${host}]` : host}:${port}`;
        reject(unreachableError(hostPort, port, error, timeoutMs) ?? new UserError(`cannot read the host key of ${hostPort}: ${error.message}`, { cause: error }));
      }
    };
    client.on('error', (error: Error) => finish(error));
    client.on('close', () => finish(undefined));
    client.on('ready', () => finish(undefined)); // cannot happen: the verifier refuses
    client.connect({
      host,
      port,
      username: 'bluegreen-host-key-scan',
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        captured = Buffer.from(key);
        return false;
      },
    });
  });
}
